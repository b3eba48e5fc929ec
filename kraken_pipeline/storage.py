"""The Parquet files under the data root: their layout, the day files' rules, reads and writes.

This module is the one that knows where each file lives under the data root (a local directory
or an `s3://bucket/prefix`, with the same layout) and what a day file must hold: rows of its own
local day, and, for a repair of some supply points, only theirs, merged with the others' stored
rows while the day's directory is held for writing. How any file is conformed to its schema,
read, and written atomically under a lock is parquet_files.py's part.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from kraken_pipeline import filesystems
from kraken_pipeline.filesystems import DataRoot, Location, S3Path
from kraken_pipeline.parquet_files import (
    InvalidTableError,
    conform,
    read_stored,
    write_table_atomically,
    writing_directory,
)
from kraken_pipeline.schema import (
    DAILY_CONSUMPTION_SCHEMA,
    FETCH_LOG_SCHEMA,
    MEASUREMENTS_SCHEMA,
    QUALITY_RESULTS_SCHEMA,
    SUPPLY_POINTS_SCHEMA,
)
from kraken_pipeline.supply_points import SupplyPoint

_MEASUREMENTS_FILE = "measurements.parquet"


@dataclass(frozen=True, slots=True)
class DayWrite:
    """Where one local day was written and how many measurement rows its file now holds."""

    measurements_path: Location
    fetch_log_path: Location
    rows: int


# --- paths: the one place that knows the layout under the data root -----------------------------


def _day_directory(root: DataRoot, dataset: str, local_date: date) -> Location:
    return root / dataset / f"date={local_date.isoformat()}"


def measurements_path(root: DataRoot, local_date: date) -> Location:
    """The day's measurements file: measurements/date=YYYY-MM-DD/measurements.parquet."""
    return _day_directory(root, "measurements", local_date) / _MEASUREMENTS_FILE


def fetch_log_path(root: DataRoot, local_date: date) -> Location:
    """The day's fetch log, beside its measurements."""
    return _day_directory(root, "measurements", local_date) / "fetch_log.parquet"


def quality_results_path(root: DataRoot, local_date: date) -> Location:
    """The day's data-quality results: quality/date=YYYY-MM-DD/quality_results.parquet."""
    return _day_directory(root, "quality", local_date) / "quality_results.parquet"


def daily_consumption_path(root: DataRoot, local_date: date) -> Location:
    """The day's derived consumption, under daily_consumption/date=YYYY-MM-DD/."""
    return _day_directory(root, "daily_consumption", local_date) / "daily_consumption.parquet"


def supply_points_path(root: DataRoot) -> Location:
    """The supply points of the last run."""
    return root / "supply_points.parquet"


def warehouse_path(root: DataRoot) -> Path:
    """The DuckDB file holding the analysts' views: in the root, or this machine's cache for S3."""
    return filesystems.local_directory(root) / "warehouse.duckdb"


# --- the day files -----------------------------------------------------------------------------


def _require_day(table: pa.Table, local_date: date, what: str) -> None:
    wrong = pc.sum(pc.not_equal(table["local_date"], pa.scalar(local_date, pa.date32()))).as_py()
    if wrong:
        raise InvalidTableError(f"{wrong} {what} row(s) have a local_date other than {local_date}")


def _require_within(table: pa.Table, only: frozenset[str] | None, what: str) -> None:
    if only is None:
        return
    outside = set(table["supply_point_id"].unique().to_pylist()) - only
    if outside:
        raise InvalidTableError(
            f"{what} has rows of {sorted(outside)}, outside the supply points being replaced"
        )


def _merged(new: pa.Table, stored: pa.Table | None, only: frozenset[str]) -> pa.Table:
    """The new rows plus the stored rows of every supply point outside `only`."""
    if stored is None:
        return new
    replaced = pa.array(sorted(only), pa.string())
    kept = stored.filter(pc.invert(pc.is_in(stored["supply_point_id"], value_set=replaced)))
    return pa.concat_tables([kept, new])


def _with_stored_rows(new: pa.Table, path: Location, keep: frozenset[str]) -> pa.Table:
    """The new rows without `keep`'s, plus the stored rows of the supply points in `keep`."""
    stored = read_stored(path, MEASUREMENTS_SCHEMA)
    kept_ids = pa.array(sorted(keep), pa.string())
    fresh = new.filter(pc.invert(pc.is_in(new["supply_point_id"], value_set=kept_ids)))
    if stored is None:
        return fresh
    return pa.concat_tables([fresh, stored.filter(pc.is_in(stored["supply_point_id"], kept_ids))])


def _prepared(
    table: pa.Table,
    schema: pa.Schema,
    local_date: date,
    what: str,
    only: frozenset[str] | None = None,
) -> pa.Table:
    conformed = conform(table, schema, what)
    _require_day(conformed, local_date, what)
    _require_within(conformed, only, what)
    return conformed


def write_day(
    root: DataRoot,
    local_date: date,
    measurements: pa.Table,
    fetch_log: pa.Table,
    *,
    only_supply_points: Collection[str] | None = None,
    keep_stored_rows_of: Collection[str] = (),
) -> DayWrite:
    """Write a local day's measurements and fetch log; replace them whole, or merge a subset.

    With only_supply_points, the rows of those supply points are replaced (removed when the new
    table has none for one of them) and every other supply point's rows are kept as stored.
    keep_stored_rows_of names supply points whose fetch failed: their stored rows are kept
    (read under the lock) instead of being lost, while the fetch log records the failure.
    """
    if isinstance(only_supply_points, str):
        raise TypeError("only_supply_points is a collection of ids, not one id")
    only = None if only_supply_points is None else frozenset(only_supply_points)
    new_rows = _prepared(measurements, MEASUREMENTS_SCHEMA, local_date, "measurements", only)
    new_log = _prepared(fetch_log, FETCH_LOG_SCHEMA, local_date, "fetch log", only)
    rows_path, log_path = measurements_path(root, local_date), fetch_log_path(root, local_date)
    with writing_directory(rows_path.parent):
        if only is not None:  # read under the lock, so an overlapping merge is never lost
            new_rows = _merged(new_rows, read_stored(rows_path, MEASUREMENTS_SCHEMA), only)
            new_log = _merged(new_log, read_stored(log_path, FETCH_LOG_SCHEMA), only)
        if keep_stored_rows_of:
            new_rows = _with_stored_rows(new_rows, rows_path, frozenset(keep_stored_rows_of))
        rows = new_rows.sort_by([("supply_point_id", "ascending"), ("interval_start", "ascending")])
        # Measurements first: a crash between the two leaves a fetch log that the next run redoes.
        write_table_atomically(rows, rows_path, "measurements")
        write_table_atomically(new_log.sort_by("supply_point_id"), log_path, "fetch_log")
    return DayWrite(measurements_path=rows_path, fetch_log_path=log_path, rows=rows.num_rows)


def read_day(root: DataRoot, local_date: date) -> pa.Table | None:
    """The stored measurements of a local day, or None when the day was never written."""
    return read_stored(measurements_path(root, local_date), MEASUREMENTS_SCHEMA)


def read_fetch_log(root: DataRoot, local_date: date) -> pa.Table | None:
    """The stored fetch log of a local day, or None when the day was never written."""
    return read_stored(fetch_log_path(root, local_date), FETCH_LOG_SCHEMA)


def stored_days(root: DataRoot) -> list[date]:
    """Every local day that has a measurements file, in order."""
    if isinstance(root, S3Path):
        return _stored_object_days(root)
    days = []
    for directory in (root / "measurements").glob("date=*"):
        try:
            day = date.fromisoformat(directory.name.removeprefix("date="))
        except ValueError:
            continue  # not one of ours
        if (directory / _MEASUREMENTS_FILE).is_file():
            days.append(day)
    return sorted(days)


def _stored_object_days(root: S3Path) -> list[date]:
    """stored_days of an S3 root, from one listing instead of a request per day."""
    directory = root / "measurements"
    days = []
    for path in filesystems.list_files(directory):
        folder, _, name = path.relative_to(directory).partition("/")
        if name != _MEASUREMENTS_FILE or not folder.startswith("date="):
            continue
        try:
            days.append(date.fromisoformat(folder.removeprefix("date=")))
        except ValueError:
            continue  # not one of ours
    return sorted(days)


# --- the other tables --------------------------------------------------------------------------


def _replace_day_file(
    table: pa.Table, schema: pa.Schema, path: Location, local_date: date, name: str
) -> Location:
    prepared = _prepared(table, schema, local_date, name.replace("_", " "))
    with writing_directory(path.parent):
        write_table_atomically(prepared, path, name)
    return path


def write_quality_results(root: DataRoot, local_date: date, results: pa.Table) -> Location:
    """Replace a local day's data-quality results whole, atomically."""
    path = quality_results_path(root, local_date)
    return _replace_day_file(results, QUALITY_RESULTS_SCHEMA, path, local_date, "quality_results")


def read_quality_results(root: DataRoot, local_date: date) -> pa.Table | None:
    """A local day's stored data-quality results, or None when the day was never checked."""
    return read_stored(quality_results_path(root, local_date), QUALITY_RESULTS_SCHEMA)


def write_daily_consumption(root: DataRoot, local_date: date, table: pa.Table) -> Location:
    """Replace a local day's derived daily consumption whole, atomically."""
    path = daily_consumption_path(root, local_date)
    return _replace_day_file(table, DAILY_CONSUMPTION_SCHEMA, path, local_date, "daily_consumption")


def supply_points_table(supply_points: Sequence[SupplyPoint]) -> pa.Table:
    """The supply points as rows, in id order."""
    rows = [
        {**asdict(point), "interval_seconds": point.interval_seconds}
        for point in sorted(supply_points, key=lambda point: point.supply_point_id)
    ]
    return pa.Table.from_pylist(rows, schema=SUPPLY_POINTS_SCHEMA)


def write_supply_points(root: DataRoot, supply_points: Sequence[SupplyPoint]) -> Location:
    """Replace the stored supply points (those of the current run), atomically."""
    path = supply_points_path(root)
    with writing_directory(root):
        write_table_atomically(supply_points_table(supply_points), path, "supply_points")
    return path


# --- the warehouse ----------------------------------------------------------------------------


def ensure_warehouse(root: DataRoot, timezone: str) -> Path:
    """Make the warehouse's views current; see warehouse.ensure_warehouse."""
    # Imported here because the warehouse package builds on this module; callers may use either.
    from kraken_pipeline import warehouse

    return warehouse.ensure_warehouse(root, timezone)
