"""Google's answers as fleetsync reads them: pydantic models that validate every page before
anything is built from it, and their conversion into the domain's snapshots.

Only the fields fleetsync asks for (``fields`` masks) are modelled; anything else is ignored.
A malformed answer raises :class:`GoogleBadResponse` naming the method and the field.
"""

from __future__ import annotations

from datetime import datetime
from sys import intern
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fleetsync.domain.observed import (
    ObservedAccount,
    ObservedCommand,
    ObservedDevice,
    ObservedOrgUnit,
    ObservedPolicy,
)
from fleetsync.google.errors import GoogleBadResponse

__all__ = [
    "BORROWER_ID_TYPE",
    "CommandWire",
    "DevicePage",
    "OrgUnitList",
    "OrgUnitWire",
    "ResolvePage",
    "StatusChangeResponse",
    "UserPage",
    "UserWire",
    "parse",
]

#: The custom external id type fleetsync writes on the accounts it creates.
BORROWER_ID_TYPE = "fleetsync_borrower"

M = TypeVar("M", bound=BaseModel)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def parse(model: type[M], data: Any, *, method: str) -> M:
    """Validate Google's answer: parsed JSON, or the body as it came (bytes)."""
    try:
        if isinstance(data, bytes | str):
            return model.model_validate_json(data)
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise GoogleBadResponse(
            f"unexpected answer from Google ({where}: {first['msg']})", method=method
        ) from None


# ------------------------------------------------------------------------------- devices
class DeviceWire(_Wire):
    deviceId: str = Field(min_length=1)
    serialNumber: str = ""
    status: str = ""
    orgUnitPath: str = ""
    model: str = ""
    annotatedUser: str = ""
    annotatedAssetId: str = ""
    annotatedLocation: str = ""
    notes: str = ""
    lastSync: datetime | None = None
    lastEnrollmentTime: datetime | None = None

    def observed(self) -> ObservedDevice:
        # Status, org unit, model and location take a handful of values across a fleet:
        # interned, 100,000 devices share a few strings instead of holding 400,000 copies.
        return ObservedDevice(
            device_id=self.deviceId,
            serial=self.serialNumber,
            status=intern(self.status),
            org_unit_path=intern(self.orgUnitPath),
            model=intern(self.model),
            annotated_user=self.annotatedUser,
            annotated_asset_id=self.annotatedAssetId,
            annotated_location=intern(self.annotatedLocation),
            notes=self.notes,
            last_sync=self.lastSync,
            last_enrollment=self.lastEnrollmentTime,
        )


class DevicePage(_Wire):
    chromeosdevices: tuple[DeviceWire, ...] = ()
    nextPageToken: str | None = None


DEVICE_FIELDS = (
    "deviceId,serialNumber,status,orgUnitPath,model,annotatedUser,annotatedAssetId,"
    "annotatedLocation,notes,lastSync,lastEnrollmentTime"
)


class StatusChangeError(_Wire):
    code: int = 0
    message: str = ""


class StatusChangeResult(_Wire):
    deviceId: str
    error: StatusChangeError | None = None


class StatusChangeResponse(_Wire):
    changeChromeOsDeviceStatusResults: tuple[StatusChangeResult, ...] = ()


class CommandResultWire(_Wire):
    result: str | None = None
    executeTime: datetime | None = None
    errorMessage: str = ""


class CommandWire(_Wire):
    commandId: str = Field(min_length=1)
    type: str = ""
    state: str = Field(min_length=1)
    issueTime: datetime | None = None
    commandExpireTime: datetime | None = None
    commandResult: CommandResultWire | None = None

    def observed(self, device_id: str) -> ObservedCommand:
        result = self.commandResult
        return ObservedCommand(
            device_id=device_id,
            command_id=self.commandId,
            type=self.type,
            state=self.state,
            result=result.result if result else None,
            issued=self.issueTime,
            executed=result.executeTime if result else None,
            expires=self.commandExpireTime,
            error_message=result.errorMessage if result else "",
        )


class IssueCommandResponse(_Wire):
    commandId: str = Field(min_length=1)


# --------------------------------------------------------------------------------- users
class NameWire(_Wire):
    givenName: str = ""
    familyName: str = ""


class ExternalIdWire(_Wire):
    type: str = ""
    customType: str = ""
    value: str = ""


class UserWire(_Wire):
    id: str = Field(min_length=1)
    primaryEmail: str = Field(min_length=3)
    orgUnitPath: str = ""
    suspended: bool = False
    name: NameWire | None = None
    externalIds: tuple[ExternalIdWire, ...] = ()
    creationTime: datetime | None = None

    def observed(self) -> ObservedAccount:
        borrower = next(
            (
                ext.value
                for ext in self.externalIds
                if ext.type == "custom" and ext.customType == BORROWER_ID_TYPE
            ),
            None,
        )
        return ObservedAccount(
            user_id=self.id,
            email=self.primaryEmail.lower(),
            org_unit_path=intern(self.orgUnitPath),
            suspended=self.suspended,
            borrower_id=borrower,
            given_name=self.name.givenName if self.name else "",
            family_name=self.name.familyName if self.name else "",
            created=self.creationTime,
        )


class UserPage(_Wire):
    users: tuple[UserWire, ...] = ()
    nextPageToken: str | None = None


USER_FIELDS = (
    "id,primaryEmail,orgUnitPath,suspended,name(givenName,familyName),externalIds,creationTime"
)


# ----------------------------------------------------------------------------- org units
class OrgUnitWire(_Wire):
    orgUnitPath: str = Field(min_length=1)
    orgUnitId: str = Field(min_length=1)
    parentOrgUnitPath: str | None = None
    parentOrgUnitId: str | None = None

    def observed(self) -> ObservedOrgUnit:
        return ObservedOrgUnit(
            path=self.orgUnitPath,
            org_unit_id=self.orgUnitId.removeprefix("id:"),
            parent_path=self.parentOrgUnitPath,
        )


class OrgUnitList(_Wire):
    organizationUnits: tuple[OrgUnitWire, ...] = ()


# ------------------------------------------------------------------------------ policies
class PolicyTargetKeyWire(_Wire):
    targetResource: str = ""
    additionalTargetKeys: dict[str, str] = {}


class PolicyValueWire(_Wire):
    policySchema: str = Field(min_length=1)
    value: dict[str, Any] = {}


class ResolvedPolicyWire(_Wire):
    targetKey: PolicyTargetKeyWire
    value: PolicyValueWire
    sourceKey: PolicyTargetKeyWire | None = None
    addedSourceKey: PolicyTargetKeyWire | None = None

    def observed(self, org_unit_path: str, paths_by_id: dict[str, str]) -> ObservedPolicy:
        source = self.sourceKey.targetResource if self.sourceKey else ""
        source_id = source.removeprefix("orgunits/")
        return ObservedPolicy(
            org_unit_path=org_unit_path,
            schema=self.value.policySchema,
            value=self.value.value,
            additional_keys=tuple(sorted(self.targetKey.additionalTargetKeys.items())),
            source_org_unit_path=paths_by_id.get(source_id),
        )


class ResolvePage(_Wire):
    resolvedPolicies: tuple[ResolvedPolicyWire, ...] = ()
    nextPageToken: str | None = None
