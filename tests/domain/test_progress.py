"""The loan desk's checklist: what the ledger wants compared with what Google last confirmed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fleetsync.domain.lifecycle import CommandState, Condition, DeviceState
from fleetsync.domain.progress import (
    AccountSeen,
    CommandSeen,
    DeviceSeen,
    LoanFacts,
    LoanPhase,
    PolicySeen,
    StepState,
    Targets,
    loan_progress,
    policy_org_units,
)

ON_LOAN, SPARE = "/Chromebooks/On loan", "/Chromebooks/Spare"
EMAIL = "ayse.ozturk@example.org"
TARGETS = Targets(on_loan=ON_LOAN, spare=SPARE, policy_org_units=("/Students",))

JUST_LENT = LoanFacts(
    condition=None,
    account=AccountSeen(email=EMAIL, google_user_id=None, google_suspended=None),
    device=DeviceSeen(
        state=DeviceState.ON_LOAN,
        google_org_unit="/Chromebooks/Staging",
        google_annotated_user=None,
        google_status="ACTIVE",
    ),
    powerwash=None,
    policies=(),
)
CONVERGED = replace(
    JUST_LENT,
    account=AccountSeen(email=EMAIL, google_user_id="1001", google_suspended=False),
    device=replace(JUST_LENT.device, google_org_unit=ON_LOAN, google_annotated_user=EMAIL),
    policies=(PolicySeen("/Students", "chrome.users.ManagedBookmarks", True),),
)
JUST_RETURNED = replace(
    CONVERGED,
    condition=Condition.OK,
    device=replace(CONVERGED.device, state=DeviceState.IN_REFURBISHMENT),
    powerwash=CommandSeen(CommandState.REQUESTED, None, None, None),
)


def _wash(state: CommandState, result: str | None = None, error: str | None = None) -> CommandSeen:
    return CommandSeen(
        state, "cmd-1" if state is not CommandState.REQUESTED else None, result, error
    )


def _states(facts: LoanFacts) -> dict[str, StepState]:
    return {s.name: s.state for s in loan_progress(facts, TARGETS).steps}


D, W, F, N = StepState.DONE, StepState.WAITING, StepState.FAILED, StepState.NOT_NEEDED


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        pytest.param(
            JUST_LENT,
            {
                "account_created": W,
                "device_moved": W,
                "device_annotated": W,
                "policies_in_place": W,
            },
            id="just-lent",
        ),
        pytest.param(
            CONVERGED,
            {
                "account_created": D,
                "device_moved": D,
                "device_annotated": D,
                "policies_in_place": D,
            },
            id="converged",
        ),
        pytest.param(
            replace(CONVERGED, account=replace(CONVERGED.account, google_suspended=True)),
            {
                "account_created": W,
                "device_moved": D,
                "device_annotated": D,
                "policies_in_place": D,
            },
            id="account-still-suspended",
        ),
        pytest.param(
            replace(CONVERGED, device=replace(CONVERGED.device, google_annotated_user="x@y")),
            {
                "account_created": D,
                "device_moved": D,
                "device_annotated": W,
                "policies_in_place": D,
            },
            id="annotated-with-someone-else",
        ),
        pytest.param(
            replace(CONVERGED, policies=(PolicySeen("/Students", "chrome.users.Apps", False),)),
            {
                "account_created": D,
                "device_moved": D,
                "device_annotated": D,
                "policies_in_place": W,
            },
            id="policy-not-in-place",
        ),
    ],
)
def test_checkout(facts: LoanFacts, expected: dict[str, StepState]) -> None:
    progress = loan_progress(facts, TARGETS)
    assert progress.phase is LoanPhase.CHECKOUT
    assert _states(facts) == expected
    assert progress.complete == all(s is D for s in expected.values())


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        pytest.param(
            JUST_RETURNED,
            {
                "account_suspended": W,
                "powerwash_issued": W,
                "powerwash_executed": W,
                "device_ready": W,
            },
            id="just-returned",
        ),
        pytest.param(
            replace(
                JUST_RETURNED,
                account=replace(JUST_RETURNED.account, google_suspended=True),
                powerwash=_wash(CommandState.SENT_TO_CLIENT),
            ),
            {
                "account_suspended": D,
                "powerwash_issued": D,
                "powerwash_executed": W,
                "device_ready": W,
            },
            id="suspended-and-issued",
        ),
        pytest.param(
            replace(
                JUST_RETURNED,
                account=replace(JUST_RETURNED.account, google_suspended=True),
                powerwash=_wash(CommandState.EXECUTED_BY_CLIENT, "SUCCESS"),
                device=replace(
                    JUST_RETURNED.device, state=DeviceState.SPARE, google_org_unit=SPARE
                ),
            ),
            {
                "account_suspended": D,
                "powerwash_issued": D,
                "powerwash_executed": D,
                "device_ready": D,
            },
            id="ready",
        ),
        pytest.param(
            replace(
                JUST_RETURNED,
                powerwash=_wash(CommandState.EXECUTED_BY_CLIENT, "FAILURE", "disk error"),
            ),
            {
                "account_suspended": W,
                "powerwash_issued": D,
                "powerwash_executed": F,
                "device_ready": W,
            },
            id="powerwash-failed",
        ),
        pytest.param(
            replace(JUST_RETURNED, powerwash=_wash(CommandState.EXPIRED)),
            {
                "account_suspended": W,
                "powerwash_issued": D,
                "powerwash_executed": F,
                "device_ready": W,
            },
            id="powerwash-expired",
        ),
        pytest.param(
            replace(
                JUST_RETURNED,
                powerwash=CommandSeen(CommandState.CANCELLED, None, None, "device left"),
            ),
            {
                "account_suspended": W,
                "powerwash_issued": F,
                "powerwash_executed": F,
                "device_ready": W,
            },
            id="powerwash-called-off-before-issued",
        ),
        pytest.param(
            replace(
                JUST_RETURNED,
                device=replace(JUST_RETURNED.device, state=DeviceState.SPARE),
                powerwash=_wash(CommandState.EXECUTED_BY_CLIENT, "SUCCESS"),
            ),
            {
                "account_suspended": W,
                "powerwash_issued": D,
                "powerwash_executed": D,
                "device_ready": W,
            },
            id="spare-in-the-ledger-not-yet-moved",
        ),
        pytest.param(
            replace(
                JUST_RETURNED,
                powerwash=None,
                device_lent_again="L-90",
                borrower_borrowed_again="L-91",
            ),
            {
                "account_suspended": N,
                "powerwash_issued": N,
                "powerwash_executed": N,
                "device_ready": N,
            },
            id="both-moved-on",
        ),
        pytest.param(
            replace(
                JUST_RETURNED,
                account=AccountSeen(email=EMAIL, google_user_id=None, google_suspended=None),
            ),
            {
                "account_suspended": D,
                "powerwash_issued": W,
                "powerwash_executed": W,
                "device_ready": W,
            },
            id="account-deleted-or-never-created",
        ),
    ],
)
def test_return(facts: LoanFacts, expected: dict[str, StepState]) -> None:
    assert loan_progress(facts, TARGETS).phase is LoanPhase.RETURN
    assert _states(facts) == expected


@pytest.mark.parametrize(
    ("google_status", "state", "expected"),
    [
        pytest.param("ACTIVE", DeviceState.LOST, W, id="not-yet-disabled"),
        pytest.param("DISABLED", DeviceState.LOST, D, id="disabled"),
        pytest.param("DISABLED", DeviceState.IN_REFURBISHMENT, N, id="found-since"),
    ],
)
def test_lost(google_status: str, state: DeviceState, expected: StepState) -> None:
    facts = replace(
        CONVERGED,
        condition=Condition.LOST,
        device=replace(CONVERGED.device, state=state, google_status=google_status),
    )
    progress = loan_progress(facts, TARGETS)
    assert progress.phase is LoanPhase.LOST
    assert _states(facts)["device_disabled"] is expected


def test_no_policies_configured_is_not_a_wait() -> None:
    facts = replace(CONVERGED, policies=())
    progress = loan_progress(facts, replace(TARGETS, policy_org_units=()))
    assert progress.complete


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        pytest.param(["/Students"], ("/Students",), id="ancestor"),
        pytest.param(["/Students/{region}"], ("/Students/Limburg",), id="per-region"),
        pytest.param(["/Students/Antwerpen"], (), id="another-region"),
        pytest.param(["/"], ("/",), id="root"),
        pytest.param(["/Chromebooks"], ("/Chromebooks",), id="device-side"),
        pytest.param(["/Stud"], (), id="not-a-prefix-match"),
        pytest.param(["/Students", "/Students"], ("/Students",), id="once"),
    ],
)
def test_policy_org_units_that_reach_a_borrower(
    configured: list[str], expected: tuple[str, ...]
) -> None:
    found = policy_org_units(
        configured, region="Limburg", students="/Students/{region}", on_loan=ON_LOAN
    )
    assert found == expected
