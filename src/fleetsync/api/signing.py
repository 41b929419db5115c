"""Standard Webhooks signatures: which desk sent a delivery, and that nobody else could have.

A desk signs each delivery with one of its secrets (``whsec_...``) the Standard Webhooks way:
``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of id.timestamp.body>``, several space-separated during a rotation).

**The signature identifies the desk.** Every active secret of every desk is tried (a few HMACs of
at most 64 KiB: microseconds); the desk whose secret verifies the body sent it. A desk needs no
other header or parameter, and a secret therefore belongs to exactly one desk (checked at start).
During a rotation a desk has the old and the new secret configured, and may sign with either.

The order of the checks decides the answer: headers missing → 401; an unusable ``webhook-id`` or
``webhook-timestamp`` → 400; a timestamp more than the tolerance away from our clock → 400; no
desk's secret verifies it → 401. The verification itself is the ``standardwebhooks`` library's,
on the raw body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from standardwebhooks import Webhook, WebhookVerificationError

from fleetsync.api.problems import Problem
from fleetsync.domain.actors import ADMIN, DESK_NAME
from fleetsync.settings import ApiSettings, ConfigError

__all__ = ["LIBRARY_TOLERANCE_SECONDS", "DeskKeys", "SignedDelivery"]

#: The ``standardwebhooks`` library refuses timestamps further away than this, whatever we allow.
LIBRARY_TOLERANCE_SECONDS = 300
#: The last second a Python datetime holds (9999-12-31T23:59:59Z).
_LAST_SECOND = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())
_WEBHOOK_ID = re.compile(r"[\x21-\x7e]{1,255}")
_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


@dataclass(frozen=True, slots=True)
class SignedDelivery:
    desk: str
    webhook_id: str
    signed_at: datetime


class DeskKeys:
    def __init__(self, keys: Sequence[tuple[str, Webhook]], *, tolerance_seconds: int) -> None:
        self._keys = tuple(keys)
        self._tolerance = tolerance_seconds

    @classmethod
    def from_settings(cls, api: ApiSettings) -> DeskKeys:
        """Every desk's active secrets. Raises :class:`ConfigError` naming the desk (never the
        secret) for a bad desk name, a secret that is not ``whsec_`` + base64, or a secret two
        desks share, and for a tolerance beyond what the library accepts."""
        if api.webhook_tolerance_seconds > LIBRARY_TOLERANCE_SECONDS:
            raise ConfigError(
                f"[api] webhook_tolerance_seconds is {api.webhook_tolerance_seconds}; at most "
                f"{LIBRARY_TOLERANCE_SECONDS}: the standardwebhooks library refuses older "
                "deliveries"
            )
        keys: list[tuple[str, Webhook]] = []
        owner: dict[str, str] = {}
        for desk, settings in api.desks.items():
            if not DESK_NAME.fullmatch(desk) or desk == ADMIN:
                raise ConfigError(
                    f"loan desk name {desk!r} must be lower-case letters, digits and . _ - "
                    f"(at most 64, not {ADMIN!r}): it names the desk in the audit trail"
                )
            for i, secret in enumerate(settings.secrets):
                where = f"[api.desks.{desk}] secrets[{i}]"
                value = secret.get_secret_value().strip()
                if not value.startswith("whsec_"):
                    raise ConfigError(f"{where} must start with 'whsec_' (Standard Webhooks)")
                try:
                    key = Webhook(value)
                except Exception as exc:  # binascii.Error, or an empty key
                    raise ConfigError(
                        f"{where} is not 'whsec_' followed by base64 ({type(exc).__name__})"
                    ) from None
                if value in owner:
                    raise ConfigError(
                        f"{where} is also a secret of desk {owner[value]!r}: the secret says "
                        "which desk signed a webhook, so each desk needs its own"
                    )
                owner[value] = desk
                keys.append((desk, key))
        return cls(keys, tolerance_seconds=api.webhook_tolerance_seconds)

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: datetime) -> SignedDelivery:
        """The desk that signed this delivery; raises :class:`Problem` (401 or 400) otherwise."""
        given = {name: headers.get(name, "").strip() for name in _HEADERS}
        missing = [name for name, value in given.items() if not value]
        if missing:
            raise _unsigned(
                f"the delivery lacks the {', '.join(missing)} header(s); sign it the Standard "
                "Webhooks way (see docs/api.md)"
            )
        webhook_id = given["webhook-id"]
        if not _WEBHOOK_ID.fullmatch(webhook_id):
            raise Problem(
                400,
                "invalid_webhook_id",
                "webhook-id must be 1 to 255 printable ASCII characters without spaces",
            )
        signed_at = self._check_timestamp(given["webhook-timestamp"], now)
        for desk, key in self._keys:
            try:
                key.verify(body, given, json_parse=False)
            except (WebhookVerificationError, ValueError):
                # ValueError: a malformed signature list, or a body that is not UTF-8.
                continue
            return SignedDelivery(desk, webhook_id, signed_at)
        raise _unsigned(
            "no loan desk's secret verifies this signature: sign the exact body with the desk's "
            "current secret (whsec_...), and check that the desk is configured in [api.desks]"
        )

    def _check_timestamp(self, value: str, now: datetime) -> datetime:
        if not (value.isascii() and value.isdigit()) or len(value) > 12:
            raise Problem(
                400,
                "invalid_timestamp",
                "webhook-timestamp must be the signing time in Unix seconds (e.g. 1788264000)",
            )
        # Compared in seconds before it becomes a date: a number of seconds may lie beyond the
        # last date Python can hold (year 9999), and is then simply far out of tolerance.
        seconds = int(value)
        off = abs(now.timestamp() - seconds)
        if off > self._tolerance:
            when = (
                datetime.fromtimestamp(seconds, UTC).isoformat()
                if seconds <= _LAST_SECOND
                else f"Unix time {seconds}"
            )
            raise Problem(
                400,
                "timestamp_out_of_tolerance",
                f"the delivery was signed at {when}, {off:.0f} s away from "
                f"fleetsync's clock (at most {self._tolerance} s): check the desk's clock; a "
                "retry must be signed again with a fresh timestamp",
            )
        return datetime.fromtimestamp(seconds, UTC)


def _unsigned(detail: str) -> Problem:
    # A 401 names how to authenticate: here, a Standard Webhooks signature.
    challenge = {"WWW-Authenticate": 'Signature realm="loan-desk"'}
    return Problem(401, "invalid_signature", detail, headers=challenge)
