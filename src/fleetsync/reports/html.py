"""Reports as one self-contained HTML page: inline CSS and SVG charts, no script and nothing
fetched, so the file can be mailed, attached to an answer, opened offline or printed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from html import escape

from fleetsync import __version__
from fleetsync.reports.charts import PALETTE, Series, stacked_bars
from fleetsync.reports.fleet import CONNECTIVITIES, STATES, FleetReport
from fleetsync.reports.loans import ALL, LoanReport
from fleetsync.reports.render import (
    FLEET_COLUMNS,
    NOTHING,
    Column,
    Value,
    fleet_records,
    loan_columns,
    show,
    shown_records,
)
from fleetsync.reports.words import HEADERS, day

__all__ = ["fleet_page", "loan_page", "page"]

_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1a1a1a;
       margin: 24px auto; max-width: 1100px; padding: 0 16px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
.period { font-size: 16px; margin: 0; }
.generated { color: #555; margin: 2px 0 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0 0; padding: 0; }
.cards div { border: 1px solid #ccc; border-radius: 6px; padding: 8px 14px; min-width: 130px; }
.cards dt { color: #555; font-size: 12px; }
.cards dd { margin: 0; font-size: 22px; font-weight: 600; }
figure { margin: 16px 0; break-inside: avoid; page-break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart { width: 100%; max-width: 760px; height: auto; display: block; }
svg .grid { stroke: #e3e3e3; } svg .axis { stroke: #333; }
svg text { font: 12px system-ui, "DejaVu Sans", sans-serif; fill: #1a1a1a; }
svg .total { font-weight: 600; } svg .axis-label { fill: #555; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { padding: 3px 8px; border-bottom: 1px solid #e3e3e3; }
thead th { border-bottom: 2px solid #333; vertical-align: bottom; font-size: 12px; }
th, td { text-align: left; white-space: nowrap; }
td.n, th.n { text-align: right; } th[scope=row] { font-weight: normal; }
tr.total td, tr.total th { font-weight: 700; background: #f3f3f3; }
dl.terms dt { font-weight: 600; margin-top: 6px; } dl.terms dd { margin-left: 16px; }
footer { color: #555; margin-top: 28px; font-size: 12px; }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { break-after: avoid; page-break-after: avoid; }
  svg.chart { max-width: 640px; }
  thead th { white-space: normal; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  tr.total td, tr.total th { background: none; }
  .cards div { border-color: #999; }
  footer { break-before: avoid; page-break-before: avoid; }
}
"""


def _day(value: date) -> str:
    return f"{value.day} {value.strftime('%B %Y')}"


_FOOTER = {
    "en": "Figures from fleetsync's loan ledger alone; what each one means exactly is in "
    "fleetsync's docs/reports.md.",
    "nl": "Cijfers uit het uitleenregister van fleetsync alleen; wat elk cijfer precies betekent, "
    "staat in docs/reports.md van fleetsync.",
}


def _page(
    title: str,
    heading: str,
    subtitle: str,
    generated: str,
    body: Sequence[str],
    lang: str = "en",
) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{lang}">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'<meta name="generator" content="fleetsync {escape(__version__)}">',
            f"<title>{escape(title)}</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            "<header>",
            f"<h1>{escape(heading)}</h1>",
            f'<p class="period">{escape(subtitle)}</p>',
            f'<p class="generated">{escape(generated)}</p>',
            "</header>",
            "<main>",
            *body,
            "</main>",
            f"<footer>{escape(_FOOTER[lang])}</footer>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _generated(at: datetime, zone: str | None = None, lang: str = "en") -> str:
    local = at.astimezone()
    if lang == "nl":
        when = f"Gemaakt op {day(local.date(), lang)} om {local.strftime('%H:%M')}"
    else:
        when = f"Generated on {local.strftime('%Y-%m-%d at %H:%M')}"
    return when + (f" ({zone})." if zone else ".")


def _table(
    caption: str,
    columns: Sequence[Column],
    records: Sequence[dict[str, Value]],
    totals: Sequence[bool],
) -> str:
    head = "".join(
        f'<th scope="col"{" class=n" if c.figure else ""}>{escape(" ".join(c.header.split()))}</th>'
        for c in columns
    )
    rows = []
    for record, total in zip(records, totals, strict=True):
        cells = []
        for i, c in enumerate(columns):
            text = escape(show(record[c.key]) or NOTHING)
            if i == 0:
                cells.append(f'<th scope="row">{text}</th>')
            else:
                cells.append(f"<td{' class=n' if c.figure else ''}>{text}</td>")
        rows.append(f"<tr{' class=total' if total else ''}>{''.join(cells)}</tr>")
    return (
        f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>"


def _cards(items: Sequence[tuple[str, Value]], lang: str = "en") -> str:
    cells = "".join(
        f"<div><dt>{escape(label)}</dt><dd>{escape(show(value, lang) or NOTHING)}</dd></div>"
        for label, value in items
    )
    return f'<dl class="cards">{cells}</dl>'


#: What a loan page says, in each language (``--lang``); ``{}``: filled in where used.
_SAYS: dict[str, dict[str, str]] = {
    "en": {
        "in": "in {}", "everywhere": "in all regions", "month": "by month",
        "region": "by region", "month,region": "by month and region",
        "subtitle": "Loans from {} to {}, {}, {}.", "key": "Key figures", "charts": "Charts",
        "table": "All figures", "lent": "Devices lent (loans started)", "of_4g": "of them 4G",
        "agreed": "Agreed period (days, avg)", "actual": "Actual period (days, avg)",
        "open": "Open on {}", "overdue": "Overdue on {}", "zone": "local dates, {}",
        "title": "{}: loans {} to {}", "started_by": "Loans started per month, stacked by region",
        "started_per_month": "Loans started per month",
        "started_per_region": "Loans started per region", "loans_started": "loans started",
        "per_month": "month", "per_region": "region",
        "devices": "Devices lent per {}: wifi and 4G", "devices_lent": "devices lent",
        "caption": "Per {}, with totals ({}). Open and overdue: at the end of the period's "
        "last day.",
        "per_caption_month": "month", "per_caption_region": "region",
        "per_caption_month,region": "month and region",
    },
    "nl": {
        "in": "in {}", "everywhere": "in alle regio's", "month": "per maand",
        "region": "per regio", "month,region": "per maand en regio",
        "subtitle": "Ontleningen van {} tot {}, {}, {}.", "key": "Kerncijfers",
        "charts": "Grafieken", "table": "Alle cijfers",
        "lent": "Uitgeleende toestellen (begonnen ontleningen)", "of_4g": "waarvan 4G",
        "agreed": "Afgesproken periode (dagen, gem.)",
        "actual": "Werkelijke periode (dagen, gem.)", "open": "Uitgeleend op {}",
        "overdue": "Te laat op {}", "zone": "lokale datums, {}",
        "title": "{}: ontleningen {} tot {}",
        "started_by": "Begonnen ontleningen per maand, gestapeld per regio",
        "started_per_month": "Begonnen ontleningen per maand",
        "started_per_region": "Begonnen ontleningen per regio",
        "loans_started": "begonnen ontleningen", "per_month": "maand", "per_region": "regio",
        "devices": "Uitgeleende toestellen per {}: wifi en 4G",
        "devices_lent": "uitgeleende toestellen",
        "caption": "Per {}, met totalen ({}). Uitgeleend en te laat: op het einde van de "
        "laatste dag van de periode.",
        "per_caption_month": "maand", "per_caption_region": "regio",
        "per_caption_month,region": "maand en regio",
    },
}  # fmt: skip


def _when(value: date, lang: str) -> str:
    """A day in a sentence: ``1 December 2024`` in English, ``1/12/2024`` in Dutch."""
    return day(value, lang) if lang == "nl" else _day(value)


def loan_page(report: LoanReport) -> str:
    """The loan report as a page: key figures, charts, the table, and what the figures mean;
    its words and numbers in the report's language."""
    lang = report.lang
    says = _SAYS[lang]
    g = report.grouping
    scope = says["in"].format(report.region) if report.region else says["everywhere"]
    subtitle = says["subtitle"].format(
        _when(report.first, lang), _when(report.last, lang), scope, says[g.value]
    )
    total = report.find(None, None)
    last = day(report.last, lang)
    body = [
        '<section aria-labelledby="key">',
        f'<h2 id="key">{escape(says["key"])}</h2>',
        _cards(
            [
                (says["lent"], total.devices_lent),
                (says["of_4g"], total.devices_4g),
                (says["agreed"], total.avg_agreed_days),
                (says["actual"], total.avg_actual_days),
                (says["open"].format(last), total.open_at_end),
                (says["overdue"].format(last), total.overdue_at_end),
            ],
            lang,
        ),
        "</section>",
        '<section aria-labelledby="charts">',
        f'<h2 id="charts">{escape(says["charts"])}</h2>',
        *_loan_charts(report),
        "</section>",
        '<section aria-labelledby="table">',
        f'<h2 id="table">{escape(says["table"])}</h2>',
        _loan_table(report),
        "</section>",
        _TERMS[lang],
    ]
    return _page(
        says["title"].format(report.title, day(report.first, lang), last),
        report.title,
        subtitle,
        _generated(report.generated_at, says["zone"].format(report.time_zone), lang),
        body,
        lang,
    )


def _loan_charts(report: LoanReport) -> list[str]:
    g = report.grouping
    says = _SAYS[report.lang]
    everything = HEADERS[report.lang]["all"]
    if g.by_month:
        categories = [p.label for p in report.periods]
        totals = [report.find(p.label, None) for p in report.periods]
    else:
        categories = list(report.regions)
        totals = [report.find(None, r) for r in report.regions]
    if g.by_month and g.by_region and report.region is None:
        started = [
            Series(
                region,
                PALETTE[i % len(PALETTE)],
                tuple(report.find(p.label, region).devices_lent for p in report.periods),
            )
            for i, region in enumerate(report.regions)
        ]
        what = says["started_by"]
    else:
        label = (report.region or everything) if g.by_month else says["loans_started"]
        started = [Series(label, PALETTE[0], tuple(f.devices_lent for f in totals))]
        what = says["started_per_month" if g.by_month else "started_per_region"]
    per = says["per_month" if g.by_month else "per_region"]
    devices = [
        Series("wifi", PALETTE[0], tuple(f.devices_wifi for f in totals)),
        Series("4G", PALETTE[1], tuple(f.devices_4g for f in totals)),
    ]
    lent = says["devices"].format(per)
    return [
        _figure(
            stacked_bars(
                ident="loans-started",
                title=what,
                description=f"{what}: "
                + "; ".join(
                    f"{c}: {f.devices_lent}" for c, f in zip(categories, totals, strict=True)
                ),
                categories=categories,
                series=started,
                unit=says["loans_started"],
            ),
            what + ".",
        ),
        _figure(
            stacked_bars(
                ident="devices-lent",
                title=lent,
                description=f"{lent}: "
                + "; ".join(
                    f"{c}: {f.devices_wifi} wifi, {f.devices_4g} 4G"
                    for c, f in zip(categories, totals, strict=True)
                ),
                categories=categories,
                series=devices,
                unit=says["devices_lent"],
            ),
            lent + ".",
        ),
    ]


def _loan_table(report: LoanReport) -> str:
    says = _SAYS[report.lang]
    columns = loan_columns(report)
    totals = [row.period is None or row.region is None for row in report.rows]
    caption = says["caption"].format(
        says[f"per_caption_{report.grouping.value}"], HEADERS[report.lang]["all"]
    )
    return _table(caption, columns, shown_records(report), totals)


_TERMS = {
    "en": """<section aria-labelledby="terms">
<h2 id="terms">What the figures mean</h2>
<dl class="terms">
<dt>Devices lent (wifi, 4G)</dt><dd>The loans started in the period: each checkout lends one
device (a device lent twice counts twice). A loan counts in the month of its checkout, in the
region it was made in, for good. wifi and 4G: the device's connectivity when it was lent.</dd>
<dt>Ended, lost</dt><dd>Loans that ended in the period: returned, or lost (the device went
missing).</dd>
<dt>Agreed days</dt><dd>Of the loans started: the average number of days from the checkout date to
the latest agreed end date (extensions included).</dd>
<dt>Returned, actual days</dt><dd>Of the loans started: how many came back so far (lost ones did
not), and their average number of days from checkout to return; a device returned on the day it
was lent counts 0 days.</dd>
<dt>Open, overdue at end</dt><dd>Loans not yet returned at the end of the period's last day, and of
them those whose agreed end date then in force was before that day. A total over months is the
figure at the end of the last month.</dd>
</dl>
</section>""",
    "nl": """<section aria-labelledby="terms">
<h2 id="terms">Wat de cijfers betekenen</h2>
<dl class="terms">
<dt>Uitgeleende toestellen (wifi, 4G)</dt><dd>De ontleningen die in de periode begonnen: elke
uitlening leent één toestel uit (een toestel dat twee keer uitgeleend werd, telt twee keer). Een
ontlening telt voorgoed in de maand waarin ze begon, in de regio waar ze gebeurde. wifi en 4G: de
verbinding van het toestel toen het uitgeleend werd.</dd>
<dt>Beëindigd, verloren</dt><dd>Ontleningen die in de periode eindigden: teruggebracht, of
verloren (het toestel is zoek).</dd>
<dt>Afgesproken dagen</dt><dd>Van de begonnen ontleningen: het gemiddelde aantal dagen van de
uitleendatum tot de laatst afgesproken einddatum (verlengingen inbegrepen).</dd>
<dt>Teruggebracht, werkelijke dagen</dt><dd>Van de begonnen ontleningen: hoeveel er tot nu toe
terugkwamen (verloren toestellen niet), en hun gemiddelde aantal dagen van uitlening tot
terugbrengen; een toestel dat op de dag van uitlening terugkwam, telt 0 dagen.</dd>
<dt>Uitgeleend, te laat op het einde</dt><dd>Ontleningen die op het einde van de laatste dag van de
periode nog niet teruggebracht waren, en daarvan die waarvan de toen geldende afgesproken
einddatum vóór die dag lag. Een totaal over maanden is het cijfer op het einde van de laatste
maand.</dd>
</dl>
</section>""",
}


def page(report: LoanReport | FleetReport) -> str:
    return fleet_page(report) if isinstance(report, FleetReport) else loan_page(report)


def fleet_page(report: FleetReport) -> str:
    """The fleet report as a page: key figures, a chart by state, the table."""
    on = report.generated_at.astimezone().date()
    total = report.find(None, None)
    by_link = {c: report.find(None, c) for c in CONNECTIVITIES}
    names = {"wifi": "wifi", "4g": "4G"}
    chart = stacked_bars(
        ident="fleet-by-state",
        title="Devices by state: wifi and 4G",
        description="Devices by lifecycle state: "
        + "; ".join(
            f"{state.value.replace('_', ' ')}: "
            + ", ".join(f"{by_link[c].count(state)} {names[c.value]}" for c in CONNECTIVITIES)
            for state in STATES
        ),
        categories=[state.value.replace("_", " ") for state in STATES],
        series=[
            Series(names[c.value], PALETTE[i], tuple(by_link[c].count(s) for s in STATES))
            for i, c in enumerate(CONNECTIVITIES)
        ],
        unit="devices",
    )
    totals = [row.region is None or row.connectivity is None for row in report.rows]
    body = [
        '<section aria-labelledby="key">',
        '<h2 id="key">Key figures</h2>',
        _cards(
            [
                ("Lendable devices", total.lendable),
                ("of them 4G", report.find(None, CONNECTIVITIES[1]).lendable),
                ("All devices", total.total),
            ]
        ),
        "</section>",
        '<section aria-labelledby="charts">',
        '<h2 id="charts">Chart</h2>',
        _figure(chart, "Devices by lifecycle state, wifi and 4G."),
        "</section>",
        '<section aria-labelledby="table">',
        '<h2 id="table">Devices by region, connectivity and state</h2>',
        _table(
            "Lendable: spare + on loan + in refurbishment (not the ICT test pool, lost or "
            f"retired devices). Totals: {ALL}.",
            FLEET_COLUMNS,
            fleet_records(report),
            totals,
        ),
        "</section>",
    ]
    return _page(
        f"{report.title}: fleet on {on.isoformat()}",
        report.title,
        f"The fleet on {_day(on)}, by lifecycle state, region and connectivity.",
        _generated(report.generated_at),
        body,
    )
