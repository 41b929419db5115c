"""Every refused action, through the service functions on both databases: the exact message a
technician or a desk sees, and nothing written."""
# The table reads best with one refusal and its whole message per line.
# ruff: noqa: E501

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from fleetsync import services
from fleetsync.domain.errors import (
    BorrowerHasLoan,
    BorrowerNamesDiffer,
    LoanNotExtended,
    NotAllowedInState,
    NotFound,
    PowerwashNotExecuted,
    PowerwashOutstanding,
    Refused,
    WrongConnectivity,
    WrongRegion,
)
from fleetsync.domain.lifecycle import DeviceState
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import Device, OutboxEntry
from tests.ledger.conftest import ACTOR, NOW, UNTIL, add_devices, audit_count, lend

D = NOW.astimezone().date().isoformat()
SERIAL = "5CD1234XYZ"
S = DeviceState

WHERE = {
    S.SPARE: f"device {SERIAL} is spare since {D}",
    S.ON_LOAN: f"device {SERIAL} is on loan to borrower B-1017 since {D} (loan L-1)",
    S.IN_REFURBISHMENT: f"device {SERIAL} is in refurbishment since {D}",
    S.LOST: f"device {SERIAL} is lost since {D}",
    S.RETIRED: f"device {SERIAL} was retired on {D}",
    S.ICT_TEST: f"device {SERIAL} is in the ICT test pool since {D}",
}
NEVER_BACK = (
    "a retired device never comes back; use another device (`fleetsync device list --state spare`)"
)
NOTHING_TO_RETURN = f"it is not on loan, so there is no loan to return; check the device (`fleetsync device show {SERIAL}`)"
NOTHING_TO_EXTEND = f"it is not on loan, so there is no loan to extend; check the device (`fleetsync device show {SERIAL}`)"
NOT_LOST = "it is not lost, so it cannot be found"
FOUND = f"`fleetsync device found {SERIAL}`"

#: (action, state the device is in, the refusal it gets, its exact message)
REFUSALS: list[tuple[str, DeviceState, type[Refused], str]] = [
    ("checkout", S.ON_LOAN, NotAllowedInState, f"{WHERE[S.ON_LOAN]}; return it before lending it again"),
    ("checkout", S.IN_REFURBISHMENT, NotAllowedInState, f"{WHERE[S.IN_REFURBISHMENT]}; make it ready first (`fleetsync device ready {SERIAL}`) once its powerwash has executed"),
    ("checkout", S.LOST, NotAllowedInState, f"{WHERE[S.LOST]}; a lost device cannot be lent; if it turned up, mark it found ({FOUND}), which sends it to refurbishment"),
    ("checkout", S.RETIRED, NotAllowedInState, f"{WHERE[S.RETIRED]}; {NEVER_BACK}"),
    ("checkout", S.ICT_TEST, NotAllowedInState, f"{WHERE[S.ICT_TEST]}; take it out of the ICT test pool first (`fleetsync device reprovision {SERIAL}`)"),
    ("return", S.SPARE, NotAllowedInState, f"{WHERE[S.SPARE]}; {NOTHING_TO_RETURN}"),
    ("return", S.IN_REFURBISHMENT, NotAllowedInState, f"{WHERE[S.IN_REFURBISHMENT]}; {NOTHING_TO_RETURN}"),
    ("return", S.LOST, NotAllowedInState, f"{WHERE[S.LOST]}; {NOTHING_TO_RETURN}"),
    ("return", S.RETIRED, NotAllowedInState, f"{WHERE[S.RETIRED]}; {NEVER_BACK}"),
    ("return", S.ICT_TEST, NotAllowedInState, f"{WHERE[S.ICT_TEST]}; {NOTHING_TO_RETURN}"),
    ("extend", S.SPARE, NotAllowedInState, f"{WHERE[S.SPARE]}; {NOTHING_TO_EXTEND}"),
    ("extend", S.IN_REFURBISHMENT, NotAllowedInState, f"{WHERE[S.IN_REFURBISHMENT]}; {NOTHING_TO_EXTEND}"),
    ("extend", S.LOST, NotAllowedInState, f"{WHERE[S.LOST]}; {NOTHING_TO_EXTEND}"),
    ("extend", S.RETIRED, NotAllowedInState, f"{WHERE[S.RETIRED]}; {NEVER_BACK}"),
    ("extend", S.ICT_TEST, NotAllowedInState, f"{WHERE[S.ICT_TEST]}; {NOTHING_TO_EXTEND}"),
    ("lost", S.LOST, NotAllowedInState, f"{WHERE[S.LOST]}; it is already marked lost"),
    ("lost", S.RETIRED, NotAllowedInState, f"{WHERE[S.RETIRED]}; {NEVER_BACK}"),
    ("found", S.SPARE, NotAllowedInState, f"{WHERE[S.SPARE]}; {NOT_LOST}"),
    ("found", S.ON_LOAN, NotAllowedInState, f"{WHERE[S.ON_LOAN]}; {NOT_LOST}"),
    ("found", S.IN_REFURBISHMENT, NotAllowedInState, f"{WHERE[S.IN_REFURBISHMENT]}; {NOT_LOST}"),
    ("found", S.RETIRED, NotAllowedInState, f"{WHERE[S.RETIRED]}; {NEVER_BACK}"),
    ("found", S.ICT_TEST, NotAllowedInState, f"{WHERE[S.ICT_TEST]}; {NOT_LOST}"),
    ("reprovision", S.ON_LOAN, NotAllowedInState, f"{WHERE[S.ON_LOAN]}; return it before re-provisioning"),
    ("reprovision", S.IN_REFURBISHMENT, PowerwashOutstanding, f"{WHERE[S.IN_REFURBISHMENT]} and its powerwash was asked for on {D} but is not issued to Google yet; wait for it to execute (`fleetsync device show {SERIAL}`)"),
    ("reprovision", S.LOST, NotAllowedInState, f"{WHERE[S.LOST]}; mark it found first ({FOUND}); that sends it to refurbishment"),
    ("reprovision", S.RETIRED, NotAllowedInState, f"{WHERE[S.RETIRED]}; {NEVER_BACK}"),
    ("ready", S.SPARE, NotAllowedInState, f"{WHERE[S.SPARE]}; it is already spare"),
    ("ready", S.ON_LOAN, NotAllowedInState, f"{WHERE[S.ON_LOAN]}; only a device in refurbishment can be made ready; return it first"),
    ("ready", S.IN_REFURBISHMENT, PowerwashNotExecuted, f"{WHERE[S.IN_REFURBISHMENT]} and its powerwash was asked for on {D} but is not issued to Google yet; wait until it has executed (`fleetsync device show {SERIAL}`), or if it was wiped another way use --force with --reason"),
    ("ready", S.LOST, NotAllowedInState, f"{WHERE[S.LOST]}; mark it found first ({FOUND}); it is made ready after its powerwash"),
    ("ready", S.RETIRED, NotAllowedInState, f"{WHERE[S.RETIRED]}; {NEVER_BACK}"),
    ("ready", S.ICT_TEST, NotAllowedInState, f"{WHERE[S.ICT_TEST]}; re-provision it first (`fleetsync device reprovision {SERIAL}`), then make it ready once its powerwash has executed"),
    ("retire", S.ON_LOAN, NotAllowedInState, f"{WHERE[S.ON_LOAN]}; return it before retiring it"),
    ("retire", S.RETIRED, NotAllowedInState, f"{WHERE[S.RETIRED]}; it is already retired"),
    ("ict_test", S.ON_LOAN, NotAllowedInState, f"{WHERE[S.ON_LOAN]}; only a spare device can join the ICT test pool; return it first"),
    ("ict_test", S.IN_REFURBISHMENT, NotAllowedInState, f"{WHERE[S.IN_REFURBISHMENT]}; only a spare device can join the ICT test pool; make it ready first"),
    ("ict_test", S.LOST, NotAllowedInState, f"{WHERE[S.LOST]}; only a spare device can join the ICT test pool; if it turned up, mark it found first ({FOUND})"),
    ("ict_test", S.RETIRED, NotAllowedInState, f"{WHERE[S.RETIRED]}; {NEVER_BACK}"),
    ("ict_test", S.ICT_TEST, NotAllowedInState, f"{WHERE[S.ICT_TEST]}; it is already in the ICT test pool"),
    ("repair", S.ON_LOAN, NotAllowedInState, f"{WHERE[S.ON_LOAN]}; return it first, with its condition: `fleetsync loan return --serial {SERIAL} --condition damaged --note ...` opens the repair"),
    ("repair", S.LOST, NotAllowedInState, f"{WHERE[S.LOST]}; mark it found first ({FOUND}); then open the repair"),
    ("repair", S.RETIRED, NotAllowedInState, f"{WHERE[S.RETIRED]}; {NEVER_BACK}"),
    ("repaired", S.SPARE, NotAllowedInState, f"{WHERE[S.SPARE]}; it has no open repair"),
    ("repaired", S.ON_LOAN, NotAllowedInState, f"{WHERE[S.ON_LOAN]}; it has no open repair"),
    ("repaired", S.IN_REFURBISHMENT, NotAllowedInState, f"device {SERIAL} has no open repair; open one with `fleetsync device repair {SERIAL} --note ...`"),
    ("repaired", S.LOST, NotAllowedInState, f"{WHERE[S.LOST]}; it has no open repair"),
    ("repaired", S.RETIRED, NotAllowedInState, f"{WHERE[S.RETIRED]}; {NEVER_BACK}"),
    ("repaired", S.ICT_TEST, NotAllowedInState, f"{WHERE[S.ICT_TEST]}; it has no open repair"),
]  # fmt: skip


def _attempt(action: str, session: Session, programme: services.Programme) -> object:
    common: dict[str, Any] = {"device": SERIAL, "actor": ACTOR, "now": NOW}
    attempts: dict[str, Callable[[], object]] = {
        "checkout": lambda: services.checkout(
            session, borrower="B-2002", given_name="Els", family_name="Claes",
            region="Antwerpen", until=UNTIL, programme=programme, **common,
        ),
        "return": lambda: services.return_device(session, **common),
        "extend": lambda: services.extend_loan(session, until=date(2027, 1, 31), **common),
        "lost": lambda: services.mark_lost(session, **common),
        "found": lambda: services.mark_found(session, **common),
        "reprovision": lambda: services.reprovision(session, **common),
        "ready": lambda: services.mark_ready(session, **common),
        "retire": lambda: services.retire(session, reason="broken", **common),
        "ict_test": lambda: services.assign_ict_test(session, **common),
        "repair": lambda: services.open_repair(session, note="hinge", **common),
        "repaired": lambda: services.repaired(session, note="hinge replaced", **common),
    }  # fmt: skip
    return attempts[action]()


def put_in(ledger: Ledger, programme: services.Programme, state: DeviceState) -> None:
    """Bring the device into ``state`` the way technicians do."""
    if state is S.ON_LOAN:
        lend(ledger, programme, SERIAL)
        return
    steps = {
        S.IN_REFURBISHMENT: services.reprovision,
        S.LOST: services.mark_lost,
        S.ICT_TEST: services.assign_ict_test,
    }
    with ledger.transaction() as session:
        if state is S.RETIRED:
            services.retire(session, device=SERIAL, reason="broken", actor=ACTOR, now=NOW)
        elif state in steps:
            steps[state](session, device=SERIAL, actor=ACTOR, now=NOW)


def _snapshot(ledger: Ledger) -> tuple[object, ...]:
    with ledger.read() as session:
        device = session.scalars(sa.select(Device).where(Device.serial == SERIAL)).one()
        outbox = session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry))
        return (device.state, device.state_since, audit_count(ledger), outbox)


@pytest.mark.parametrize(
    ("action", "state", "error", "message"),
    REFUSALS,
    ids=[f"{a} from {s.value}" for a, s, _, _ in REFUSALS],
)
def test_refused_transition(
    ledger: Ledger,
    programme: services.Programme,
    action: str,
    state: DeviceState,
    error: type[Refused],
    message: str,
) -> None:
    add_devices(ledger, f"{SERIAL},CB-0001,Acer C733,Antwerpen,4g")
    put_in(ledger, programme, state)
    before = _snapshot(ledger)
    with pytest.raises(error) as refused, ledger.transaction() as session:
        _attempt(action, session, programme)
    assert str(refused.value) == message
    assert _snapshot(ledger) == before


def test_the_table_covers_every_refused_pair() -> None:
    from fleetsync.domain.lifecycle import ALLOWED, LifecycleAction

    refused = {(LifecycleAction(a), s) for a, s in ((a, s) for a, s, _, _ in REFUSALS)}
    expected = {
        (action, state)
        for action in LifecycleAction
        for state in DeviceState
        if state not in ALLOWED[action]
    } | {
        (LifecycleAction.REPROVISION, S.IN_REFURBISHMENT),
        (LifecycleAction.READY, S.IN_REFURBISHMENT),
        (LifecycleAction.REPAIRED, S.IN_REFURBISHMENT),
    }
    assert refused == expected


JAN = {"given_name": "Jan", "family_name": "Peeters"}
#: Refusals beyond the device's state: (name, device, what differs, error, exact message).
OTHER_RULES = [
    ("wifi device for a borrower who needs data", "5CD5678ABC", {"needs_data": True}, WrongConnectivity,
     "borrower B-2002 needs mobile data but device 5CD5678ABC is wifi-only; lend a 4G device "
     "(`fleetsync device list --state spare --connectivity 4g --region Antwerpen`)"),
    ("device of another region", "5CD9999QRS", {}, WrongRegion,
     "device 5CD9999QRS belongs to region Limburg and borrower B-2002 to Antwerpen; lend a device "
     "of Antwerpen (`fleetsync device list --state spare --region Antwerpen`) or move this one "
     "first (`fleetsync device set-region 5CD9999QRS Antwerpen`)"),
    ("borrower who already has a device", "5CD5678ABC", {"borrower": "B-1017", **JAN}, BorrowerHasLoan,
     f"borrower B-1017 already has device {SERIAL} on loan since {D} (loan L-1); return it "
     "before lending another device"),
    # A desk learns nothing of a loan that is not its own: no borrower, loan, device or date.
    ("borrower with a device from another desk", "5CD5678ABC",
     {"borrower": "B-1017", **JAN, "actor": "webhook:brussel"}, BorrowerHasLoan,
     "borrower B-1017 already has a device on loan at another desk; it must be returned (or "
     "reported lost) there before they borrow another device"),
    ("device on loan at another desk", SERIAL, {"actor": "webhook:brussel"}, NotAllowedInState,
     f"device {SERIAL} is on loan at another desk; return it before lending it again"),
    ("known borrower id with other names", "5CD5678ABC", {"borrower": "B-1017"},
     BorrowerNamesDiffer,
     "borrower B-1017 is already in the ledger with another given name and family name; if this "
     "is the same person (a name corrected or changed), confirm it (the webhook's "
     '"same_person": true, or --same-person on the command line); if not, give this borrower '
     "an id of their own"),
    ("known borrower id with another family name", "5CD5678ABC",
     {"borrower": "B-1017", "given_name": " jan ", "family_name": "Peeters-Claes"},
     BorrowerNamesDiffer,
     "borrower B-1017 is already in the ledger with another family name; if this "
     "is the same person (a name corrected or changed), confirm it (the webhook's "
     '"same_person": true, or --same-person on the command line); if not, give this borrower '
     "an id of their own"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("serial", "overrides", "error", "message"),
    [c[1:] for c in OTHER_RULES],
    ids=[c[0] for c in OTHER_RULES],
)
def test_checkout_rules(
    ledger: Ledger,
    programme: services.Programme,
    serial: str,
    overrides: dict[str, Any],
    error: type[Refused],
    message: str,
) -> None:
    add_devices(
        ledger,
        f"{SERIAL},CB-0001,Acer C733,Antwerpen,4g",
        "5CD5678ABC,CB-0002,Acer C733,Antwerpen,wifi",
        "5CD9999QRS,CB-0003,HP 11 G9,Limburg,4g",
    )
    lend(ledger, programme, SERIAL)
    arguments: dict[str, Any] = {
        "device": serial, "borrower": "B-2002", "given_name": "Els", "family_name": "Claes",
        "region": "Antwerpen", "until": UNTIL, "programme": programme, "actor": ACTOR, "now": NOW,
    }  # fmt: skip
    before = audit_count(ledger)
    with pytest.raises(error) as refused, ledger.transaction() as session:
        services.checkout(session, **(arguments | overrides))
    assert str(refused.value) == message
    assert audit_count(ledger) == before


def test_an_extension_must_end_later(ledger: Ledger, programme: services.Programme) -> None:
    add_devices(ledger, f"{SERIAL},CB-0001,Acer C733,Antwerpen,4g")
    lend(ledger, programme, SERIAL)
    with pytest.raises(LoanNotExtended) as refused, ledger.transaction() as session:
        services.extend_loan(session, device=SERIAL, until=UNTIL, actor=ACTOR, now=NOW)
    assert str(refused.value) == (
        f"loan L-1 of device {SERIAL} already runs until 2026-11-30; an extension must end later "
        f"(to end the loan early, return the device: `fleetsync loan return --serial {SERIAL}`)"
    )


def test_an_unknown_loan(ledger: Ledger) -> None:
    with pytest.raises(NotFound) as refused, ledger.transaction() as session:
        services.extend_loan(session, loan="L-404", until=UNTIL, actor=ACTOR, now=NOW)
    assert str(refused.value) == (
        "there is no loan L-404; see the loans with `fleetsync loan list --all`"
    )
