"""URLs that carry secrets, as types: whatever shows or logs one sees it without its secrets.

- :class:`DatabaseUrl`, the ledger's SQLAlchemy URL. A password may sit in the user-info
  (``postgresql+psycopg://fleetsync:PASSWORD@db/fleetsync``) or, the libpq way, in a query
  parameter (``?password=...``, ``sslpassword=...``). It is shown with the password masked and
  with the value of every query parameter masked unless it is known to be harmless
  (``host``, ``port``, ``sslmode``, ``options``, ...): a parameter fleetsync does not know
  might carry a credential.
- :class:`SecretUrl`, a capability URL (the overdue webhook): whoever knows it can call it, so
  only its origin is shown (``https://desk.example.org/…``), never its user-info, path or query.

Both are pydantic ``Secret[str]``: ``str()``, ``repr()``, f-strings, ``model_dump(mode="json")``
and the log renderer give the masked form; only ``get_secret_value()`` gives the URL itself.
``scrub(text)`` takes the secret parts out of text that may quote them (a driver's error).
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

from pydantic import Secret

__all__ = ["MASK", "DatabaseUrl", "SecretUrl"]

MASK = "***"
#: Secrets shorter than this are not searched for in free text: masking every "ab" in an error
#: message would garble it, and a password that short is no protection anyway.
_SCRUB_MIN = 4

#: Query parameters whose values are never credentials: libpq's connection keywords (the
#: password ones excluded) and SQLite's URI parameters. Any other parameter is masked.
_HARMLESS_PARAMETERS = frozenset(
    {
        # libpq: https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-PARAMKEYWORDS
        "host", "hostaddr", "port", "dbname", "user", "passfile", "require_auth",
        "channel_binding", "connect_timeout", "client_encoding", "options", "application_name",
        "fallback_application_name", "keepalives", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout", "replication", "gssencmode", "sslmode",
        "sslnegotiation", "requiressl", "sslcompression", "sslcert", "sslkey", "sslcertmode",
        "sslrootcert", "sslcrl", "sslcrldir", "sslsni", "requirepeer",
        "ssl_min_protocol_version", "ssl_max_protocol_version", "krbsrvname", "gsslib",
        "gssdelegation", "service", "target_session_attrs", "load_balance_hosts",
        # SQLite URI filenames: https://www.sqlite.org/uri.html
        "mode", "cache", "uri", "immutable", "nolock", "vfs", "psow", "check_same_thread",
        "timeout",
    }
)  # fmt: skip


class _SecretUrlBase(Secret[str]):
    def _display(self) -> str:
        try:
            return self._masked(self.get_secret_value())
        except ValueError:  # not even parseable as a URL: nothing of it can be shown safely
            return MASK

    def _masked(self, url: str) -> str:
        raise NotImplementedError

    def _secrets(self, url: str) -> list[str]:
        raise NotImplementedError

    def scrub(self, text: str) -> str:
        """``text`` with this URL and each of its secret parts (raw or percent-decoded)
        replaced by the masked form: for messages that may quote them, such as a driver's."""
        url = self.get_secret_value()
        if not url:
            return text
        text = text.replace(url, str(self))
        try:
            secrets = self._secrets(url)
        except ValueError:
            secrets = []
        for secret in sorted({*secrets, *map(unquote, secrets)}, key=len, reverse=True):
            if len(secret) >= _SCRUB_MIN:
                text = text.replace(secret, MASK)
        return text


def _split_userinfo(netloc: str) -> tuple[str | None, str]:
    userinfo, at, hostport = netloc.rpartition("@")
    return (userinfo if at else None), hostport


class DatabaseUrl(_SecretUrlBase):
    """The ledger's URL: shown with its password and any unknown query parameter masked.

    Read the way SQLAlchemy reads it (the user-info ends at the first ``@``, so a password may
    hold ``/`` or ``?``): what is masked is exactly what the driver receives as a credential.
    """

    def _masked(self, url: str) -> str:
        import sqlalchemy as sa  # here: most commands never show a URL

        try:
            parsed = sa.make_url(url)
        except sa.exc.ArgumentError:
            raise ValueError("not a URL") from None
        shown = parsed.set(
            password=_PLACEHOLDER if parsed.password is not None else None,
            query={
                name: value if _harmless(name) else _PLACEHOLDER
                for name, value in parsed.query.items()
            },
        )
        return shown.render_as_string(hide_password=False).replace(_PLACEHOLDER, MASK)

    def _secrets(self, url: str) -> list[str]:
        import sqlalchemy as sa

        try:
            parsed = sa.make_url(url)
        except sa.exc.ArgumentError:
            return []
        found = [parsed.password or ""]
        for name, value in parsed.query.items():
            if not _harmless(name):
                found += [value] if isinstance(value, str) else list(value)
        return [part for part in found for part in (part, quote(part, safe="")) if part]


#: Stands in for a masked value while SQLAlchemy renders the URL (which would escape "***").
_PLACEHOLDER = "fleetsyncMASKEDfleetsync"


def _harmless(name: str) -> bool:
    return name.strip().lower() in _HARMLESS_PARAMETERS


class SecretUrl(_SecretUrlBase):
    """A capability URL: shown as its origin only."""

    def _masked(self, url: str) -> str:
        parts = urlsplit(url)
        _, hostport = _split_userinfo(parts.netloc)
        hidden = parts.path not in ("", "/") or parts.query or parts.fragment
        return f"{parts.scheme}://{hostport}/{'…' if hidden else ''}"

    def _secrets(self, url: str) -> list[str]:
        parts = urlsplit(url)
        userinfo, _ = _split_userinfo(parts.netloc)
        found = [userinfo, userinfo.partition(":")[2]] if userinfo else []
        tail = url.split(parts.netloc, 1)[1] if parts.netloc else url
        if tail not in ("", "/"):
            found.append(tail)
        found += [parts.path, parts.query, parts.fragment]
        return [part for part in found if part and part != "/"]
