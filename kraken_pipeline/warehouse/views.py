"""The warehouse's views: the tables they show, their SQL, and the fingerprint that dates them.

The DuckDB file holds only views and a one-row `warehouse_info` table whose fingerprint covers
every view definition (schema version, absolute data root, time zone, first open month); the
views are rewritten only when it differs. Each view lists an empty anchor file first: DuckDB
takes the columns from it, so every view has its columns before any data exists. Files must keep
the anchor's columns: an additive schema change has to rewrite the stored days (read_day fills
new columns with NULL).

The views take `local_date` from the `date=` folder names (hive partitioning), so a date filter
skips other days' files without opening them. The measurements view reads daily files from the
first open month and the monthly compacted files before it (compaction.py): the boundary is part
of the view's definition, so it moves only when the views are rewritten.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

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
DAY_PREFIX = "date="
_ANCHOR_DIRECTORY = "_schema"
# The anchors sit in a `date=` folder so that hive partitioning accepts them beside the days.
_ANCHOR_PARTITION = "date=1970-01-01"
_MONTH_PREFIX = "month="

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
class Table:
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
        return one_day.parent.with_name(f"{DAY_PREFIX}*") / one_day.name


MEASUREMENTS = Table("measurements", MEASUREMENTS_SCHEMA, storage.measurements_path)
DAILY_TABLES = (
    MEASUREMENTS,
    Table("fetch_log", FETCH_LOG_SCHEMA, storage.fetch_log_path),
    Table("quality_results", QUALITY_RESULTS_SCHEMA, storage.quality_results_path),
    Table("daily_consumption", DAILY_CONSUMPTION_SCHEMA, storage.daily_consumption_path),
)
SUPPLY_POINTS = Table("supply_points", SUPPLY_POINTS_SCHEMA)
TABLES = (*DAILY_TABLES, SUPPLY_POINTS)
VIEW_NAMES = (*(table.name for table in TABLES), "daily_totals")


def _literal(text: str) -> str:
    """A SQL string literal (DDL takes no parameters, so the quoting is done here, once)."""
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def anchor_path(mirror: Path, table: Table) -> Path:
    """The table's empty anchor file in the mirror: the view's columns before any data."""
    return mirror / _ANCHOR_DIRECTORY / _ANCHOR_PARTITION / f"{table.name}.parquet"


def monthly_directory(mirror: Path, month: date) -> Path:
    """The folder of the month's compacted measurements file in the mirror."""
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


def _select(table: Table, anchor: Path, files: object, by_folder: bool, where: str) -> str:
    """SELECT the table's columns from the anchor and files; local_date from `date=` folders."""
    columns = _columns(table.schema, "date" if by_folder else "local_date")
    source = _read_parquet(anchor, files, by_folder=by_folder)
    # Every name, path and date here is quoted by _identifier/_literal: DDL takes no parameters.
    return f"SELECT {columns} FROM {source}{where}"  # noqa: S608


def _view_sql(
    table: Table, anchor: Path, files: Location, monthly: Path | None, closed_before: date | None
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


def mirror_directory(root: DataRoot) -> Path:
    """The local directory of the views' files: hard links and anchors, or anchors only (S3)."""
    return filesystems.local_directory(root) / VIEWS_DIRECTORY


def view_statements(root: DataRoot, timezone: str, closed_before: date | None = None) -> list[str]:
    """Every statement that defines the views over root's mirror (or objects), in order.

    With closed_before, measurements before that day are read from the monthly files.
    """
    zone(timezone)  # an unknown zone fails here, with a clear message, not inside DuckDB
    mirror = mirror_directory(root)
    files = root if isinstance(root, S3Path) else mirror
    monthly = None
    if not isinstance(root, S3Path):
        monthly = mirror / MONTHLY_DIRECTORY / f"{_MONTH_PREFIX}*" / MEASUREMENTS.day_file.name
    statements = [
        _view_sql(
            table,
            anchor_path(mirror, table),
            files / str(table.day_file),
            monthly if table is MEASUREMENTS else None,
            closed_before,
        )
        for table in TABLES
    ]
    statements.append(_DAILY_TOTALS_SQL.format(timezone=_literal(timezone)))
    return statements


def views_fingerprint(statements: Sequence[str]) -> str:
    """What `warehouse_info` records of the view definitions: they are current while it matches."""
    text = "\n;\n".join([f"schema version {SCHEMA_VERSION}", *statements])
    return hashlib.sha256(text.encode()).hexdigest()


def views_are_current(connection: duckdb.DuckDBPyConnection, fingerprint: str) -> bool:
    """Whether the file holds every view, defined as the fingerprint says."""
    try:
        row = connection.execute("SELECT views_fingerprint FROM warehouse_info").fetchone()
    except duckdb.CatalogException:
        return False
    views = connection.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal")
    present = {name for (name,) in views.fetchall()}
    return row is not None and row[0] == fingerprint and set(VIEW_NAMES) <= present


def write_views(
    connection: duckdb.DuckDBPyConnection,
    statements: Sequence[str],
    fingerprint: str,
    root: DataRoot,
    timezone: str,
) -> None:
    """(Re)define every view and `warehouse_info` in one transaction."""
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
