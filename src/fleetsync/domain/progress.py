"""How far Google has come with what the ledger wants for one loan: the loan desk's checklist.

The ledger says what should be. While a loan is open: the borrower's account exists and is active,
the device sits in the on-loan org unit annotated with the account, the standard policies are in
place. Once the device came back: the account is suspended, the device is powerwashed, and it is
back in the spare org unit. Once it was lost: the account is suspended and the device disabled.

What Google last confirmed comes from the ledger too (the ``google_*`` columns a sync writes, the
device's commands, the policy state): this module compares the two and reads nothing itself. A step
is ``done`` when Google confirmed it, ``waiting`` until then, ``failed`` when a person must act,
and ``not_needed`` when later events made it moot (the device was lent again).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from fleetsync.domain.lifecycle import CommandState, Condition, DeviceState

__all__ = [
    "AccountSeen",
    "CommandSeen",
    "DeviceSeen",
    "LoanFacts",
    "LoanPhase",
    "PolicySeen",
    "Progress",
    "Step",
    "StepState",
    "Targets",
    "loan_progress",
    "policy_org_units",
]


class LoanPhase(StrEnum):
    """Which of a loan's moves the progress follows (not a plan's :class:`~.actions.Phase`)."""

    CHECKOUT = "checkout"
    RETURN = "return"
    LOST = "lost"


class StepState(StrEnum):
    DONE = "done"
    WAITING = "waiting"
    FAILED = "failed"
    NOT_NEEDED = "not_needed"


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    state: StepState
    #: For the clerk: what Google confirmed, or what is awaited.
    detail: str


@dataclass(frozen=True, slots=True)
class Progress:
    phase: LoanPhase
    steps: tuple[Step, ...]

    @property
    def complete(self) -> bool:
        return all(s.state in (StepState.DONE, StepState.NOT_NEEDED) for s in self.steps)


@dataclass(frozen=True, slots=True)
class AccountSeen:
    #: The address the ledger asked for (``None``: no account was ever asked for).
    email: str | None
    #: Google's id for it, once Google confirmed the account exists.
    google_user_id: str | None
    #: What Google last said; ``None`` while Google has no account.
    google_suspended: bool | None


@dataclass(frozen=True, slots=True)
class DeviceSeen:
    state: DeviceState
    google_org_unit: str | None
    google_annotated_user: str | None
    #: ACTIVE, DISABLED, ... as Google last reported it.
    google_status: str | None


@dataclass(frozen=True, slots=True)
class CommandSeen:
    state: CommandState
    google_command_id: str | None
    result: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class PolicySeen:
    org_unit: str
    namespace: str
    in_place: bool


@dataclass(frozen=True, slots=True)
class LoanFacts:
    """What the ledger knows about one loan, its device and its borrower, as of now."""

    #: ``None`` while the loan is open.
    condition: Condition | None
    account: AccountSeen
    device: DeviceSeen
    #: The latest powerwash asked for since the device came back (``None`` before).
    powerwash: CommandSeen | None
    #: The policies known for :func:`policy_org_units` of this borrower.
    policies: tuple[PolicySeen, ...]
    #: A later loan of the same device (``L-90``): its return journey is over.
    device_lent_again: str | None = None
    #: A later loan of the same borrower: their account is active again for it.
    borrower_borrowed_again: str | None = None


@dataclass(frozen=True, slots=True)
class Targets:
    """Where the settings want things."""

    on_loan: str
    spare: str
    #: The org units whose standard policies reach this borrower (see :func:`policy_org_units`).
    policy_org_units: tuple[str, ...]


def policy_org_units(
    configured: Iterable[str], *, region: str, students: str, on_loan: str
) -> tuple[str, ...]:
    """The configured policy org units (``{region}`` expanded for the borrower's region) that
    reach the borrower: the students' org unit of their region or the on-loan org unit, or an
    ancestor of either (children inherit)."""
    reached = (students.replace("{region}", region), on_loan)
    found: list[str] = []
    for template in configured:
        unit = template.replace("{region}", region)
        if any(_within(target, unit) for target in reached) and unit not in found:
            found.append(unit)
    return tuple(found)


def _within(path: str, ancestor: str) -> bool:
    return ancestor == "/" or path == ancestor or path.startswith(ancestor + "/")


def loan_progress(facts: LoanFacts, targets: Targets) -> Progress:
    """The checklist for this loan, phase by phase."""
    if facts.condition is None:
        return Progress(
            LoanPhase.CHECKOUT,
            (
                _account_created(facts.account),
                _device_moved(facts.device, targets.on_loan),
                _device_annotated(facts.device, facts.account),
                _policies_in_place(facts.policies, targets.policy_org_units),
            ),
        )
    if facts.condition is Condition.LOST:
        return Progress(LoanPhase.LOST, (_account_suspended(facts), _device_disabled(facts)))
    return Progress(
        LoanPhase.RETURN,
        (
            _account_suspended(facts),
            _powerwash_issued(facts),
            _powerwash_executed(facts),
            _device_ready(facts, targets.spare),
        ),
    )


# -------------------------------------------------------------------------------- checkout
def _account_created(account: AccountSeen) -> Step:
    name = "account_created"
    if account.email is None:
        return Step(name, StepState.WAITING, "no account was asked for yet")
    if account.google_user_id is None:
        return Step(name, StepState.WAITING, f"{account.email} is not confirmed in Google yet")
    if account.google_suspended is not False:
        return Step(name, StepState.WAITING, f"{account.email} is still suspended in Google")
    return Step(name, StepState.DONE, f"{account.email} is active in Google")


def _device_moved(device: DeviceSeen, on_loan: str) -> Step:
    name = "device_moved"
    if device.google_org_unit == on_loan:
        return Step(name, StepState.DONE, f"the device is in {on_loan}")
    seen = device.google_org_unit or "not seen by a sync yet"
    return Step(name, StepState.WAITING, f"waiting to move to {on_loan} (Google: {seen})")


def _device_annotated(device: DeviceSeen, account: AccountSeen) -> Step:
    name = "device_annotated"
    if account.email is not None and device.google_annotated_user == account.email:
        return Step(name, StepState.DONE, f"the device is annotated with {account.email}")
    return Step(name, StepState.WAITING, "waiting for the device to carry the borrower's account")


def _policies_in_place(policies: tuple[PolicySeen, ...], units: tuple[str, ...]) -> Step:
    name = "policies_in_place"
    if not units:
        return Step(name, StepState.NOT_NEEDED, "no standard policies are configured")
    missing = [
        unit
        for unit in units
        if not (seen := [p for p in policies if p.org_unit == unit])
        or not all(p.in_place for p in seen)
    ]
    if missing:
        return Step(
            name, StepState.WAITING, "waiting for the standard policies on " + ", ".join(missing)
        )
    return Step(name, StepState.DONE, "the standard policies are in place on " + ", ".join(units))


# -------------------------------------------------------------------------- return and lost
def _account_suspended(facts: LoanFacts) -> Step:
    name = "account_suspended"
    account = facts.account
    if facts.borrower_borrowed_again is not None:
        return Step(
            name,
            StepState.NOT_NEEDED,
            f"the borrower has a new loan ({facts.borrower_borrowed_again}); the account stays "
            "active for it",
        )
    if account.email is None:
        return Step(name, StepState.NOT_NEEDED, "the borrower never had an account")
    if account.google_suspended is True:
        return Step(name, StepState.DONE, f"{account.email} is suspended in Google")
    if account.google_suspended is None and account.google_user_id is None:
        return Step(name, StepState.DONE, f"Google has no account {account.email} (any more)")
    return Step(name, StepState.WAITING, f"waiting for Google to suspend {account.email}")


_ISSUED = frozenset(
    {
        CommandState.PENDING,
        CommandState.SENT_TO_CLIENT,
        CommandState.ACKED_BY_CLIENT,
        CommandState.EXECUTED_BY_CLIENT,
    }
)
_GIVEN_UP = frozenset({CommandState.EXPIRED, CommandState.CANCELLED})


def _powerwash_issued(facts: LoanFacts) -> Step:
    name = "powerwash_issued"
    wash = facts.powerwash
    if wash is None:
        return _after_lent_again(facts, name) or Step(
            name, StepState.WAITING, "no powerwash was asked for yet"
        )
    if wash.state in _ISSUED or wash.google_command_id is not None:
        return Step(name, StepState.DONE, f"Google has the powerwash ({wash.state.lower()})")
    if wash.state in _GIVEN_UP:
        return Step(name, StepState.FAILED, _given_up(wash))
    return Step(name, StepState.WAITING, "waiting for the powerwash to reach Google")


def _powerwash_executed(facts: LoanFacts) -> Step:
    name = "powerwash_executed"
    wash = facts.powerwash
    if wash is None:
        return _after_lent_again(facts, name) or Step(
            name, StepState.WAITING, "no powerwash was asked for yet"
        )
    if wash.state is CommandState.EXECUTED_BY_CLIENT:
        if wash.result == "SUCCESS":
            return Step(name, StepState.DONE, "the device executed the powerwash")
        return Step(
            name,
            StepState.FAILED,
            f"the device reported {wash.result or 'no result'} for the powerwash"
            + (f": {wash.error}" if wash.error else "")
            + "; a technician re-provisions it",
        )
    if wash.state in _GIVEN_UP:
        return Step(name, StepState.FAILED, _given_up(wash))
    return Step(name, StepState.WAITING, "waiting for the device to come online and powerwash")


def _given_up(wash: CommandSeen) -> str:
    why = f": {wash.error}" if wash.error else ""
    return f"the powerwash was {wash.state.lower()}{why}; it is asked for again or re-provisioned"


def _device_ready(facts: LoanFacts, spare: str) -> Step:
    name = "device_ready"
    device = facts.device
    if lent := _after_lent_again(facts, name):
        return lent
    if device.state is DeviceState.SPARE:
        if device.google_org_unit == spare:
            return Step(name, StepState.DONE, f"the device is spare, in {spare}")
        return Step(name, StepState.WAITING, f"spare in the ledger; waiting to move to {spare}")
    if device.state is DeviceState.IN_REFURBISHMENT:
        return Step(name, StepState.WAITING, "the device is in refurbishment")
    return Step(name, StepState.NOT_NEEDED, f"the device is now {device.state.value}")


def _after_lent_again(facts: LoanFacts, name: str) -> Step | None:
    if facts.device_lent_again is None:
        return None
    return Step(
        name, StepState.NOT_NEEDED, f"the device was lent again since ({facts.device_lent_again})"
    )


def _device_disabled(facts: LoanFacts) -> Step:
    name = "device_disabled"
    if facts.device.state is not DeviceState.LOST:
        return Step(name, StepState.NOT_NEEDED, f"the device is {facts.device.state.value} now")
    if facts.device.google_status == "DISABLED":
        return Step(name, StepState.DONE, "the device is disabled in Google")
    return Step(name, StepState.WAITING, "waiting for Google to disable the device")
