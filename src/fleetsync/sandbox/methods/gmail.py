"""Gmail's ``users.messages.send``: the one Gmail method fleetsync uses (a programme mailbox
writes to borrowers' Workspace mailboxes, by domain-wide delegation).

A sent message is stored in the tenant as Google would deliver it: parsed from the RFC 2822
``raw`` (base64url) the client sends, with its sender, recipients, subject and text. As at Google,
only the mailbox itself (``me``, or its own address) may send as it, and a token without a Gmail
scope is refused by the front door.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import itertools
from typing import TYPE_CHECKING, Any

from fleetsync.sandbox.clock import rfc3339
from fleetsync.sandbox.errors import ApiError
from fleetsync.sandbox.gmail import SentMessage

if TYPE_CHECKING:
    from fleetsync.sandbox.calls import Call

__all__ = ["HANDLERS"]

_ids = itertools.count(0x18C0_0000_0000_0000)


def _invalid(message: str) -> ApiError:
    return ApiError(400, "invalidArgument", message)


def _send(call: Call) -> dict[str, Any]:
    user_id = str(call.params["userId"])
    sender = call.principal.subject.lower()
    if user_id != "me" and user_id.lower() != sender:
        raise ApiError(403, "forbidden", "Delegation denied for " + sender)
    raw = (call.body or {}).get("raw")
    if not raw:
        raise _invalid("Recipient address required")
    try:
        data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        raise _invalid("Invalid value for ByteString: raw") from None
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    recipients = tuple(
        address.addr_spec.lower()
        for header in ("to", "cc", "bcc")
        for address in getattr(parsed.get(header), "addresses", ())
    )
    if not recipients:
        raise _invalid("Recipient address required")
    body = parsed.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    message_id = format(next(_ids), "x")
    message = SentMessage(
        id=message_id,
        thread_id=message_id,
        sender=sender,
        to=recipients,
        subject=str(parsed.get("subject", "")),
        text=str(text),
        language=parsed.get("content-language"),
        sent_at=rfc3339(call.tenant.clock.now()),
    )
    call.tenant.messages.append(message)
    call.tenant.touch()
    return {"id": message.id, "threadId": message.thread_id, "labelIds": ["SENT"]}


HANDLERS = {"gmail.users.messages.send": _send}
