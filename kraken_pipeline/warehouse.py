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

Two layouts keep the analysts' queries within a small factor of native DuckDB tables
(benchmarks/bench_warehouse.py, issue 7): the views take `local_date` from the `date=` folder
names (hive partitioning), so a date filter skips other days' files without opening them; and
measurements of closed months are read from one compacted file per month (sorted by supply
point and time, in `_views/_by_month/month=YYYY-MM/`), so a supply point's year is a dozen files,
not 365. A month is closed once it ended more than SETTLING_DAYS before the newest stored day:
the daily schedule re-pulls the last few days and Kraken restates estimates for about a week,
so routine runs never touch a closed month, while a repair of an older day still works, at the
price of re-compacting that one month. The measurements view reads daily files from the first
open month (`first_open_month`) and monthly files before it; the boundary is part of the view's
definition, so a month moves from daily to monthly files in the same transaction that rewrites
the views, after its monthly file is written: a month is never seen twice, nor missed. Each
monthly file is built from the mirror's links and named, by an empty marker file beside it,
after the identities (inode, size, mtime) of the days it holds; a month whose stored days no
longer match its marker (a re-run day, or a refresh killed mid-compaction) is compacted again,
and only that month. The daily links stay in the mirror: they are what the marker is checked
against and what the next compaction reads.

The file holds only views and a one-row `warehouse_info` table whose fingerprint covers every
view definition (schema version, absolute data root, time zone, first open month); the views are
rewritten only when it differs. Each view lists an empty anchor file first: DuckDB takes the
columns from it, so every view has its columns before any data exists. Files must keep the
anchor's columns: an additive schema change has to rewrite the stored days (read_day fills new
columns with NULL).

An `s3://` data root has no hard links and no shared lock (its analysts work on other machines,
each with their own DuckDB file), so there is no mirror and no compaction: the DuckDB file and
the anchors live in this machine's local directory for the root (filesystems.local_directory)
and the views read the objects' `s3://` URIs, through the pipeline's own s3fs filesystem
registered in the connection (`connect` does it), or through DuckDB's httpfs extension where it
is installed. A query that overlaps a run replacing a day can fail (each object is whole, but
DuckDB may open it twice); running it again succeeds.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
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
MONTHLY_DIRECTORY = "_by_month"  # under the mirror: one compacted measurements file per month
SETTLING_DAYS = 14  # a month is closed once it ended more than this before the newest day
_ANCHOR_DIRECTORY = "_schema"
# The anchors sit in a `date=` folder so that hive partitioning accepts them beside the days.
_ANCHOR_PARTITION = "date=1970-01-01"
_DAY_PREFIX = "date="
_MONTH_PREFIX = "month="
_MARKER_PREFIX = ".built-from-"  # a dot: the views' globs never match it
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


@dataclass(frozen=True, slots=True)
class _Table:
    """A view over stored files: its name, its columns, and its file per day (None: one file)."""

    name: str
    schema: pa.Schema
    path_of_day: Callable[[Path, date], Location] | None = None

    @property
    def day_file(self) -> Path:
        """The file's path relative to the root: `<dataset>/date=*/<name>`, or `<name>`."""
        if self.path_of_day is None:
            return Path(str(storage.supply_points_path(Path())))
        one_day = Path(str(self.path_of_day(Path(), date(2000, 1, 1))))
        return one_day.parent.with_name(f"{_DAY_PREFIX}*") / one_day.name


_MEASUREMENTS = _Table("measurements", MEASUREMENTS_SCHEMA, storage.measurements_path)
_DAILY_TABLES = (
    _MEASUREMENTS,
    _Table("fetch_log", FETCH_LOG_SCHEMA, storage.fetch_log_path),
    _Table("quality_results", QUALITY_RESULTS_SCHEMA, storage.quality_results_path),
    _Table("daily_consumption", DAILY_CONSUMPTION_SCHEMA, storage.daily_consumption_path),
)
_SUPPLY_POINTS = _Table("supply_points", SUPPLY_POINTS_SCHEMA)
_TABLES = (*_DAILY_TABLES, _SUPPLY_POINTS)
VIEW_NAMES = (*(table.name for table in _TABLES), "daily_totals")


# --- view definitions --------------------------------------------------------------------------


def _literal(text: str) -> str:
    """A SQL string literal (DDL takes no parameters, so the quoting is done here, once)."""
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _anchor_path(mirror: Path, table: _Table) -> Path:
    return mirror / _ANCHOR_DIRECTORY / _ANCHOR_PARTITION / f"{table.name}.parquet"


def _monthly_directory(mirror: Path, month: date) -> Path:
    return mirror / MONTHLY_DIRECTORY / f"{_MONTH_PREFIX}{month:%Y-%m}"


def _hive_keys(path: object) -> list[str]:
    return [part.partition("=")[0] for part in str(path).split("/") if "=" in part]


def _columns(schema: pa.Schema, local_date: str = "local_date") -> str:
    return ", ".join(
        f"{_identifier(local_date)} AS local_date" if name == "local_date" else _identifier(name)
        for name in schema.names
    )


def _read_parquet(anchor: Path, files: object, *, by_folder: bool) -> str:
    sources = f"{_literal(str(anchor))}, {_literal(str(files))}"
    hive = "true, hive_types = {'date': DATE}" if by_folder else "false"
    return f"read_parquet([{sources}], hive_partitioning = {hive}, allow_empty = true)"


def _select(table: _Table, anchor: Path, files: object, by_folder: bool, where: str) -> str:
    """SELECT the table's columns from the anchor and files; local_date from `date=` folders."""
    columns = _columns(table.schema, "date" if by_folder else "local_date")
    source = _read_parquet(anchor, files, by_folder=by_folder)
    # Every name, path and date here is quoted by _identifier/_literal: DDL takes no parameters.
    return f"SELECT {columns} FROM {source}{where}"  # noqa: S608


def _view_sql(
    table: _Table, anchor: Path, files: Location, monthly: Path | None, closed_before: date | None
) -> str:
    """A view over the anchor and the files; measurements also read monthly before the date."""
    # Hive partitioning needs the same `key=` folders in every path: true of the mirror, not
    # necessarily of an S3 prefix beside a local anchor (DuckDB refuses the mismatch).
    by_folder = table.path_of_day is not None and _hive_keys(anchor) == _hive_keys(files)
    if monthly is None or closed_before is None:
        select = _select(table, anchor, files, by_folder, "")
    else:
        boundary = f"DATE {_literal(closed_before.isoformat())}"
        day = _identifier("date" if by_folder else "local_date")
        select = (
            _select(table, anchor, files, by_folder, f" WHERE {day} >= {boundary}")
            + "\nUNION ALL "
            + _select(table, anchor, monthly, False, f" WHERE local_date < {boundary}")
        )
    return f"CREATE OR REPLACE VIEW {_identifier(table.name)} AS {select}"


def _mirror(root: DataRoot) -> Path:
    """The local directory of the views' files: hard links and anchors, or anchors only (S3)."""
    return filesystems.local_directory(root) / VIEWS_DIRECTORY


def view_statements(root: DataRoot, timezone: str, closed_before: date | None = None) -> list[str]:
    """Every statement that defines the views over root's mirror (or objects), in order.

    With closed_before, measurements before that day are read from the monthly files.
    """
    zone(timezone)  # an unknown zone fails here, with a clear message, not inside DuckDB
    mirror = _mirror(root)
    files = root if isinstance(root, S3Path) else mirror
    monthly = None
    if not isinstance(root, S3Path):
        monthly = mirror / MONTHLY_DIRECTORY / f"{_MONTH_PREFIX}*" / _MEASUREMENTS.day_file.name
    statements = [
        _view_sql(
            table,
            _anchor_path(mirror, table),
            files / str(table.day_file),
            monthly if table is _MEASUREMENTS else None,
            closed_before,
        )
        for table in _TABLES
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

_Identity = tuple[int, int, int, int]  # device, inode, size, modification time (ns)


def _identity(status: os.stat_result) -> _Identity:
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


def _status(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


@dataclass(frozen=True, slots=True)
class _StoredFile:
    """A stored file the views read, its link in the mirror, and whether that link is it."""

    table: _Table
    root: Path
    mirror: Path
    relative: str  # the same under the root and under the mirror
    day: date | None  # None: the supply points
    identity: _Identity
    published: bool

    @property
    def source(self) -> Path:
        return self.root / self.relative

    @property
    def target(self) -> Path:
        return self.mirror / self.relative


def _day_folders(directory: str) -> Iterator[tuple[str, date]]:
    """(folder name, day) of every `date=YYYY-MM-DD` folder in directory, in no order."""
    try:
        entries = os.scandir(directory)
    except FileNotFoundError:
        return
    with entries:
        for entry in entries:
            if not entry.name.startswith(_DAY_PREFIX) or not entry.is_dir():
                continue
            try:
                yield entry.name, date.fromisoformat(entry.name.removeprefix(_DAY_PREFIX))
            except ValueError:
                continue  # not one of ours


def _files_by_dataset() -> dict[str, list[tuple[_Table, str]]]:
    """{dataset folder: [(table, file name in each day's folder)]}."""
    by_dataset: dict[str, list[tuple[_Table, str]]] = {}
    for table in _DAILY_TABLES:
        by_dataset.setdefault(table.day_file.parts[0], []).append((table, table.day_file.name))
    return by_dataset


_FILES_BY_DATASET = _files_by_dataset()


def _stored_files(root: Path, mirror: Path) -> list[_StoredFile]:
    """Every stored file the views read, by one listing per dataset and two stats per file.

    No glob, no sort and plain strings: this runs at every refresh, over every stored day.
    """
    root_text, mirror_text = str(root), str(mirror)
    candidates: list[tuple[_Table, str, date | None]] = [
        (_SUPPLY_POINTS, str(_SUPPLY_POINTS.day_file), None)
    ]
    for dataset, files in _FILES_BY_DATASET.items():
        for folder, stored_day in _day_folders(f"{root_text}/{dataset}"):
            candidates.extend(
                (table, f"{dataset}/{folder}/{name}", stored_day) for table, name in files
            )
    stored = []
    for table, relative, day in candidates:
        status = _status(f"{root_text}/{relative}")
        if status is None:
            continue
        linked = _status(f"{mirror_text}/{relative}")
        identity = _identity(status)
        published = linked is not None and _identity(linked)[:2] == identity[:2]
        stored.append(_StoredFile(table, root, mirror, relative, day, identity, published))
    return stored


def _stale_anchors(mirror: Path) -> list[_Table]:
    def is_current(table: _Table) -> bool:
        path = _anchor_path(mirror, table)
        return path.is_file() and pq.read_schema(path).equals(table.schema)

    return [table for table in _TABLES if not is_current(table)]


def _remove_leftover_links(directory: Path) -> None:
    """Temporary links left in directory by a publisher that was killed."""
    try:
        entries = os.scandir(directory)
    except FileNotFoundError:
        return
    with entries:
        for entry in entries:
            if entry.name.startswith(".") and entry.name.endswith(_TEMP_SUFFIX):
                os.unlink(entry.path)


def _publish(mirror: Path, pending: Sequence[_StoredFile], anchors: Sequence[_Table]) -> None:
    """Point the mirror at the stored files. Only called while holding the DuckDB write lock."""
    # A killed publisher leaves its link beside a target it had not replaced yet, so a target
    # still waiting here: clearing those folders finds every leftover without a walk of the
    # whole mirror.
    for folder in {stored.target.parent for stored in pending}:
        _remove_leftover_links(folder)
    for table in anchors:
        anchor = _anchor_path(mirror, table)
        with storage.locked_directory(anchor.parent):
            storage.write_table_atomically(table.schema.empty_table(), anchor, table.name)
    for stored in pending:
        stored.target.parent.mkdir(parents=True, exist_ok=True)
        target = stored.target
        temporary = target.with_name(f".{target.name}.{os.urandom(16).hex()}{_TEMP_SUFFIX}")
        os.link(stored.source, temporary)  # whichever version it is now: both are whole files
        os.replace(temporary, target)
        # Renaming a link onto another link of the same inode is a no-op that leaves the source.
        temporary.unlink(missing_ok=True)


# --- monthly compaction ------------------------------------------------------------------------


def _first_of_month(day: date) -> date:
    return day.replace(day=1)


def first_open_month(newest_day: date) -> date:
    """The first day of the first open month, given the newest stored day.

    Every month that ended more than SETTLING_DAYS before the newest day is closed.
    """
    return _first_of_month(newest_day - timedelta(days=SETTLING_DAYS))


def _marker_name(identities: Sequence[tuple[date, _Identity]]) -> str:
    text = "\n".join(f"{day.isoformat()} {identity}" for day, identity in sorted(identities))
    return _MARKER_PREFIX + hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class _Month:
    """A closed month whose monthly file does not hold its stored days (yet)."""

    first_day: date
    links: tuple[Path, ...]  # the mirror's measurements links of its stored days, by day


def _months_to_compact(stored: Sequence[_StoredFile], mirror: Path, boundary: date) -> list[_Month]:
    """The closed months whose monthly file is missing or was built from other days' files."""
    days = sorted(
        (item.day, item.identity, item.relative)
        for item in stored
        if item.table is _MEASUREMENTS and item.day is not None and item.day < boundary
    )
    months = []
    for first_day, group in itertools.groupby(days, lambda member: _first_of_month(member[0])):
        members = list(group)
        marker = _marker_name([(day, identity) for day, identity, _ in members])
        if not (_monthly_directory(mirror, first_day) / marker).exists():
            months.append(_Month(first_day, tuple(mirror / relative for *_, relative in members)))
    return months


def _compact(mirror: Path, month: _Month) -> None:
    """Write the month's measurements as one file, sorted by supply point and time, then mark
    it with the identities of the links it was read from. Under the DuckDB write lock."""
    directory = _monthly_directory(mirror, month.first_day)
    tables, identities = [], []
    with storage.locked_directory(directory):  # also clears a killed compaction's temporary
        for link in month.links:
            with link.open("rb") as handle:  # the identity of exactly what is read
                day = date.fromisoformat(link.parent.name.removeprefix(_DAY_PREFIX))
                identities.append((day, _identity(os.fstat(handle.fileno()))))
                table = pq.ParquetFile(handle).read()
            tables.append(storage.conform(table, MEASUREMENTS_SCHEMA, str(link)))
        rows = pa.concat_tables(tables).sort_by(
            [("supply_point_id", "ascending"), ("interval_start", "ascending")]
        )
        storage.write_table_atomically(
            rows, directory / _MEASUREMENTS.day_file.name, _MEASUREMENTS.name
        )
        for entry in directory.glob(f"{_MARKER_PREFIX}*"):
            entry.unlink()
        # After the file: a crash before this line leaves a month that is compacted again.
        (directory / _marker_name(identities)).touch()
    log.info(
        "compacted %d day(s) of %s into %s (%d rows)",
        len(tables),
        f"{month.first_day:%Y-%m}",
        directory,
        rows.num_rows,
    )


# --- what a refresh has to do ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a refresh would change: files to link, anchors to write, months to compact, views."""

    pending: list[_StoredFile]
    anchors: list[_Table]
    months: list[_Month]
    statements: list[str]
    fingerprint: str

    @property
    def changes_files(self) -> bool:
        return bool(self.pending or self.anchors or self.months)


def _plan(root: DataRoot, mirror: Path, timezone: str) -> _Plan:
    if isinstance(root, S3Path):  # no mirror: the views read the objects themselves
        stored: list[_StoredFile] = []
        boundary: date | None = None
        months: list[_Month] = []
    else:
        stored = _stored_files(root, mirror)
        days = [item.day for item in stored if item.day is not None]
        boundary = first_open_month(max(days)) if days else None
        months = [] if boundary is None else _months_to_compact(stored, mirror, boundary)
    statements = view_statements(root, timezone, boundary)
    return _Plan(
        pending=[item for item in stored if not item.published],
        anchors=_stale_anchors(mirror),
        months=months,
        statements=statements,
        fingerprint=_fingerprint(statements),
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
    database, mirror = storage.warehouse_path(root), _mirror(root)
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
            _publish(mirror, plan.pending, plan.anchors)
            # Before the views move their boundary: a month is read from its monthly file only
            # once that file holds it.
            for month in plan.months:
                _compact(mirror, month)
            if not _views_are_current(connection, plan.fingerprint):
                _write_views(connection, plan.statements, plan.fingerprint, root, timezone)
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
