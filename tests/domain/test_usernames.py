"""Usernames from names: folded to ASCII, deterministic, never one issued before."""
# Names in other scripts and look-alike letters are what these tests are about.
# ruff: noqa: RUF001

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetsync.domain.errors import InvalidInput
from fleetsync.domain.usernames import MAX_LOCAL_PART, check_pattern, derive_username, fold

CASES = [
    ("diacritics", "Ayşe", "Öztürk", "ayse.ozturk"),
    ("cedilla", "Emre", "Çelik", "emre.celik"),
    ("slashed o", "Ole", "Ødegaard", "ole.odegaard"),
    ("sharp s", "Jürgen", "Weiß", "jurgen.weiss"),
    ("dotted and dotless i", "İsmail", "Yıldız", "ismail.yildiz"),
    ("ligature", "Æsa", "Lœvenbruck", "aesa.loevenbruck"),
    ("apostrophe", "Seán", "O'Brien", "sean.obrien"),
    ("typographic apostrophe", "Jan", "D’Hondt", "jan.dhondt"),
    ("particles", "Pieter", "van der Berg", "pieter.vanderberg"),
    ("hyphenated given name", "Jean-Pierre", "Dupont", "jeanpierre.dupont"),
    ("several given names: the first", "Maria Luisa", "García López", "maria.garcialopez"),
    ("hyphenated family name", "Nour", "El-Amrani", "nour.elamrani"),
    ("upper case and extra spaces", "  JAN ", " PEETERS  ", "jan.peeters"),
    ("a mononym keeps no dangling dot", "Amina", "", "amina"),
    ("family name only", "", "Haddad", "haddad"),
    ("russian", "Дмитрий", "Иванов", "dmitriy.ivanov"),
    ("ukrainian, national system", "Ірина", "Коваль", "iryna.koval"),
    ("ukrainian, word-initial letters", "Євген", "Ярошенко", "yevhen.yaroshenko"),
    ("greek", "Νίκος", "Παπαδόπουλος", "nikos.papadopoulos"),
]


@pytest.mark.parametrize(
    ("given_name", "family_name", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_username_from_name(given_name: str, family_name: str, expected: str) -> None:
    assert derive_username(given_name, family_name) == expected


PATTERNS = [
    ("initial and family", "{g}{family}", "aozturk"),
    ("family first", "{family}.{given}", "ozturk.ayse"),
    ("literal prefix", "s-{given}.{family}", "s-ayse.ozturk"),
    ("underscore", "{given}_{family}", "ayse_ozturk"),
]


@pytest.mark.parametrize(
    ("pattern", "expected"), [c[1:] for c in PATTERNS], ids=[c[0] for c in PATTERNS]
)
def test_the_pattern_decides_the_shape(pattern: str, expected: str) -> None:
    assert derive_username("Ayşe", "Öztürk", pattern=pattern) == expected


def test_a_name_in_a_script_without_transliteration_gets_a_stable_stand_in() -> None:
    first = derive_username("محمد", "الحسن")
    assert re.fullmatch(r"u[0-9a-f]{8}\.u[0-9a-f]{8}", first)
    assert derive_username("محمد", "الحسن") == first
    assert derive_username("محمد", "Haddad").endswith(".haddad")
    assert derive_username("أحمد", "الحسن") != first


def test_a_collision_gets_the_next_free_number() -> None:
    taken = {"jan.peeters", "jan.peeters2"}
    assert derive_username("Jan", "Peeters", is_taken=taken.__contains__) == "jan.peeters3"


def test_a_very_long_name_is_cut_to_googles_limit_before_its_number() -> None:
    family = "Rodríguez de la Santísima Trinidad y Fernández de Córdoba Alcalá-Zamora"
    first = derive_username("Maximiliano", family)
    assert len(first) == MAX_LOCAL_PART
    assert first.startswith("maximiliano.rodriguezdelasantisima")
    second = derive_username("Maximiliano", family, is_taken={first}.__contains__)
    assert len(second) == MAX_LOCAL_PART
    assert second == first[:-1] + "2"


def test_no_letters_at_all_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="needs a given name or a family name"):
        derive_username("  ", "-")


BAD_PATTERNS = [
    ("unknown field", "{first}.{last}", "only {given}, {family} and {g} exist"),
    ("no name field", "{g}", "needs {given} or {family}"),
    ("upper case literal", "S.{given}", "may only add lowercase letters"),
    ("an at sign", "{given}@{family}", "may only add lowercase letters"),
    ("broken template", "{given", "is not a valid template"),
]


@pytest.mark.parametrize(
    ("pattern", "message"), [c[1:] for c in BAD_PATTERNS], ids=[c[0] for c in BAD_PATTERNS]
)
def test_a_bad_pattern_says_what_to_change(pattern: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        check_pattern(pattern)


_LOCAL_PART = re.compile(r"^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$")
names = st.text(min_size=0, max_size=80)


@given(given_name=names, family_name=names)
def test_any_name_gives_a_valid_username_or_a_clear_refusal(
    given_name: str, family_name: str
) -> None:
    try:
        local = derive_username(given_name, family_name)
    except InvalidInput:
        assert not any(c.isalnum() for c in given_name + family_name)
        return
    assert _LOCAL_PART.match(local), local
    assert len(local) <= MAX_LOCAL_PART
    assert ".." not in local
    assert derive_username(given_name, family_name) == local


@given(people=st.lists(st.tuples(names, names), min_size=1, max_size=15))
def test_usernames_issued_one_after_another_never_collide(people: list[tuple[str, str]]) -> None:
    issued: set[str] = set()
    for given_name, family_name in people:
        try:
            local = derive_username(given_name, family_name, is_taken=issued.__contains__)
        except InvalidInput:
            continue
        assert local not in issued
        issued.add(local)


@given(name=names)
def test_folding_leaves_only_ascii_letters_and_digits(name: str) -> None:
    folded = fold(name)
    assert folded == "" or re.fullmatch(r"[a-z0-9]+", folded)
