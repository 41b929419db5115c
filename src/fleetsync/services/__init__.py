"""The business actions: one ledger transaction each, shared by the webhook, the CLI and tests.

Every action takes an open SQLAlchemy session (the unit of work) and an ``actor``
(``cli:<user>``, ``webhook:<desk>``, ``desk:<desk>:<person>``, ``sync``: see
:mod:`fleetsync.domain.actors`), changes the ledger, appends its audit event and
wakes the reconciler through the outbox. It never commits and never calls Google::

    with ledger.transaction() as session:
        services.checkout(session, device="5CD1234XYZ", borrower="B-1017", ..., actor="cli:ann")

An actor with a desk sees and changes that desk's loans only (:mod:`fleetsync.services.desks`).
A refused action raises :class:`~fleetsync.domain.errors.Refused` (nothing was written once the
transaction rolls back); unknown things :class:`~fleetsync.domain.errors.NotFound`; bad input
:class:`~fleetsync.domain.errors.InvalidInput`.
"""

from fleetsync.services._effects import DeviceChange, local_date, today
from fleetsync.services.accounts import (
    FirstPassword,
    NewFirstPassword,
    collect_first_password,
    issue_first_password,
    purge_credentials,
)
from fleetsync.services.desks import loan_for, may_see
from fleetsync.services.devices import (
    RegionChange,
    assign_ict_test,
    mark_found,
    mark_lost,
    mark_ready,
    open_repair,
    repaired,
    reprovision,
    retire,
    set_region,
)
from fleetsync.services.inventory import ImportReport, import_devices
from fleetsync.services.loans import CheckoutResult, Extension, checkout, extend_loan, return_device
from fleetsync.services.overdue import unlock, with_escalation
from fleetsync.services.programme import Programme, not_in_google

__all__ = [
    "CheckoutResult",
    "DeviceChange",
    "Extension",
    "FirstPassword",
    "ImportReport",
    "NewFirstPassword",
    "Programme",
    "RegionChange",
    "assign_ict_test",
    "checkout",
    "collect_first_password",
    "extend_loan",
    "import_devices",
    "issue_first_password",
    "loan_for",
    "local_date",
    "mark_found",
    "mark_lost",
    "mark_ready",
    "may_see",
    "not_in_google",
    "open_repair",
    "purge_credentials",
    "repaired",
    "reprovision",
    "retire",
    "return_device",
    "set_region",
    "today",
    "unlock",
    "with_escalation",
]
