"""fleetsync's connection to Google (or the sandbox): one session, the two APIs it uses."""

from __future__ import annotations

from dataclasses import dataclass

from fleetsync.google.directory import Directory
from fleetsync.google.policy import PolicyClient
from fleetsync.google.session import GoogleSession
from fleetsync.settings import Settings

__all__ = ["Google"]


@dataclass(frozen=True)
class Google:
    session: GoogleSession
    directory: Directory
    policy: PolicyClient

    @classmethod
    def connect(cls, settings: Settings) -> Google:
        """Credentials and clients for the configured endpoint. No call is made yet."""
        session = GoogleSession(
            settings.google,
            batch_size=settings.sync.http_batch_size,
            concurrency=settings.sync.concurrency,
        )
        return cls(session=session, directory=Directory(session), policy=PolicyClient(session))

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Google:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def calls(self) -> int:
        """Calls sent so far (as Google's quotas count them)."""
        return self.session.calls
