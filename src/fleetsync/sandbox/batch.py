"""Google's HTTP batch format (``POST /batch``, multipart/mixed), read and written.

Each part of a request is an ``application/http`` message with its own request line, headers
(googleapiclient puts the ``Authorization`` header in every part) and body, and a ``Content-ID``
``<base + n>``; each part of the answer carries ``Content-ID: <response-base + n>``, which is
what googleapiclient's ``BatchHttpRequest`` matches answers by.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from http import HTTPStatus

from fleetsync.sandbox.errors import ApiError

__all__ = ["MAX_BATCH_CALLS", "BatchPart", "PartReply", "parse_batch", "write_batch"]

MAX_BATCH_CALLS = 1000


@dataclass(frozen=True)
class BatchPart:
    content_id: str
    http_method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class PartReply:
    status: int
    body: bytes
    headers: dict[str, str]


def _split_http(message: bytes) -> tuple[str, dict[str, str], bytes]:
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = message.partition(separator)
        if found:
            break
    else:
        head, body = message, b""
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return lines[0].strip(), headers, body


def parse_batch(content_type: str, body: bytes) -> list[BatchPart]:
    """The calls of one batch request, or Google's 400 for a malformed or oversized batch."""
    if not content_type.lower().startswith("multipart/mixed"):
        raise ApiError(
            400, "invalid", "A batch request must be multipart/mixed (see Google's batch guide)."
        )
    envelope = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    message = BytesParser(policy=policy.compat32).parsebytes(envelope)
    if not message.is_multipart():
        raise ApiError(400, "invalid", "The batch request has no parts.")
    payload = message.get_payload()
    assert isinstance(payload, list)
    if len(payload) > MAX_BATCH_CALLS:
        raise ApiError(
            400,
            "invalid",
            f"A batch request may contain at most {MAX_BATCH_CALLS} calls; this one has "
            f"{len(payload)}. Split it.",
        )
    parts: list[BatchPart] = []
    for index, part in enumerate(payload):
        raw = part.get_payload(decode=False)
        data = raw.encode("ascii", "surrogateescape") if isinstance(raw, str) else b""
        request_line, headers, part_body = _split_http(data)
        pieces = request_line.split(" ")
        if len(pieces) < 2:
            raise ApiError(400, "invalid", f"Batch part {index + 1} has no request line.")
        # A long Content-ID (googleapiclient's "<uuid + request id>") arrives folded over two
        # lines; the answer must carry it unfolded or the client cannot match it.
        raw_id = str(part.get("Content-ID") or f"<{index + 1}>")
        content_id = raw_id.replace("\r\n", "").replace("\n", "").strip()
        parts.append(
            BatchPart(
                content_id=content_id,
                http_method=pieces[0].upper(),
                target=pieces[1],
                headers=headers,
                body=part_body,
            )
        )
    return parts


def write_batch(answers: list[tuple[BatchPart, PartReply]]) -> tuple[str, bytes]:
    """The multipart answer: (its Content-Type, its body)."""
    boundary = "batch_" + secrets.token_hex(12)
    chunks: list[bytes] = []
    for part, reply in answers:
        inner = part.content_id.strip("<>")
        try:
            phrase = HTTPStatus(reply.status).phrase
        except ValueError:
            phrase = "Unknown"
        head = [
            f"--{boundary}",
            "Content-Type: application/http",
            f"Content-ID: <response-{inner}>",
            "",
            f"HTTP/1.1 {reply.status} {phrase}",
        ]
        head.extend(f"{name}: {value}" for name, value in reply.headers.items())
        head.append(f"Content-Length: {len(reply.body)}")
        chunks.append(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode("latin-1"))
    return f"multipart/mixed; boundary={boundary}", b"".join(chunks)
