"""The planner: what it plans for each difference between the ledger and Google, what it refuses
to act on, its safety verdict, and that the same inputs always give the same plan."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from fleetsync.domain.actions import (
    AdoptDevice,
    AnnotateDevice,
    CreateAccount,
    DeleteAccount,
    DeprovisionDevices,
    DisableDevices,
    EnsureOrgUnit,
    IssuePowerwash,
    LinkDevice,
    MoveAccount,
    MoveDevices,
    PolicyValue,
    ReenableDevices,
    SetAccountPassword,
    SetPolicy,
    SuspendAccount,
    UnsuspendAccount,
)
from fleetsync.domain.desired import (
    AccountWanted,
    Layout,
    LedgerBorrower,
    LedgerDevice,
    LedgerLoan,
    desired_account,
    desired_device,
)
from fleetsync.domain.lifecycle import AccountStatus, DeviceState
from fleetsync.domain.observed import (
    Observation,
    ObservedAccount,
    ObservedDevice,
    ObservedOrgUnit,
    ObservedPolicy,
)
from fleetsync.domain.plan import Desired, DesiredPolicies, Plan, PlanConfig, plan
from fleetsync.domain.safety import Budget, Limit, Spent
from fleetsync.settings import Settings
from fleetsync.sync.config import required_org_units

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
S = DeviceState
LAYOUT = Layout(
    device_org_units={
        S.SPARE: "/Chromebooks/Spare",
        S.ON_LOAN: "/Chromebooks/On loan",
        S.IN_REFURBISHMENT: "/Chromebooks/Refurbishment",
        S.LOST: "/Chromebooks/Lost",
        S.RETIRED: "/Chromebooks/Retired",
        S.ICT_TEST: "/Chromebooks/ICT",
    },
    students="/Students/{region}",
    adopt_from=("/Chromebooks/Staging",),
)
ALL_UNITS = (
    *LAYOUT.device_org_units.values(),
    "/Chromebooks",
    "/Chromebooks/Staging",
    "/Students",
    "/Students/Antwerpen",
)
LIMITS = {
    Budget.SUSPENSIONS: Limit(100, 300),
    Budget.DELETIONS: Limit(50, 100),
    Budget.POWERWASHES: Limit(100, 300),
    Budget.DISABLES: Limit(25, 50),
    Budget.DEPROVISIONS: Limit(10, 20),
}
CONFIG = PlanConfig(layout=LAYOUT, limits=LIMITS, regions=("Antwerpen", "Brussel"))
LOAN = LedgerLoan(ref="L-7", borrower="B-7", account_email="jan.peeters@example.org",
                  agreed_end=date(2026, 12, 31))  # fmt: skip


def units(*paths: str) -> dict[str, ObservedOrgUnit]:
    return {p: ObservedOrgUnit(path=p, org_unit_id=f"id{i}", parent_path=None)
            for i, p in enumerate(paths)}  # fmt: skip


def seen(serial: str, device_id: str | None = None, **kw: str) -> ObservedDevice:
    values: dict[str, Any] = {"status": "ACTIVE", "org_unit_path": "/Chromebooks/Spare",
              "annotated_location": "Antwerpen", "annotated_asset_id": f"CB-{serial}"}  # fmt: skip
    values.update(kw)
    return ObservedDevice(device_id=device_id or f"g-{serial}", serial=serial, **values)


def ledger_device(serial: str, state: S = S.SPARE, **kw: object) -> LedgerDevice:
    values: dict[str, object] = {"asset_tag": f"CB-{serial}", "region": "Antwerpen",
                                 "google_device_id": f"g-{serial}"}  # fmt: skip
    values.update(kw)
    return LedgerDevice(serial=serial, state=state, **values)  # type: ignore[arg-type]


def account(email: str = "jan.peeters@example.org", **kw: object) -> ObservedAccount:
    values: dict[str, object] = {"user_id": "u-7", "org_unit_path": "/Students/Antwerpen",
                                 "suspended": False, "borrower_id": "B-7"}  # fmt: skip
    values.update(kw)
    return ObservedAccount(email=email, **values)  # type: ignore[arg-type]


def borrower(status: AccountStatus, since: datetime = NOW, **kw: object) -> LedgerBorrower:
    values: dict[str, object] = {"desk_id": "B-7", "account_email": "jan.peeters@example.org",
                                 "given_name": "Jan", "family_name": "Peeters",
                                 "region": "Antwerpen", "account_status": status,
                                 "account_status_since": since}  # fmt: skip
    values.update(kw)
    return LedgerBorrower(**values)  # type: ignore[arg-type]


def make_plan(
    devices: list[LedgerDevice] = [],  # noqa: B006 - never mutated
    observed: list[ObservedDevice] = [],  # noqa: B006
    *,
    borrowers: list[LedgerBorrower] = [],  # noqa: B006
    accounts: list[ObservedAccount] = [],  # noqa: B006
    policies: tuple[DesiredPolicies, ...] = (),
    seen_policies: dict[tuple[str, str, tuple[tuple[str, str], ...]], ObservedPolicy] | None = None,
    config: PlanConfig = CONFIG,
    complete: bool = True,
    delete_after: timedelta = timedelta(days=30),
    managed_devices: int | None = None,
) -> Plan:
    wanted_accounts = [desired_account(b, LAYOUT, now=NOW, delete_after=delete_after)
                       for b in borrowers]  # fmt: skip
    desired = Desired(
        devices=tuple(desired_device(d, LAYOUT) for d in devices),
        accounts=tuple(a for a in wanted_accounts if a is not None),
        policies=policies,
        known_serials=frozenset(d.serial for d in devices),
        known_asset_tags={d.asset_tag: d.serial for d in devices if d.asset_tag},
        managed_devices=len(devices) if managed_devices is None else managed_devices,
        managed_accounts=len(borrowers),
    )
    observation = Observation(
        devices={d.device_id: d for d in observed},
        accounts={a.email: a for a in accounts},
        org_units=units(*ALL_UNITS),
        policies=seen_policies or {},
        policy_org_units=frozenset(p.org_unit for p in policies)
        if seen_policies is not None
        else frozenset(),
        complete=complete,
    )
    return plan(desired, observation, config)


def kinds(result: Plan) -> list[str]:
    return [a.kind for a in result.actions]


# ---------------------------------------------------------------------------- devices
def test_google_matching_the_ledger_plans_nothing() -> None:
    result = make_plan([ledger_device("5CD1")], [seen("5CD1")])
    assert result.actions == ()
    assert result.findings == ()
    assert not result.safety.holds


def test_moves_are_grouped_per_org_unit_fifty_a_call_in_serial_order() -> None:
    devices = [ledger_device(f"5CD{i:03d}") for i in range(120)]
    observed = [seen(d.serial, org_unit_path="/Chromebooks/Staging") for d in devices]
    result = make_plan(devices, observed)
    moves = [a for a in result.actions if isinstance(a, MoveDevices)]
    assert [len(m.devices) for m in moves] == [50, 50, 20]
    assert {m.org_unit for m in moves} == {"/Chromebooks/Spare"}
    serials = [ref.serial for m in moves for ref in m.devices]
    assert serials == sorted(d.serial for d in devices)


def test_a_device_on_loan_carries_borrower_asset_tag_region_and_a_loan_note() -> None:
    device = ledger_device("5CD1", S.ON_LOAN, loan=LOAN)
    result = make_plan([device], [seen("5CD1")])
    move, annotate = result.actions
    assert isinstance(move, MoveDevices)
    assert move.org_unit == "/Chromebooks/On loan"
    assert isinstance(annotate, AnnotateDevice)
    assert dict(annotate.changes) == {
        "annotatedUser": "jan.peeters@example.org",
        "notes": "fleetsync: loan L-7 to borrower B-7 until 2026-12-31",
    }


@pytest.mark.parametrize(
    ("notes", "expected"),
    [
        pytest.param("fleetsync: loan L-7 to borrower B-7 until 2026-12-31", {"notes": ""},
                     id="our-note-is-cleared"),
        pytest.param("battery swollen, do not lend", {}, id="a-persons-note-stays"),
    ],
)  # fmt: skip
def test_off_loan_the_borrower_and_our_note_are_cleared(
    notes: str, expected: dict[str, str]
) -> None:
    observed = seen("5CD1", org_unit_path="/Chromebooks/Refurbishment",
                    annotated_user="jan.peeters@example.org", notes=notes)  # fmt: skip
    result = make_plan([ledger_device("5CD1", S.IN_REFURBISHMENT)], [observed])
    [annotate] = result.actions
    assert isinstance(annotate, AnnotateDevice)
    assert dict(annotate.changes) == {"annotatedUser": "", **expected}


@pytest.mark.parametrize(
    ("state", "status", "expected"),
    [
        pytest.param(S.LOST, "ACTIVE", [DisableDevices], id="lost-is-disabled"),
        pytest.param(S.LOST, "DISABLED", [], id="lost-already-disabled"),
        pytest.param(S.SPARE, "DISABLED", [ReenableDevices], id="found-is-reenabled"),
        pytest.param(S.RETIRED, "ACTIVE", [DeprovisionDevices], id="retired-is-deprovisioned"),
        pytest.param(S.RETIRED, "DEPROVISIONED", [], id="retired-already-deprovisioned"),
    ],
)
def test_status_follows_the_lifecycle(state: S, status: str, expected: list[type]) -> None:
    where = LAYOUT.device_org_unit(state)
    result = make_plan(
        [ledger_device("5CD1", state)], [seen("5CD1", status=status, org_unit_path=where)]
    )
    assert [type(a) for a in result.actions if not isinstance(a, AnnotateDevice)] == expected


def test_a_device_google_deprovisioned_behind_the_ledgers_back_is_reported_not_touched() -> None:
    result = make_plan([ledger_device("5CD1")], [seen("5CD1", status="DEPROVISIONED",
                                                       org_unit_path="/Elsewhere")])  # fmt: skip
    assert result.actions == ()
    assert [f.kind for f in result.findings] == ["deprovisioned"]


@pytest.mark.parametrize(
    ("state", "status", "request_id", "expected"),
    [
        pytest.param(S.IN_REFURBISHMENT, "ACTIVE", 9, ["issue_powerwash"], id="returned"),
        pytest.param(S.IN_REFURBISHMENT, "ACTIVE", None, [], id="already-issued"),
        pytest.param(S.SPARE, "ACTIVE", 9, [], id="not-in-refurbishment"),
        pytest.param(S.ON_LOAN, "ACTIVE", 9, [], id="never-on-loan"),
        pytest.param(S.IN_REFURBISHMENT, "DISABLED", 9,
                     ["reenable_devices", "issue_powerwash"], id="found-reenabled-first"),
    ],
)  # fmt: skip
def test_a_powerwash_only_for_a_device_in_refurbishment_with_a_request(
    state: S, status: str, request_id: int | None, expected: list[str]
) -> None:
    device = ledger_device("5CD1", state, powerwash_request=request_id,
                           loan=LOAN if state is S.ON_LOAN else None)  # fmt: skip
    observed = seen("5CD1", status=status, org_unit_path=LAYOUT.device_org_unit(state),
                    annotated_user="jan.peeters@example.org" if state is S.ON_LOAN else "",
                    notes="fleetsync: loan L-7 to borrower B-7 until 2026-12-31"
                    if state is S.ON_LOAN else "")  # fmt: skip
    result = make_plan([device], [observed])
    assert kinds(result) == expected
    if expected and expected[-1] == "issue_powerwash":
        wash = result.actions[-1]
        assert isinstance(wash, IssuePowerwash)
        assert wash.request_id == 9
        assert wash.device.device_id == "g-5CD1"


def test_a_device_is_matched_by_its_exact_serial_never_a_prefix() -> None:
    device = ledger_device("5CD1", google_device_id=None)
    result = make_plan([device], [seen("5CD12"), seen("5CD1X")])
    assert not any(isinstance(a, LinkDevice | MoveDevices) for a in result.actions)
    assert "not_enrolled" in [f.kind for f in result.findings]


def test_an_unlinked_device_is_linked_by_exact_serial_and_planned_in_the_same_run() -> None:
    device = ledger_device("5cd1".upper(), google_device_id=None)
    observed = seen("5cd1", org_unit_path="/Chromebooks/Staging", annotated_asset_id="CB-5CD1")
    result = make_plan([device], [observed])
    assert kinds(result) == ["link_device", "move_devices"]


def test_two_google_devices_with_one_serial_are_left_alone() -> None:
    device = ledger_device("5CD1", google_device_id=None, state=S.RETIRED)
    result = make_plan([device], [seen("5CD1", "a"), seen("5CD1", "b")])
    assert result.actions == ()
    assert [f.kind for f in result.findings] == ["duplicate_serial"]


def test_a_recorded_id_whose_serial_no_longer_agrees_is_left_alone() -> None:
    device = ledger_device("5CD1", S.RETIRED)
    result = make_plan([device], [seen("5CD9", "g-5CD1")], config=replace(CONFIG, adopt=True))
    assert result.actions == ()
    assert [f.kind for f in result.findings] == ["serial_mismatch"]


# ------------------------------------------------------------------- unknown devices
def test_unknown_devices_in_managed_org_units_are_reported_and_others_ignored() -> None:
    observed = [seen("5CDX", org_unit_path="/Chromebooks/Staging"),
                seen("5CDY", org_unit_path="/Teachers")]  # fmt: skip
    result = make_plan([], observed)
    assert result.actions == ()
    assert [(f.kind, f.target) for f in result.findings] == [("unknown_device", "5CDX")]


def test_adopt_takes_unknown_devices_in_as_spare_and_moves_them() -> None:
    observed = [
        seen("5CDA", org_unit_path="/Chromebooks/Staging", model="HP Chromebook 14 G7 LTE"),
        seen("5CDB", org_unit_path="/Chromebooks/Staging", annotated_location="brussel"),
        seen("5CDC", org_unit_path="/Chromebooks/Staging", annotated_location=""),
    ]
    result = make_plan([], observed, config=replace(CONFIG, adopt=True))
    adopted = {a.device.serial: a for a in result.actions if isinstance(a, AdoptDevice)}
    assert adopted["5CDA"].connectivity == "4g"
    assert adopted["5CDB"].connectivity == "wifi"
    assert adopted["5CDB"].region == "Brussel"
    [move] = [a for a in result.actions if isinstance(a, MoveDevices)]
    assert [d.serial for d in move.devices] == ["5CDA", "5CDB"]
    assert [(f.kind, f.target) for f in result.findings] == [("cannot_adopt", "5CDC")]


def test_adopt_refuses_an_asset_tag_the_ledger_gives_another_device() -> None:
    observed = [seen("5CD1"), seen("5CDA", org_unit_path="/Chromebooks/Staging",
                                   annotated_asset_id="cb-5cd1")]  # fmt: skip
    result = make_plan([ledger_device("5CD1")], observed, config=replace(CONFIG, adopt=True))
    assert not any(isinstance(a, AdoptDevice) for a in result.actions)
    assert [f.kind for f in result.findings] == ["cannot_adopt"]


STAGING = "/Chromebooks/Staging"


@pytest.mark.parametrize(
    ("first", "second"), [("5CDA", "5CDB"), ("5CDB", "5CDA")], ids=["tagged first", "tagged last"]
)
def test_adopt_refuses_an_asset_tag_that_is_another_device_s_serial(
    first: str, second: str
) -> None:
    # 5CDA's tag is 5CDB's serial, whichever of the two the planner meets first.
    tagged = seen(first, org_unit_path=STAGING, annotated_asset_id=second)
    other = seen(second, org_unit_path=STAGING)
    known = seen("5CD1", org_unit_path=STAGING, annotated_asset_id="5cd0")
    result = make_plan(
        [ledger_device("5CD0")], [tagged, other, known, seen("5CD0")],
        config=replace(CONFIG, adopt=True),
    )  # fmt: skip
    adopted = [a.device.serial for a in result.actions if isinstance(a, AdoptDevice)]
    assert adopted == [second]
    assert [(f.kind, f.target, f.message.split(": ")[1].split(";")[0])
            for f in result.findings] == [
        ("cannot_adopt", "5CD1", "asset tag 5CD0 is the serial of another device"),
        ("cannot_adopt", first, f"asset tag {second} is the serial of another device"),
    ]  # fmt: skip


BAD_FOR_THE_LEDGER = {
    "an asset tag over 64 characters": ({"annotated_asset_id": "CB-" + "7" * 62}, "(at most 64)"),
    "an asset tag with spaces": ({"annotated_asset_id": "CB 12"}, "may only hold letters"),
    "an asset tag equal to its serial": ({"annotated_asset_id": "5cdx"}, "equals the serial"),
    "a model over 100 characters": ({"model": "Chromebook " * 10}, "model is over 100"),
    "a user annotation over 255 characters": ({"annotated_user": "u" * 256}, "over 255"),
    "an org unit path over 255 characters": (
        {"org_unit_path": STAGING + "/" + "x" * 250},
        "its org unit path",
    ),
}


@pytest.mark.parametrize(
    ("fields", "why"), list(BAD_FOR_THE_LEDGER.values()), ids=list(BAD_FOR_THE_LEDGER)
)
def test_adopt_refuses_what_the_ledger_cannot_hold_and_adopts_the_rest(
    fields: dict[str, str], why: str
) -> None:
    bad = seen("5CDX", **{"org_unit_path": STAGING, **fields})
    good = [seen(f"5CD{n}", org_unit_path=STAGING) for n in range(3)]
    result = make_plan([], [bad, *good], config=replace(CONFIG, adopt=True))
    adopted = [a.device.serial for a in result.actions if isinstance(a, AdoptDevice)]
    assert adopted == ["5CD0", "5CD1", "5CD2"]
    [finding] = result.findings
    assert (finding.kind, finding.target) == ("cannot_adopt", "5CDX")
    assert why in finding.message
    assert len(finding.message) < 400  # a long value is quoted cut short


def test_a_ledger_device_whose_asset_tag_is_another_s_serial_is_reported() -> None:
    devices = [ledger_device("5CD1", asset_tag="5CD2"), ledger_device("5CD2")]
    result = make_plan(devices, [seen("5CD1"), seen("5CD2")])
    [finding] = result.findings
    assert (finding.kind, finding.target) == ("ambiguous_device", "5CD2")
    assert "give device 5CD1 another asset tag" in finding.message


def test_google_data_the_ledger_cannot_keep_is_reported_and_the_device_still_managed() -> None:
    far = "/Chromebooks/" + "/".join(["Nested-" + "x" * 50] * 5)
    result = make_plan([ledger_device("5CD1")], [seen("5CD1", org_unit_path=far)])
    assert [(f.kind, f.target) for f in result.findings] == [("bad_google_data", "5CD1")]
    [move] = [a for a in result.actions if isinstance(a, MoveDevices)]
    assert move.org_unit == "/Chromebooks/Spare"


def test_a_targeted_observation_never_reports_strangers() -> None:
    observed = [seen("5CDX", org_unit_path="/Chromebooks/Staging")]
    assert make_plan([], observed, complete=False).findings == ()


# -------------------------------------------------------------------------- accounts
@pytest.mark.parametrize(
    ("status", "observed", "expected"),
    [
        pytest.param(AccountStatus.ACTIVE, None, [CreateAccount], id="create"),
        pytest.param(AccountStatus.ACTIVE, account(), [], id="in-place"),
        pytest.param(AccountStatus.ACTIVE, account(suspended=True), [UnsuspendAccount],
                     id="unsuspend"),
        pytest.param(AccountStatus.ACTIVE, account(org_unit_path="/Students/Brussel"),
                     [MoveAccount], id="region-moved"),
        pytest.param(AccountStatus.SUSPENDED, account(), [SuspendAccount], id="suspend"),
        pytest.param(AccountStatus.SUSPENDED, None, [], id="never-created-nothing-to-suspend"),
        pytest.param(AccountStatus.DELETED, account(suspended=True), [DeleteAccount],
                     id="deleted-yet-present"),
    ],
)  # fmt: skip
def test_accounts_follow_the_ledger(
    status: AccountStatus, observed: ObservedAccount | None, expected: list[type]
) -> None:
    result = make_plan(borrowers=[borrower(status)], accounts=[observed] if observed else [])
    assert [type(a) for a in result.actions] == expected


def test_a_new_first_password_is_set_only_on_the_borrowers_own_active_account() -> None:
    issued = borrower(AccountStatus.ACTIVE, new_password=42, google_user_id="u-7")
    [action] = make_plan(borrowers=[issued], accounts=[account()]).actions
    assert isinstance(action, SetAccountPassword)
    assert (action.borrower, action.email, action.credential) == (
        "B-7",
        "jan.peeters@example.org",
        42,
    )
    assert action.detail()["credential"] == 42  # the sealed row's id, never the password
    # Suspended again meanwhile (the loan ended), or the address is someone else's: no password.
    ended = replace(issued, account_status=AccountStatus.SUSPENDED)
    assert kinds(make_plan(borrowers=[ended], accounts=[account()])) == ["suspend_account"]
    assert make_plan(borrowers=[issued], accounts=[account(borrower_id="B-99")]).actions == ()


def test_a_suspended_account_is_deleted_only_once_the_retention_has_passed() -> None:
    early = borrower(AccountStatus.SUSPENDED, since=NOW - timedelta(days=29))
    due = borrower(AccountStatus.SUSPENDED, since=NOW - timedelta(days=30))
    present = [account(suspended=True)]
    assert kinds(make_plan(borrowers=[early], accounts=present)) == []
    [delete] = make_plan(borrowers=[due], accounts=present).actions
    assert isinstance(delete, DeleteAccount)
    assert delete.user_id == "u-7"


@pytest.mark.parametrize("status", [AccountStatus.SUSPENDED, AccountStatus.DELETED])
def test_an_account_without_the_borrowers_id_is_never_suspended_or_deleted(
    status: AccountStatus,
) -> None:
    stranger = account(borrower_id=None)
    result = make_plan(borrowers=[borrower(status)], accounts=[stranger])
    assert result.actions == ()


def test_an_address_taken_by_someone_else_is_reported_not_created() -> None:
    other = account(borrower_id="B-99")
    result = make_plan(borrowers=[borrower(AccountStatus.ACTIVE)], accounts=[other])
    assert result.actions == ()
    assert [f.kind for f in result.findings] == ["foreign_account"]


def test_desired_account_expands_the_region_and_wants_deletion_after_retention() -> None:
    wanted = desired_account(borrower(AccountStatus.SUSPENDED, since=NOW - timedelta(days=40)),
                             LAYOUT, now=NOW, delete_after=timedelta(days=30))  # fmt: skip
    assert wanted is not None
    assert wanted.org_unit == "/Students/Antwerpen"
    assert wanted.wanted is AccountWanted.ABSENT
    assert desired_account(borrower(AccountStatus.NONE), LAYOUT, now=NOW,
                           delete_after=timedelta(days=30)) is None  # fmt: skip


# ------------------------------------------------------------------ org units, policies
def test_missing_org_units_are_created_parents_first() -> None:
    desired = Desired(devices=(), accounts=(), org_units={"/A/B/C": "why", "/A/D": "why"})
    observation = Observation(devices={}, accounts={}, org_units=units("/A"))
    result = plan(desired, observation, CONFIG)
    assert [a.target for a in result.actions if isinstance(a, EnsureOrgUnit)] == [
        "/A/B", "/A/D", "/A/B/C",
    ]  # fmt: skip
    assert {a.target: a.reason for a in result.actions if isinstance(a, EnsureOrgUnit)} == {
        "/A/B/C": "why", "/A/D": "why", "/A/B": "/A/B/C goes in it",
    }  # fmt: skip


def test_an_org_unit_says_what_it_is_for() -> None:
    settings = Settings(regions=("Antwerpen",))
    wanted = required_org_units(settings)
    assert wanted["/Students/Antwerpen"] == "the accounts of Antwerpen's borrowers live there"
    assert wanted["/Chromebooks/Spare"] == "fleetsync keeps spare devices there"
    assert wanted["/Chromebooks/On loan"] == "fleetsync keeps devices on loan there"
    desired = Desired(devices=(), accounts=(), org_units=wanted)
    observation = Observation(devices={}, accounts={}, org_units=units("/Chromebooks"))
    reasons = {
        a.target: a.reason for a in plan(desired, observation, CONFIG).actions
        if isinstance(a, EnsureOrgUnit)
    }  # fmt: skip
    assert reasons["/Students"] == "/Students/Antwerpen goes in it"
    assert reasons["/Students/Antwerpen"] == "the accounts of Antwerpen's borrowers live there"
    assert all("keeps devices there" not in why for why in reasons.values())


BOOKMARKS = PolicyValue.of(
    "chrome.users.ManagedBookmarksSetting",
    {"managedBookmarks": {"toplevelName": "Cursus", "bookmarks": []}},
)
MEET = PolicyValue.of(
    "chrome.users.apps.InstallType",
    {"appInstallType": "FORCED"},
    (("app_id", "web:https://meet.google.com/"),),
)
DOCS = PolicyValue.of("chrome.users.apps.InstallType", {"appInstallType": "FORCED"},
                      (("app_id", "chrome:abcdefghijklmnopabcdefghijklmnop"),))  # fmt: skip


def _seen_policy(value: PolicyValue, unit: str = "/Students") -> ObservedPolicy:
    return ObservedPolicy(
        org_unit_path=unit,
        schema=value.schema,
        value=value.value,
        additional_keys=value.additional_keys,
        source_org_unit_path="/",
    )


def test_only_the_policies_that_differ_are_set_one_call_per_namespace() -> None:
    wanted = (DesiredPolicies(org_unit="/Students", values=(BOOKMARKS, MEET, DOCS)),)
    inherited = {("/Students", MEET.schema, MEET.additional_keys): _seen_policy(MEET)}
    result = make_plan(policies=wanted, seen_policies=inherited)
    sets = [a for a in result.actions if isinstance(a, SetPolicy)]
    assert {s.namespace: s.values for s in sets} == {
        "chrome.users": (BOOKMARKS,),
        "chrome.users.apps": (DOCS,),
    }


def test_a_policy_change_says_what_differs() -> None:
    wanted = (DesiredPolicies(org_unit="/Students", values=(BOOKMARKS, MEET, DOCS)),)
    other_bookmarks = PolicyValue.of(
        BOOKMARKS.schema,
        {"managedBookmarks": {"toplevelName": "Oud", "bookmarks": [{"name": "x", "url": "y"}]}},
    )
    blocked = PolicyValue.of(MEET.schema, {"appInstallType": "BLOCKED"}, MEET.additional_keys)
    seen = {
        (p.org_unit_path, p.schema, p.additional_keys): p
        for p in (_seen_policy(other_bookmarks), _seen_policy(blocked))
    }
    reasons = {
        s.namespace: s.reason
        for s in make_plan(policies=wanted, seen_policies=seen).actions
        if isinstance(s, SetPolicy)
    }
    assert reasons == {
        "chrome.users": "ManagedBookmarksSetting: managedBookmarks is a setting of 2 fields in "
        'Google (inherited from /), {"bookmarks": [], "toplevelName": "Cursus"} in the config',
        "chrome.users.apps": "InstallType for app_id chrome:abcdefghijklmnopabcdefghijklmnop is "
        'not set in Google (the config sets {"appInstallType": "FORCED"}); InstallType for '
        "app_id web:https://meet.google.com/: appInstallType is 'BLOCKED' in Google (inherited "
        "from /), 'FORCED' in the config",
    }


def test_policies_already_in_place_plan_nothing() -> None:
    wanted = (DesiredPolicies(org_unit="/Students", values=(BOOKMARKS, MEET)),)
    observed = {(p.org_unit_path, p.schema, p.additional_keys): p
                for p in (_seen_policy(BOOKMARKS), _seen_policy(MEET))}  # fmt: skip
    assert make_plan(policies=wanted, seen_policies=observed).actions == ()


# ----------------------------------------------------------------------------- safety
def test_a_budget_holds_back_what_it_has_no_room_for_and_the_rest_goes_ahead() -> None:
    devices = [ledger_device(f"5CD{i:03d}", S.LOST) for i in range(30)]
    observed = [seen(d.serial, org_unit_path="/Chromebooks/Lost") for d in devices]
    result = make_plan(devices, observed)
    [disable] = [a for a in result.actions if isinstance(a, DisableDevices)]
    assert [d.serial for d in disable.devices] == [f"5CD{i:03d}" for i in range(25)]
    [held] = result.safety.held
    assert (held.budget, held.planned, held.allowed) == (Budget.DISABLES, 30, 25)
    assert held.targets == tuple(f"5CD{i:03d}" for i in range(25, 30))
    assert "--force-budget disables" in result.safety.describe()
    forced = make_plan(
        devices, observed, config=replace(CONFIG, forced=frozenset({Budget.DISABLES}))
    )
    assert not forced.safety.holds
    assert sum(a.weight for a in forced.actions if a.limit is Budget.DISABLES) == 30


def test_what_was_spent_in_the_window_counts_against_the_budget() -> None:
    devices = [ledger_device(f"5CD{i:03d}", S.LOST) for i in range(6)]
    observed = [seen(d.serial, org_unit_path="/Chromebooks/Lost") for d in devices]
    hour_spent = replace(CONFIG, spent={Budget.DISABLES: Spent(hour=22, day=22)})
    assert len(make_plan(devices, observed, config=hour_spent).safety.held[0].targets) == 3
    day_spent = replace(CONFIG, spent={Budget.DISABLES: Spent(hour=0, day=50)})
    assert not [a for a in make_plan(devices, observed, config=day_spent).actions if a.limit]
    other_spent = replace(CONFIG, spent={Budget.POWERWASHES: Spent(hour=100, day=300)})
    assert not make_plan(devices, observed, config=other_spent).safety.holds


# ---------------------------------------------------------------------- determinism
def test_the_same_inputs_give_the_same_plan_whatever_their_order() -> None:
    devices = [ledger_device(f"5CD{i:03d}", random.Random(i).choice(list(S)),
                             powerwash_request=i, loan=LOAN) for i in range(80)]  # fmt: skip
    observed = [seen(d.serial, org_unit_path="/Chromebooks/Staging") for d in devices]
    first = make_plan(devices, observed, config=replace(CONFIG, forced=frozenset(Budget)))
    shuffled_devices, shuffled_observed = devices[:], observed[:]
    random.Random(7).shuffle(shuffled_devices)
    random.Random(8).shuffle(shuffled_observed)
    again = make_plan(
        shuffled_devices, shuffled_observed, config=replace(CONFIG, forced=frozenset(Budget))
    )
    assert again.actions == first.actions
    assert again.to_json() == first.to_json()
