"""One simulated Google Workspace tenant: its identity, clock, org units, devices, users, policies.

All of it lives in memory behind one lock (``state.py`` writes it to a file). Handlers run with
the lock held, so every call sees and leaves a consistent tenant, as Google's answers do.
"""

from __future__ import annotations

import random
import string
import threading
from typing import Any

from fleetsync.sandbox.auth import ServiceAccount
from fleetsync.sandbox.clock import Clock
from fleetsync.sandbox.devices import DeviceFleet
from fleetsync.sandbox.errors import ApiError
from fleetsync.sandbox.gmail import SentMessage
from fleetsync.sandbox.oauth_clients import OAuthClients
from fleetsync.sandbox.orgunits import OrgUnitTree
from fleetsync.sandbox.policy import PolicyStore
from fleetsync.sandbox.presence import Behaviour, Presence
from fleetsync.sandbox.users import User, UserDirectory
from fleetsync.scopes import GMAIL_SEND_SCOPE, GOOGLE_SCOPES

__all__ = ["Tenant"]

_ID_CHARS = string.ascii_lowercase + string.digits


class Tenant:
    def __init__(
        self,
        domain: str = "example.org",
        *,
        account: ServiceAccount | None = None,
        customer_id: str | None = None,
        seed: int = 0,
        root_ou_id: str | None = None,
        create_admin: bool = True,
    ) -> None:
        self.domain = domain.lower()
        self.admin = f"admin@{self.domain}"
        self.account = account or ServiceAccount.generate()
        self._rng = random.Random(f"{self.domain}/{seed}")  # noqa: S311 - deterministic ids
        self.customer_id = customer_id or "C0" + self._token(7)
        self.clock = Clock()
        #: When the customer was created (``customers.get``'s customerCreationTime).
        self.created = self.clock.now()
        self.lock = threading.RLock()
        self.behaviour = Behaviour()
        #: fleetsync's scopes, and Gmail's send scope for the programme mailbox's messages.
        self.delegated_scopes: frozenset[str] = frozenset((*GOOGLE_SCOPES, GMAIL_SEND_SCOPE))
        #: Messages sent through Gmail (``users.messages.send``), oldest first.
        self.messages: list[SentMessage] = []
        #: Installed-app OAuth clients (admin tools) and their refresh tokens.
        self.oauth = OAuthClients()
        self.devices = DeviceFleet()
        self.users = UserDirectory()
        self.orgunits = OrgUnitTree(
            root_id=root_ou_id or self.new_ou_id(), id_source=self.new_ou_id
        )
        self.policies = PolicyStore()
        self.next_command_id = 5_831_000_000 + self._rng.randrange(1_000_000)
        #: Bumped by every change; ``state.py`` saves when it moved.
        self.version = 0
        if create_admin:
            self.users.add(
                User(
                    user_id=self.new_user_id(),
                    data={
                        "primaryEmail": self.admin,
                        "name": {"givenName": "Sandbox", "familyName": "Admin"},
                        "orgUnitPath": "/",
                    },
                    ou_id=self.orgunits.root.ou_id,
                    created=self.clock.now(),
                    is_admin=True,
                )
            )

    # ----------------------------------------------------------------------- identity
    def _token(self, length: int) -> str:
        return "".join(self._rng.choice(_ID_CHARS) for _ in range(length))

    def new_ou_id(self) -> str:
        taken = self.orgunits.by_id if hasattr(self, "orgunits") else {}
        while True:
            candidate = "03ph8a2z" + self._token(9)
            if candidate not in taken:
                return candidate

    def new_user_id(self) -> str:
        while True:
            candidate = str(self._rng.randrange(10**20, 10**21))
            if candidate not in self.users.by_id and candidate not in self.users.deleted:
                return candidate

    def new_command_id(self) -> str:
        self.next_command_id += self._rng.randrange(1, 50)
        return str(self.next_command_id)

    def new_presence(self) -> Presence:
        return Presence(
            checkin_interval=self.behaviour.checkin_interval_seconds,
            last_checkin=self.clock.now(),
        )

    def check_customer(self, customer: str) -> None:
        """``my_customer`` or the tenant's own id; anything else is someone else's tenant."""
        if customer not in {"my_customer", self.customer_id}:
            raise ApiError(403, "forbidden", "Not Authorized to access this resource/api")

    # ------------------------------------------------------------------------- people
    def subject_exists(self, email: str) -> bool:
        user = self.users.find(email)
        return user is not None and not user.data.get("suspended")

    def is_admin(self, email: str) -> bool:
        user = self.users.find(email)
        return user is not None and user.is_admin

    # ------------------------------------------------------------------------ changes
    def touch(self) -> None:
        self.version += 1

    def org_units_moved(self, ou_ids: list[str]) -> None:
        """Org units were renamed or moved: refresh the paths devices and users report."""
        if ou_ids:
            paths = {ou_id: self.orgunits.by_id[ou_id].path for ou_id in ou_ids}
            self.devices.refresh_paths(ou_ids, paths)
            self.users.refresh_paths(ou_ids, paths)
        self.touch()

    def summary(self) -> dict[str, Any]:
        online = sum(1 for d in self.devices.devices if d.presence.online)
        return {
            "domain": self.domain,
            "customerId": self.customer_id,
            "admin": self.admin,
            "serviceAccount": self.account.client_email,
            "devices": len(self.devices),
            "devicesOnline": online,
            "users": len(self.users),
            "deletedUsers": len(self.users.deleted),
            "orgUnits": len(self.orgunits.by_id) - 1,
            "policies": len(self.policies.values),
            "delegatedScopes": sorted(self.delegated_scopes),
            "now": self.clock.now(),
            "clockOffsetSeconds": self.clock.offset,
        }
