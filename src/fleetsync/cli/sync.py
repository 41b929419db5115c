"""``fleetsync sync`` and ``fleetsync plan``: make Google follow the ledger, or show what that
would take."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from fleetsync.cli._context import (
    ConfigOption,
    ExitCode,
    JsonOption,
    console,
    err_console,
    print_json,
)
from fleetsync.cli.db import cli_actor, opened_ledger
from fleetsync.domain.actions import Budget
from fleetsync.domain.plan import Plan
from fleetsync.domain.runs import RunStatus
from fleetsync.sync import SyncReport, reconcile
from fleetsync.sync.observe import ProgressCallback

__all__ = ["plan_command", "sync_command"]

_SHOWN_PER_KIND = 10

DeviceOption = Annotated[
    list[str] | None,
    typer.Option(
        "--device",
        metavar="SERIAL",
        help="Only this device (exact serial; repeat for more): a targeted reconcile.",
    ),
]
BorrowerOption = Annotated[
    list[str] | None,
    typer.Option(
        "--borrower",
        metavar="ID",
        help="Only this borrower's account (loan desk id; repeat for more).",
    ),
]
AdoptOption = Annotated[
    bool,
    typer.Option(
        "--adopt",
        help="Take devices found in fleetsync's org units that the ledger does not know into "
        "the ledger, as spare (how an existing fleet is first imported).",
    ),
]
AllOption = Annotated[
    bool, typer.Option("--all", help="List every planned action, not the first few per kind.")
]


def sync_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show the plan; change nothing.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Release everything the safety budgets hold back (every budget). Read the "
            "plan first.",
        ),
    ] = False,
    force_budget: Annotated[
        list[Budget] | None,
        typer.Option(
            "--force-budget",
            metavar="BUDGET",
            help=f"Release what this safety budget holds back ({Budget.known()}; repeat for "
            "more). `fleetsync status` lists what is held.",
        ),
    ] = None,
    adopt: AdoptOption = False,
    device: DeviceOption = None,
    borrower: BorrowerOption = None,
    show_all: AllOption = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Make Google follow the ledger: observe Google, plan the difference, apply it.

    The plan is shown first (a summary per kind of action, the first actions of each kind, and
    findings a person should look at). Suspensions, deletions, powerwashes, disables and
    deprovisions spend the safety budgets ([safety] in the config: per hour and per day, across
    every run and process); what a budget has no room for is held back, and the rest of the plan
    goes ahead. --force-budget NAME releases one budget's held work, --force all of them.

    Exit codes: 0 converged, 1 some actions failed (listed), 2 usage or configuration error,
    3 a safety budget held work back (or another sync is running).
    """
    _run(
        dry_run=dry_run,
        force=force,
        force_budgets=tuple(force_budget or ()),
        adopt=adopt,
        device=device,
        borrower=borrower,
        show_all=show_all,
        as_json=as_json,
        config=config,
    )


def plan_command(
    adopt: AdoptOption = False,
    device: DeviceOption = None,
    borrower: BorrowerOption = None,
    show_all: AllOption = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Show what `fleetsync sync` would do, and change nothing (same as `sync --dry-run`).

    Exit codes: 0 planned, 2 usage or configuration error.
    """
    _run(
        dry_run=True,
        force=False,
        force_budgets=(),
        adopt=adopt,
        device=device,
        borrower=borrower,
        show_all=show_all,
        as_json=as_json,
        config=config,
    )


def _run(
    *,
    dry_run: bool,
    force: bool,
    force_budgets: tuple[Budget, ...],
    adopt: bool,
    device: list[str] | None,
    borrower: list[str] | None,
    show_all: bool,
    as_json: bool,
    config: ConfigOption,
) -> None:
    with opened_ledger(config) as (settings, ledger), _progress(enabled=not as_json) as progress:
        report = reconcile(
            ledger,
            settings,
            dry_run=dry_run,
            force=force,
            force_budgets=force_budgets,
            adopt=adopt,
            devices=device or (),
            borrowers=borrower or (),
            actor=cli_actor(),
            progress=progress,
        )
    if as_json:
        print_json(report.to_json())
    else:
        _show(report, show_all=show_all)
    code = {RunStatus.FAILED: ExitCode.FAILED}.get(report.status)
    if code is None and report.held and not dry_run:
        code = ExitCode.REFUSED
    if code is not None:
        raise typer.Exit(int(code))


@contextmanager
def _progress(*, enabled: bool) -> Iterator[ProgressCallback | None]:
    """A live progress display on stderr when it is a terminal; nothing otherwise."""
    if not enabled or not err_console.is_terminal:
        yield None
        return
    display = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def update(what: str, done: int, total: int | None) -> None:
        if what not in tasks:
            tasks[what] = display.add_task(what, total=total)
        display.update(tasks[what], completed=done, total=total)

    with display:
        yield update


def _say(text: str | Text) -> None:
    console.print(text, highlight=False, soft_wrap=True)


def _show(report: SyncReport, *, show_all: bool) -> None:
    plan = report.plan
    _show_plan(plan, show_all=show_all)
    _say(plan.safety.describe())
    if report.tracked is not None and report.tracked.checked:
        t = report.tracked
        _say(
            f"device commands followed: {t.checked}; executed {len(t.executed)}, made ready "
            f"{len(t.made_ready)}, asked again {len(t.reissued)}, need a person {len(t.flagged)}"
        )
    applied = report.applied
    if report.status is RunStatus.PLANNED:
        _say("dry run: nothing was changed" if plan.actions else "nothing to do")
    elif applied is not None:
        done = sum(applied.done.values())
        _say(
            f"applied: {done} done, {sum(applied.skipped.values())} skipped, "
            f"{len(applied.failures)} failed, {len(applied.unknown)} outcome unknown"
        )
        for failure in [*applied.failures, *applied.unknown]:
            what = f"{failure.kind} {failure.target}: {failure.error}"
            _say(Text.assemble("  ", ("✗", "red"), " ", what))
        for budget, targets in sorted(applied.held.items()):
            _say(
                f"held back at the last moment ({budget} spent by another process): "
                f"{', '.join(targets[:_SHOWN_PER_KIND])}"
            )
    _say(
        f"{report.kind} sync {report.status} in {report.seconds:.1f} s, "
        f"{report.google_calls} Google calls"
    )


def _show_plan(plan: Plan, *, show_all: bool) -> None:
    if not plan.actions:
        _say("Google matches the ledger: no action planned.")
    else:
        summary = Table("action", "devices / accounts", title="plan", title_justify="left")
        for kind, count in plan.summary().items():
            summary.add_row(kind.replace("_", " "), str(count))
        console.print(summary)
        table = Table("action", "target", "why", title_justify="left")
        shown: dict[str, int] = defaultdict(int)
        hidden: dict[str, int] = defaultdict(int)
        for action in plan.actions:
            if not show_all and shown[action.kind] >= _SHOWN_PER_KIND:
                hidden[action.kind] += 1
                continue
            shown[action.kind] += 1
            table.add_row(action.kind.replace("_", " "), action.target, action.reason)
        for kind, count in hidden.items():
            table.add_row(kind.replace("_", " "), f"… and {count} more (--all)", "")
        console.print(table)
    if plan.held:
        held = Table("held back", "target", "budget", title_justify="left")
        for number, action in enumerate(plan.held):
            if not show_all and number >= _SHOWN_PER_KIND:
                held.add_row("…", f"and {len(plan.held) - number} more (--all)", "")
                break
            held.add_row(action.kind.replace("_", " "), action.target, str(action.limit))
        console.print(held)
    if plan.findings:
        by_kind: dict[str, int] = defaultdict(int)
        for finding in plan.findings:
            by_kind[finding.kind] += 1
            if show_all or by_kind[finding.kind] <= _SHOWN_PER_KIND:
                _say(Text.assemble(("!", "yellow"), " ", finding.message))
        for kind, count in by_kind.items():
            if not show_all and count > _SHOWN_PER_KIND:
                _say(f"  … {count - _SHOWN_PER_KIND} more {kind.replace('_', ' ')} (--all)")
