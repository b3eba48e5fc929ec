"""Parquet files of any table: conformed to a schema, read whole, written atomically under a lock.

Every file is written to a temporary name in its own directory, fsynced, `os.replace`d and the
directory fsynced, so a crash leaves the old file or the new one, never half of one. Writers of
the same directory are serialised by an fcntl lock, which also makes it safe to delete temporary
files that a killed writer left behind. A file is never modified in place (each write is a new
inode), which the warehouse relies on: the DuckDB views read hard links to these files.

An `s3://bucket/prefix` location (filesystems.py) has the same guarantee by other means: each
object is uploaded to a temporary key and copied onto its final key, and read back in one
request. S3 has no lock. What the lock gives locally, one writer per day at a time (so a repair
run's merge never loses another writer's rows), comes from Dagster there: a day's files are
written by one step of one run, and the instance's pools (`kraken_api` for the steps that fetch
and write measurements, `day_writer` for those that write derived files; see
deploy/dagster.yaml) cap how many such steps run at once: with a limit of 1, two runs never
write the same day together.
"""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kraken_pipeline import filesystems
from kraken_pipeline.filesystems import Location, S3Path
from kraken_pipeline.schema import SCHEMA_VERSION

log = logging.getLogger(__name__)

# DuckDB's own row group size: one row group is the unit its Parquet reader scans in parallel,
# and with rows sorted by supply point the min/max statistics let it skip the others.
ROW_GROUP_ROWS = 122_880
_LOCK_FILE = ".lock"
_TEMP_SUFFIX = filesystems.TEMPORARY_SUFFIX


class InvalidTableError(ValueError):
    """A table does not fit its data contract; the message names the column and the fix."""


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


# --- reads -------------------------------------------------------------------------------------


def _read_parquet(path: Location) -> pa.Table | None:
    if isinstance(path, S3Path):  # one GET: one version of the object, whatever replaces it
        data = filesystems.read_object(path)
        return None if data is None else pq.ParquetFile(pa.BufferReader(data)).read()
    try:
        return pq.ParquetFile(path).read()
    except FileNotFoundError:
        return None


def read_stored(path: Location, schema: pa.Schema) -> pa.Table | None:
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
