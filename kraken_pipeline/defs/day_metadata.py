"""What the UI shows for one landed day of `measurements`, as Dagster metadata."""

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

import pyarrow.compute as pc
from dagster import MetadataValue

from kraken_pipeline import storage
from kraken_pipeline.filesystems import DataRoot
from kraken_pipeline.landing import DayReport, SeriesTotal, series_totals


def day_metadata(report: DayReport) -> dict[str, Any]:
    """What the UI shows for one landed day."""
    metadata: dict[str, Any] = {
        "rows": MetadataValue.int(report.rows_stored),
        "rows_fetched": MetadataValue.int(report.rows),
        "supply_points": MetadataValue.int(report.supply_points_ok + len(report.failures)),
        "supply_points_ok": MetadataValue.int(report.supply_points_ok),
        "supply_points_failed": MetadataValue.int(len(report.failures)),
        "intervals_expected": MetadataValue.int(report.intervals_expected),
        "intervals_received": MetadataValue.int(report.intervals_received),
        "completeness_pct": MetadataValue.float(round(100 * report.completeness, 2)),
        "requests_in_chunk": MetadataValue.int(report.chunk_requests),
        "lake_snapshot": MetadataValue.int(report.lake_snapshot),
    }
    metadata.update(totals_metadata(report.totals))
    if report.failures:
        metadata["failed_supply_points"] = MetadataValue.md(
            "\n".join(
                f"- `{o.supply_point_id}`: {o.error_code}: {o.error_message}"
                for o in report.failures
            )
        )
    return metadata


def totals_metadata(totals: Sequence[SeriesTotal]) -> dict[str, Any]:
    """One entry per utility, direction and unit: the day's total."""
    metadata: dict[str, Any] = {}
    for total in totals:
        direction = f" {total.reading_direction.lower()}" if total.reading_direction else ""
        label = f"total {total.utility}{direction} ({total.unit})"
        metadata[label] = MetadataValue.float(float(total.total))
    return metadata


def whole_day_metadata(root: DataRoot, day: date, repaired: Collection[str]) -> dict[str, Any]:
    """A repaired day as stored: every supply point's rows, intervals and totals.

    The materialisation describes the whole day an analyst reads, not the repaired part.
    """
    table = storage.read_day(root, day)
    fetch_log = storage.read_fetch_log(root, day)
    if table is None or fetch_log is None:
        return {}
    expected = pc.sum(fetch_log["intervals_expected"]).as_py() or 0
    completeness = table.num_rows / expected if expected else 1.0
    return {
        "rows": MetadataValue.int(table.num_rows),
        "supply_points": MetadataValue.int(fetch_log.num_rows),
        "intervals_expected": MetadataValue.int(expected),
        "intervals_received": MetadataValue.int(table.num_rows),
        "completeness_pct": MetadataValue.float(round(100 * completeness, 2)),
        "repaired_supply_points": MetadataValue.json(sorted(repaired)),
        **totals_metadata(series_totals(table)),
    }
