"""How a run that did not finish is reported: the days it left, and the command that lands them.

A run ends early two ways: Ctrl-C (the command reports what landed before it stops) or a kill
that leaves no chance to report (the next command finds the run, marks it failed: run_owner.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import date, timedelta
from typing import Any

from dagster import DagsterInstance, DagsterRun

from kraken_pipeline.cli.run_owner import fail_runs_of_dead_processes
from kraken_pipeline.defs.schedules import range_days, range_label
from kraken_pipeline.local_days import days_between
from kraken_pipeline.report import rerun_command

# 128 + SIGINT: what shells report for a command stopped by Ctrl-C.
EXIT_INTERRUPTED = 130
# Up to this many days not landed are listed one per line; more are named as ranges.
DAYS_LISTED = 7


def interrupted_lines(
    first: date, last: date, landed: Collection[date], supply_point_ids: Sequence[str]
) -> list[str]:
    """What a Ctrl-C left: the days that landed, each day that did not, the repair command."""
    wanted = days_between(first, last)
    missing = [day for day in wanted if day not in landed]
    done = [day for day in wanted if day in landed]
    lines = [
        f"interrupted: {len(done)} of {len(wanted)} day(s) landed"
        + (f" ({day_ranges(done)})" if done else "")
    ]
    if not missing:  # stopped after the last day landed, before the checks and daily totals
        lines.append("not finished: the checks and daily consumption of these days")
        lines.append(f"re-run: {rerun_command(first, last, supply_point_ids)}")
        return lines
    if len(missing) <= DAYS_LISTED:
        lines += [f"not landed: {day}" for day in missing]
    else:
        lines.append(f"not landed: {len(missing)} day(s), {day_ranges(missing)}")
    lines.append(f"re-run: {rerun_command(missing[0], missing[-1], supply_point_ids)}")
    return lines


def day_ranges(days: Sequence[date]) -> str:
    """Sorted days as runs of consecutive days: "2026-11-01..2026-11-03, 2026-11-05"."""
    spans: list[list[date]] = []
    for day in sorted(days):
        if spans and spans[-1][-1] + timedelta(days=1) == day:
            spans[-1].append(day)
        else:
            spans.append([day])
    return ", ".join(f"{span[0]}..{span[-1]}" if len(span) > 1 else str(span[0]) for span in spans)


def report_abandoned_runs(instance: DagsterInstance, echo: Callable[..., None]) -> None:
    """Mark failed the runs whose command was killed mid-run; name their days and the repair."""
    for run in fail_runs_of_dead_processes(instance):
        echo(
            f"run {run.run_id} FAILED: the command executing it was killed before it ended; "
            f"{range_label(run.tags)} may be incomplete",
            err=True,
        )
        days = range_days(run.tags)
        if days is not None:
            echo(f"re-run: {rerun_command(*days, _supply_point_ids(run))}", err=True)


def _supply_point_ids(run: DagsterRun) -> list[str]:
    """The supply points a repair run was limited to (its run config), or none: all of them."""
    config: Any = run.run_config or {}
    ids = config.get("ops", {}).get("measurements", {}).get("config", {}).get("supply_point_ids")
    return [str(supply_point_id) for supply_point_id in ids or []]
