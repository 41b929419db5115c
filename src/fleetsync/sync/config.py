"""The settings as the planner reads them: the org-unit layout, the safety budgets and the
standard policies, expanded per region and turned into Chrome Policy values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fleetsync.domain.actions import Budget, PolicyValue
from fleetsync.domain.desired import Layout
from fleetsync.domain.lifecycle import DeviceState
from fleetsync.domain.plan import DesiredPolicies
from fleetsync.domain.safety import Limit
from fleetsync.settings import Bookmark, OrgUnitPolicy, Settings

__all__ = [
    "APPS_SCHEMA",
    "BOOKMARKS_SCHEMA",
    "RETURN_MESSAGE_SCHEMA",
    "layout_of",
    "limits_of",
    "policies_of",
    "required_org_units",
]

BOOKMARKS_SCHEMA = "chrome.users.ManagedBookmarksSetting"
APPS_SCHEMA = "chrome.users.apps.InstallType"
#: The Chrome device policy whose text a disabled device shows on its locked screen.
RETURN_MESSAGE_SCHEMA = "chrome.devices.DisabledDeviceReturnInstructions"


def layout_of(settings: Settings) -> Layout:
    units = settings.org_units
    return Layout(
        device_org_units={
            DeviceState.SPARE: units.spare,
            DeviceState.ON_LOAN: units.on_loan,
            DeviceState.IN_REFURBISHMENT: units.in_refurbishment,
            DeviceState.LOST: units.lost,
            DeviceState.RETIRED: units.retired,
            DeviceState.ICT_TEST: units.ict_test,
        },
        students=units.students,
        adopt_from=tuple(units.adopt_from),
        locked_org_unit=settings.overdue.locked_org_unit
        if settings.overdue.lock_after_days is not None
        else None,
    )


def limits_of(settings: Settings) -> dict[Budget, Limit]:
    """The safety budgets, one per :class:`Budget`."""
    return {
        budget: Limit(per_hour=limit.per_hour, per_day=limit.per_day)
        for budget in Budget
        for limit in [settings.safety.of(budget)]
    }


#: What each state's org unit is for, in a plan's words.
_KEPT = {
    DeviceState.SPARE: "spare devices",
    DeviceState.ON_LOAN: "devices on loan",
    DeviceState.IN_REFURBISHMENT: "devices in refurbishment",
    DeviceState.LOST: "lost devices",
    DeviceState.RETIRED: "retired devices",
    DeviceState.ICT_TEST: "the ICT service's test devices",
}


def required_org_units(settings: Settings) -> dict[str, str]:
    """Every state's org unit and every region's students' org unit exist, even when empty:
    each path with what it is for (the reason a plan gives when it creates it)."""
    layout = layout_of(settings)
    wanted: dict[str, list[str]] = {}
    for region in settings.regions:
        wanted.setdefault(layout.students_org_unit(region), []).append(
            f"the accounts of {region}'s borrowers live there"
        )
    for state, path in layout.device_org_units.items():
        wanted.setdefault(path, []).append(f"fleetsync keeps {_KEPT[state]} there")
    if layout.locked_org_unit is not None:
        wanted.setdefault(layout.locked_org_unit, []).append(
            "fleetsync keeps overdue loans' locked devices there"
        )
    return {path: "; ".join(why) for path, why in wanted.items()}


def _bookmark(bookmark: Bookmark) -> dict[str, Any]:
    if bookmark.entries is not None:
        return {
            "folder": {
                "name": bookmark.name,
                "entries": [_bookmark(entry) for entry in bookmark.entries],
            }
        }
    return {"link": {"name": bookmark.name, "url": bookmark.url}}


def _values(policy: OrgUnitPolicy) -> tuple[PolicyValue, ...]:
    values: list[PolicyValue] = []
    if policy.bookmarks:
        values.append(
            PolicyValue.of(
                BOOKMARKS_SCHEMA,
                {
                    "managedBookmarks": {
                        "toplevelName": policy.bookmarks_folder,
                        "bookmarks": [_bookmark(b) for b in policy.bookmarks],
                    }
                },
            )
        )
    values.extend(
        PolicyValue.of(APPS_SCHEMA, {"appInstallType": app.install_type}, (("app_id", app.app_id),))
        for app in policy.apps
    )
    return tuple(values)


def policies_of(
    settings: Settings, regions: Sequence[str] | None = None
) -> tuple[DesiredPolicies, ...]:
    """The standard policies per org unit, ``{region}`` expanded for each region."""
    regions = tuple(regions if regions is not None else settings.regions)
    found: dict[str, DesiredPolicies] = {}
    for policy in settings.policies:
        units = (
            [policy.org_unit.replace("{region}", region) for region in regions]
            if "{region}" in policy.org_unit
            else [policy.org_unit]
        )
        for unit in units:
            found[unit] = DesiredPolicies(org_unit=unit, values=_values(policy))
    locked = layout_of(settings).locked_org_unit
    if locked is not None:
        # The return instructions a locked (disabled) loan device shows, on the org unit that
        # holds them: a device policy, in its own namespace, beside whatever else is set there.
        message = PolicyValue.of(
            RETURN_MESSAGE_SCHEMA, {"deviceDisabledMessage": settings.overdue.return_message}
        )
        already = found.get(locked)
        found[locked] = DesiredPolicies(
            org_unit=locked, values=(*(already.values if already else ()), message)
        )
    return tuple(found[unit] for unit in sorted(found))
