"""``fleetsync status``: the programme at a glance, from the ledger alone."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.table import Table
from rich.text import Text

from fleetsync import services
from fleetsync.cli._context import (
    ConfigOption,
    FormatOption,
    JsonOption,
    OutputFormat,
    console,
    output_format,
    print_csv,
    print_json,
)
from fleetsync.cli.db import opened_ledger
from fleetsync.domain.lifecycle import DeviceState
from fleetsync.ledger.overview import Overview, overview
from fleetsync.sync.config import limits_of

__all__ = ["status_command"]

_STATES: list[str] = list(DeviceState)
#: Short headers: the table fits an 80-column terminal with the longest region names.
_HEADERS = {"spare": "spare", "on_loan": "on loan", "in_refurbishment": "refurb",
            "lost": "lost", "retired": "retired", "ict_test": "ICT"}  # fmt: skip
_LENDABLE: set[str] = {DeviceState.SPARE, DeviceState.ON_LOAN, DeviceState.IN_REFURBISHMENT}


def status_command(
    fmt: FormatOption = None, as_json: JsonOption = False, config: ConfigOption = None
) -> None:
    """Show the fleet by state and region, the device commands on their way, the last and next
    reconcile, the safety budgets (spent this hour and today, what each holds back and how to
    release it), and everything that needs a person. Reads the ledger only (no Google call).

    --format csv prints the fleet table (a line per region and one for all); json everything.
    """
    fmt = output_format(fmt, as_json)
    with opened_ledger(config) as (settings, ledger), ledger.read() as session:
        stale = timedelta(seconds=3 * settings.daemon.leader_poll_seconds)
        result = overview(
            session,
            today=services.today(),
            heartbeat_stale=stale,
            limits=limits_of(settings),
            lendability=services.Programme.from_settings(settings).lendability,
        )
    if fmt is OutputFormat.JSON:
        print_json(result.to_json())
        return
    if fmt is OutputFormat.CSV:
        print_csv(_fleet_rows(result), ("region", *_STATES, "lendable"))
        return
    _show(result)


def _fleet_rows(result: Overview) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    totals = dict.fromkeys(_STATES, 0)
    for region, counts in sorted(result.fleet.items()):
        row: dict[str, object] = {"region": region} | {s: counts.get(s, 0) for s in _STATES}
        for state in _STATES:
            totals[state] += counts.get(state, 0)
        rows.append(row | {"lendable": sum(counts.get(s, 0) for s in _LENDABLE)})
    rows.append({"region": "all", **totals, "lendable": sum(totals[s] for s in _LENDABLE)})
    return rows


def _when(moment: str | datetime | None) -> str:
    if moment is None:
        return "never"
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _no_daemon(result: Overview) -> str:
    if result.no_daemon_since is None:
        return "none running, and none has run on this ledger"
    how = "stopped" if result.last_daemon_stopped_cleanly else "last heard from"
    return f"none running since {_when(result.no_daemon_since)} ({result.last_daemon} {how} then)"


def _show(result: Overview) -> None:
    fleet = Table(title="fleet")
    fleet.add_column("region", no_wrap=True)
    for state in _STATES:
        fleet.add_column(_HEADERS[state], justify="right")
    fleet.add_column("lendable", justify="right")
    totals = dict.fromkeys(_STATES, 0)
    for region, counts in sorted(result.fleet.items()):
        for state in _STATES:
            totals[state] += counts.get(state, 0)
        lendable = sum(n for s, n in counts.items() if s in _LENDABLE)
        fleet.add_row(region, *(str(counts.get(s, 0)) for s in _STATES), str(lendable))
    fleet.add_row(
        Text("all", style="bold"),
        *(Text(str(totals[s]), style="bold") for s in _STATES),
        Text(str(sum(n for s, n in totals.items() if s in _LENDABLE)), style="bold"),
    )
    console.print(fleet)
    commands = ", ".join(f"{n} {s}" for s, n in sorted(result.commands.items())) or "none"
    console.print(f"device commands on their way: {commands}", highlight=False)
    for label, run in (("last full reconcile", result.last_full),
                       ("last targeted reconcile", result.last_targeted)):  # fmt: skip
        if run is None:
            console.print(f"{label}: never", highlight=False)
            continue
        planned = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in run["planned"].items())
        console.print(
            f"{label}: {run['status']} at {_when(run['finished'] or run['started'])}"
            f" ({planned or 'nothing to do'})",
            highlight=False,
        )
    daemons = ", ".join(
        f"{name}{' (leader)' if leads else ''}" for name, leads in sorted(result.replicas.items())
    )
    console.print(f"daemons: {daemons or _no_daemon(result)}", highlight=False)
    if result.replicas:
        console.print(
            "next reconcile: "
            + (_when(result.next_reconcile) if result.next_reconcile else "not scheduled yet"),
            highlight=False,
        )
    else:
        console.print(
            "next reconcile: none, no daemon is running (`fleetsync daemon` runs them; "
            "`fleetsync sync` runs one now)",
            highlight=False,
        )
    console.print(
        f"waiting for a targeted reconcile: {result.outbox_pending}"
        + (f" (oldest {_when(result.outbox_oldest)})" if result.outbox_oldest else ""),
        highlight=False,
    )
    console.print(f"overdue loans: {result.overdue_loans}", highlight=False)
    if result.passwords_for_google:
        console.print(
            f"new first passwords waiting for Google: {result.passwords_for_google} (a password "
            "waits until the next reconcile sets it)",
            highlight=False,
        )
    if result.in_repair:
        console.print(
            f"{result.in_repair} device(s) in repair, oldest since {_when(result.oldest_repair)}",
            highlight=False,
        )
    if result.budgets:
        spent = ", ".join(
            f"{b.budget} {b.spent.hour}/{b.limit.per_hour}h {b.spent.day}/{b.limit.per_day}d"
            + (f" ({b.held} held)" if b.held else "")
            for b in result.budgets
        )
        console.print(f"safety budgets spent: {spent}", highlight=False, soft_wrap=True)
    if not result.attention:
        console.print(Text("nothing needs a person", style="green"))
        return
    console.print(Text(f"needs a person ({len(result.attention)}):", style="bold yellow"))
    for item in result.attention[:50]:
        console.print(
            Text.assemble("  ", ("!", "yellow"), " ", item.message),
            highlight=False,
            soft_wrap=True,
        )
    if len(result.attention) > 50:
        console.print(f"  … {len(result.attention) - 50} more (--json lists them all)")
