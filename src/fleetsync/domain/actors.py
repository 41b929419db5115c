"""Who acts on the ledger, as the audit trail names them, and the loan desk an actor speaks for.

=========================  ===============================================  ==========
actor                      who                                              desk
=========================  ===============================================  ==========
``cli:<user>``             a technician on the command line                 none
``webhook:<desk>``         a loan desk's software (signed webhook, token)   ``<desk>``
``webhook:admin``          the holder of an admin API token                 none
``desk:<desk>:<person>``   a member of a desk's staff in the desk web app   ``<desk>``
``sync``                   the reconciler                                   none
=========================  ===============================================  ==========

An actor with a desk sees and changes that desk's loans only; the others (technicians, the
admin, the reconciler) act on every loan. This module is the one place that reads the desk out of
an actor.
"""

from __future__ import annotations

import re

__all__ = ["ADMIN", "DESK_NAME", "MAX_ACTOR", "SYNC", "check_actor", "desk_of"]

#: A loan desk's name: it names the desk in the audit trail and on its loans.
DESK_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
#: An admin token's holder acts as ``webhook:admin``: no desk may be named so.
ADMIN = "admin"
SYNC = "sync"
#: The audit trail's ``actor`` column holds this many characters.
MAX_ACTOR = 100

_DESK = DESK_NAME.pattern
_ACTOR = re.compile(
    rf"cli:(?P<user>\S+)|webhook:(?P<webhook>{_DESK})|desk:(?P<desk>{_DESK}):(?P<person>\S+)"
    rf"|{SYNC}"
)


def check_actor(actor: str) -> str:
    """``actor`` when it is one of the forms above; raises :class:`ValueError` otherwise (a
    programming error: entry points build actors, people never type them)."""
    match = _ACTOR.fullmatch(actor)
    if match is None or len(actor) > MAX_ACTOR or match["desk"] == ADMIN:
        raise ValueError(
            f"actor {actor!r} is not cli:<user>, webhook:<desk>, desk:<desk>:<person> or sync "
            f"(at most {MAX_ACTOR} characters)"
        )
    return actor


def desk_of(actor: str) -> str | None:
    """The loan desk ``actor`` speaks for, or ``None`` (a technician, the admin, the reconciler):
    ``webhook:antwerpen`` and ``desk:antwerpen:ann`` → ``antwerpen``."""
    match = _ACTOR.fullmatch(check_actor(actor))
    assert match is not None
    desk = match["webhook"] or match["desk"]
    return None if desk in (None, ADMIN) else desk
