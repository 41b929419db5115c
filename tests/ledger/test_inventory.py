"""Importing devices: new ones become spare, the same file again changes nothing, a changed row
is a problem unless --update, and a bad file writes nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from fleetsync import services
from fleetsync.domain.errors import InvalidRows
from fleetsync.domain.inventory import parse_devices_csv
from fleetsync.ledger import Ledger
from fleetsync.ledger.models import AuditEvent, Device, OutboxEntry
from fleetsync.settings import DEFAULT_REGIONS
from tests.ledger.conftest import ACTOR, NOW, audit_count, later

HEADER = "serial,asset_tag,model,region,connectivity\n"
FILE = HEADER + "5CD1,CB-1,Acer C733,Antwerpen,wifi\n5CD2,CB-2,Acer C733,Limburg,4g\n"


def _import(ledger: Ledger, text: str, *, update: bool = False) -> services.ImportReport:
    rows = parse_devices_csv(text, regions=DEFAULT_REGIONS)
    with ledger.transaction() as session:
        return services.import_devices(session, rows, update=update, actor=ACTOR, now=NOW)


def _devices(ledger: Ledger) -> list[tuple[str, str | None, str, str, str, str]]:
    with ledger.read() as session:
        return [
            (d.serial, d.asset_tag, d.model, d.region, d.connectivity, d.state)
            for d in session.scalars(sa.select(Device).order_by(Device.serial))
        ]


def test_new_devices_become_spare_with_their_history_started(ledger: Ledger) -> None:
    report = _import(ledger, FILE)
    assert (report.added, report.updated, report.unchanged) == (["5CD1", "5CD2"], {}, 0)
    assert _devices(ledger) == [
        ("5CD1", "CB-1", "Acer C733", "Antwerpen", "wifi", "spare"),
        ("5CD2", "CB-2", "Acer C733", "Limburg", "4g", "spare"),
    ]
    with ledger.read() as session:
        first = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id).limit(1)).one()
        assert (first.action, first.after) == (
            "import",
            {
                "state": "spare",
                "asset_tag": "CB-1",
                "model": "Acer C733",
                "region": "Antwerpen",
                "connectivity": "wifi",
                # No delivery date in the file: available from the day of import.
                "available_from": first.at.astimezone().date().isoformat(),
            },
        )
        assert set(session.scalars(sa.select(OutboxEntry.entity_key))) == {"5CD1", "5CD2"}


def test_importing_the_same_file_again_changes_nothing(ledger: Ledger) -> None:
    _import(ledger, FILE)
    before = (_devices(ledger), audit_count(ledger))
    report = _import(ledger, FILE)
    assert (report.added, report.updated, report.unchanged) == ([], {}, 2)
    assert (_devices(ledger), audit_count(ledger)) == before


def test_a_changed_row_is_a_problem_without_update(ledger: Ledger) -> None:
    _import(ledger, FILE)
    changed = HEADER + "5CD1,CB-1,Acer C733,Brussel,wifi\n5CD3,CB-3,HP,Limburg,wifi\n"
    with pytest.raises(InvalidRows) as refused:
        _import(ledger, changed)
    assert refused.value.problems == [
        "line 2: device 5CD1 is already in the ledger with region 'Antwerpen' (file: 'Brussel'); "
        "import with --update to apply the file's values"
    ]
    assert [d[0] for d in _devices(ledger)] == ["5CD1", "5CD2"]  # 5CD3 was not written either


def test_update_applies_changes_and_audits_each(ledger: Ledger) -> None:
    _import(ledger, FILE)
    # The two asset tags swap places, and 5CD1 moves region.
    changed = HEADER + "5CD1,CB-2,Acer C733,Brussel,wifi\n5CD2,CB-1,Acer C733,Limburg,4g\n"
    report = _import(ledger, changed, update=True)
    assert report.updated == {
        "5CD1": {"asset_tag": ["CB-1", "CB-2"], "region": ["Antwerpen", "Brussel"]},
        "5CD2": {"asset_tag": ["CB-2", "CB-1"]},
    }
    assert _devices(ledger) == [
        ("5CD1", "CB-2", "Acer C733", "Brussel", "wifi", "spare"),
        ("5CD2", "CB-1", "Acer C733", "Limburg", "4g", "spare"),
    ]
    with ledger.read() as session:
        updates = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "update")).all()
        assert sorted((e.before, e.after) for e in updates if "region" in (e.after or {})) == [
            (
                {"asset_tag": "CB-1", "region": "Antwerpen"},
                {"asset_tag": "CB-2", "region": "Brussel"},
            )
        ]


def test_an_asset_tag_of_another_device_is_a_problem(ledger: Ledger) -> None:
    _import(ledger, FILE)
    with pytest.raises(InvalidRows) as refused:
        _import(ledger, HEADER + "5CD3,cb-2,HP,Limburg,wifi\n5CD4,5cd1,HP,Limburg,wifi\n")
    assert refused.value.problems == [
        "line 2: asset tag CB-2 belongs to device 5CD2",
        "line 3: asset tag 5CD1 is the serial of another device",
    ]


def test_a_new_serial_that_is_another_device_s_asset_tag_is_a_problem(ledger: Ledger) -> None:
    _import(ledger, FILE)
    with pytest.raises(InvalidRows) as refused:
        _import(ledger, HEADER + "CB-1,TAG-9,HP,Limburg,wifi\n")
    assert refused.value.problems == ["line 2: serial CB-1 is the asset tag of device 5CD1"]


def test_import_never_changes_a_known_device_s_state(ledger: Ledger) -> None:
    _import(ledger, FILE)
    with ledger.transaction() as session:
        services.mark_lost(session, device="5CD1", actor=ACTOR, now=later(1))
    _import(ledger, FILE)
    assert _devices(ledger)[0][5] == "lost"
