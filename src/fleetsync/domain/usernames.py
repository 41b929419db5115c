"""Borrowers' Workspace usernames, derived from their names: deterministic and collision-free.

``derive_username("Ayşe", "Öztürk", pattern="{given}.{family}", is_taken=...)`` → ``ayse.ozturk``,
or ``ayse.ozturk2`` when that one was ever issued before. The rules:

- names are folded to ASCII: diacritics dropped (Öztürk → ozturk, Çelik → celik), letters that do
  not decompose spelled out (Ødegaard → odegaard, ß → ss, Æ → ae, Ł → l), Cyrillic and Greek
  transliterated (Ukrainian by the Ukrainian national system when the name has a letter only
  Ukrainian uses, else the common Russian one);
- apostrophes, spaces, hyphens and particles are run together: O'Brien → obrien, van der Berg →
  vanderberg, Jean-Pierre → jeanpierre;
- the given name is the first of several given names (Maria Luisa → maria); the family name keeps
  all its words (García López → garcialopez);
- a name with nothing transliterable (e.g. written in Arabic or Ge'ez script) becomes ``u`` and 8
  hex digits of its hash: stable, but enter names in Latin script, as on the residence permit;
- a missing part drops out with its separator (a mononym: ``{given}.{family}`` → ``amina``);
- the local part is at most 64 characters (Google's limit), cut before any numeric suffix;
- on collision a number is appended (2, 3, ...), checked by the caller's ``is_taken``: the ledger
  passes every username it ever issued, so a deleted account's address is never reused.

Pure: no I/O, the caller decides what "taken" means.
"""

# The transliteration tables are made of look-alike letters on purpose.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import hashlib
import re
import string
import unicodedata
from collections.abc import Callable

from fleetsync.domain.errors import InvalidInput

__all__ = ["MAX_LOCAL_PART", "check_pattern", "derive_username", "fold"]

#: Google's limit for the part before the ``@``.
MAX_LOCAL_PART = 64
_FIELDS = frozenset({"given", "family", "g"})
_PATTERN_LITERAL = re.compile(r"^[a-z0-9._-]*$")
_SEPARATORS = "._-"

# Latin letters that NFKD does not decompose into a base letter plus marks.
_LATIN = {
    "ß": "ss",
    "ẞ": "ss",
    "æ": "ae",
    "ø": "o",
    "œ": "oe",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "ł": "l",
    "ı": "i",
    "ħ": "h",
    "ŋ": "ng",
    "ĸ": "k",
    "ſ": "s",
}
_RUSSIAN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
}  # fmt: skip
# The Ukrainian national system (2010): some letters are spelled differently at a word's start.
_UKRAINIAN = {
    **_RUSSIAN,
    "г": "h", "ґ": "g", "е": "e", "є": "ie", "и": "y", "і": "i", "ї": "i", "й": "i",
    "ю": "iu", "я": "ia", "щ": "shch",
}  # fmt: skip
_UKRAINIAN_INITIAL = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}
_ONLY_UKRAINIAN = frozenset("ґєії")
_GREEK = {
    "α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th",
    "ι": "i", "κ": "k", "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "π": "p",
    "ρ": "r", "σ": "s", "ς": "s", "τ": "t", "υ": "y", "φ": "f", "χ": "ch", "ψ": "ps",
    "ω": "o",
}  # fmt: skip


def fold(name: str) -> str:
    """A name as lowercase ASCII letters and digits only; ``""`` when nothing is left."""
    text = unicodedata.normalize("NFC", name).lower()
    cyrillic = _UKRAINIAN if _ONLY_UKRAINIAN & set(text) else _RUSSIAN
    out: list[str] = []
    for i, char in enumerate(text):
        at_start = i == 0 or not text[i - 1].isalpha()
        if cyrillic is _UKRAINIAN and at_start and char in _UKRAINIAN_INITIAL:
            out.append(_UKRAINIAN_INITIAL[char])
        else:
            out.append(_LATIN.get(char) or cyrillic.get(char) or char)
    decomposed = unicodedata.normalize("NFKD", "".join(out))
    # Lower case again: compatibility forms (𝑨, Ａ) decompose into capitals.
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    bare = "".join(_GREEK.get(c, c) for c in bare.replace("ου", "ou"))
    return "".join(c for c in bare if c.isascii() and c.isalnum())


def _part(name: str, *, first_word_only: bool) -> str:
    # Stray punctuation ("-", "?") is not a name.
    words = [w for w in name.split() if any(c.isalnum() for c in w)]
    if not words:
        return ""
    source = words[0] if first_word_only else " ".join(words)
    folded = fold(source)
    if folded or not any(c.isalnum() for c in source):
        return folded
    # Nothing transliterable: a stable stand-in, so the same name always gives the same username.
    digest = hashlib.sha256(unicodedata.normalize("NFC", source).encode()).hexdigest()
    return "u" + digest[:8]


def check_pattern(pattern: str) -> None:
    """Raise :class:`InvalidInput` unless ``pattern`` is a usable username template."""
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise InvalidInput(f"username pattern {pattern!r} is not a valid template: {exc}") from None
    fields = {field for _, field, _, _ in parsed if field is not None}
    literal = "".join(text for text, *_ in parsed)
    unknown = fields - _FIELDS
    if unknown:
        raise InvalidInput(
            f"username pattern {pattern!r} uses {sorted(unknown)}; only {{given}}, {{family}} "
            "and {g} exist (set [accounts] username_pattern)"
        )
    if not fields & {"given", "family"}:
        raise InvalidInput(
            f"username pattern {pattern!r} needs {{given}} or {{family}} (set [accounts] "
            "username_pattern)"
        )
    if not _PATTERN_LITERAL.match(literal):
        raise InvalidInput(
            f"username pattern {pattern!r} may only add lowercase letters, digits, '.', '-' and "
            "'_' around its fields (set [accounts] username_pattern)"
        )


def _clean(local: str) -> str:
    # Google refuses a leading/trailing or doubled separator; a missing name leaves them behind.
    local = re.sub(r"([._-])[._-]+", r"\1", local)
    return local.strip(_SEPARATORS)


def derive_username(
    given: str,
    family: str,
    *,
    pattern: str = "{given}.{family}",
    is_taken: Callable[[str], bool] = lambda _local: False,
    max_length: int = MAX_LOCAL_PART,
) -> str:
    """The first free username (local part, no domain) for this name under ``pattern``."""
    check_pattern(pattern)
    given_part = _part(given, first_word_only=True)
    family_part = _part(family, first_word_only=False)
    if not given_part and not family_part:
        raise InvalidInput("a borrower needs a given name or a family name for their username")
    base = _clean(pattern.format(given=given_part, family=family_part, g=given_part[:1]))
    if not base:
        base = _clean(given_part + family_part)
    for number in range(1, 10_000):
        suffix = "" if number == 1 else str(number)
        candidate = _clean(base[: max_length - len(suffix)]) + suffix
        if not is_taken(candidate):
            return candidate
    raise InvalidInput(
        f"every username from {base!r} to {base}9999 is taken; change [accounts] username_pattern"
    )
