"""Days as people type them: ISO (2027-02-28) and the Belgian way, day first (28/02/2027, also
with '-' or '.' between, and with one-digit days and months). A date that does not exist or
cannot be read is refused with a sentence that says what is wrong and how to write it."""

from __future__ import annotations

import calendar
import re
from datetime import date

from fleetsync.domain.errors import InvalidInput

__all__ = ["DAY_FORMATS", "parse_day"]

#: How fleetsync's help names the formats it reads.
DAY_FORMATS = "YYYY-MM-DD or DD/MM/YYYY"

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DAY_FIRST = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{2,4})")


def parse_day(text: str, what: str = "the date") -> date:
    """The day ``text`` names; :class:`InvalidInput` naming ``what`` when it names none."""
    value = text.strip()
    example = "write it as 2027-02-28 or 28/02/2027"
    if found := _ISO.fullmatch(value):
        year, month, day = (int(part) for part in found.groups())
    elif found := _DAY_FIRST.fullmatch(value):
        day, month, year = int(found[1]), int(found[3]), int(found[4])
        if len(found[4]) != 4:
            raise InvalidInput(
                f"{what} {value!r} has a two-digit year: write the year in full, e.g. 28/02/2027"
            )
    else:
        raise InvalidInput(f"{what} {value!r} is not a date: {example}")
    if not 1 <= month <= 12:
        hint = " (the day comes first: DD/MM/YYYY)" if found.re is _DAY_FIRST and day <= 12 else ""
        raise InvalidInput(
            f"{what} {value!r} is not a date: there is no month {month}{hint}; {example}"
        )
    if year < 1:  # the callers say which years they take (a report: from 1970)
        raise InvalidInput(f"{what} {value!r} is not a date fleetsync can use: {example}")
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise InvalidInput(
            f"{what} {value!r} is not a date: {calendar.month_name[month]} {year} has {days} days"
        )
    return date(year, month, day)
