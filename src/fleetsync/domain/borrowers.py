"""Who a borrower is: the desk's id for them, and the names that id was given.

Borrower ids are one namespace for every desk: two desks may each have a "B-9". A checkout that
gives a known id with other names is therefore refused unless the desk confirms that this is the
same person (a name corrected or changed); otherwise one desk's borrower would silently take over
another's account and loans. The refusal says which name differs, never what the ledger holds.
"""

from __future__ import annotations

import unicodedata

from fleetsync.domain.errors import BorrowerNamesDiffer

__all__ = ["check_same_person", "differing_names"]

#: How a desk confirms it: the webhook's field and the command line's option.
_CONFIRM = 'the webhook\'s "same_person": true, or --same-person on the command line'


def _comparable(name: str | None) -> str:
    # What a person would call "the same name": case, spacing and Unicode normalisation aside.
    return " ".join(unicodedata.normalize("NFKC", name or "").casefold().split())


def differing_names(
    known: tuple[str | None, str | None], given: tuple[str, str]
) -> tuple[str, ...]:
    """Which of (given name, family name) differ from what the ledger knows. A pseudonymised
    borrower (no names left) differs in nothing: a returning person simply gives them again."""
    if known == (None, None):
        return ()
    labels = ("given name", "family name")
    return tuple(
        label
        for label, old, new in zip(labels, known, given, strict=True)
        if _comparable(old) != _comparable(new)
    )


def check_same_person(
    borrower: str,
    *,
    known: tuple[str | None, str | None],
    given: tuple[str, str],
    same_person: bool,
) -> tuple[str, ...]:
    """The names that differ, when the desk confirmed it is the same person anyway; raises
    :class:`BorrowerNamesDiffer` when they differ unconfirmed."""
    differ = differing_names(known, given)
    if differ and not same_person:
        raise BorrowerNamesDiffer(
            f"borrower {borrower} is already in the ledger with another "
            f"{' and '.join(differ)}; if this is the same person (a name corrected or changed), "
            f"confirm it ({_CONFIRM}); if not, give this borrower an id of their own"
        )
    return differ
