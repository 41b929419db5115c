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
from fleetsync.sandbox.devices import Device, DeviceFleet
from fleetsync.sandbox.errors import ApiError
from fleetsync.sandbox.gmail import SentMessage
from fleetsync.sandbox.oauth_clients import OAuthClients
from fleetsync.sandbox.orgunits import OrgUnitTree
from fleetsync.sandbox.policy import PolicyStore
from fleetsync.sandbox.presence import Behaviour, Presence, check_in, settle
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

    # ----------------------------------------------------------------------- presence
    def set_presence(
        self,
        device: Device,
        *,
        online: bool | None = None,
        checkin_interval: float | None = None,
        forced_reenrollment: bool | None = None,
        command_outcome: str | None = None,
    ) -> None:
        """What the control surface changes of a device's presence (Google offers no way to)."""
        now = self.clock.now()
        presence = device.presence
        settle(presence, device.data, now, self.behaviour)
        if checkin_interval is not None:
            if checkin_interval <= 0:
                raise ValueError("a check-in interval is a positive number of seconds")
            presence.checkin_interval = checkin_interval
        if forced_reenrollment is not None:
            presence.forced_reenrollment = forced_reenrollment
        if command_outcome is not None:
            if command_outcome not in {"SUCCESS", "FAILURE", "IGNORED"}:
                raise ValueError("a command outcome is SUCCESS, FAILURE or IGNORED")
            presence.command_outcome = command_outcome
            for command in presence.commands:
                if command.delivered is None and command.final_state is None:
                    command.outcome = command_outcome
        if online is True and device.data.get("status") == "DEPROVISIONED":
            raise ValueError(f"device {device.device_id} is deprovisioned and cannot come online")
        if online is True and not presence.online:
            # Coming online is a check-in. It happens while the device still counts as offline:
            # otherwise the check-ins it would have made while away get invented, and a command
            # issued then would look delivered (even executed) at a time the device was off.
            check_in(presence, device.data, now, self.behaviour)
            presence.online = True
        elif online is False:
            presence.online = False
        self.touch()

    def check_in_now(self, device: Device) -> None:
        """The device contacts Google now, whether or not it is otherwise online."""
        if device.data.get("status") == "DEPROVISIONED":
            raise ValueError(f"device {device.device_id} is deprovisioned and cannot check in")
        check_in(device.presence, device.data, self.clock.now(), self.behaviour)
        self.touch()

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
