"""The messages sent through Gmail, as the tenant keeps them (``users.messages.send``, the one
Gmail method fleetsync uses, is in ``methods/gmail.py``).

The control surface lists them (``GET /_sandbox/messages``), so a test or a rehearsal sees what a
borrower would find in their mailbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SentMessage"]


@dataclass(frozen=True, slots=True)
class SentMessage:
    id: str
    thread_id: str
    sender: str
    to: tuple[str, ...]
    subject: str
    text: str
    language: str | None
    sent_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "threadId": self.thread_id,
            "from": self.sender,
            "to": list(self.to),
            "subject": self.subject,
            "text": self.text,
            "language": self.language,
            "sentAt": self.sent_at,
        }
