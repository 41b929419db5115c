"""The desk's languages: Dutch (Belgium) and English, message catalogues in ``locale/``.

The language comes from the ``fleetsync_lang`` cookie (the switch on every page) or else from the
browser's ``Accept-Language``; English when neither names one we have. The catalogues are read
from their ``.po`` files when the app starts (no compile step); dates and numbers are formatted
by Babel in the locale's own way.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from fastapi import Request

__all__ = [
    "DEFAULT",
    "LANGUAGES",
    "LOCALE_DIR",
    "Language",
    "choose",
    "language",
    "translations",
]

LOCALE_DIR = Path(__file__).parent / "locale"
LANG_COOKIE = "fleetsync_lang"
DEFAULT = "en"
#: code (as in the cookie and the page's ``lang``) → Babel locale and the switch's own name.
LANGUAGES: dict[str, tuple[str, str]] = {"en": ("en", "English"), "nl-BE": ("nl_BE", "Nederlands")}


class Language:
    """One language: its translations and its formats."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.locale = Locale.parse(LANGUAGES[code][0])
        self.translations = translations(code)

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def date(self, value: date | str | None, format: str = "medium") -> str:
        """A date (or its ISO text, as the ledger's rows give it) in the locale's way."""
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        return format_date(value, format=format, locale=self.locale)

    def datetime(self, value: datetime | str | None, format: str = "short") -> str:
        """A moment in the server's time zone, in the locale's way."""
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return format_datetime(value.astimezone(), format=format, locale=self.locale)

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.locale)


@cache
def translations(code: str) -> NullTranslations:
    """The catalogue of ``code`` (English is the source language: no catalogue)."""
    folder = LANGUAGES[code][0]
    po = LOCALE_DIR / folder / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=folder)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


@cache
def language(code: str) -> Language:
    return Language(code)


def choose(request: Request) -> Language:
    """The cookie's language, else the best of ``Accept-Language``, else English."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return language(chosen)
    # The first language the browser names that we have, by its language part: nl, nl-NL and
    # nl-BE all read Dutch (Belgium); en-GB and en-US English.
    for name in _accepted(request.headers.get("accept-language", "")):
        wanted = name.split("_")[0].lower()
        for code, (babel_name, _name) in LANGUAGES.items():
            if babel_name.split("_")[0] == wanted:
                return language(code)
    return language(DEFAULT)


def _accepted(header: str) -> list[str]:
    """``Accept-Language`` as locale names, best first (``nl-BE,nl;q=0.9`` → nl_BE, nl)."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")[:20]):
        name, _, params = part.strip().partition(";")
        name = name.strip().replace("-", "_")
        if not name or name == "*" or len(name) > 20:
            continue
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        ranked.append((-weight, i, name))
    return [name for _w, _i, name in sorted(ranked)]
