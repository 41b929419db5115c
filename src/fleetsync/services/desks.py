"""What a loan desk may see and change: its own loans, and nothing of another desk's.

A loan belongs to the desk that checked it out (``loans.desk``, read from the actor by
:func:`fleetsync.domain.actors.desk_of`); a technician's loan belongs to no desk. An actor with a
desk (``webhook:<desk>``, ``desk:<desk>:<person>``) sees, extends, returns, reports lost and
collects the first password of that desk's loans only. Any other loan is answered exactly like a
loan that does not exist, so a desk learns nothing of another desk's borrowers, loans or dates.
Technicians (``cli:<user>``), the admin token (``webhook:admin``) and the reconciler act on
every loan; so does an admin of the desk web app, whose actions still name them
(``desk:<desk>:<person>``): the web app passes ``all_desks=True`` for them.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from fleetsync.domain.actors import desk_of
from fleetsync.domain.errors import NotFound
from fleetsync.ledger import queries
from fleetsync.ledger.models import Device, Loan, loan_ref

__all__ = ["check_device_loan", "loan_for", "may_see", "scope_of"]


def scope_of(actor: str, *, all_desks: bool = False) -> str | None:
    """The desk whose loans ``actor`` sees, or ``None`` for every desk's (``all_desks``: an admin
    of the desk web app, whatever their own desk)."""
    return None if all_desks else desk_of(actor)


def may_see(loan: Loan, actor: str, *, all_desks: bool = False) -> bool:
    """Whether ``actor`` may see and change ``loan``."""
    desk = scope_of(actor, all_desks=all_desks)
    return desk is None or loan.desk == desk


def loan_for(session: Session, ref: str, *, actor: str, all_desks: bool = False) -> Loan:
    """The loan ``ref`` (``L-88`` or ``88``) as ``actor`` may see it. Raises
    :class:`NotFound` for another desk's loan, worded exactly as for one that does not exist."""
    desk = scope_of(actor, all_desks=all_desks)
    if desk is None:
        return queries.find_loan(session, ref)
    hidden = NotFound(
        f"desk {desk} has no loan {loan_ref(queries.loan_number(ref))}; a desk sees the loans "
        "it checked out",
        params={"loan": loan_ref(queries.loan_number(ref))},
        variant="loan",
    )
    try:
        loan = queries.find_loan(session, ref)
    except NotFound:
        raise hidden from None
    if loan.desk != desk:
        raise hidden
    return loan


def check_device_loan(
    session: Session, device: Device, *, actor: str, all_desks: bool = False
) -> None:
    """Refuse (:class:`NotFound`) a desk's action on a device that is on another desk's loan
    (a return, an extension, a loss report): it names neither the loan nor its borrower."""
    desk = scope_of(actor, all_desks=all_desks)
    if desk is None:
        return
    loan = queries.open_loan(session, device.id)
    if loan is not None and loan.desk != desk:
        raise NotFound(
            f"desk {desk} has no loan of device {device.serial}: it is on loan at another desk, "
            "which returns, extends or reports it lost (or a technician, on the command line)",
            params={"serial": device.serial},
            variant="elsewhere",
        )
