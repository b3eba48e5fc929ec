"""The per-day summary `kraken-pipeline run` prints, read back from what was written."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pyarrow.compute as pc

from kraken_pipeline import storage
from kraken_pipeline.filesystems import DataRoot, S3Path


@dataclass(frozen=True)
class DaySummary:
    """One stored day as the operator needs to see it after a run."""

    local_date: date
    rows: int
    intervals_expected: int
    failed_supply_points: tuple[str, ...]
    failed_checks: tuple[str, ...]

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
        summaries.append(
            DaySummary(
                local_date=day,
                rows=pc.sum(log["rows"]).as_py() or 0,
                intervals_expected=pc.sum(log["intervals_expected"]).as_py() or 0,
                failed_supply_points=tuple(failed["supply_point_id"].to_pylist()),
                failed_checks=_failed_checks(root, day),
            )
        )
    return summaries


def _failed_checks(root: DataRoot, day: date) -> tuple[str, ...]:
    results = storage.read_quality_results(root, day)
    if results is None:
        return ()
    day_level = results.filter(
        pc.and_(pc.is_null(results["supply_point_id"]), pc.invert(results["passed"]))
    )
    return tuple(
        f"{name} ({severity})"
        for name, severity in zip(
            day_level["check_name"].to_pylist(), day_level["severity"].to_pylist(), strict=True
        )
    )


def format_summary(summaries: Sequence[DaySummary]) -> list[str]:
    """Aligned lines: day, rows, completeness, failed fetches, failed checks."""
    lines = [f"{'day':<10}  {'rows':>8}  {'complete':>8}  {'failed':>6}  checks not passed"]
    for summary in summaries:
        checks = ", ".join(summary.failed_checks) or "-"
        lines.append(
            f"{summary.local_date.isoformat():<10}  {summary.rows:>8,}  "
            f"{summary.completeness:>8.1%}  {len(summary.failed_supply_points):>6}  {checks}"
        )
        if summary.failed_supply_points:
            lines.append(f"{'':<10}  failed: {', '.join(summary.failed_supply_points)}")
    return lines


EXAMPLE_SQL = (
    "SELECT local_date, supply_point_id, total_value, unit, completeness FROM daily_totals "
    "ORDER BY local_date DESC, supply_point_id LIMIT 20"
)


def example_query(root: DataRoot) -> str:
    """A ready-to-paste command that queries the warehouse read-only, from any shell.

    It names this interpreter by its absolute path: a bare `python` would be whichever one the
    operator's shell finds, often one without duckdb (the venv not activated).
    """
    python = shlex.quote(sys.executable)
    if isinstance(root, S3Path):  # the connection must learn to read s3:// first
        return (
            f'{python} -c "from kraken_pipeline import warehouse; '
            f"warehouse.connect('{root}').sql('{EXAMPLE_SQL}').show()\""
        )
    database = storage.warehouse_path(root)
    return (
        f"{python} -c \"import duckdb; duckdb.connect('{database}', read_only=True)"
        f".sql('{EXAMPLE_SQL}').show()\""
    )
