"""A device's life in the loan programme: its states, the actions that move it, and their rules.

    spare ──checkout──▶ on_loan ──return──▶ in_refurbishment ──ready──▶ spare
      │                    │                   ▲   (only once its powerwash has executed,
      │                    │                   │    or forced with a reason, and never
      │                    │                   │    while a repair is open)
      ├──ict_test──▶ ict_test ──reprovision────┤
      ├──reprovision───────────────────────────┘
      │
    any state but retired ──lost──▶ lost ──found──▶ in_refurbishment
    any state but on_loan ──retire──▶ retired (never comes back)

    spare, ict_test, in_refurbishment ──repair──▶ in_refurbishment, on hold until repaired
    (a return with condition ``damaged`` opens a repair too)

Each business action is one function here. It takes what the ledger knows about the device (a
:class:`Device`, built by the service layer) and returns the :class:`Transition` to apply, or
raises a :class:`~fleetsync.domain.errors.Refused` that says why and what to do instead. The
functions are pure: the service layer (``fleetsync.services``) loads the facts, applies the
transition, and writes the audit event and the outbox in the same database transaction.

Rules that hold whatever the sequence of actions:
- a device has at most one open loan, and so one borrower at a time; a borrower has at most one;
- a borrower who needs mobile data gets a 4G device, and a device of their own region;
- a lost device cannot be lent; a retired device never leaves ``retired``;
- a device leaves refurbishment only once its latest powerwash has executed, unless forced;
- a device with an open repair never leaves refurbishment (``repaired`` closes the repair);
- a device is lent only while Google confirms it an active Chromebook in a managed org unit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from fleetsync.domain.errors import (
    BorrowerHasLoan,
    InRepair,
    InvalidInput,
    LoanNotExtended,
    NotAllowedInState,
    NotLendable,
    PowerwashNotExecuted,
    PowerwashOutstanding,
    WrongConnectivity,
    WrongRegion,
)

__all__ = [
    "ALLOWED",
    "AccountStatus",
    "CommandState",
    "Condition",
    "Connectivity",
    "Device",
    "DeviceState",
    "GoogleConfirmed",
    "Lendability",
    "LifecycleAction",
    "OpenLoan",
    "OpenRepair",
    "Powerwash",
    "Transition",
    "assign_ict_test",
    "checkout",
    "extend_loan",
    "mark_found",
    "mark_lost",
    "mark_ready",
    "open_repair",
    "repaired",
    "reprovision",
    "retire",
    "return_device",
]


class DeviceState(StrEnum):
    SPARE = "spare"
    ON_LOAN = "on_loan"
    IN_REFURBISHMENT = "in_refurbishment"
    LOST = "lost"
    RETIRED = "retired"
    ICT_TEST = "ict_test"


class Connectivity(StrEnum):
    WIFI = "wifi"
    FOUR_G = "4g"


class AccountStatus(StrEnum):
    """A borrower's Workspace account as the ledger wants it; the reconciler makes Google agree."""

    NONE = "none"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


class Condition(StrEnum):
    """How a loan ended."""

    OK = "ok"
    DAMAGED = "damaged"
    LOST = "lost"


class CommandState(StrEnum):
    """A command to a device: ``REQUESTED`` is the ledger's (asked for, not yet issued to Google);
    the others are Google's own states, filled in by the reconciler."""

    REQUESTED = "REQUESTED"
    #: The reconciler is sending it to Google right now. Found after a crash, it means Google
    #: may or may not have it: it becomes UNKNOWN and is never sent again blindly.
    ISSUING = "ISSUING"
    #: Google may or may not have it (the call's outcome was lost). Settled by watching the
    #: device: a powerwashed device enrols itself again.
    UNKNOWN = "UNKNOWN"
    PENDING = "PENDING"
    SENT_TO_CLIENT = "SENT_TO_CLIENT"
    ACKED_BY_CLIENT = "ACKED_BY_CLIENT"
    EXECUTED_BY_CLIENT = "EXECUTED_BY_CLIENT"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"

    @property
    def outstanding(self) -> bool:
        """Still on its way to the device: it may yet execute."""
        return self in _OUTSTANDING


_OUTSTANDING = frozenset(
    {
        CommandState.REQUESTED,
        CommandState.ISSUING,
        CommandState.UNKNOWN,
        CommandState.PENDING,
        CommandState.SENT_TO_CLIENT,
        CommandState.ACKED_BY_CLIENT,
    }
)


class LifecycleAction(StrEnum):
    CHECKOUT = "checkout"
    RETURN = "return"
    EXTEND = "extend"
    LOST = "lost"
    FOUND = "found"
    REPROVISION = "reprovision"
    READY = "ready"
    RETIRE = "retire"
    ICT_TEST = "ict_test"
    REPAIR = "repair"
    REPAIRED = "repaired"


S = DeviceState
#: Which states each action may start from, and where it leads. Everything else is refused.
ALLOWED: dict[LifecycleAction, dict[DeviceState, DeviceState]] = {
    LifecycleAction.CHECKOUT: {S.SPARE: S.ON_LOAN},
    LifecycleAction.RETURN: {S.ON_LOAN: S.IN_REFURBISHMENT},
    LifecycleAction.EXTEND: {S.ON_LOAN: S.ON_LOAN},
    LifecycleAction.LOST: {
        S.SPARE: S.LOST,
        S.ON_LOAN: S.LOST,
        S.IN_REFURBISHMENT: S.LOST,
        S.ICT_TEST: S.LOST,
    },
    LifecycleAction.FOUND: {S.LOST: S.IN_REFURBISHMENT},
    LifecycleAction.REPROVISION: {
        S.SPARE: S.IN_REFURBISHMENT,
        S.ICT_TEST: S.IN_REFURBISHMENT,
        # Again, when the last powerwash failed or expired: a technician asks for a new one.
        S.IN_REFURBISHMENT: S.IN_REFURBISHMENT,
    },
    LifecycleAction.READY: {S.IN_REFURBISHMENT: S.SPARE},
    LifecycleAction.RETIRE: {
        S.SPARE: S.RETIRED,
        S.IN_REFURBISHMENT: S.RETIRED,
        S.LOST: S.RETIRED,
        S.ICT_TEST: S.RETIRED,
    },
    LifecycleAction.ICT_TEST: {S.SPARE: S.ICT_TEST},
    # A repair holds the device in refurbishment; closing it leaves it there (``ready`` or the
    # command tracker makes it spare once its powerwash has executed).
    LifecycleAction.REPAIR: {
        S.SPARE: S.IN_REFURBISHMENT,
        S.ICT_TEST: S.IN_REFURBISHMENT,
        S.IN_REFURBISHMENT: S.IN_REFURBISHMENT,
    },
    LifecycleAction.REPAIRED: {S.IN_REFURBISHMENT: S.IN_REFURBISHMENT},
}


# ------------------------------------------------------------------------------------ facts
@dataclass(frozen=True, slots=True)
class OpenLoan:
    ref: str
    serial: str
    borrower: str
    since: date
    agreed_end: date
    #: The loan is another desk's than the one acting: a refusal names nothing of it (no
    #: borrower, loan, device or date), it only says that the loan is at another desk.
    elsewhere: bool = False


@dataclass(frozen=True, slots=True)
class Powerwash:
    """The device's latest powerwash: the one its current stay in refurbishment waits for."""

    state: CommandState
    result: str | None = None
    since: date | None = None
    error: str | None = None

    @property
    def executed(self) -> bool:
        return self.state is CommandState.EXECUTED_BY_CLIENT and self.result == "SUCCESS"

    def describe(self) -> str:
        """Reads after "its powerwash ...": ``was asked for on 2026-09-01 but is not issued to
        Google yet``, ``is PENDING (issued on 2026-09-01)``, ``executed on ... with result ...``."""
        on = "" if self.since is None else f" on {self.since.isoformat()}"
        if self.state is CommandState.REQUESTED:
            text = f"was asked for{on} but is not issued to Google yet"
        elif self.state is CommandState.EXECUTED_BY_CLIENT:
            text = f"executed{on} with result {self.result or 'unknown'}"
        elif self.state in (CommandState.ISSUING, CommandState.UNKNOWN):
            text = (
                f"was sent to Google{on} but the answer was lost; fleetsync watches the device "
                "for its re-enrolment"
            )
        else:
            text = f"is {self.state.value}" + (f" (issued{on})" if on else "")
        return text + (f": {self.error}" if self.error else "")


@dataclass(frozen=True, slots=True)
class OpenRepair:
    """The device's open repair: it stays in refurbishment until a technician closes it."""

    since: date
    note: str | None = None


@dataclass(frozen=True, slots=True)
class GoogleConfirmed:
    """What Google last confirmed about the device (a sync's observation), if anything."""

    status: str | None
    org_unit: str | None
    #: The day of that observation; ``None``: no sync has seen the device yet.
    checked: date | None


@dataclass(frozen=True, slots=True)
class Lendability:
    """The programme's rule for lending: the device must be confirmed ``ACTIVE`` in one of
    these org units (or below), and never-seen devices are lent only when configured so."""

    managed_org_units: tuple[str, ...]
    lend_unconfirmed: bool = False

    def problem(self, google: GoogleConfirmed) -> str | None:
        """Why Google does not agree that the device can be lent; ``None`` when it does."""
        # A device a sync has just linked and moved has its org unit recorded a moment before
        # Google's status for it: that is not yet a confirmation, not an unknown status.
        unconfirmed = google.checked is None or (
            google.status is None and google.org_unit is not None
        )
        if unconfirmed:
            if self.lend_unconfirmed:
                return None
            return (
                "no sync has confirmed its status in Google yet (imported, or only just "
                "linked); run `fleetsync sync` (or wait for the daemon's next run), or set "
                "[loans] lend_unconfirmed = true to lend unconfirmed devices"
            )
        assert google.checked is not None
        seen = f"Google last confirmed it on {google.checked.isoformat()}"
        if google.status is None and google.org_unit is None:
            return (
                f"{seen} as not enrolled (no such Chromebook in the tenant); enrol it, then "
                "run `fleetsync sync`"
            )
        if google.status != "ACTIVE":
            return (
                f"{seen} as {google.status or 'unknown'}; a loaned Chromebook must be ACTIVE: "
                "re-enable or re-enrol it in the Admin console, then run `fleetsync sync`"
            )
        org_unit = google.org_unit or ""
        if not any(
            org_unit == root or org_unit.startswith(root.rstrip("/") + "/")
            for root in self.managed_org_units
        ):
            return (
                f"{seen} in org unit {org_unit or '(none)'}, which fleetsync does not manage; "
                "run `fleetsync sync` (or `sync --adopt`) to move it"
            )
        return None


@dataclass(frozen=True, slots=True)
class Device:
    """What the lifecycle needs to know about a device."""

    serial: str
    state: DeviceState
    since: date
    connectivity: Connectivity
    region: str
    loan: OpenLoan | None = None
    powerwash: Powerwash | None = None
    repair: OpenRepair | None = None
    google: GoogleConfirmed | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    """What an allowed action does, for the service layer to apply."""

    action: LifecycleAction
    before: DeviceState
    after: DeviceState
    #: A loan starts (a checkout), gets a later agreed end (an extension) or ends (a return, or
    #: a device lost while on loan).
    starts_loan: bool = False
    extends_loan: bool = False
    ends_loan: bool = False
    #: A ``REMOTE_POWERWASH`` is asked for: the device is wiped before anyone else gets it.
    requests_powerwash: bool = False
    #: A powerwash asked for but not yet issued is no longer wanted (the device left refurbishment).
    cancels_requested_powerwash: bool = False
    #: A technician overrode a rule (``ready --force``); the audit event says so and why.
    forced: bool = False
    #: A repair is opened (a damaged return, ``device repair``) or closed (``repaired``).
    opens_repair: bool = False
    closes_repair: bool = False


# ---------------------------------------------------------------------------------- actions
def checkout(
    device: Device,
    *,
    borrower: str,
    borrower_region: str,
    needs_data: bool,
    borrower_loan: OpenLoan | None,
    until: date,
    today: date,
    lendability: Lendability | None = None,
) -> Transition:
    """Lend a spare device to a borrower until the agreed end date (the loan's last day: today
    for a one-day loan). With ``lendability``, only a device Google confirmed as lendable."""
    if until < today:
        raise InvalidInput(
            f"the agreed end date {until.isoformat()} is before today ({today.isoformat()}); "
            "give the last day of the loan (YYYY-MM-DD), today at the earliest",
            params={"end": until},
            variant="end_before_today",
        )
    transition = replace(_move(LifecycleAction.CHECKOUT, device), starts_loan=True)
    if borrower_loan is not None and borrower_loan.elsewhere:
        raise BorrowerHasLoan(
            f"borrower {borrower} already has a device on loan at another desk; it must be "
            "returned (or reported lost) there before they borrow another device",
            params={"borrower": borrower},
            variant="elsewhere",
        )
    if borrower_loan is not None:
        raise BorrowerHasLoan(
            f"borrower {borrower} already has device {borrower_loan.serial} on loan since "
            f"{borrower_loan.since.isoformat()} (loan {borrower_loan.ref}); return it before "
            "lending another device",
            params={
                "borrower": borrower,
                "serial": borrower_loan.serial,
                "loan": borrower_loan.ref,
            },
        )
    if needs_data and device.connectivity is not Connectivity.FOUR_G:
        raise WrongConnectivity(
            f"borrower {borrower} needs mobile data but device {device.serial} is wifi-only; "
            f"lend a 4G device (`fleetsync device list --state spare --connectivity 4g "
            f"--region {borrower_region}`)",
            params={"borrower": borrower, "serial": device.serial},
        )
    if device.region != borrower_region:
        raise WrongRegion(
            f"device {device.serial} belongs to region {device.region} and borrower {borrower} "
            f"to {borrower_region}; lend a device of {borrower_region} (`fleetsync device list "
            f"--state spare --region {borrower_region}`) or move this one first (`fleetsync "
            f"device set-region {device.serial} {borrower_region}`)",
            params={
                "serial": device.serial,
                "device_region": device.region,
                "borrower": borrower,
                "region": borrower_region,
            },
        )
    if lendability is not None:
        google = device.google or GoogleConfirmed(status=None, org_unit=None, checked=None)
        problem = lendability.problem(google)
        if problem is not None:
            raise NotLendable(
                f"device {device.serial} cannot be lent: {problem}; lend another device "
                f"(`fleetsync device list --state spare --region {borrower_region}`)",
                params={"serial": device.serial},
            )
    return transition


def return_device(device: Device, *, damaged: bool = False) -> Transition:
    """The borrower brings the device back: it goes to refurbishment and is powerwashed. A
    damaged device gets a repair: it stays in refurbishment until it is repaired."""
    return replace(
        _move(LifecycleAction.RETURN, device),
        ends_loan=True,
        requests_powerwash=True,
        opens_repair=damaged and device.repair is None,
    )


def extend_loan(device: Device, *, until: date, today: date) -> Transition:
    """Agree a later end date for the device's open loan."""
    transition = replace(_move(LifecycleAction.EXTEND, device), extends_loan=True)
    loan = device.loan
    assert loan is not None  # an on_loan device always has its open loan (ledger invariant)
    if until < today:
        raise InvalidInput(
            f"the new end date {until.isoformat()} is before today ({today.isoformat()}); "
            "give the new last day of the loan (YYYY-MM-DD), today at the earliest",
            params={"end": until},
            variant="end_before_today",
        )
    if until <= loan.agreed_end:
        raise LoanNotExtended(
            f"loan {loan.ref} of device {device.serial} already runs until "
            f"{loan.agreed_end.isoformat()}; an extension must end later (to end the loan "
            f"early, return the device: `fleetsync loan return --serial {device.serial}`)",
            params={"loan": loan.ref, "end": loan.agreed_end},
        )
    return transition


def mark_lost(device: Device) -> Transition:
    """The device is missing. A loan it was on ends; Google disables the device."""
    transition = _move(LifecycleAction.LOST, device)
    return replace(
        transition,
        ends_loan=device.loan is not None,
        cancels_requested_powerwash=device.state is S.IN_REFURBISHMENT,
    )


def mark_found(device: Device) -> Transition:
    """A lost device turned up: it is wiped and checked before anyone gets it again."""
    return replace(_move(LifecycleAction.FOUND, device), requests_powerwash=True)


def reprovision(device: Device) -> Transition:
    """A technician sends the device (back) to refurbishment: wipe it and check it again."""
    transition = _move(LifecycleAction.REPROVISION, device)
    wash = device.powerwash
    if device.state is S.IN_REFURBISHMENT and wash is not None and wash.state.outstanding:
        raise PowerwashOutstanding(
            f"device {device.serial} is in refurbishment since {device.since.isoformat()} and "
            f"its powerwash {wash.describe()}; wait for it to execute "
            f"(`fleetsync device show {device.serial}`)",
            params={"serial": device.serial},
        )
    return replace(transition, requests_powerwash=True)


def mark_ready(device: Device, *, force: bool = False, reason: str | None = None) -> Transition:
    """Refurbishment is done: the device becomes spare. Only once its powerwash has executed,
    unless a technician forces it and says why."""
    if force and not (reason or "").strip():
        raise InvalidInput(
            f"--force needs --reason: say why device {device.serial} may skip its powerwash",
            params={"serial": device.serial},
            variant="force_reason",
        )
    transition = _move(LifecycleAction.READY, device)
    if device.repair is not None:
        raise InRepair(
            f"device {device.serial} is in repair since {device.repair.since.isoformat()}"
            + (f" ({device.repair.note})" if device.repair.note else "")
            + f"; close the repair first (`fleetsync device repaired {device.serial} --note "
            "...`), or write it off (`fleetsync device repair "
            f"{device.serial} --write-off`)",
            params={"serial": device.serial, "since": device.repair.since},
        )
    wash = device.powerwash
    if wash is not None and wash.executed:
        return transition
    if not force:
        what = "has no powerwash" if wash is None else f"its powerwash {wash.describe()}"
        raise PowerwashNotExecuted(
            f"device {device.serial} is in refurbishment since {device.since.isoformat()} and "
            f"{what}; wait until it has executed (`fleetsync device show {device.serial}`), or "
            "if it was wiped another way use --force with --reason",
            params={"serial": device.serial},
        )
    return replace(transition, forced=True, cancels_requested_powerwash=True)


def retire(device: Device) -> Transition:
    """The device leaves the programme for good (broken beyond repair, end of life)."""
    return replace(
        _move(LifecycleAction.RETIRE, device),
        cancels_requested_powerwash=device.state is S.IN_REFURBISHMENT,
    )


def open_repair(device: Device) -> Transition:
    """A technician takes the device out of circulation for a repair: it goes to (or stays in)
    refurbishment on hold. A device that was in circulation is powerwashed on its way."""
    transition = _move(LifecycleAction.REPAIR, device)
    if device.repair is not None:
        raise InRepair(
            f"device {device.serial} is already in repair since "
            f"{device.repair.since.isoformat()}; close it with `fleetsync device repaired "
            f"{device.serial} --note ...`",
            params={"serial": device.serial, "since": device.repair.since},
        )
    return replace(
        transition,
        opens_repair=True,
        requests_powerwash=device.state is not S.IN_REFURBISHMENT,
    )


def repaired(device: Device) -> Transition:
    """The repair is done: the device stays in refurbishment and becomes spare as usual (once
    its powerwash has executed)."""
    transition = _move(LifecycleAction.REPAIRED, device)
    if device.repair is None:
        raise NotAllowedInState(
            f"device {device.serial} has no open repair; open one with `fleetsync device "
            f"repair {device.serial} --note ...`",
            params={"serial": device.serial},
            variant="no_repair",
        )
    return replace(transition, closes_repair=True)


def assign_ict_test(device: Device) -> Transition:
    """A spare device joins the ICT service's pool for testing and replacements."""
    return _move(LifecycleAction.ICT_TEST, device)


# ---------------------------------------------------------------------------------- refusals
def _move(action: LifecycleAction, device: Device) -> Transition:
    after = ALLOWED[action].get(device.state)
    if after is None:
        raise NotAllowedInState(
            f"device {device.serial} {_where(device)}; {_advice(action, device)}",
            params={"serial": device.serial, "state": device.state.value},
            variant=action.value,
        )
    return Transition(action=action, before=device.state, after=after)


def _where(device: Device) -> str:
    since = device.since.isoformat()
    match device.state:
        case S.ON_LOAN if device.loan is not None and device.loan.elsewhere:
            return "is on loan at another desk"
        case S.ON_LOAN if device.loan is not None:
            return (
                f"is on loan to borrower {device.loan.borrower} since "
                f"{device.loan.since.isoformat()} (loan {device.loan.ref})"
            )
        case S.ON_LOAN:
            return f"is on loan since {since}"
        case S.SPARE:
            return f"is spare since {since}"
        case S.IN_REFURBISHMENT:
            return f"is in refurbishment since {since}"
        case S.LOST:
            return f"is lost since {since}"
        case S.RETIRED:
            return f"was retired on {since}"
        case S.ICT_TEST:
            return f"is in the ICT test pool since {since}"


_NEVER_BACK = "a retired device never comes back"


def _advice(action: LifecycleAction, device: Device) -> str:
    """What to do instead, for every (action, state) pair that :data:`ALLOWED` refuses."""
    serial = device.serial
    show = f"`fleetsync device show {serial}`"
    found = f"`fleetsync device found {serial}`"
    state = device.state
    if state is S.RETIRED:
        return (
            "it is already retired"
            if action is LifecycleAction.RETIRE
            else f"{_NEVER_BACK}; use another device (`fleetsync device list --state spare`)"
        )
    if action in (LifecycleAction.RETURN, LifecycleAction.EXTEND):
        what = "to return" if action is LifecycleAction.RETURN else "to extend"
        return f"it is not on loan, so there is no loan {what}; check the device ({show})"
    advice: dict[tuple[LifecycleAction, DeviceState], str] = {
        (LifecycleAction.CHECKOUT, S.ON_LOAN): "return it before lending it again",
        (LifecycleAction.CHECKOUT, S.IN_REFURBISHMENT): (
            f"make it ready first (`fleetsync device ready {serial}`) once its powerwash "
            "has executed"
        ),
        (LifecycleAction.CHECKOUT, S.LOST): (
            f"a lost device cannot be lent; if it turned up, mark it found ({found}), which "
            "sends it to refurbishment"
        ),
        (LifecycleAction.CHECKOUT, S.ICT_TEST): (
            f"take it out of the ICT test pool first (`fleetsync device reprovision {serial}`)"
        ),
        (LifecycleAction.LOST, S.LOST): "it is already marked lost",
        (LifecycleAction.FOUND, S.SPARE): "it is not lost, so it cannot be found",
        (LifecycleAction.FOUND, S.ON_LOAN): "it is not lost, so it cannot be found",
        (LifecycleAction.FOUND, S.IN_REFURBISHMENT): "it is not lost, so it cannot be found",
        (LifecycleAction.FOUND, S.ICT_TEST): "it is not lost, so it cannot be found",
        (LifecycleAction.REPROVISION, S.ON_LOAN): "return it before re-provisioning",
        (LifecycleAction.REPROVISION, S.LOST): (
            f"mark it found first ({found}); that sends it to refurbishment"
        ),
        (LifecycleAction.READY, S.SPARE): "it is already spare",
        (LifecycleAction.READY, S.ON_LOAN): (
            "only a device in refurbishment can be made ready; return it first"
        ),
        (LifecycleAction.READY, S.LOST): (
            f"mark it found first ({found}); it is made ready after its powerwash"
        ),
        (LifecycleAction.READY, S.ICT_TEST): (
            f"re-provision it first (`fleetsync device reprovision {serial}`), then make it "
            "ready once its powerwash has executed"
        ),
        (LifecycleAction.RETIRE, S.ON_LOAN): "return it before retiring it",
        (LifecycleAction.ICT_TEST, S.ON_LOAN): (
            "only a spare device can join the ICT test pool; return it first"
        ),
        (LifecycleAction.ICT_TEST, S.IN_REFURBISHMENT): (
            "only a spare device can join the ICT test pool; make it ready first"
        ),
        (LifecycleAction.ICT_TEST, S.LOST): (
            f"only a spare device can join the ICT test pool; if it turned up, mark it "
            f"found first ({found})"
        ),
        (LifecycleAction.ICT_TEST, S.ICT_TEST): "it is already in the ICT test pool",
        (LifecycleAction.REPAIR, S.ON_LOAN): (
            "return it first, with its condition: `fleetsync loan return --serial "
            f"{serial} --condition damaged --note ...` opens the repair"
        ),
        (LifecycleAction.REPAIR, S.LOST): f"mark it found first ({found}); then open the repair",
        (LifecycleAction.REPAIRED, S.SPARE): "it has no open repair",
        (LifecycleAction.REPAIRED, S.ON_LOAN): "it has no open repair",
        (LifecycleAction.REPAIRED, S.LOST): "it has no open repair",
        (LifecycleAction.REPAIRED, S.ICT_TEST): "it has no open repair",
    }
    return advice[(action, state)]
