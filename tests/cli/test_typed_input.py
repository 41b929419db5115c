"""What a person types: days as a Belgian clerk writes them, connectivity as the import reads
it, choices in any case; and errors that say what is wrong in words, never a format string."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from fleetsync.domain.days import parse_day
from fleetsync.domain.errors import InvalidInput
from tests.cli_runner import CliResult, run_cli
from tests.pinned import days_from_today

Cli = Callable[..., CliResult]


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    env = {"FLEETSYNC_DATABASE_URL": database_url, "FLEETSYNC_DATA_DIR": str(tmp_path / "data")}

    def run(*args: str) -> CliResult:
        return run_cli(*args, env=env)

    stock = tmp_path / "devices.csv"
    stock.write_text(
        "serial,asset_tag,model,region,connectivity\n"
        "5CD1,CB-1,Acer C733,Antwerpen,4G\n5CD2,CB-2,Acer C733,Antwerpen,Wi-Fi\n",
        encoding="utf-8",
    )
    assert run("device", "import", str(stock)).exit_code == 0
    return run


@pytest.mark.parametrize(
    ("typed", "day"),
    [("2027-02-28", (2027, 2, 28)), ("28/02/2027", (2027, 2, 28)), ("28-02-2027", (2027, 2, 28)),
     ("28.02.2027", (2027, 2, 28)), ("1/3/2027", (2027, 3, 1)), (" 2028-02-29 ", (2028, 2, 29))],
)  # fmt: skip
def test_days_as_people_write_them(typed: str, day: tuple[int, int, int]) -> None:
    assert parse_day(typed).timetuple()[:3] == day


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("31/02/2027", "'31/02/2027' is not a date: February 2027 has 28 days"),
        ("29/02/2027", "February 2027 has 28 days"),
        ("02/28/2027", "there is no month 28 (the day comes first: DD/MM/YYYY)"),
        ("2027-13-01", "there is no month 13; write it as 2027-02-28 or 28/02/2027"),
        ("28/02/27", "has a two-digit year: write the year in full"),
        ("next friday", "'next friday' is not a date: write it as 2027-02-28 or 28/02/2027"),
        ("2027-02-28T10:00", "is not a date"),
    ],
)
def test_a_day_that_is_none_is_refused_in_words(typed: str, says: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_day(typed, "--until")
    assert says in str(refused.value)
    assert "%" not in str(refused.value)


def test_the_command_line_takes_a_day_first_date(cli: Cli) -> None:
    until = days_from_today(60)
    typed = until.strftime("%d/%m/%Y")
    out = cli(
        "loan", "checkout", "--serial", "CB-1", "--borrower-id", "B-1", "--given-name", "An",
        "--region", "Antwerpen", "--until", typed, "--json",
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert json.loads(cli("loan", "show", "CB-1", "--json").stdout)["agreed_end"] == (
        until.isoformat()
    )
    bad = cli("loan", "extend", "--serial", "CB-1", "--until", "31/02/2099")
    assert bad.exit_code == 2
    message = " ".join(bad.stderr.replace("│", " ").split())
    assert "'31/02/2099' is not a date: February 2099 has 28 days" in message
    assert "does not match" not in message


@pytest.mark.parametrize("typed", ["4G", "4g", "LTE", " 4g"])
def test_connectivity_as_the_import_reads_it(cli: Cli, typed: str) -> None:
    listed = cli("device", "list", "--connectivity", typed, "--json")
    assert listed.exit_code == 0, listed.output
    assert [d["serial"] for d in json.loads(listed.stdout)] == ["5CD1"]
    assert [d["serial"] for d in json.loads(cli("device", "list", "--connectivity", "WIFI",
                                                "--json").stdout)] == ["5CD2"]  # fmt: skip
    wrong = cli("device", "list", "--connectivity", "5g")
    assert wrong.exit_code == 2
    assert "'5g' is not wifi or 4g" in wrong.stderr


def test_choices_in_any_case(cli: Cli) -> None:
    assert cli("device", "list", "--state", "SPARE", "--format", "JSON").exit_code == 0


def test_a_device_is_named_the_same_way_in_every_command(cli: Cli) -> None:
    # As in `fleetsync device show CB-1`: the device as the argument; --serial says the same.
    lent = cli(
        "loan", "checkout", "CB-1", "--borrower-id", "B-2", "--given-name", "Bo",
        "--region", "Antwerpen", "--until", days_from_today(30).isoformat(), "--json",
    )  # fmt: skip
    assert lent.exit_code == 0, lent.output
    until = days_from_today(40).isoformat()
    assert cli("loan", "extend", "5CD1", "--until", until).exit_code == 0
    assert json.loads(cli("loan", "show", "CB-1", "--json").stdout)["agreed_end"] == until
    twice = cli("loan", "return", "CB-1", "--serial", "CB-2")
    assert twice.exit_code == 2
    assert "two devices named: CB-1 and --serial CB-2" in twice.stderr
    neither = cli("loan", "return")
    assert neither.exit_code == 2
    assert "name the device" in neither.stderr
    assert cli("loan", "return", "CB-1").exit_code == 0
    assert json.loads(cli("device", "show", "CB-1", "--json").stdout)["state"] == (
        "in_refurbishment"
    )
    # --serial keeps working, as it did.
    again = cli(
        "loan", "checkout", "--serial", "CB-2", "--borrower-id", "B-3", "--given-name", "Cas",
        "--region", "Antwerpen", "--until", days_from_today(30).isoformat(), "--json",
    )  # fmt: skip
    assert again.exit_code == 0, again.output
