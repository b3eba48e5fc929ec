"""Daily consumption per supply point, derived from a day's stored measurements and fetch log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from kraken_pipeline import storage
from kraken_pipeline.filesystems import DataRoot
from kraken_pipeline.quality import BLOCKING_CHECKS
from kraken_pipeline.schema import DAILY_CONSUMPTION_SCHEMA

_KEYS = ["supply_point_id", "local_date", "utility", "reading_direction", "unit"]


def daily_consumption(measurements: pa.Table, fetch_log: pa.Table) -> pa.Table:
    """Total, completeness and estimate share per supply point of one day (exact totals).

    Supply points that delivered no rows are left out: a total of nothing is not zero.
    """
    flagged = measurements.append_column(
        "is_estimate",
        pc.cast(pc.equal(measurements["reading_quality"], "ESTIMATE"), pa.int64()).fill_null(0),
    )
    grouped = flagged.group_by(_KEYS, use_threads=False).aggregate(
        [("value", "sum"), ("value", "count"), ("is_estimate", "sum")]
    )
    expected = fetch_log.select(["supply_point_id", "intervals_expected"])
    joined = grouped.join(expected, "supply_point_id", join_type="left outer")
    received = joined["value_count"]
    expected_count = joined["intervals_expected"].fill_null(0)
    table = pa.table(
        {
            **{key: joined[key] for key in _KEYS},
            "total": joined["value_sum"],
            "intervals_received": received,
            "intervals_expected": expected_count,
            "completeness": _share(received, expected_count),
            "estimate_share": _share(joined["is_estimate_sum"], received),
        }
    )
    ordered = table.select(DAILY_CONSUMPTION_SCHEMA.names).sort_by("supply_point_id")
    return ordered.cast(DAILY_CONSUMPTION_SCHEMA)


def _share(part: pa.ChunkedArray, whole: pa.ChunkedArray) -> pa.ChunkedArray:
    ratio = pc.divide(pc.cast(part, pa.float64()), pc.cast(whole, pa.float64()))
    return pc.if_else(pc.greater(whole, 0), ratio, 0.0)


def failed_blocking_checks(root: DataRoot, day: date) -> list[str]:
    """Names of the day's failed blocking checks; a day never checked counts as failed."""
    results = storage.read_quality_results(root, day)
    if results is None:
        return ["not checked yet"]
    failed = results.filter(
        pc.and_(pc.invert(results["passed"]), pc.is_null(results["supply_point_id"]))
    )
    return sorted(set(failed["check_name"].to_pylist()) & BLOCKING_CHECKS)


@dataclass(frozen=True)
class DerivedDay:
    """The lake snapshot holding a day's daily consumption, and how many rows it holds."""

    lake_snapshot: int
    rows: int


def derive_daily_consumption(root: DataRoot, day: date) -> DerivedDay:
    """Compute a stored day's daily consumption and replace it in the lake."""
    measurements = storage.read_day(root, day)
    fetch_log = storage.read_fetch_log(root, day)
    if measurements is None or fetch_log is None:
        raise FileNotFoundError(f"no stored measurements for {day}: materialise it first")
    table = daily_consumption(measurements, fetch_log)
    snapshot = storage.write_daily_consumption(root, day, table)
    return DerivedDay(lake_snapshot=snapshot, rows=table.num_rows)
