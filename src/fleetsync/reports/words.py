"""The words and formats a person reads in a report, in English and Dutch (``--lang``): the
column labels, dates (``2025-03-01`` / ``1/03/2025``) and averages (``38.5`` / ``38,5``). One
place for every report, so ``report loans`` and ``report loans --by course`` read alike. CSV and
JSON keep their machine-readable keys and values whatever the language."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

__all__ = ["HEADERS", "LANGS", "day", "figure"]

LANGS = ("en", "nl")

HEADERS: dict[str, dict[str, str]] = {
    "en": {
        "course": "course period", "from": "from", "to": "to", "region": "region",
        "month": "month", "devices_lent": "devices lent", "devices_wifi": "wifi",
        "devices_4g": "4G", "loans_ended": "ended", "loans_lost": "lost",
        "avg_agreed_days": "agreed days", "loans_returned": "returned",
        "avg_actual_days": "actual days", "open_now": "open now", "overdue_now": "overdue now",
        "open_at_end": "open at end", "overdue_at_end": "overdue at end", "all": "all",
        "title": "loans per course period", "loans": "loans",
    },
    "nl": {
        "course": "cursusperiode", "from": "van", "to": "tot", "region": "regio",
        "month": "maand", "devices_lent": "uitgeleende toestellen", "devices_wifi": "wifi",
        "devices_4g": "4G", "loans_ended": "beëindigd", "loans_lost": "verloren",
        "avg_agreed_days": "afgesproken dagen", "loans_returned": "teruggebracht",
        "avg_actual_days": "werkelijke dagen", "open_now": "nu uitgeleend",
        "overdue_now": "nu te laat", "open_at_end": "uitgeleend op het einde",
        "overdue_at_end": "te laat op het einde", "all": "totaal",
        "title": "ontleningen per cursusperiode", "loans": "ontleningen",
    },
}  # fmt: skip


def day(value: date | None, lang: str) -> str:
    """A date as a person reads it: ISO in English, ``d/mm/yyyy`` in Dutch; ``None``: empty."""
    if value is None:
        return ""
    return f"{value.day}/{value.month:02d}/{value.year}" if lang == "nl" else value.isoformat()


def figure(value: str | int | Decimal | None, lang: str) -> str:
    """A figure as text: an average with its one decimal (a decimal comma in Dutch), nothing
    as an empty string."""
    if value is None:
        return ""
    text = str(value)
    return text.replace(".", ",") if lang == "nl" and isinstance(value, Decimal) else text
