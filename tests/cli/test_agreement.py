"""The loan agreement: a checkout records the version accepted (refused without it when
required, or with an outdated one), and `loan agreement` prints it filled in for the loan."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from fleetsync.ledger import open_ledger
from fleetsync.ledger.models import AuditEvent, Loan
from fleetsync.settings import load_settings
from tests.cli_runner import CliResult, run_cli
from tests.pinned import days_from_today

Cli = Callable[..., CliResult]
TEXT = """# Bruikleenovereenkomst

{given_name} {family_name} ({borrower}) leent Chromebook {serial} (inventaris {asset_tag}),
lening {loan}, van {checked_out} tot en met **{agreed_end}** ({course}).

Breng het toestel terug naar: {return_address}.
"""


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> Path:
    (tmp_path / "agreement.md").write_text(TEXT, encoding="utf-8")
    path = tmp_path / "fleetsync.toml"
    path.write_text(
        f'database_url = "{database_url}"\n'
        f'data_dir = "{tmp_path / "data"}"\n'
        "[agreement]\n"
        'version = "2026-09"\n'
        'text_file = "agreement.md"\n'
        'return_address = "Onthaal, Kerkstraat 1, 2000 Antwerpen"\n'
        "required = true\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def cli(config: Path, tmp_path: Path) -> Cli:
    def run(*args: str) -> CliResult:
        return run_cli(*args, "--config", str(config))

    devices = tmp_path / "devices.csv"
    devices.write_text(
        "serial,asset_tag,model,region,connectivity\n5CD1,CB-1,Acer,Antwerpen,wifi\n"
    )
    assert run("device", "import", str(devices)).exit_code == 0
    return run


def _checkout(cli: Cli, *extra: str) -> CliResult:
    return cli(
        "loan", "checkout", "--serial", "CB-1", "--borrower-id", "B-7", "--given-name", "*Ann*",
        "--family-name", "<b>Peeters</b>", "--region", "Antwerpen", "--until",
        days_from_today(30).isoformat(), "--hide-password", *extra,
    )  # fmt: skip


def test_a_required_agreement_is_recorded_and_printed(
    cli: Cli, config: Path, tmp_path: Path
) -> None:
    refused = _checkout(cli)
    assert refused.exit_code == 3
    assert "must accept the loan agreement (version 2026-09)" in refused.stderr
    outdated = _checkout(cli, "--agreement-signed", "--agreement-version", "2025-01")
    assert outdated.exit_code == 3
    assert "version 2025-01, which is outdated: the current version is 2026-09" in (
        outdated.stderr.replace("\n", " ")
    )
    lent = _checkout(cli, "--agreement-signed")
    assert lent.exit_code == 0, lent.output
    with open_ledger(load_settings(config)) as ledger, ledger.read() as session:
        loan = session.scalars(sa.select(Loan)).one()
        assert loan.agreement_version == "2026-09"
        assert loan.agreement_signed_at == loan.checked_out_at
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "checkout")).one()
        assert event.after is not None
        assert event.after["agreement"] == "2026-09"
    assert "loan agreement: version 2026-09 signed" in cli("loan", "show", "L-1").stdout

    out = tmp_path / "L-1.html"
    printed = cli("loan", "agreement", "L-1", "--out", str(out))
    assert printed.exit_code == 0, printed.output
    html = out.read_text(encoding="utf-8")
    assert "<h1>Bruikleenovereenkomst</h1>" in html
    # Names are text: neither Markdown nor HTML.
    assert "*Ann* &lt;b&gt;Peeters&lt;/b&gt; (B-7) leent Chromebook 5CD1 (inventaris CB-1)" in html
    assert f"<strong>{days_from_today(30).isoformat()}</strong>" in html
    assert "Onthaal, Kerkstraat 1, 2000 Antwerpen" in html
    assert "size: A4" in html
    assert html.count('class="line"') == 2  # two signature lines
    assert "accepted version 2026-09" in html
    assert "<script" not in html
    assert "http" not in html  # self-contained: nothing fetched
    assert cli("loan", "agreement", "L-9", "--out", str(out)).exit_code == 4
