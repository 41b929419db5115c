"""The desk speaks Dutch (Belgium) and English: every message of the code and the templates has
a Dutch translation in the repository's catalogue; the browser's Accept-Language chooses, the
switch on every page overrides it; dates are in the language's own format."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from fleetsync.desk import i18n, refusals
from fleetsync.domain import errors
from fleetsync.domain.errors import FleetsyncError, NotAllowedInState
from tests.desk.conftest import ANY_DATABASE, Browser
from tests.desk.test_lend import lend
from tests.pinned import days_from_today

DESK = Path(i18n.__file__).parent
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def _messages() -> set[str]:
    found: set[str] = set()
    keywords = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
    for _file, _line, message, _comments, _context in extract_from_dir(
        DESK, METHODS, keywords=keywords, options_map=OPTIONS
    ):
        found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


def test_every_message_has_a_dutch_translation() -> None:
    messages = _messages()
    assert "Reveal the password" in messages  # the extraction sees the templates
    assert "Account created" in messages  # and the labels marked in the code
    assert set(refusals.MESSAGES.values()) <= messages  # and the refusals' wordings
    with (DESK / "locale" / "nl_BE" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalogue = read_po(handle)
    translated = {m.id for m in catalogue if m.id and m.string and not m.fuzzy}
    missing = sorted(messages - translated)
    assert not missing, (
        f"{len(missing)} messages lack a Dutch translation: run "
        "`python src/fleetsync/desk/locale/update.py` and translate them in "
        f"src/fleetsync/desk/locale/nl_BE/LC_MESSAGES/messages.po: {missing}"
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("nl-BE,nl;q=0.9,en;q=0.8", "nl-BE"),
        ("nl", "nl-BE"),
        ("fr-BE,fr;q=0.9,nl;q=0.5", "nl-BE"),
        ("en-GB,en;q=0.9", "en"),
        ("de-DE", "en"),
        ("", "en"),
        ("nl;q=garbage,,;", "en"),
    ],
)
def test_accept_language_chooses(header: str, expected: str) -> None:
    from starlette.requests import Request

    scope = {"type": "http", "headers": [(b"accept-language", header.encode())]}
    assert i18n.choose(Request(scope)).code == expected


@ANY_DATABASE
def test_the_browser_s_language_and_the_switch(browser: Browser) -> None:
    dutch = browser.get("/desk/sign-in", headers={"Accept-Language": "nl-BE,nl;q=0.9"})
    assert '<html lang="nl-BE">' in dutch.text
    assert "Aanmelden" in dutch.text

    browser.sign_in("ann")
    lend(browser, until=days_from_today(60).isoformat())
    english = browser.get("/desk/loans/L-1")
    end = days_from_today(60)
    assert f"{end:%b} {end.day}, {end.year}" in english.text  # e.g. Oct 31, 2026

    switched = browser.post("/desk/language", {"language": "nl-BE", "next": "/desk/loans/L-1"})
    assert switched.url.path == "/desk/loans/L-1"
    assert '<html lang="nl-BE">' in switched.text
    assert "Voortgang" in switched.text
    assert (
        f"{end.day} {i18n.language('nl-BE').locale.months['format']['abbreviated'][end.month]}"
        in (switched.text)
    )
    # The switch wins over the browser's header from now on.
    assert "Uitlening" in browser.get("/desk/loans", headers={"Accept-Language": "en"}).text


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def test_a_refusal_s_dutch_wording_names_the_same_facts() -> None:
    dutch = i18n.language("nl-BE")
    for key, english in refusals.MESSAGES.items():
        translated = dutch.gettext(english)
        assert translated != english, key
        assert set(_PLACEHOLDER.findall(translated)) == set(_PLACEHOLDER.findall(english)), key


def test_a_refusal_without_a_wording_or_its_facts_is_shown_as_the_service_gave_it() -> None:
    dutch = i18n.language("nl-BE")
    assert refusals.words(dutch, FleetsyncError("something odd")) == "something odd"
    bare = NotAllowedInState("device X is lost", variant="checkout")  # no facts to fill in
    assert refusals.words(dutch, bare) == "device X is lost"
    full = NotAllowedInState(
        "device X is lost", params={"serial": "X", "state": "lost"}, variant="checkout"
    )
    assert refusals.words(dutch, full) == "Toestel X kan niet uitgeleend worden: het is “Verloren”."


#: The modules whose refusals the desk's actions (lend, take back, extend, report lost, mark
#: ready, the first password) can show.
_ACTIONS = [
    "services/loans.py",
    "services/devices.py",
    "services/accounts.py",
    "services/_effects.py",
    "services/programme.py",
    "services/staff.py",
    "services/desks.py",
    "services/agreement.py",
    "ledger/queries.py",
    "domain/lifecycle.py",
    "domain/staff.py",
]


def _raised() -> list[tuple[str, str, set[str] | None]]:
    """Each ``raise SomeError(...)`` of those modules: where, its key (the code alone when the
    variant is computed) and the facts it passes (``None`` when not a literal dict)."""
    found: list[tuple[str, str, set[str] | None]] = []
    src = DESK.parent
    for name in _ACTIONS:
        for node in ast.walk(ast.parse((src / name).read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            func = node.exc.func
            error = getattr(errors, func.id, None) if isinstance(func, ast.Name) else None
            if not (isinstance(error, type) and issubclass(error, FleetsyncError)):
                continue
            keywords = {k.arg: k.value for k in node.exc.keywords}
            variant = keywords.get("variant")
            key = error.code
            if (
                isinstance(variant, ast.Constant)
                and isinstance(variant.value, str)
                and variant.value
            ):
                key = f"{error.code}:{variant.value}"
            params = keywords.get("params")
            facts: set[str] | None = set()
            if isinstance(params, ast.Dict):
                facts = {
                    k.value
                    for k in params.keys
                    if isinstance(k, ast.Constant) and isinstance(k.value, str)
                }
            elif params is not None:
                facts = None
            found.append((f"{name}:{node.lineno}", key, facts))
    return found


def test_every_refusal_of_the_desk_s_actions_has_a_wording_with_its_facts() -> None:
    raised = _raised()
    assert len(raised) > 30  # the scan sees the raises
    assert ("in_repair", {"serial", "since"}) in [(key, facts) for _w, key, facts in raised]
    for where, key, facts in raised:
        wording = refusals.MESSAGES.get(key)
        assert wording is not None, f"{where}: {key} has no wording in desk/refusals.py"
        if facts is not None:
            assert set(_PLACEHOLDER.findall(wording)) <= facts, f"{where}: {key} lacks facts"


def test_an_in_repair_refusal_of_opening_a_repair_is_worded_in_dutch() -> None:
    from datetime import date

    from fleetsync.domain import lifecycle

    device = lifecycle.Device(
        serial="X1",
        state=lifecycle.DeviceState.IN_REFURBISHMENT,
        since=date(2026, 3, 2),
        connectivity=lifecycle.Connectivity.WIFI,
        region="Antwerpen",
        repair=lifecycle.OpenRepair(since=date(2026, 3, 2), note=None),
    )
    with pytest.raises(errors.InRepair) as refused:
        lifecycle.open_repair(device)
    worded = refusals.words(i18n.language("nl-BE"), refused.value)
    assert worded.startswith("Toestel X1 is in reparatie sinds 2 mrt 2026"), worded
