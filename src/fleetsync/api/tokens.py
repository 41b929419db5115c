"""Bearer API tokens and what their holders may see.

A desk's token (``[api.desks.<desk>] token``) opens that desk's loans and first passwords; an admin
token (``[api] admin_tokens``) opens everything, metrics included. Tokens are compared in
constant time, as SHA-256 digests so that not even their length leaks, and every configured token
is compared on every request.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import SecretStr

from fleetsync.domain.actors import ADMIN
from fleetsync.settings import ApiSettings, ConfigError

__all__ = ["ADMIN", "MIN_TOKEN_LENGTH", "Principal", "Tokens"]

MIN_TOKEN_LENGTH = 24


@dataclass(frozen=True, slots=True)
class Principal:
    """Who holds the token: a desk, or (``desk is None``) an administrator."""

    desk: str | None

    @property
    def is_admin(self) -> bool:
        return self.desk is None

    @property
    def name(self) -> str:
        return self.desk or ADMIN

    @property
    def actor(self) -> str:
        """The audit trail's actor for what this holder does."""
        return f"webhook:{self.name}"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class Tokens:
    def __init__(self, holders: Sequence[tuple[str, Principal]]) -> None:
        self._holders = [(_digest(token), who) for token, who in holders]

    @classmethod
    def from_settings(cls, api: ApiSettings) -> Tokens:
        """The configured tokens. Raises :class:`ConfigError` naming the desk (never the token)
        when one is too short to be safe or two holders share one."""
        holders: list[tuple[str, Principal]] = []
        given: list[tuple[SecretStr | None, Principal, str]] = [
            (desk.token, Principal(name), f"[api.desks.{name}] token")
            for name, desk in api.desks.items()
        ]
        given += [
            (token, Principal(None), f"[api] admin_tokens[{i}]")
            for i, token in enumerate(api.admin_tokens)
        ]
        seen: dict[str, str] = {}
        for secret, who, where in given:
            if secret is None:
                continue
            token = secret.get_secret_value().strip()
            if len(token) < MIN_TOKEN_LENGTH:
                raise ConfigError(
                    f"{where} is shorter than {MIN_TOKEN_LENGTH} characters; generate one with "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
                )
            if token in seen:
                raise ConfigError(f"{where} is the same token as {seen[token]}; give each its own")
            seen[token] = where
            holders.append((token, who))
        return cls(holders)

    def holder(self, presented: str) -> Principal | None:
        """Whose token this is, or ``None``. Compares with every token, whatever matched."""
        digest = _digest(presented)
        found = None
        for known, who in self._holders:
            if hmac.compare_digest(known, digest) and found is None:
                found = who
        return found
