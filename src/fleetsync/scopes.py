"""The OAuth scopes fleetsync's service account is delegated, in one place of their own.

Both sides read them: fleetsync asks Google for exactly these (``settings``, ``google/``), and
the sandbox grants them to its tenant's service account by default, as the agency's super admin
does in the Admin console. A module that imports nothing, so that the sandbox, which knows
nothing of fleetsync's own layers, can read them without reading fleetsync's settings.
"""

from __future__ import annotations

__all__ = ["DEVICE_SCOPES", "GMAIL_SEND_SCOPE", "GOOGLE_SCOPES"]

_AUTH = "https://www.googleapis.com/auth/"
DEVICE_SCOPES = (_AUTH + "admin.directory.device.chromeos",)
#: Delegated separately: the programme mailbox sends borrowers' messages with it (``[messages]``).
GMAIL_SEND_SCOPE = _AUTH + "gmail.send"
#: The least-privilege scopes a super admin delegates to fleetsync's service account. Exactly these.
GOOGLE_SCOPES: tuple[str, ...] = (
    _AUTH + "admin.directory.device.chromeos",
    _AUTH + "admin.directory.user",
    _AUTH + "admin.directory.orgunit",
    _AUTH + "chrome.management.policy",
)
