"""Who acts, and the desk an actor speaks for: read in one place, for the audit trail, the loans'
desk and every access rule."""

from __future__ import annotations

import pytest

from fleetsync.domain.actors import check_actor, desk_of

DESKS = [
    ("cli:ann", None),
    ("sync", None),
    ("webhook:antwerpen", "antwerpen"),
    ("webhook:admin", None),  # the admin token's holder: every loan, no desk
    ("desk:antwerpen:ann", "antwerpen"),
    ("desk:brussel-noord:jan.peeters@example.org", "brussel-noord"),
]


@pytest.mark.parametrize(("actor", "desk"), DESKS, ids=[a for a, _ in DESKS])
def test_the_desk_an_actor_speaks_for(actor: str, desk: str | None) -> None:
    assert check_actor(actor) == actor
    assert desk_of(actor) == desk


NOT_ACTORS = [
    "ann",
    "cli:",
    "cli:two words",
    "webhook:Antwerpen",  # desk names are lower case
    "webhook:antwerpen:ann",
    "desk:antwerpen",
    "desk:admin:ann",  # no desk is called admin
    "desk:antwerpen:" + "x" * 90,  # longer than the audit trail's column
    "sync:x",
]


@pytest.mark.parametrize("actor", NOT_ACTORS)
def test_what_is_not_an_actor(actor: str) -> None:
    with pytest.raises(ValueError, match="is not cli:<user>, webhook:<desk>"):
        desk_of(actor)
