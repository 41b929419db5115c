"""The lifecycle, pure: every allowed move, every refused one, and the rules beyond the state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetsync.domain import lifecycle
from fleetsync.domain.errors import (
    BorrowerHasLoan,
    InvalidInput,
    LoanNotExtended,
    NotAllowedInState,
    PowerwashNotExecuted,
    PowerwashOutstanding,
    Refused,
    WrongConnectivity,
    WrongRegion,
)
from fleetsync.domain.lifecycle import (
    ALLOWED,
    CommandState,
    Connectivity,
    Device,
    DeviceState,
    LifecycleAction,
    OpenLoan,
    Powerwash,
    Transition,
)

TODAY = date(2026, 9, 15)
SINCE = date(2026, 9, 1)
LOAN = OpenLoan("L-88", "5CD1234XYZ", "B-1017", SINCE, date(2026, 11, 30))
EXECUTED = Powerwash(CommandState.EXECUTED_BY_CLIENT, "SUCCESS", date(2026, 9, 10))


def device(
    state: DeviceState,
    *,
    connectivity: Connectivity = Connectivity.FOUR_G,
    region: str = "Antwerpen",
    powerwash: Powerwash | None = None,
) -> Device:
    return Device(
        serial="5CD1234XYZ",
        state=state,
        since=SINCE,
        connectivity=connectivity,
        region=region,
        loan=LOAN if state is DeviceState.ON_LOAN else None,
        powerwash=powerwash,
    )


def _checkout(d: Device) -> Transition:
    return lifecycle.checkout(
        d,
        borrower="B-2001",
        borrower_region="Antwerpen",
        needs_data=False,
        borrower_loan=None,
        until=date(2026, 12, 1),
        today=TODAY,
    )


#: Each action with arguments that satisfy every rule except the device's state.
ACTIONS: dict[LifecycleAction, Callable[[Device], Transition]] = {
    LifecycleAction.CHECKOUT: _checkout,
    LifecycleAction.RETURN: lifecycle.return_device,
    LifecycleAction.EXTEND: lambda d: lifecycle.extend_loan(
        d, until=date(2027, 1, 31), today=TODAY
    ),
    LifecycleAction.LOST: lifecycle.mark_lost,
    LifecycleAction.FOUND: lifecycle.mark_found,
    LifecycleAction.REPROVISION: lifecycle.reprovision,
    LifecycleAction.READY: lifecycle.mark_ready,
    LifecycleAction.RETIRE: lifecycle.retire,
    LifecycleAction.ICT_TEST: lifecycle.assign_ict_test,
    LifecycleAction.REPAIR: lifecycle.open_repair,
    # Closing a repair needs one open: the device state alone decides the rest.
    LifecycleAction.REPAIRED: lambda d: lifecycle.repaired(
        replace(d, repair=lifecycle.OpenRepair(since=TODAY, note="hinge"))
    ),
}
PAIRS = [(a, s) for a in LifecycleAction for s in DeviceState]


def _id(pair: tuple[LifecycleAction, DeviceState]) -> str:
    return f"{pair[0].value} from {pair[1].value}"


@pytest.mark.parametrize(("action", "state"), PAIRS, ids=[_id(p) for p in PAIRS])
def test_every_action_from_every_state(action: LifecycleAction, state: DeviceState) -> None:
    facts = device(state, powerwash=EXECUTED if state is DeviceState.IN_REFURBISHMENT else None)
    allowed = ALLOWED[action].get(state)
    if allowed is None:
        with pytest.raises(NotAllowedInState) as refused:
            ACTIONS[action](facts)
        assert str(refused.value).startswith("device 5CD1234XYZ ")
        return
    transition = ACTIONS[action](facts)
    assert (transition.action, transition.before, transition.after) == (action, state, allowed)


def test_a_retired_device_never_comes_back() -> None:
    assert all(DeviceState.RETIRED not in moves for moves in ALLOWED.values())


def test_the_issue_s_own_example_message() -> None:
    with pytest.raises(NotAllowedInState) as refused:
        lifecycle.reprovision(device(DeviceState.ON_LOAN))
    assert str(refused.value) == (
        "device 5CD1234XYZ is on loan to borrower B-1017 since 2026-09-01 (loan L-88); "
        "return it before re-provisioning"
    )


EFFECTS = [
    ("return ends the loan and asks for a powerwash", LifecycleAction.RETURN, DeviceState.ON_LOAN,
     {"ends_loan": True, "requests_powerwash": True}),
    ("lost on loan ends the loan", LifecycleAction.LOST, DeviceState.ON_LOAN, {"ends_loan": True}),
    ("lost in refurbishment calls the powerwash off", LifecycleAction.LOST,
     DeviceState.IN_REFURBISHMENT, {"cancels_requested_powerwash": True}),
    ("found asks for a powerwash", LifecycleAction.FOUND, DeviceState.LOST,
     {"requests_powerwash": True}),
    ("reprovision asks for a powerwash", LifecycleAction.REPROVISION, DeviceState.SPARE,
     {"requests_powerwash": True}),
    ("retire from refurbishment calls the powerwash off", LifecycleAction.RETIRE,
     DeviceState.IN_REFURBISHMENT, {"cancels_requested_powerwash": True}),
    ("ready after the powerwash is not forced", LifecycleAction.READY,
     DeviceState.IN_REFURBISHMENT, {}),
    ("checkout has no side effects here", LifecycleAction.CHECKOUT, DeviceState.SPARE, {}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("action", "state", "effects"), [c[1:] for c in EFFECTS], ids=[c[0] for c in EFFECTS]
)
def test_what_a_transition_does(
    action: LifecycleAction, state: DeviceState, effects: dict[str, bool]
) -> None:
    facts = device(state, powerwash=EXECUTED)
    transition = ACTIONS[action](facts)
    for name in ("ends_loan", "requests_powerwash", "cancels_requested_powerwash", "forced"):
        assert getattr(transition, name) is effects.get(name, False), name


def test_checkout_gives_a_borrower_who_needs_data_a_4g_device() -> None:
    with pytest.raises(WrongConnectivity) as refused:
        lifecycle.checkout(
            device(DeviceState.SPARE, connectivity=Connectivity.WIFI),
            borrower="B-2001",
            borrower_region="Antwerpen",
            needs_data=True,
            borrower_loan=None,
            until=date(2026, 12, 1),
            today=TODAY,
        )
    assert str(refused.value) == (
        "borrower B-2001 needs mobile data but device 5CD1234XYZ is wifi-only; lend a 4G device "
        "(`fleetsync device list --state spare --connectivity 4g --region Antwerpen`)"
    )


def test_checkout_of_a_4g_device_to_a_borrower_without_data_needs_is_fine() -> None:
    assert _checkout(device(DeviceState.SPARE, connectivity=Connectivity.FOUR_G)).after is (
        DeviceState.ON_LOAN
    )


def test_checkout_keeps_devices_in_their_region() -> None:
    with pytest.raises(WrongRegion, match="belongs to region Limburg and borrower B-2001 to"):
        _checkout(device(DeviceState.SPARE, region="Limburg"))


def test_a_borrower_has_one_device_at_a_time() -> None:
    with pytest.raises(BorrowerHasLoan, match=r"already has device 5CD1234XYZ on loan .* L-88"):
        lifecycle.checkout(
            device(DeviceState.SPARE),
            borrower="B-1017",
            borrower_region="Antwerpen",
            needs_data=False,
            borrower_loan=LOAN,
            until=date(2026, 12, 1),
            today=TODAY,
        )


def _lend_until(until: date) -> lifecycle.Transition:
    return lifecycle.checkout(
        device(DeviceState.SPARE),
        borrower="B-2001",
        borrower_region="Antwerpen",
        needs_data=False,
        borrower_loan=None,
        until=until,
        today=TODAY,
    )


def test_a_loan_ends_today_at_the_earliest() -> None:
    # The agreed end is the loan's last day: a one-day loan ends today.
    assert _lend_until(TODAY).after is DeviceState.ON_LOAN
    with pytest.raises(InvalidInput, match="is before today"):
        _lend_until(TODAY - timedelta(days=1))


def test_an_extension_ends_later_than_the_loan() -> None:
    with pytest.raises(LoanNotExtended, match="already runs until 2026-11-30"):
        lifecycle.extend_loan(device(DeviceState.ON_LOAN), until=date(2026, 11, 30), today=TODAY)
    with pytest.raises(InvalidInput, match="is before today"):
        lifecycle.extend_loan(
            device(DeviceState.ON_LOAN), until=TODAY - timedelta(days=1), today=TODAY
        )


POWERWASHES = [
    ("none asked for", None, False),
    ("asked for, not issued", Powerwash(CommandState.REQUESTED, since=SINCE), False),
    ("pending in Google", Powerwash(CommandState.PENDING, since=SINCE), False),
    ("executed but failed", Powerwash(CommandState.EXECUTED_BY_CLIENT, "FAILURE"), False),
    ("expired", Powerwash(CommandState.EXPIRED, since=SINCE), False),
    ("executed successfully", EXECUTED, True),
]


@pytest.mark.parametrize(
    ("wash", "ready"), [c[1:] for c in POWERWASHES], ids=[c[0] for c in POWERWASHES]
)
def test_ready_only_once_the_powerwash_executed(wash: Powerwash | None, ready: bool) -> None:
    facts = device(DeviceState.IN_REFURBISHMENT, powerwash=wash)
    if ready:
        assert lifecycle.mark_ready(facts).after is DeviceState.SPARE
    else:
        with pytest.raises(PowerwashNotExecuted):
            lifecycle.mark_ready(facts)
    forced = lifecycle.mark_ready(facts, force=True, reason="wiped by hand")
    assert forced.after is DeviceState.SPARE
    assert forced.forced is not ready


def test_forcing_ready_needs_a_reason() -> None:
    with pytest.raises(InvalidInput, match="--force needs --reason"):
        lifecycle.mark_ready(device(DeviceState.IN_REFURBISHMENT), force=True, reason="  ")


@pytest.mark.parametrize(
    ("wash", "allowed"),
    [
        (Powerwash(CommandState.PENDING, since=SINCE), False),
        (Powerwash(CommandState.REQUESTED, since=SINCE), False),
        (Powerwash(CommandState.EXPIRED, since=SINCE), True),
        (Powerwash(CommandState.EXECUTED_BY_CLIENT, "FAILURE", SINCE), True),
        (None, True),
    ],
    ids=["pending", "requested", "expired", "failed", "none"],
)
def test_reprovision_again_only_when_no_powerwash_is_on_its_way(
    wash: Powerwash | None, allowed: bool
) -> None:
    facts = device(DeviceState.IN_REFURBISHMENT, powerwash=wash)
    if allowed:
        assert lifecycle.reprovision(facts).requests_powerwash
    else:
        with pytest.raises(PowerwashOutstanding, match="wait for it to execute"):
            lifecycle.reprovision(facts)


@given(
    state=st.sampled_from(DeviceState),
    action=st.sampled_from(LifecycleAction),
    connectivity=st.sampled_from(Connectivity),
    needs_data=st.booleans(),
    region=st.sampled_from(["Antwerpen", "Limburg"]),
    wash=st.none() | st.builds(Powerwash, st.sampled_from(CommandState), st.sampled_from(
        [None, "SUCCESS", "FAILURE"])),
    force=st.booleans(),
)  # fmt: skip
def test_no_action_breaks_a_rule(
    state: DeviceState,
    action: LifecycleAction,
    connectivity: Connectivity,
    needs_data: bool,
    region: str,
    wash: Powerwash | None,
    force: bool,
) -> None:
    facts = device(state, connectivity=connectivity, region=region, powerwash=wash)
    try:
        if action is LifecycleAction.CHECKOUT:
            transition = lifecycle.checkout(
                facts,
                borrower="B-2001",
                borrower_region="Antwerpen",
                needs_data=needs_data,
                borrower_loan=None,
                until=date(2026, 12, 1),
                today=TODAY,
            )
        elif action is LifecycleAction.READY:
            transition = lifecycle.mark_ready(facts, force=force, reason="because")
        else:
            transition = ACTIONS[action](facts)
    except Refused:
        return
    assert transition.before is state
    assert transition.after is ALLOWED[action][state]
    assert state is not DeviceState.RETIRED
    if action is LifecycleAction.CHECKOUT:
        assert state is DeviceState.SPARE
        assert region == "Antwerpen"
        assert connectivity is Connectivity.FOUR_G or not needs_data
    if transition.before is DeviceState.IN_REFURBISHMENT and transition.after is DeviceState.SPARE:
        assert (wash is not None and wash.executed) or transition.forced
    if transition.requests_powerwash:
        assert transition.after is DeviceState.IN_REFURBISHMENT


def test_a_device_only_just_linked_is_unconfirmed_not_of_unknown_status() -> None:
    # A sync records a linked device's org unit (after moving it) a moment before its status:
    # a checkout in between meets "not yet confirmed", which lend_unconfirmed allows.
    from datetime import date

    from fleetsync.domain.lifecycle import GoogleConfirmed, Lendability

    linked = GoogleConfirmed(status=None, org_unit="/Chromebooks/Spare", checked=date(2026, 9, 1))
    strict = Lendability(managed_org_units=("/Chromebooks",))
    assert "no sync has confirmed its status" in (strict.problem(linked) or "")
    assert Lendability(("/Chromebooks",), lend_unconfirmed=True).problem(linked) is None
    gone = GoogleConfirmed(status=None, org_unit=None, checked=date(2026, 9, 1))
    assert "not enrolled" in (strict.problem(gone) or "")
