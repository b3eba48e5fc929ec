"""The Parquet files under the data root: paths, validation, atomic and locked writes, reads.

Every file is written to a temporary name in its own directory, fsynced, `os.replace`d and the
directory fsynced, so a crash leaves the old file or the new one, never half of one. Writers of
the same directory are serialised by an fcntl lock, which also makes it safe to delete temporary
files that a killed writer left behind. A file is never modified in place (each write is a new
inode), which the warehouse relies on: the DuckDB views read hard links to these files.

An `s3://bucket/prefix` root (filesystems.py) has the same layout and the same guarantee by
other means: each object is uploaded to a temporary key and copied onto its final key, and read
back in one request. S3 has no lock. What the lock gives locally, one writer per day at a time
(so a repair run's merge never loses another writer's rows), comes from Dagster there: a day's
files are written by one step of one run, and the instance's pools (`kraken_api` for the steps
that fetch and write measurements, `day_writer` for those that write derived files; see
deploy/dagster.yaml) cap how many such steps run at once: with a limit of 1, two runs never
write the same day together.
"""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kraken_pipeline import filesystems
from kraken_pipeline.filesystems import DataRoot, Location, S3Path
from kraken_pipeline.schema import (
    DAILY_CONSUMPTION_SCHEMA,
    FETCH_LOG_SCHEMA,
    MEASUREMENTS_SCHEMA,
    QUALITY_RESULTS_SCHEMA,
    SCHEMA_VERSION,
    SUPPLY_POINTS_SCHEMA,
)
from kraken_pipeline.supply_points import SupplyPoint

log = logging.getLogger(__name__)

# DuckDB's own row group size: one row group is the unit its Parquet reader scans in parallel,
# and with rows sorted by supply point the min/max statistics let it skip the others.
ROW_GROUP_ROWS = 122_880
_LOCK_FILE = ".lock"
_MEASUREMENTS_FILE = "measurements.parquet"
_TEMP_SUFFIX = filesystems.TEMPORARY_SUFFIX


class InvalidTableError(ValueError):
    """A table does not fit its data contract; the message names the column and the fix."""


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


# --- validation --------------------------------------------------------------------------------


def _kind(data_type: pa.DataType) -> str:
    """The family of a type; casts are only tried within a family, so none can lose meaning."""
    if pa.types.is_dictionary(data_type):
        return _kind(data_type.value_type)
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return "text"
    if pa.types.is_timestamp(data_type):
        # A naive timestamp does not say which instant it is: relabelling it UTC would guess.
        return "instant" if data_type.tz else "naive timestamp"
    if pa.types.is_date(data_type):
        return "date"
    if pa.types.is_decimal(data_type) or pa.types.is_integer(data_type):
        return "exact number"  # floats are excluded on purpose: values are never rounded
    if pa.types.is_boolean(data_type):
        return "boolean"
    return "null" if pa.types.is_null(data_type) else str(data_type)


def _conform_column(column: pa.ChunkedArray, field: pa.Field, what: str) -> pa.ChunkedArray:
    if _kind(column.type) not in {_kind(field.type), "null"}:
        raise InvalidTableError(
            f"{what} column {field.name!r} is {column.type}; it must be {field.type}"
        )
    try:
        conformed = column.cast(field.type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidTableError(
            f"{what} column {field.name!r} cannot become {field.type} without loss: {exc}"
        ) from None
    if not field.nullable and conformed.null_count:
        raise InvalidTableError(f"{what} column {field.name!r} has {conformed.null_count} null(s)")
    return conformed


def conform(table: pa.Table, schema: pa.Schema, what: str) -> pa.Table:
    """The table cast to the schema where that is lossless; InvalidTableError otherwise."""
    names = set(table.column_names)
    missing = [name for name in schema.names if name not in names]
    unknown = sorted(names - set(schema.names))
    if missing or unknown:
        raise InvalidTableError(
            f"{what} table: missing column(s) {missing}, unknown column(s) {unknown}; "
            f"the columns are {schema.names}"
        )
    columns = [_conform_column(table[field.name], field, what) for field in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def _require_day(table: pa.Table, local_date: date, what: str) -> None:
    wrong = pc.sum(pc.not_equal(table["local_date"], pa.scalar(local_date, pa.date32()))).as_py()
    if wrong:
        raise InvalidTableError(f"{wrong} {what} row(s) have a local_date other than {local_date}")


def _read_parquet(path: Location) -> pa.Table | None:
    if isinstance(path, S3Path):  # one GET: one version of the object, whatever replaces it
        data = filesystems.read_object(path)
        return None if data is None else pq.ParquetFile(pa.BufferReader(data)).read()
    try:
        return pq.ParquetFile(path).read()
    except FileNotFoundError:
        return None


def _read_stored(path: Location, schema: pa.Schema) -> pa.Table | None:
    """A stored file conformed to today's schema: columns added since it was written are null."""
    table = _read_parquet(path)
    if table is None:
        return None
    for field in schema:
        if field.name not in table.column_names and field.nullable:
            table = table.append_column(field, pa.nulls(table.num_rows, field.type))
    return conform(table, schema, str(path))


# --- atomic, locked writes ---------------------------------------------------------------------


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def locked_directory(directory: Path) -> Iterator[None]:
    """Hold the directory's writer lock (across processes) and clear stale temporary files.

    Under the lock no other writer can be mid-write here, so every temporary file found was
    left by a writer that died.
    """
    if not directory.is_dir():
        missing = [path for path in (directory, *directory.parents) if not path.exists()]
        directory.mkdir(parents=True, exist_ok=True)
        for created in reversed(missing):  # make each new directory's entry durable too
            _fsync_directory(created.parent)
    with (directory / _LOCK_FILE).open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released when the file closes
        for stale in directory.glob(f".*{_TEMP_SUFFIX}"):
            log.info("removing %s, left by a writer that was stopped mid-write", stale)
            stale.unlink(missing_ok=True)
        yield


@contextmanager
def writing_directory(directory: Location) -> Iterator[None]:
    """Get ready to replace files in a directory: locked_directory, or for S3 its stand-in.

    S3 has no lock (see the module docstring); temporary keys left by a killed writer are
    removed once they are too old to belong to a writer still at work.
    """
    if isinstance(directory, S3Path):
        filesystems.remove_stale_temporaries(directory)
        yield
        return
    with locked_directory(directory):
        yield


def _write_parquet(table: pa.Table, where: object) -> None:
    pq.write_table(table, where, compression="zstd", row_group_size=ROW_GROUP_ROWS)


def write_table_atomically(table: pa.Table, path: Location, schema_name: str) -> None:
    """Write a zstd Parquet file so that readers see the old file or the new one, never a part.

    The caller holds writing_directory(path.parent). The file's key-value metadata carries the
    schema version and the table's name, nothing else.
    """
    metadata = {
        "kraken_pipeline.schema_version": str(SCHEMA_VERSION),
        "kraken_pipeline.table": schema_name,
    }
    table = table.replace_schema_metadata(metadata)
    if isinstance(path, S3Path):
        buffer = pa.BufferOutputStream()  # whole before anything is uploaded
        _write_parquet(table, buffer)
        filesystems.write_object_atomically(buffer.getvalue().to_pybytes(), path)
        return
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}{_TEMP_SUFFIX}")
    try:
        with temporary.open("xb") as handle:
            _write_parquet(table, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


# --- the day files -----------------------------------------------------------------------------


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
    stored = _read_stored(path, MEASUREMENTS_SCHEMA)
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
            new_rows = _merged(new_rows, _read_stored(rows_path, MEASUREMENTS_SCHEMA), only)
            new_log = _merged(new_log, _read_stored(log_path, FETCH_LOG_SCHEMA), only)
        if keep_stored_rows_of:
            new_rows = _with_stored_rows(new_rows, rows_path, frozenset(keep_stored_rows_of))
        rows = new_rows.sort_by([("supply_point_id", "ascending"), ("interval_start", "ascending")])
        # Measurements first: a crash between the two leaves a fetch log that the next run redoes.
        write_table_atomically(rows, rows_path, "measurements")
        write_table_atomically(new_log.sort_by("supply_point_id"), log_path, "fetch_log")
    return DayWrite(measurements_path=rows_path, fetch_log_path=log_path, rows=rows.num_rows)


def read_day(root: DataRoot, local_date: date) -> pa.Table | None:
    """The stored measurements of a local day, or None when the day was never written."""
    return _read_stored(measurements_path(root, local_date), MEASUREMENTS_SCHEMA)


def read_fetch_log(root: DataRoot, local_date: date) -> pa.Table | None:
    """The stored fetch log of a local day, or None when the day was never written."""
    return _read_stored(fetch_log_path(root, local_date), FETCH_LOG_SCHEMA)


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
    return _read_stored(quality_results_path(root, local_date), QUALITY_RESULTS_SCHEMA)


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
