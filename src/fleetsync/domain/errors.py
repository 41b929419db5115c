"""The errors fleetsync raises when it refuses or cannot find something.

Each says what went wrong and what to do. Entry points map them to exit codes and HTTP statuses
in one place each: the CLI (``fleetsync.cli``) and the API (``fleetsync.api``). Every error has a
stable ``code`` for machines (an API body, a script); the message is for people.

A refusal a person meets at the loan desk also carries its facts (``params``: the serial, the
borrower, the dates) and, where one code has several reasons, which one (``variant``): the desk
web app words it in the reader's language from those (``fleetsync.desk.refusals``), and falls
back to the English message for any other error.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType

__all__ = [
    "AccountBeingDeleted",
    "AgreementRequired",
    "AlreadyCollected",
    "BorrowerHasLoan",
    "BorrowerNamesDiffer",
    "CoursesOverlap",
    "FleetsyncError",
    "InRepair",
    "InvalidInput",
    "InvalidRows",
    "LoanEnded",
    "LoanNotExtended",
    "NotAllowedInState",
    "NotFound",
    "NotLendable",
    "Param",
    "PowerwashNotExecuted",
    "PowerwashOutstanding",
    "Refused",
    "ReservationClosed",
    "UnknownCourse",
    "WrongConnectivity",
    "WrongRegion",
]


#: A refusal's facts: text, numbers and dates (a page formats them in its language).
Param = str | int | date

_NONE: Mapping[str, Param] = MappingProxyType({})


class FleetsyncError(Exception):
    """Base of every error fleetsync raises on purpose. ``str(err)`` is the message for a person."""

    code = "error"

    def __init__(
        self, message: str, *, params: Mapping[str, Param] | None = None, variant: str = ""
    ) -> None:
        super().__init__(message)
        self.params: Mapping[str, Param] = (
            _NONE if params is None else MappingProxyType(dict(params))
        )
        self.variant = variant

    @property
    def key(self) -> str:
        """``code``, or ``code:variant``: which wording a translated message takes."""
        return f"{self.code}:{self.variant}" if self.variant else self.code


class Refused(FleetsyncError):
    """The action is not allowed now (a lifecycle rule). CLI exit 3, HTTP 409."""

    code = "refused"


class NotFound(FleetsyncError):
    """The device, borrower, loan or command does not exist. CLI exit 4, HTTP 404."""

    code = "not_found"


class InvalidInput(FleetsyncError):
    """The input cannot be used as given. CLI exit 2, HTTP 422."""

    code = "invalid_input"


class InvalidRows(InvalidInput):
    """A file has bad rows; ``problems`` lists each one with its line number."""

    code = "invalid_rows"

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


# ------------------------------------------------------------------ lifecycle refusals (exit 3)
class NotAllowedInState(Refused):
    """The device's lifecycle state does not allow this action (e.g. re-provisioning a device
    that is on loan)."""

    code = "device_state"


class WrongConnectivity(Refused):
    """The borrower needs mobile data and the device has none."""

    code = "connectivity"


class WrongRegion(Refused):
    """The device belongs to another region than the borrower."""

    code = "region"


class BorrowerHasLoan(Refused):
    """The borrower already has a device on loan."""

    code = "borrower_has_loan"


class BorrowerNamesDiffer(Refused):
    """The borrower id is known with other names, and the desk did not confirm that this is the
    same person."""

    code = "borrower_names_differ"


class AccountBeingDeleted(Refused):
    """The borrower's account is being deleted in Google (its retention period has passed): a
    checkout waits until the deletion is settled, then gives them a new account."""

    code = "account_being_deleted"


class LoanNotExtended(Refused):
    """An extension must end later than the loan's current agreed end."""

    code = "loan_not_extended"


class PowerwashNotExecuted(Refused):
    """A device leaves refurbishment only once its powerwash has executed (or when forced)."""

    code = "powerwash_not_executed"


class PowerwashOutstanding(Refused):
    """A powerwash is already on its way to the device; another one is not asked for."""

    code = "powerwash_outstanding"


class AlreadyCollected(Refused):
    """A first password is handed over once."""

    code = "already_collected"


class LoanEnded(Refused):
    """A first password is collected while its loan is open."""

    code = "loan_ended"


class InRepair(Refused):
    """The device has an open repair: it stays out of circulation until it is repaired."""

    code = "in_repair"


class NotLendable(Refused):
    """Google has not confirmed the device as an active Chromebook in a managed org unit."""

    code = "not_lendable"


# ------------------------------------------------------------------------- the calendar
class UnknownCourse(InvalidInput):
    """No course period has this name; the message lists the known ones."""

    code = "unknown_course"


class CoursesOverlap(Refused):
    """A region's course periods do not overlap."""

    code = "courses_overlap"


class ReservationClosed(Refused):
    """A reservation is cancelled while it is open: not once fulfilled or cancelled."""

    code = "reservation_closed"


class AgreementRequired(Refused):
    """``[agreement] required``: a checkout needs the current loan agreement accepted."""

    code = "agreement_required"
