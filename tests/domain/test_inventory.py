"""Inventory files: every row checked, every problem reported with its line number."""

from __future__ import annotations

import pytest

from fleetsync.domain.errors import InvalidRows
from fleetsync.domain.inventory import DeviceRow, parse_devices_csv
from fleetsync.domain.lifecycle import Connectivity
from fleetsync.settings import DEFAULT_REGIONS

HEADER = "serial,asset_tag,model,region,connectivity\n"


def parse(text: str) -> list[DeviceRow]:
    return parse_devices_csv(text, regions=DEFAULT_REGIONS)


def problems(text: str) -> list[str]:
    with pytest.raises(InvalidRows) as refused:
        parse(text)
    assert str(refused.value).startswith("nothing was imported; fix ")
    return refused.value.problems


def test_a_good_file() -> None:
    rows = parse(
        HEADER + "5cd1234xyz,cb-0001,Acer C733,antwerpen,WiFi\n\n5CD9,CB-2,HP,Limburg,4G\n"
    )
    assert rows == [
        DeviceRow(2, "5CD1234XYZ", "CB-0001", "Acer C733", "Antwerpen", Connectivity.WIFI),
        DeviceRow(4, "5CD9", "CB-2", "HP", "Limburg", Connectivity.FOUR_G),
    ]


def test_a_spreadsheet_export_with_semicolons_a_bom_and_other_headers() -> None:
    text = "\ufeffSerial;Asset tag;Model;Region;Connectivity\r\n5CD1;CB-1;Acer; Brussel ;wifi\r\n"
    assert parse(text) == [DeviceRow(2, "5CD1", "CB-1", "Acer", "Brussel", Connectivity.WIFI)]


BAD_ROWS = [
    ("empty serial", ",CB-1,Acer,Brussel,wifi", "line 2: serial is empty"),
    ("bad characters", "5CD 1,CB-1,Acer,Brussel,wifi", "line 2: serial '5CD 1' may only hold"),
    ("unknown region", "5CD1,CB-1,Acer,Gent,wifi", "line 2: unknown region 'Gent'"),
    ("bad connectivity", "5CD1,CB-1,Acer,Brussel,5g", "line 2: connectivity '5g' is not"),
    ("missing model", "5CD1,CB-1,,Brussel,wifi", "line 2: model is empty"),
    ("too few fields", "5CD1,CB-1,Acer,Brussel", "line 2: 4 fields, the header has 5"),
    ("tag equals serial", "5CD1,5cd1,Acer,Brussel,wifi", "line 2: the asset tag equals the serial"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("row", "message"), [c[1:] for c in BAD_ROWS], ids=[c[0] for c in BAD_ROWS]
)
def test_a_bad_row_is_reported_with_its_line(row: str, message: str) -> None:
    found = problems(HEADER + row + "\n")
    assert len(found) == 1
    assert found[0].startswith(message)


def test_every_bad_row_is_reported_not_just_the_first() -> None:
    text = HEADER + "5CD1,CB-1,Acer,Brussel,wifi\n,CB-2,Acer,Brussel,wifi\n5CD3,CB-3,Acer,Gent,3g\n"
    assert problems(text) == [
        "line 3: serial is empty",
        "line 4: unknown region 'Gent' (the regions are Antwerpen, Brussel, Limburg, "
        "Oost-Vlaanderen, Vlaams-Brabant, West-Vlaanderen)",
        "line 4: connectivity '3g' is not wifi or 4g",
    ]


def test_duplicates_in_the_file_name_the_first_line() -> None:
    text = (
        HEADER
        + "5CD1,CB-1,Acer,Brussel,wifi\n5cd1,CB-2,Acer,Brussel,wifi\n5CD3,cb-1,A,Brussel,wifi\n"
    )
    assert problems(text) == [
        "line 3: serial 5CD1 is already the serial on line 2",
        "line 4: asset_tag CB-1 is already the asset tag on line 2",
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("serial,model,region,connectivity", "(missing asset_tag)"),
        ("serial,asset_tag,model,region,connectivity,colour", "(unknown colour)"),
        ("", "the first line must name the columns"),
    ],
    ids=["missing column", "unknown column", "no header"],
)
def test_the_header_must_name_the_columns(header: str, message: str) -> None:
    assert message in problems(header + "\n5CD1,CB-1,Acer,Brussel,wifi\n")[0]


def test_a_long_list_of_problems_is_cut_but_counted() -> None:
    text = HEADER + "".join(f"SN{i},TAG{i},Acer,Nowhere,wifi\n" for i in range(300))
    with pytest.raises(InvalidRows) as refused:
        parse(text)
    assert len(refused.value.problems) == 300
    assert str(refused.value).endswith("... and 100 more")
