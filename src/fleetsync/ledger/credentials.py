"""First passwords, sealed at rest, and the key that seals them.

A first password is generated with :mod:`secrets` at checkout, sealed with Fernet (AES-128-CBC +
HMAC-SHA256) under the ledger's key, and stored in ``pending_credentials`` until the reconciler
has created the account with it and the desk has collected it, or until it expires. It is never
stored, logged or audited in plain text.

The key is ``settings.secret_key`` (``FLEETSYNC_SECRET_KEY``) or, when that is empty, generated
once into ``<data_dir>/secret.key`` with mode 0600. Replicas sharing a database must share the key.
The same key (through a derived subkey) digests issued usernames, see :func:`username_digest`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from fleetsync.log import get_logger

if TYPE_CHECKING:
    from cryptography.fernet import Fernet
from fleetsync.settings import ConfigError, Settings
from fleetsync.worktree import exposure_warning

__all__ = [
    "KEY_FILE_NAME",
    "generate_password",
    "load_key",
    "open_password",
    "seal_password",
    "username_digest",
]

KEY_FILE_NAME = "secret.key"
# No 0/O, 1/l/I: a first password is read off a screen or a slip of paper by someone new to it.
_LOWER = "abcdefghijkmnopqrstuvwxyz"
_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_DIGITS = "23456789"
_ALPHABET = _LOWER + _UPPER + _DIGITS


def generate_password(length: int) -> str:
    """A random password with lower case, upper case and digits, without look-alike characters."""
    if length < 8:
        raise ValueError("a first password has at least 8 characters")
    while True:
        password = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if (
            any(c in _LOWER for c in password)
            and any(c in _UPPER for c in password)
            and any(c in _DIGITS for c in password)
        ):
            return password


def load_key(settings: Settings) -> bytes:
    """The ledger's Fernet key: from the settings, else from (or created into) the data dir."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        key = settings.secret_key.get_secret_value().strip().encode()
        _check_key(key, "secret_key (FLEETSYNC_SECRET_KEY)")
        return key
    return _key_file(settings.data_dir / KEY_FILE_NAME)


def _check_key(key: bytes, where: str) -> None:
    try:
        _fernet()(key)
    except ValueError:
        raise ConfigError(
            f"{where} is not a Fernet key (urlsafe base64 of 32 bytes); generate one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key()"
            ".decode())'`"
        ) from None


def _key_file(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then linked into place: two processes starting together end up with the
        # same key, and nobody ever reads a half-written file.
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(_fernet().generate_key() + b"\n")
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        warning = exposure_warning(path, "the key that seals first passwords")
        if warning:
            get_logger(__name__).warning("secret_key.exposed", warning=warning)
    key = path.read_bytes().strip()
    _check_key(key, str(path))
    return key


def _fernet() -> type[Fernet]:
    # Imported when a password is sealed or opened: every command that opens the ledger imports
    # this module, and cryptography costs each of them 50 ms at start-up.
    from cryptography.fernet import Fernet

    return Fernet


def _invalid_token() -> type[Exception]:
    from cryptography.fernet import InvalidToken

    return InvalidToken


def seal_password(key: bytes, password: str) -> str:
    return _fernet()(key).encrypt(password.encode()).decode("ascii")


def open_password(key: bytes, sealed: str) -> str:
    """The password back. Raises :class:`ConfigError` when it was sealed under another key."""
    try:
        return _fernet()(key).decrypt(sealed.encode("ascii")).decode()
    except _invalid_token():
        raise ConfigError(
            "a sealed first password cannot be opened with this key: secret_key (or "
            "<data_dir>/secret.key) changed since it was sealed; every replica must use the "
            "same key"
        ) from None


def username_digest(key: bytes, email: str) -> str:
    """A keyed digest of an account address: comparable, but not reversible by guessing names."""
    subkey = hashlib.sha256(b"fleetsync/issued-usernames\0" + key).digest()
    return hmac.new(subkey, email.strip().lower().encode(), hashlib.sha256).hexdigest()
