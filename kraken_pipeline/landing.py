"""Fetch a range of local days chunk by chunk and land each day's Parquet files.

This is the seam between Dagster and the logic: the asset turns its partitions into a list of
days and calls `land_days`; nothing here knows about Dagster.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from kraken_pipeline import storage
from kraken_pipeline.filesystems import DataRoot
from kraken_pipeline.kraken import FetchOutcome, KrakenClient, MeasurementsResult
from kraken_pipeline.local_days import expected_interval_count, range_bounds
from kraken_pipeline.schema import FETCH_LOG_SCHEMA
from kraken_pipeline.supply_points import SupplyPoint

log = logging.getLogger(__name__)
# The attribute of the log record `land_days` emits per landed day that carries its DayReport:
# a command's progress display (cli/day_progress.py) reads the report, never the message text.
DAY_LANDED = "day_landed"
# Beside it, the record of each chunk fetched carries how many HTTP requests the fetch took.
CHUNK_REQUESTS = "chunk_requests"


@dataclass(frozen=True)
class SeriesTotal:
    """The sum of one day's values for a utility, direction and unit."""

    utility: str
    reading_direction: str | None
    unit: str
    total: Decimal


@dataclass(frozen=True)
class DayReport:
    """What landing one local day produced: enough for metadata and the run summary.

    Counts describe this run's fetch (in a repair run, only the repaired supply points);
    `rows_stored` is what the day's file holds afterwards.
    """

    local_date: date
    rows: int
    rows_stored: int
    supply_points_ok: int
    failures: tuple[FetchOutcome, ...]
    intervals_expected: int
    intervals_received: int
    totals: tuple[SeriesTotal, ...]
    chunk_requests: int
    lake_snapshot: int  # the lake snapshot of the day's commit, for AT (VERSION => ...)

    @property
    def completeness(self) -> float:
        """Share of the expected intervals that were received."""
        if self.intervals_expected == 0:
            return 1.0
        return self.intervals_received / self.intervals_expected


def land_days(
    client: KrakenClient,
    root: DataRoot,
    days: Sequence[date],
    supply_points: Sequence[SupplyPoint],
    timezone: str,
    *,
    chunk_days: int = 7,
    only_supply_points: Collection[str] | None = None,
) -> Iterator[DayReport]:
    """Fetch `days` (consecutive local days) in chunks and write each day before the next chunk.

    Memory is bounded by one chunk, whatever the number of days. With `only_supply_points` the
    day's other supply points keep their stored rows (a repair run).
    """
    wanted = _select(supply_points, only_supply_points)
    for chunk in _chunks(days, chunk_days):
        start, end = range_bounds(chunk[0], chunk[-1], timezone)
        log.info("fetching %d supply points for %s..%s", len(wanted), chunk[0], chunk[-1])
        result = client.fetch_measurements(wanted, start, end)
        log.info(
            "fetched %s..%s in %d request(s)",
            chunk[0],
            chunk[-1],
            result.requests,
            extra={CHUNK_REQUESTS: result.requests},
        )
        for day in chunk:
            report = _land_day(root, day, result, wanted, timezone, only_supply_points)
            # The day's tables are freed; Arrow's pool keeps their memory unless asked.
            pa.default_memory_pool().release_unused()
            log.info("landed %s: %d rows", day, report.rows, extra={DAY_LANDED: report})
            yield report


def _select(
    supply_points: Sequence[SupplyPoint], only: Collection[str] | None
) -> Sequence[SupplyPoint]:
    if only is None:
        return supply_points
    known = {point.supply_point_id for point in supply_points}
    unknown = sorted(set(only) - known)
    if unknown:
        raise ValueError(
            f"supply point id(s) {', '.join(unknown)} are not in the supply points file; "
            "check the run config's supply_point_ids"
        )
    return [point for point in supply_points if point.supply_point_id in set(only)]


def _chunks(days: Sequence[date], size: int) -> Iterator[list[date]]:
    for offset in range(0, len(days), size):
        yield list(days[offset : offset + size])


def _land_day(
    root: DataRoot,
    day: date,
    result: MeasurementsResult,
    supply_points: Sequence[SupplyPoint],
    timezone: str,
    only: Collection[str] | None,
) -> DayReport:
    table = result.day_table(day)
    kept = {o.supply_point_id for o in result.outcomes if not o.ok}
    replaced = {point.supply_point_id for point in supply_points} - kept
    counts = _DayCounts(
        _rows_per_supply_point(table),
        _intervals_removed(storage.stored_intervals(root, day), table, replaced),
    )
    fetch_log = _fetch_log(day, result, supply_points, timezone, counts)
    # A refused re-fetch must not erase what an earlier run landed for that supply point.
    written = storage.write_day(
        root,
        day,
        table,
        fetch_log,
        only_supply_points=set(only) if only is not None else None,
        keep_stored_rows_of=kept,
    )
    return _day_report(day, table, fetch_log, result, written)


def _day_report(
    day: date,
    table: pa.Table,
    fetch_log: pa.Table,
    result: MeasurementsResult,
    written: storage.DayWrite,
) -> DayReport:
    failures = tuple(o for o in result.outcomes if not o.ok)
    return DayReport(
        local_date=day,
        rows=table.num_rows,
        rows_stored=written.rows,
        supply_points_ok=len(result.outcomes) - len(failures),
        failures=failures,
        intervals_expected=sum(fetch_log["intervals_expected"].to_pylist()),
        intervals_received=table.num_rows,
        totals=series_totals(table),
        chunk_requests=result.requests,
        lake_snapshot=written.snapshot,
    )


@dataclass(frozen=True)
class _DayCounts:
    """Per supply point: the rows fetched for the day, and the stored intervals they replace."""

    rows: dict[str, int]
    removed: dict[str, int]


def _rows_per_supply_point(table: pa.Table) -> dict[str, int]:
    counts = table.group_by("supply_point_id").aggregate([("supply_point_id", "count")])
    return dict(
        zip(
            counts["supply_point_id"].to_pylist(),
            counts["supply_point_id_count"].to_pylist(),
            strict=True,
        )
    )


def _intervals_removed(stored: pa.Table, new: pa.Table, replaced: set[str]) -> dict[str, int]:
    """Per supply point in `replaced`: stored intervals that the new rows no longer hold."""
    # Read before the day's transaction: a racing writer could put this warning's count off,
    # never the rows that are written.
    if not stored.num_rows or not replaced:
        return {}
    keys = ["supply_point_id", "interval_start"]
    ids = pa.array(sorted(replaced), pa.string())
    previous = stored.select(keys).filter(pc.is_in(stored["supply_point_id"], value_set=ids))
    gone = previous.join(new.select(keys), keys=keys, join_type="left anti")
    return _rows_per_supply_point(gone)


def _fetch_log(
    day: date,
    result: MeasurementsResult,
    supply_points: Sequence[SupplyPoint],
    timezone: str,
    counts: _DayCounts,
) -> pa.Table:
    outcomes = {outcome.supply_point_id: outcome for outcome in result.outcomes}
    rows = [
        _fetch_log_row(
            day, point, outcomes[point.supply_point_id], timezone, counts, result.fetched_at
        )
        for point in supply_points
    ]
    return pa.Table.from_pylist(rows, schema=FETCH_LOG_SCHEMA)


def _fetch_log_row(
    day: date,
    point: SupplyPoint,
    outcome: FetchOutcome,
    timezone: str,
    counts: _DayCounts,
    fetched_at: datetime,
) -> dict[str, object]:
    return {
        "supply_point_id": point.supply_point_id,
        "local_date": day,
        "status": "ok" if outcome.ok else "failed",
        "rows": counts.rows.get(point.supply_point_id, 0),
        "intervals_expected": expected_interval_count(day, timezone, point.interval_seconds),
        "requests": outcome.requests,
        "error_code": outcome.error_code,
        "error_message": outcome.error_message,
        "fetched_at": fetched_at,
        "nodes_outside_window": outcome.nodes_outside_window,
        "nodes_unmatched": outcome.nodes_unmatched,
        "duplicates_folded": outcome.duplicates_folded,
        "values_rounded": outcome.values_rounded,
        "intervals_removed": counts.removed.get(point.supply_point_id, 0),
    }


def series_totals(table: pa.Table) -> tuple[SeriesTotal, ...]:
    """The sum of a day's values per utility, direction and unit, in a stable order."""
    keys = ["utility", "reading_direction", "unit"]
    sums = (
        table.group_by(keys)
        .aggregate([("value", "sum")])
        .sort_by([(key, "ascending") for key in keys])
    )
    return tuple(
        SeriesTotal(row["utility"], row["reading_direction"], row["unit"], row["value_sum"])
        for row in sums.to_pylist()
    )
