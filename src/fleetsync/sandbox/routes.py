"""Which Google method each handler answers: the implemented part of the discovery documents.

Every other method of the two APIs is routed too (so its path, parameters and scopes are checked)
and then answered with an honest 501 that names it.
"""

from __future__ import annotations

from fleetsync.sandbox.calls import Handler
from fleetsync.sandbox.methods import commands, customers, devices, gmail, orgunits, policy, users

__all__ = ["HANDLERS", "IMPLEMENTED"]

HANDLERS: dict[str, Handler] = {
    **devices.HANDLERS,
    **commands.HANDLERS,
    **users.HANDLERS,
    **orgunits.HANDLERS,
    **policy.HANDLERS,
    **customers.HANDLERS,
    **gmail.HANDLERS,
}

#: The method ids the sandbox implements, for docs and the conformance test.
IMPLEMENTED = frozenset(HANDLERS)
