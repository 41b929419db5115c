"""Who a borrower is: the desk's id for them, and the names that id was given.

Borrower ids are one namespace for every desk: two desks may each have a "B-9". A checkout that
gives a known id with other names is therefore refused unless the desk confirms that this is the
same person (a name corrected or changed); otherwise one desk's borrower would silently take over
another's account and loans. The refusal says which name differs, never what the ledger holds.
"""

from __future__ import annotations

import re
import unicodedata

from fleetsync.domain.errors import BorrowerNamesDiffer

__all__ = [
    "MAX_NAME_KEY",
    "check_same_person",
    "differing_names",
    "fold",
    "name_key",
    "name_words",
    "search_words",
]

#: How a desk confirms it: the webhook's field and the command line's option.
_CONFIRM = 'the webhook\'s "same_person": true, or --same-person on the command line'


#: A borrower's two names (120 characters each) folded, with the space between them.
MAX_NAME_KEY = 241


def name_key(given: str | None, family: str | None) -> str | None:
    """Both names as a search matches them: case, accents and spacing aside ("Ayşe  ÖZTÜRK" →
    "ayse ozturk"); ``None`` when there are none (a pseudonymised borrower). A search folds what
    was typed the same way and looks for it inside this key, on every database alike."""
    text = fold(f"{given or ''} {family or ''}")
    return text[:MAX_NAME_KEY] or None


def name_words(given: str | None, family: str | None) -> frozenset[str]:
    """The words a search finds a borrower by: each word of their folded names, and the parts
    of a word joined by a hyphen or an apostrophe ("Peeters-Janssens" → ``peeters-janssens``,
    ``peeters``, ``janssens``; "D'Hondt" → ``d'hondt``, ``d``, ``hondt``)."""
    words: set[str] = set()
    for word in (name_key(given, family) or "").split():
        words.add(word[:MAX_NAME_KEY])
        words.update(part for part in _JOINS.split(word) if part)
    return frozenset(words)


def search_words(text: str) -> tuple[str, ...]:
    """What a person typed, as the words a search looks for (folded, longest first, no
    repeats). Each must begin a word of the borrower's names (:func:`name_words`)."""
    unique = dict.fromkeys(fold(text).split())
    return tuple(sorted(unique, key=len, reverse=True))


_JOINS = re.compile(r"[^\w]+")

#: Letters whose accent Unicode does not decompose, as a person searching would type them.
_PLAIN = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "\u0131": "i", "æ": "ae", "œ": "oe"}
)


def fold(text: str) -> str:
    """``text`` without case, accents or runs of spaces: "Łukasz  Öztürk" → "lukasz ozturk"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_PLAIN))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(unicodedata.normalize("NFKC", bare).split())


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
            f"confirm it ({_CONFIRM}); if not, give this borrower an id of their own",
            params={"borrower": borrower},
        )
    return differ
