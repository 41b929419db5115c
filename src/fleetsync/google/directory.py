"""The Directory API as fleetsync uses it: devices, their commands, users and org units.

Every call goes through the session (throttle + the one retry layer); every answer is validated
(``wire.py``) before it becomes a domain snapshot. Limits Google documents are enforced here, so
a caller's chunking bug fails loudly instead of being answered by Google with a 400.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from fleetsync.domain.observed import (
    ObservedAccount,
    ObservedDevice,
    ObservedOrgUnit,
)
from fleetsync.google.errors import GoogleError, GoogleNotFound
from fleetsync.google.session import BatchOutcome, GoogleSession
from fleetsync.google.throttle import Quota
from fleetsync.google.wire import (
    BORROWER_ID_TYPE,
    DEVICE_FIELDS,
    USER_FIELDS,
    CommandWire,
    DevicePage,
    DeviceWire,
    IssueCommandResponse,
    OrgUnitList,
    OrgUnitWire,
    StatusChangeResponse,
    UserPage,
    UserWire,
    parse,
)

__all__ = ["MAX_DEVICES_PER_CALL", "MAX_DEVICE_PAGE", "MAX_USER_PAGE", "Directory", "StatusAction"]

MAX_DEVICE_PAGE = 300
MAX_USER_PAGE = 500
MAX_DEVICES_PER_CALL = 50

StatusAction = Literal["DISABLE", "REENABLE", "DEPROVISION"]


def _chunk_limit(ids: Sequence[str], what: str) -> None:
    if len(ids) > MAX_DEVICES_PER_CALL:
        raise ValueError(f"{what} takes at most {MAX_DEVICES_PER_CALL} devices, got {len(ids)}")


def _raw_body(_response: Any, content: bytes) -> bytes:
    """A page's body as Google sent it: pydantic validates the JSON text itself (in Rust), which
    costs less than googleapiclient's json.loads followed by validating the Python objects.
    googleapiclient raises HttpError for an error status before it gets here."""
    return content


class Directory:
    def __init__(self, session: GoogleSession) -> None:
        self._session = session
        api = session.directory
        self._customer = session.customer
        # Each resource is built once: googleapiclient builds a resource's methods (and their
        # docstrings, from the discovery schema) every time ``api.chromeosdevices()`` is called,
        # which costs more than the HTTP call itself when it is done per device.
        self._devices = api.chromeosdevices()
        self._chromeos = api.customer().devices().chromeos()
        self._commands = self._chromeos.commands()
        self._users = api.users()
        self._org_units = api.orgunits()

    # ------------------------------------------------------------------------ devices
    def iter_devices(
        self,
        *,
        org_unit_path: str | None = None,
        include_children: bool = False,
        query: str | None = None,
        page_size: int = MAX_DEVICE_PAGE,
        by_serial: Literal["ASCENDING", "DESCENDING"] | None = None,
    ) -> Iterator[ObservedDevice]:
        """Every device matching, 300 a page with a fields mask; ``by_serial``: in that order of
        serial numbers (a page is asked for only when the one before it is used up)."""
        params: dict[str, Any] = {
            "customerId": self._customer,
            "maxResults": min(page_size, MAX_DEVICE_PAGE),
            "projection": "BASIC",
            "fields": f"nextPageToken,chromeosdevices({DEVICE_FIELDS})",
        }
        if by_serial is not None:
            params["orderBy"] = "serialNumber"
            params["sortOrder"] = by_serial
        if org_unit_path is not None:
            # The list call wants the path without its leading slash (or the unit's ``id:``).
            params["orgUnitPath"] = org_unit_path.lstrip("/")
            if include_children:
                params["includeChildOrgunits"] = True
        if query:
            params["query"] = query
        token: str | None = None
        while True:
            request = self._devices.list(**params, pageToken=token)
            request.postproc = _raw_body
            page = parse(DevicePage, self._session.execute(request), method=request.methodId)
            for device in page.chromeosdevices:
                yield device.observed()
            token = page.nextPageToken
            if not token:
                return

    def find_device_by_serial(self, serial: str) -> ObservedDevice | None:
        """The device with exactly this serial, or None.

        Google's ``id:`` query is a prefix match (GAM once deprovisioned 97 devices for one
        serial): only a device whose serial equals the one asked for is returned.
        """
        wanted = serial.strip().upper()
        matches = [
            device
            for device in self.iter_devices(query=f"id:{wanted}")
            if device.serial.upper() == wanted
        ]
        if len(matches) > 1:
            raise GoogleError(
                f"Google reports {len(matches)} devices with serial {wanted}; resolve by hand",
                method="directory.chromeosdevices.list",
            )
        return matches[0] if matches else None

    def get_devices(self, device_ids: Sequence[str]) -> dict[str, ObservedDevice | None]:
        """Several devices by id, in HTTP batches (reads: the query quota only). ``None`` for a
        device Google does not have; a device whose read failed for good is left out."""
        items = [
            (
                device_id,
                self._devices.get(
                    customerId=self._customer,
                    deviceId=device_id,
                    projection="BASIC",
                    fields=DEVICE_FIELDS,
                ),
            )
            for device_id in device_ids
        ]
        outcome = self._session.execute_batch(items)
        found: dict[str, ObservedDevice | None] = {
            key: parse(DeviceWire, answer, method="directory.chromeosdevices.get").observed()
            for key, answer in outcome.results.items()
        }
        for key, error in outcome.errors.items():
            if isinstance(error, GoogleNotFound):
                found[key] = None
        return found

    def move_devices(self, org_unit_path: str, device_ids: Sequence[str]) -> None:
        """Move up to 50 devices into an org unit. Google barely checks the ids: read back."""
        _chunk_limit(device_ids, "moveDevicesToOu")
        request = self._devices.moveDevicesToOu(
            customerId=self._customer,
            orgUnitPath=org_unit_path,
            body={"deviceIds": list(device_ids)},
        )
        self._session.execute(request, quota=Quota.DEVICE_WRITES)

    def annotate_devices(self, annotations: Mapping[str, Mapping[str, str]]) -> BatchOutcome[str]:
        """Patch the writable annotation fields of many devices, in HTTP batches."""
        allowed = {"annotatedUser", "annotatedAssetId", "annotatedLocation", "notes"}
        items = []
        for device_id, body in annotations.items():
            unknown = set(body) - allowed
            if unknown:
                raise ValueError(f"not an annotation field: {sorted(unknown)}")
            request = self._devices.patch(
                customerId=self._customer,
                deviceId=device_id,
                body=dict(body),
                fields="deviceId",
            )
            items.append((device_id, request))
        return self._session.execute_batch(items, quota=Quota.DEVICE_WRITES)

    def change_status(
        self,
        device_ids: Sequence[str],
        action: StatusAction,
        *,
        deprovision_reason: str | None = None,
    ) -> dict[str, str | None]:
        """Disable, re-enable or deprovision up to 50 devices. Devices fail one by one: returns,
        per device id, None on success or Google's message for that device."""
        _chunk_limit(device_ids, "batchChangeStatus")
        body: dict[str, Any] = {
            "deviceIds": list(device_ids),
            "changeChromeOsDeviceStatusAction": f"CHANGE_CHROME_OS_DEVICE_STATUS_ACTION_{action}",
        }
        if action == "DEPROVISION":
            if not deprovision_reason:
                raise ValueError("a deprovision needs a reason")
            body["deprovisionReason"] = deprovision_reason
        request = self._chromeos.batchChangeStatus(customerId=self._customer, body=body)
        answer = parse(
            StatusChangeResponse,
            self._session.execute(request, quota=Quota.DEVICE_WRITES),
            method=request.methodId,
        )
        outcome: dict[str, str | None] = dict.fromkeys(
            device_ids, "Google returned no result for this device"
        )
        for result in answer.changeChromeOsDeviceStatusResults:
            outcome[result.deviceId] = (
                (result.error.message or f"error {result.error.code}") if result.error else None
            )
        return outcome

    def issue_command(
        self, device_id: str, command_type: str, payload: Mapping[str, Any] | None = None
    ) -> str:
        """Issue a device command; returns its id. Not idempotent: an ambiguous failure raises
        GoogleOutcomeUnknown and is never retried blindly."""
        body: dict[str, Any] = {"commandType": command_type}
        if payload is not None:
            body["payload"] = json.dumps(payload)
        request = self._chromeos.issueCommand(
            customerId=self._customer, deviceId=device_id, body=body
        )
        answer = self._session.execute(request, quota=Quota.DEVICE_WRITES, idempotent=False)
        return parse(IssueCommandResponse, answer, method=request.methodId).commandId

    def get_commands(self, commands: Sequence[tuple[str, str]]) -> BatchOutcome[tuple[str, str]]:
        """Several commands, (device id, command id) each, in HTTP batches; answers are
        :class:`ObservedCommand`."""
        items = [
            (
                (device_id, command_id),
                self._commands.get(
                    customerId=self._customer, deviceId=device_id, commandId=command_id
                ),
            )
            for device_id, command_id in commands
        ]
        outcome = self._session.execute_batch(items)
        results = {
            key: parse(CommandWire, answer, method="directory.commands.get").observed(key[0])
            for key, answer in outcome.results.items()
        }
        return BatchOutcome(results, outcome.errors)

    # -------------------------------------------------------------------------- users
    def iter_accounts(
        self, org_unit_path: str, *, page_size: int = MAX_USER_PAGE
    ) -> Iterator[ObservedAccount]:
        """Every account in an org unit and the org units below it, 500 a page."""
        params: dict[str, Any] = {
            "customer": self._customer,
            "maxResults": min(page_size, MAX_USER_PAGE),
            "query": f"orgUnitPath='{org_unit_path}'",
            "projection": "basic",
            "fields": f"nextPageToken,users({USER_FIELDS})",
        }
        token: str | None = None
        while True:
            request = self._users.list(**params, pageToken=token)
            request.postproc = _raw_body
            page = parse(UserPage, self._session.execute(request), method=request.methodId)
            for user in page.users:
                yield user.observed()
            token = page.nextPageToken
            if not token:
                return

    def get_account(self, email: str) -> ObservedAccount | None:
        request = self._users.get(userKey=email, fields=USER_FIELDS)
        try:
            answer = self._session.execute(request)
        except GoogleNotFound:
            return None
        return parse(UserWire, answer, method=request.methodId).observed()

    def create_account(
        self,
        *,
        email: str,
        given_name: str,
        family_name: str,
        password: str,
        org_unit_path: str,
        borrower_id: str,
        change_password_at_next_login: bool = True,
    ) -> ObservedAccount:
        """Create a borrower's account. Not idempotent: an ambiguous failure raises
        GoogleOutcomeUnknown; look the address up before creating it again."""
        body = {
            "primaryEmail": email,
            "name": {"givenName": given_name[:60], "familyName": family_name[:60]},
            "password": password,
            "changePasswordAtNextLogin": change_password_at_next_login,
            "orgUnitPath": org_unit_path,
            "externalIds": [
                {"type": "custom", "customType": BORROWER_ID_TYPE, "value": borrower_id}
            ],
        }
        request = self._users.insert(body=body, fields=USER_FIELDS)
        answer = self._session.execute(request, idempotent=False)
        return parse(UserWire, answer, method=request.methodId).observed()

    def update_accounts(self, changes: Mapping[str, Mapping[str, Any]]) -> BatchOutcome[str]:
        """Patch many accounts (suspend, unsuspend, move org unit), in HTTP batches."""
        allowed = {"suspended", "orgUnitPath"}
        items = []
        for email, body in changes.items():
            unknown = set(body) - allowed
            if unknown:
                raise ValueError(f"fleetsync does not change {sorted(unknown)} on accounts")
            items.append((email, self._users.patch(userKey=email, body=dict(body), fields="id")))
        return self._session.execute_batch(items)

    def set_password(
        self, user_key: str, *, password: str, change_password_at_next_login: bool = True
    ) -> None:
        """Set an account's password (``users.update``, which takes only the fields sent), as
        :meth:`create_account` sends it. Idempotent: sending the same password again (a retry
        after a lost answer, the next run after an unknown outcome) leaves the account as one
        send does, so the session's retries may repeat it."""
        body = {"password": password, "changePasswordAtNextLogin": change_password_at_next_login}
        request = self._users.update(userKey=user_key, body=body, fields="id")
        self._session.execute(request)

    def delete_accounts(self, user_keys: Sequence[str]) -> BatchOutcome[str]:
        """Delete accounts, each named by Google's user id (or address). A repeated delete
        answers notFound: the caller treats it as done."""
        items = [(key, self._users.delete(userKey=key)) for key in user_keys]
        return self._session.execute_batch(items)

    # ---------------------------------------------------------------------- org units
    def list_org_units(self) -> list[ObservedOrgUnit]:
        return self.org_unit_tree()[0]

    def org_unit_tree(self) -> tuple[list[ObservedOrgUnit], str | None]:
        """Every org unit below the root, and the root's own id (``id:...``, as the device list
        takes it; the parent of a top-level unit) or None when the tenant has no org units."""
        request = self._org_units.list(
            customerId=self._customer,
            type="all",
            fields="organizationUnits(orgUnitPath,orgUnitId,parentOrgUnitPath,parentOrgUnitId)",
        )
        answer = parse(OrgUnitList, self._session.execute(request), method=request.methodId)
        root = next(
            (
                unit.parentOrgUnitId
                for unit in answer.organizationUnits
                if unit.parentOrgUnitPath == "/" and unit.parentOrgUnitId
            ),
            None,
        )
        if root is not None and not root.startswith("id:"):
            root = f"id:{root}"
        return [unit.observed() for unit in answer.organizationUnits], root

    def create_org_unit(self, path: str) -> ObservedOrgUnit:
        """Create one org unit under an existing parent (Google takes name + parent path)."""
        parent, _, name = path.rpartition("/")
        request = self._org_units.insert(
            customerId=self._customer,
            body={"name": name, "parentOrgUnitPath": parent or "/"},
            fields="orgUnitPath,orgUnitId,parentOrgUnitPath",
        )
        return parse(
            OrgUnitWire, self._session.execute(request), method=request.methodId
        ).observed()
