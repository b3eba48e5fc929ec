"""The analysts' DuckDB file: views over a published mirror of the Parquet files.

DuckDB allows one writing process or many read-only ones per database file (DESIGN.md decision
3), and measured on duckdb 2.0.1 its Parquet reader opens each file more than once per query
(metadata first, then data, sometimes more scans for one view), so a file replaced between those
opens fails the query ("Invalid data", "bytes outside file") or, across files, mixes versions.
Atomic `os.replace` keeps the day files whole, but it cannot keep a DuckDB query consistent.

So the views never read the day files the runs replace. They read `<root>/_views/`, a mirror of
hard links to those files (no copy: the same inodes), and the mirror only changes while this
module holds the DuckDB file's write lock, that is while no analyst is connected. With someone
connected the run still succeeds: publishing is deferred with a warning, the analyst keeps a
stable picture, and a later run with nobody connected brings the views up to date. The files a
run writes are never modified in place (always a new inode), so a linked file never changes.

The file holds only views and a one-row `warehouse_info` table whose fingerprint covers every
view definition (schema version, absolute data root, time zone); the views are rewritten only
when it differs. Each view lists an empty anchor file first: DuckDB takes the columns from it,
so every view has its columns before any data exists. Files must keep the anchor's columns: an
additive schema change has to rewrite the stored days (read_day fills new columns with NULL).

An `s3://` data root has no hard links and no shared lock (its analysts work on other machines,
each with their own DuckDB file), so there is no mirror: the DuckDB file and the anchors live in
this machine's local directory for the root (filesystems.local_directory) and the views read the
objects' `s3://` URIs, through the pipeline's own s3fs filesystem registered in the connection
(`connect` does it), or through DuckDB's httpfs extension where it is installed. A query that
overlaps a run replacing a day can fail (each object is whole, but DuckDB may open it twice);
running it again succeeds.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from kraken_pipeline import filesystems, storage
from kraken_pipeline.filesystems import DataRoot, Location, S3Path
from kraken_pipeline.local_days import zone
from kraken_pipeline.schema import (
    DAILY_CONSUMPTION_SCHEMA,
    FETCH_LOG_SCHEMA,
    MEASUREMENTS_SCHEMA,
    QUALITY_RESULTS_SCHEMA,
    SCHEMA_VERSION,
    SUPPLY_POINTS_SCHEMA,
)

log = logging.getLogger(__name__)

VIEWS_DIRECTORY = "_views"  # under the data root; "_" keeps hive-style dataset readers out
_ANCHOR_DIRECTORY = "_schema"
_TEMP_SUFFIX = ".tmp"

# Per supply point and local day. The fetch log says how many intervals the day should hold
# (46/48/50 half-hours in London); a day measured but missing from the fetch log falls back to
# the length of the local day in the time zone divided by the supply point's interval.
_DAILY_TOTALS_SQL = """
CREATE OR REPLACE VIEW daily_totals AS
WITH received AS (
    SELECT supply_point_id, local_date, unit,
           sum(value) AS total_value,
           count(*) AS intervals_received,
           count(*) FILTER (WHERE reading_quality = 'ESTIMATE') AS intervals_estimated
    FROM measurements
    GROUP BY supply_point_id, local_date, unit
),
days AS (
    SELECT supply_point_id, local_date, r.total_value, r.unit,
           coalesce(r.intervals_received, 0) AS intervals_received, r.intervals_estimated,
           f.intervals_expected AS logged_expected, f.status AS fetch_status
    FROM fetch_log AS f FULL OUTER JOIN received AS r USING (supply_point_id, local_date)
),
expected AS (
    SELECT d.*, coalesce(
        d.logged_expected,
        CAST(epoch(timezone({timezone}, CAST(d.local_date + 1 AS TIMESTAMP)))
             - epoch(timezone({timezone}, CAST(d.local_date AS TIMESTAMP))) AS BIGINT)
        // s.interval_seconds
    ) AS intervals_expected
    FROM days AS d LEFT JOIN supply_points AS s USING (supply_point_id)
)
SELECT supply_point_id, local_date, total_value, unit, intervals_received, intervals_expected,
       intervals_received / nullif(intervals_expected, 0) AS completeness,
       intervals_estimated / nullif(intervals_received, 0) AS estimate_share,
       fetch_status
FROM expected
"""


def _every_day(path_of_day: Callable[[Path, date], Location]) -> str:
    """The relative glob of one daily file on every day, from storage's path function."""
    one_day = path_of_day(Path(), date(2000, 1, 1))
    return str(one_day.parent.with_name("date=*") / one_day.name)


@dataclass(frozen=True, slots=True)
class _Table:
    """A view over stored files: its name, its columns, its files as a glob under the root."""

    name: str
    schema: pa.Schema
    files: str


_TABLES = (
    _Table("measurements", MEASUREMENTS_SCHEMA, _every_day(storage.measurements_path)),
    _Table("fetch_log", FETCH_LOG_SCHEMA, _every_day(storage.fetch_log_path)),
    _Table("quality_results", QUALITY_RESULTS_SCHEMA, _every_day(storage.quality_results_path)),
    _Table(
        "daily_consumption",
        DAILY_CONSUMPTION_SCHEMA,
        _every_day(storage.daily_consumption_path),
    ),
    _Table("supply_points", SUPPLY_POINTS_SCHEMA, storage.supply_points_path(Path()).name),
)
VIEW_NAMES = (*(table.name for table in _TABLES), "daily_totals")


# --- view definitions --------------------------------------------------------------------------


def _literal(text: str) -> str:
    """A SQL string literal (DDL takes no parameters, so the quoting is done here, once)."""
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _anchor_path(mirror: Path, table: _Table) -> Path:
    return mirror / _ANCHOR_DIRECTORY / f"{table.name}.parquet"


def _view_sql(table: _Table, anchor: Path, files: Location) -> str:
    sources = f"{_literal(str(anchor))}, {_literal(str(files))}"
    columns = ", ".join(_identifier(column) for column in table.schema.names)
    # Every name and path above is quoted by _identifier/_literal: DDL takes no parameters.
    return (
        f"CREATE OR REPLACE VIEW {_identifier(table.name)} AS SELECT {columns} "  # noqa: S608
        f"FROM read_parquet([{sources}], hive_partitioning = false, allow_empty = true)"
    )


def _mirror(root: DataRoot) -> Path:
    """The local directory of the views' files: hard links and anchors, or anchors only (S3)."""
    return filesystems.local_directory(root) / VIEWS_DIRECTORY


def view_statements(root: DataRoot, timezone: str) -> list[str]:
    """Every statement that defines the views over root's mirror (or objects), in order."""
    zone(timezone)  # an unknown zone fails here, with a clear message, not inside DuckDB
    mirror = _mirror(root)
    files = root if isinstance(root, S3Path) else mirror
    statements = [
        _view_sql(table, _anchor_path(mirror, table), files / table.files) for table in _TABLES
    ]
    statements.append(_DAILY_TOTALS_SQL.format(timezone=_literal(timezone)))
    return statements


def _fingerprint(statements: Sequence[str]) -> str:
    text = "\n;\n".join([f"schema version {SCHEMA_VERSION}", *statements])
    return hashlib.sha256(text.encode()).hexdigest()


def _views_are_current(connection: duckdb.DuckDBPyConnection, fingerprint: str) -> bool:
    try:
        row = connection.execute("SELECT views_fingerprint FROM warehouse_info").fetchone()
    except duckdb.CatalogException:
        return False
    views = connection.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal")
    present = {name for (name,) in views.fetchall()}
    return row is not None and row[0] == fingerprint and set(VIEW_NAMES) <= present


def _write_views(
    connection: duckdb.DuckDBPyConnection,
    statements: Sequence[str],
    fingerprint: str,
    root: DataRoot,
    timezone: str,
) -> None:
    connection.execute("BEGIN TRANSACTION")
    for statement in statements:
        connection.execute(statement)
    connection.execute(
        "CREATE OR REPLACE TABLE warehouse_info AS SELECT ? AS schema_version, "
        "? AS views_fingerprint, ? AS data_root, ? AS timezone, now() AS refreshed_at",
        [SCHEMA_VERSION, fingerprint, str(root), timezone],
    )
    connection.execute("COMMIT")
    log.info("rewrote the views in %s (schema version %d)", root, SCHEMA_VERSION)


# --- the mirror --------------------------------------------------------------------------------


def _is_same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except FileNotFoundError:
        return False


def _unpublished(root: DataRoot, mirror: Path) -> list[tuple[Path, Path]]:
    """(stored file, its mirror path) for every stored file the views do not show yet."""
    if isinstance(root, S3Path):
        return []  # the views read the objects themselves
    pending = []
    for table in _TABLES:
        for source in sorted(root.glob(table.files)):
            target = mirror / source.relative_to(root)
            if not _is_same_file(source, target):
                pending.append((source, target))
    return pending


def _stale_anchors(mirror: Path) -> list[_Table]:
    def is_current(table: _Table) -> bool:
        path = _anchor_path(mirror, table)
        return path.is_file() and pq.read_schema(path).equals(table.schema)

    return [table for table in _TABLES if not is_current(table)]


def _publish(mirror: Path, pending: Iterable[tuple[Path, Path]], anchors: Sequence[_Table]) -> None:
    """Point the mirror at the stored files. Only called while holding the DuckDB write lock."""
    for leftover in mirror.rglob(f".*{_TEMP_SUFFIX}"):
        leftover.unlink(missing_ok=True)  # left by a publisher that was killed
    for table in anchors:
        anchor = _anchor_path(mirror, table)
        with storage.locked_directory(anchor.parent):
            storage.write_table_atomically(table.schema.empty_table(), anchor, table.name)
    for source, target in pending:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}{_TEMP_SUFFIX}")
        os.link(source, temporary)  # whichever version the source is now: both are whole files
        os.replace(temporary, target)
        # Renaming a link onto another link of the same inode is a no-op that leaves the source.
        temporary.unlink(missing_ok=True)


# --- the entry point ---------------------------------------------------------------------------


def _is_lock_conflict(error: duckdb.Error) -> bool:
    """Whether opening failed only because another connection holds the file."""
    message = str(error).lower()
    if isinstance(error, duckdb.IOException):
        return "could not set lock" in message or "conflicting lock" in message
    # The same process already holds the file with the other read_only setting.
    return isinstance(error, duckdb.ConnectionException) and "different configuration" in message


def _views_need_writing(database: Path, fingerprint: str) -> bool:
    if not database.is_file():
        return True
    with duckdb.connect(str(database), read_only=True) as connection:
        return not _views_are_current(connection, fingerprint)


def read_objects_through_python(connection: duckdb.DuckDBPyConnection) -> None:
    """Let the connection read s3:// paths through s3fs, with the environment's AWS settings.

    DuckDB would otherwise try to download its httpfs extension at the first s3:// path.
    """
    connection.execute("SET autoinstall_known_extensions = false")
    # Connections to one file in one process share the registration.
    if not connection.filesystem_is_registered("s3"):
        connection.register_filesystem(filesystems.s3_filesystem())


def connect(root: DataRoot | str, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """The warehouse of a data root (a directory, or an s3:// URI), opened to query its views.

    For an S3 root the file is this machine's (ensure_warehouse creates it: read-only
    credentials suffice) and the connection reads the objects through s3fs.
    """
    location = filesystems.parse_data_root(root) if isinstance(root, str) else root
    connection = duckdb.connect(str(storage.warehouse_path(location)), read_only=read_only)
    if isinstance(location, S3Path):
        read_objects_through_python(connection)
    return connection


def ensure_warehouse(root: DataRoot | str, timezone: str) -> Path:
    """Bring the warehouse's views and their mirror up to date, if nobody is connected.

    Opens the file for writing only when the views must be (re)written or stored files changed
    since the last publication. An analyst's open connection never makes this fail: the update
    is deferred with a warning. Views use absolute paths, so they work from any cwd. For an
    S3 root the file is local (storage.warehouse_path) and only needs writing when the views do.
    """
    if isinstance(root, str):
        root = filesystems.parse_data_root(root)
    if isinstance(root, Path):
        root = Path(os.path.abspath(root))  # absolute, but a symlinked root stays a symlink
    if any(character in str(root) for character in "*?["):
        # DuckDB would read them as glob patterns in the views' paths.
        raise ValueError(f"the data root {root} contains * ? or [: choose a plainer path")
    database, mirror = storage.warehouse_path(root), _mirror(root)
    if isinstance(root, S3Path):
        database.parent.mkdir(parents=True, exist_ok=True)
    statements = view_statements(root, timezone)
    fingerprint = _fingerprint(statements)
    pending, anchors = _unpublished(root, mirror), _stale_anchors(mirror)
    try:
        if not pending and not anchors and not _views_need_writing(database, fingerprint):
            return database
        with duckdb.connect(str(database)) as connection:  # exclusive: nobody is reading now
            if isinstance(root, S3Path):
                read_objects_through_python(connection)  # DuckDB lists them to bind the views
            # Listed again under the lock: another refresh may have published them meanwhile.
            pending, anchors = _unpublished(root, mirror), _stale_anchors(mirror)
            _publish(mirror, pending, anchors)
            if not _views_are_current(connection, fingerprint):
                _write_views(connection, statements, fingerprint, root, timezone)
    except (duckdb.IOException, duckdb.ConnectionException) as error:
        if not _is_lock_conflict(error):
            raise
        log.warning(
            "the views in %s were not updated (%d stored file(s) wait): another process has "
            "the file open, and its queries must not see files change. The next run with "
            "nobody connected updates them. (%s)",
            database,
            len(pending),
            error,
        )
        return database
    if pending:
        log.info("published %d stored file(s) to the views in %s", len(pending), database)
    return database
