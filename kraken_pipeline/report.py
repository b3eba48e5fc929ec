"""The per-day summary `kraken-pipeline run` prints, read back from what was written, and the
command that re-runs a range."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from kraken_pipeline import storage
from kraken_pipeline.filesystems import DataRoot
from kraken_pipeline.quality import BLOCKING_CHECKS

DROPPED_NODE_COUNTERS = ("nodes_unmatched", "nodes_outside_window")


@dataclass(frozen=True)
class DaySummary:
    """One stored day as the operator needs to see it after a run."""

    local_date: date
    rows: int
    intervals_expected: int
    failed_supply_points: tuple[str, ...]
    failed_checks: tuple[str, ...]  # "name (SEVERITY)", blocking failures marked and first
    blocking_checks: tuple[str, ...] = ()  # names of the failures that keep daily_consumption out
    # Supply points whose properties' answers held nodes that were dropped: of a series not
    # asked for (no unit, an unknown direction) or outside the window asked.
    dropped_nodes: tuple[str, ...] = ()

    @property
    def completeness(self) -> float:
        """Share of expected intervals stored."""
        return self.rows / self.intervals_expected if self.intervals_expected else 1.0


def summarise(root: DataRoot, days: Sequence[date]) -> list[DaySummary]:
    """A summary of each day that has files; days never written are left out."""
    summaries = []
    for day in days:
        log = storage.read_fetch_log(root, day)
        if log is None:
            continue
        failed = log.filter(pc.not_equal(log["status"], "ok"))
        checks = _failed_checks(root, day)
        summaries.append(
            DaySummary(
                local_date=day,
                rows=pc.sum(log["rows"]).as_py() or 0,
                intervals_expected=pc.sum(log["intervals_expected"]).as_py() or 0,
                failed_supply_points=tuple(failed["supply_point_id"].to_pylist()),
                failed_checks=tuple(
                    f"{name} ({severity}, blocking)" if blocking else f"{name} ({severity})"
                    for name, severity, blocking in checks
                ),
                blocking_checks=tuple(name for name, _, blocking in checks if blocking),
                dropped_nodes=_dropped_nodes(log),
            )
        )
    return summaries


def _dropped_nodes(log: pa.Table) -> tuple[str, ...]:
    dropped = pa.array([False] * log.num_rows)
    for name in DROPPED_NODE_COUNTERS:
        if name in log.column_names:  # a fetch log written before the counters has none
            dropped = pc.or_(dropped, pc.greater(pc.fill_null(log[name], 0), 0))
    return tuple(log.filter(dropped)["supply_point_id"].to_pylist())


def _failed_checks(root: DataRoot, day: date) -> list[tuple[str, str, bool]]:
    """(name, severity, blocking) of the day's failed checks, blocking ones first."""
    checks = failed_day_checks(root, day) or ()
    return sorted(checks, key=lambda check: not check[2])


def _blocks(check_name: str, stored: bool | None) -> bool:
    return stored if stored is not None else check_name in BLOCKING_CHECKS


def failed_day_checks(root: DataRoot, day: date) -> tuple[tuple[str, str, bool], ...] | None:
    """(name, severity, blocking) of each check the day last failed; None when never checked."""
    results = storage.read_quality_results(root, day)
    if results is None:
        return None
    day_level = results.filter(
        pc.and_(pc.is_null(results["supply_point_id"]), pc.invert(results["passed"]))
    ).to_pylist()
    return tuple(
        # Results written before schema version 2 have no blocking column: the rule decides.
        (row["check_name"], row["severity"], _blocks(row["check_name"], row["blocking"]))
        for row in day_level
    )


def rerun_command(first: date, last: date, supply_point_ids: Sequence[str] = ()) -> str:
    """The exact `kraken-pipeline run` that repeats a range, for these supply points only."""
    parts = ["kraken-pipeline", "run", "--start", first.isoformat(), "--end", last.isoformat()]
    for supply_point_id in supply_point_ids:
        parts += ["--supply-point", supply_point_id]
    return shlex.join(parts)


def format_summary(summaries: Sequence[DaySummary]) -> list[str]:
    """Aligned lines: day, rows, completeness, failed fetches, failed checks."""
    lines = [f"{'day':<10}  {'rows':>8}  {'complete':>8}  {'failed':>6}  checks not passed"]
    for summary in summaries:
        checks = ", ".join(summary.failed_checks) or "-"
        lines.append(
            f"{summary.local_date.isoformat():<10}  {summary.rows:>8,}  "
            f"{summary.completeness:>8.1%}  {len(summary.failed_supply_points):>6}  {checks}"
        )
        if summary.blocking_checks:
            blocked = ", ".join(summary.blocking_checks)
            lines.append(f"{'':<10}  BLOCKED by {blocked}: no daily_consumption for this day")
        if summary.failed_supply_points:
            lines.append(f"{'':<10}  failed: {', '.join(summary.failed_supply_points)}")
        if summary.dropped_nodes:
            lines.append(
                f"{'':<10}  nodes dropped from the answers for (no unit, another series or "
                f"outside the day; counted in fetch_log): {', '.join(summary.dropped_nodes)}"
            )
    return lines


EXAMPLE_SQL = (
    "SELECT local_date, supply_point_id, total_value, unit, completeness FROM daily_totals "
    "ORDER BY local_date DESC, supply_point_id LIMIT 20"
)


def example_query(root: DataRoot) -> str:
    """A ready-to-paste command that queries the warehouse read-only, from any shell."""
    # The interpreter's absolute path: the command works outside the virtual environment too.
    return (
        f'{shlex.quote(sys.executable)} -c "from kraken_pipeline import warehouse; '
        f"warehouse.connect('{root}').sql('{EXAMPLE_SQL}').show()\""
    )
