"""``fleetsync status``: the programme at a glance, from the ledger alone."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.table import Table
from rich.text import Text

from fleetsync import services
from fleetsync.cli._context import ConfigOption, JsonOption, console, print_json
from fleetsync.cli.db import opened_ledger
from fleetsync.domain.lifecycle import DeviceState
from fleetsync.ledger.overview import Overview, overview

__all__ = ["status_command"]

_STATES = [s.value for s in DeviceState]
#: Short headers: the table fits an 80-column terminal with the longest region names.
_HEADERS = {"spare": "spare", "on_loan": "on loan", "in_refurbishment": "refurb",
            "lost": "lost", "retired": "retired", "ict_test": "ICT"}  # fmt: skip
_LENDABLE = {DeviceState.SPARE.value, DeviceState.ON_LOAN.value, DeviceState.IN_REFURBISHMENT.value}


def status_command(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Show the fleet by state and region, the device commands on their way, the last and next
    reconcile, and everything that needs a person. Reads the ledger only (no Google call)."""
    with opened_ledger(config) as (settings, ledger), ledger.read() as session:
        stale = timedelta(seconds=3 * settings.daemon.leader_poll_seconds)
        result = overview(
            session,
            today=services.today(),
            heartbeat_stale=stale,
            lendability=services.Programme.from_settings(settings).lendability,
        )
    if as_json:
        print_json(result.to_json())
        return
    _show(result)


def _when(moment: str | datetime | None) -> str:
    if moment is None:
        return "never"
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


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
    console.print(f"daemons: {daemons or 'none running'}", highlight=False)
    console.print(
        "next reconcile: "
        + (
            _when(result.next_reconcile) if result.next_reconcile else "no daemon has scheduled one"
        ),
        highlight=False,
    )
    console.print(
        f"waiting for a targeted reconcile: {result.outbox_pending}"
        + (f" (oldest {_when(result.outbox_oldest)})" if result.outbox_oldest else ""),
        highlight=False,
    )
    console.print(f"overdue loans: {result.overdue_loans}", highlight=False)
    if result.in_repair:
        console.print(
            f"{result.in_repair} device(s) in repair, oldest since {_when(result.oldest_repair)}",
            highlight=False,
        )
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
