"""The analysts' DuckDB file: views over a published mirror of the Parquet files.

DuckDB allows one writing process or many read-only ones per database file (DESIGN.md decision
3), and measured on duckdb 2.0.1 its Parquet reader opens each file more than once per query
(metadata first, then data, sometimes more scans for one view), so a file replaced between those
opens fails the query ("Invalid data", "bytes outside file") or, across files, mixes versions.
Atomic `os.replace` keeps the day files whole, but it cannot keep a DuckDB query consistent.

So the views never read the day files the runs replace. They read `<root>/_views/`, a mirror of
hard links to those files (no copy: the same inodes), and the mirror only changes while this
package holds the DuckDB file's write lock, that is while no analyst is connected. With someone
connected the run still succeeds: publishing is deferred with a warning, the analyst keeps a
stable picture, and a later run with nobody connected brings the views up to date. The files a
run writes are never modified in place (always a new inode), so a linked file never changes.

Two layouts keep the analysts' queries within a small factor of native DuckDB tables
(benchmarks/bench_warehouse.py, issue 7): the views take `local_date` from the `date=` folder
names (hive partitioning), so a date filter skips other days' files without opening them; and
measurements of closed months are read from one compacted file per month.

The parts: views.py defines the views and the fingerprint that says when to rewrite them,
mirror.py lists the stored files and publishes them to the mirror, compaction.py writes the
closed months' files, and this module plans a refresh and carries it out under the lock.

An `s3://` data root has no hard links and no shared lock (its analysts work on other machines,
each with their own DuckDB file), so there is no mirror and no compaction: the DuckDB file and
the anchors live in this machine's local directory for the root (filesystems.local_directory)
and the views read the objects' `s3://` URIs, through the pipeline's own s3fs filesystem
registered in the connection (`connect` does it), or through DuckDB's httpfs extension where it
is installed. A query that overlaps a run replacing a day can fail (each object is whole, but
DuckDB may open it twice); running it again succeeds.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from kraken_pipeline import filesystems, storage
from kraken_pipeline.filesystems import DataRoot, S3Path
from kraken_pipeline.warehouse.compaction import (
    SETTLING_DAYS,
    Month,
    compact,
    first_open_month,
    months_to_compact,
)
from kraken_pipeline.warehouse.mirror import StoredFile, publish, stale_anchors, stored_files
from kraken_pipeline.warehouse.views import (
    MONTHLY_DIRECTORY,
    VIEW_NAMES,
    VIEWS_DIRECTORY,
    Table,
    mirror_directory,
    view_statements,
    views_are_current,
    views_fingerprint,
    write_views,
)

__all__ = [
    "MONTHLY_DIRECTORY",
    "SETTLING_DAYS",
    "VIEWS_DIRECTORY",
    "VIEW_NAMES",
    "connect",
    "ensure_warehouse",
    "first_open_month",
    "read_objects_through_python",
    "view_statements",
]

log = logging.getLogger(__name__)


# --- what a refresh has to do ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a refresh would change: files to link, anchors to write, months to compact, views."""

    pending: list[StoredFile]
    anchors: list[Table]
    months: list[Month]
    statements: list[str]
    fingerprint: str

    @property
    def changes_files(self) -> bool:
        return bool(self.pending or self.anchors or self.months)


def _plan(root: DataRoot, mirror: Path, timezone: str) -> _Plan:
    if isinstance(root, S3Path):  # no mirror: the views read the objects themselves
        stored: list[StoredFile] = []
        boundary: date | None = None
        months: list[Month] = []
    else:
        stored = stored_files(root, mirror)
        days = [item.day for item in stored if item.day is not None]
        boundary = first_open_month(max(days)) if days else None
        months = [] if boundary is None else months_to_compact(stored, mirror, boundary)
    statements = view_statements(root, timezone, boundary)
    return _Plan(
        pending=[item for item in stored if not item.published],
        anchors=stale_anchors(mirror),
        months=months,
        statements=statements,
        fingerprint=views_fingerprint(statements),
    )


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
        return not views_are_current(connection, fingerprint)


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

    Opens the file for writing only when the views must be (re)written, stored files changed
    since the last publication or a closed month needs (re)compacting. An analyst's open
    connection never makes this fail: the update is deferred with a warning. Views use absolute
    paths, so they work from any cwd. For an S3 root the file is local (storage.warehouse_path)
    and only needs writing when the views do.
    """
    if isinstance(root, str):
        root = filesystems.parse_data_root(root)
    if isinstance(root, Path):
        root = Path(os.path.abspath(root))  # absolute, but a symlinked root stays a symlink
    if any(character in str(root) for character in "*?["):
        # DuckDB would read them as glob patterns in the views' paths.
        raise ValueError(f"the data root {root} contains * ? or [: choose a plainer path")
    database, mirror = storage.warehouse_path(root), mirror_directory(root)
    if isinstance(root, S3Path):
        database.parent.mkdir(parents=True, exist_ok=True)
    plan = _plan(root, mirror, timezone)
    try:
        if not plan.changes_files and not _views_need_writing(database, plan.fingerprint):
            return database
        with duckdb.connect(str(database)) as connection:  # exclusive: nobody is reading now
            if isinstance(root, S3Path):
                read_objects_through_python(connection)  # DuckDB lists them to bind the views
            # Planned again under the lock: another refresh may have done some of it meanwhile.
            plan = _plan(root, mirror, timezone)
            publish(mirror, plan.pending, plan.anchors)
            # Before the views move their boundary: a month is read from its monthly file only
            # once that file holds it.
            for month in plan.months:
                compact(mirror, month)
            if not views_are_current(connection, plan.fingerprint):
                write_views(connection, plan.statements, plan.fingerprint, root, timezone)
    except (duckdb.IOException, duckdb.ConnectionException) as error:
        if not _is_lock_conflict(error):
            raise
        log.warning(
            "the views in %s were not updated (%d stored file(s) wait): another process has "
            "the file open, and its queries must not see files change. The next run with "
            "nobody connected updates them. (%s)",
            database,
            len(plan.pending),
            error,
        )
        return database
    if plan.pending:
        log.info("published %d stored file(s) to the views in %s", len(plan.pending), database)
    return database
