"""The pipeline's reads and writes of the lake: a day's rows replaced in one transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from kraken_pipeline.conformance import InvalidTableError, conform
from kraken_pipeline.filesystems import DataRoot
from kraken_pipeline.supply_points import SupplyPoint
from kraken_pipeline.warehouse import ensure_tables, lake
from kraken_pipeline.warehouse.tables import (
    DAILY_CONSUMPTION,
    FETCH_LOG,
    MEASUREMENTS,
    QUALITY_RESULTS,
    SUPPLY_POINTS,
    Table,
    column_list,
    identifier,
)

__all__ = [
    "DayWrite",
    "InvalidTableError",
    "read_day",
    "read_fetch_log",
    "read_quality_results",
    "stored_days",
    "stored_intervals",
    "supply_points_table",
    "write_daily_consumption",
    "write_day",
    "write_quality_results",
    "write_supply_points",
]


_INTERVAL_KEYS = pa.schema(
    [MEASUREMENTS.schema.field("supply_point_id"), MEASUREMENTS.schema.field("interval_start")]
)


@dataclass(frozen=True, slots=True)
class DayWrite:
    """A local day as committed: the lake snapshot holding it, and its measurement rows."""

    snapshot: int
    rows: int


# --- validation --------------------------------------------------------------------------------


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


def _require_unique_intervals(table: pa.Table) -> None:
    keys = table.group_by(["supply_point_id", "interval_start"]).aggregate([([], "count_all")])
    repeated = keys.filter(pc.greater(keys["count_all"], 1))
    if repeated.num_rows:
        first = repeated.slice(0, 1).to_pylist()[0]
        raise InvalidTableError(
            f"measurements hold {repeated.num_rows} interval(s) more than once, e.g. "
            f"{first['supply_point_id']} at {first['interval_start']}: fold duplicates first"
        )


# How a day's measurements are stored and read back.
_DAY_ORDER = [("supply_point_id", "ascending"), ("interval_start", "ascending")]


def _strictly_ordered(table: pa.Table) -> bool:
    """Whether every row's (supply_point_id, interval_start) is greater than the previous one's:
    sorted as write_day sorts, and unique."""
    if table.num_rows < 2:
        return True
    ids, starts = table["supply_point_id"], table["interval_start"]
    before, after = slice(None, -1), slice(1, None)
    same_id = pc.equal(ids[before], ids[after])
    later = pc.or_(
        pc.less(ids[before], ids[after]), pc.and_(same_id, pc.less(starts[before], starts[after]))
    )
    return bool(pc.all(pc.fill_null(later, False)).as_py())


def _prepared(
    table: pa.Table, target: Table, local_date: date, only: frozenset[str] | None = None
) -> pa.Table:
    what = target.name.replace("_", " ")
    conformed = conform(table, target.schema, what)
    _require_day(conformed, local_date, what)
    _require_within(conformed, only, what)
    return conformed


# --- writes ------------------------------------------------------------------------------------


def _replace(
    connection: duckdb.DuckDBPyConnection,
    target: Table,
    rows: pa.Table,
    where: str,
    parameters: Sequence[object],
) -> None:
    """Delete the rows matching `where`, then insert `rows`: inside the caller's transaction."""
    name = identifier(target.name)
    connection.execute(f"DELETE FROM {name} WHERE {where}", parameters)
    if rows.num_rows:
        connection.register("new_rows", rows)
        try:
            columns = column_list(target)
            connection.execute(f"INSERT INTO {name} ({columns}) SELECT {columns} FROM new_rows")
        finally:
            connection.unregister("new_rows")


def write_day(
    root: DataRoot,
    local_date: date,
    measurements: pa.Table,
    fetch_log: pa.Table,
    *,
    only_supply_points: Collection[str] | None = None,
    keep_stored_rows_of: Collection[str] = (),
) -> DayWrite:
    """Replace a local day's measurements and fetch log in one transaction; or a subset's.

    With only_supply_points, the rows of those supply points are replaced (removed when the new
    table has none for one of them) and every other supply point's rows are kept as stored.
    keep_stored_rows_of names supply points whose fetch failed: their stored rows are kept
    instead of being lost, while the fetch log records the failure.
    """
    if isinstance(only_supply_points, str):
        raise TypeError("only_supply_points is a collection of ids, not one id")
    only = None if only_supply_points is None else frozenset(only_supply_points)
    keep = sorted(keep_stored_rows_of)
    new_rows = _prepared(measurements, MEASUREMENTS, local_date, only)
    if keep:
        new_rows = new_rows.filter(
            pc.invert(pc.is_in(new_rows["supply_point_id"], pa.array(keep, pa.string())))
        )
    # Rows already in order with no interval twice (as a fetch lands them) are not copied again.
    if not _strictly_ordered(new_rows):
        _require_unique_intervals(new_rows)
        new_rows = new_rows.sort_by(_DAY_ORDER)
    new_log = _prepared(fetch_log, FETCH_LOG, local_date, only).sort_by("supply_point_id")
    scope, scope_parameters = "local_date = ?", list[object]([local_date])
    if only is not None:
        scope += " AND list_contains(?, supply_point_id)"
        scope_parameters.append(sorted(only))
    ensure_tables(root)

    def replace_day(connection: duckdb.DuckDBPyConnection) -> int:
        _replace(
            connection,
            MEASUREMENTS,
            new_rows,
            f"{scope} AND NOT list_contains(?, supply_point_id)",
            [*scope_parameters, keep],
        )
        _replace(connection, FETCH_LOG, new_log, scope, scope_parameters)
        row = connection.execute(
            "SELECT count(*) FROM measurements WHERE local_date = ?", [local_date]
        ).fetchone()
        return int(row[0]) if row else 0

    committed = lake.commit(root, replace_day, f"measurements and fetch log of {local_date}")
    return DayWrite(snapshot=committed.snapshot, rows=committed.value)


def _replace_day_table(root: DataRoot, target: Table, table: pa.Table, local_date: date) -> int:
    prepared = _prepared(table, target, local_date)
    ensure_tables(root)

    def replace(connection: duckdb.DuckDBPyConnection) -> None:
        _replace(connection, target, prepared, "local_date = ?", [local_date])

    return lake.commit(root, replace, f"{target.name} of {local_date}").snapshot


def write_quality_results(root: DataRoot, local_date: date, results: pa.Table) -> int:
    """Replace a local day's data-quality results whole; the snapshot holding them."""
    return _replace_day_table(root, QUALITY_RESULTS, results, local_date)


def write_daily_consumption(root: DataRoot, local_date: date, table: pa.Table) -> int:
    """Replace a local day's derived daily consumption whole; the snapshot holding it."""
    return _replace_day_table(root, DAILY_CONSUMPTION, table, local_date)


def supply_points_table(supply_points: Sequence[SupplyPoint]) -> pa.Table:
    """The supply points as rows, in id order."""
    rows = [
        {**asdict(point), "interval_seconds": point.interval_seconds}
        for point in sorted(supply_points, key=lambda point: point.supply_point_id)
    ]
    return pa.Table.from_pylist(rows, schema=SUPPLY_POINTS.schema)


def write_supply_points(root: DataRoot, supply_points: Sequence[SupplyPoint]) -> int:
    """Replace the stored supply points (those of the current run); the snapshot holding them."""
    table = conform(supply_points_table(supply_points), SUPPLY_POINTS.schema, "supply points")
    ensure_tables(root)

    def replace(connection: duckdb.DuckDBPyConnection) -> None:
        _replace(connection, SUPPLY_POINTS, table, "true", [])

    return lake.commit(root, replace, "supply points").snapshot


# --- reads -------------------------------------------------------------------------------------


def _query(root: DataRoot, sql: str, parameters: Sequence[object]) -> pa.Table:
    """The answer to one query of the lake's latest snapshot, retried while a writer commits."""
    ensure_tables(root)

    def answer() -> pa.Table:
        with lake.session(root) as connection:
            return connection.execute(sql, parameters).to_arrow_table()

    return lake.retrying(answer, "reading the lake")


def _read(root: DataRoot, target: Table, local_date: date, order: str | None) -> pa.Table | None:
    ordered = f" ORDER BY {order}" if order else ""
    table = _query(
        root,
        f"SELECT {column_list(target)} FROM {identifier(target.name)} "
        f"WHERE local_date = ?{ordered}",
        [local_date],
    )
    if not table.num_rows:
        return None
    return conform(table, target.schema, target.name)


def _day_was_written(root: DataRoot, local_date: date) -> bool:
    logged = _query(root, "SELECT 1 FROM fetch_log WHERE local_date = ? LIMIT 1", [local_date])
    return bool(logged.num_rows > 0)


def read_day(root: DataRoot, local_date: date) -> pa.Table | None:
    """The stored measurements of a local day, sorted by supply_point_id then interval_start,
    or None when the day was never written."""
    # write_day stores a day's rows in that order and DuckDB reads them back in the files' order
    # when asked for none: sorted here only when they are not (a repaired day), DuckDB's sort
    # of the whole day, a second copy of it, is not made.
    table = _read(root, MEASUREMENTS, local_date, order=None)
    if table is None:
        return MEASUREMENTS.schema.empty_table() if _day_was_written(root, local_date) else None
    return table if _strictly_ordered(table) else table.sort_by(_DAY_ORDER)


def stored_intervals(root: DataRoot, local_date: date) -> pa.Table:
    """The (supply_point_id, interval_start) keys a local day holds, without the other columns."""
    stored = _query(
        root,
        "SELECT supply_point_id, interval_start FROM measurements WHERE local_date = ?",
        [local_date],
    )
    return conform(stored, _INTERVAL_KEYS, "stored intervals")


def read_fetch_log(root: DataRoot, local_date: date) -> pa.Table | None:
    """The stored fetch log of a local day, or None when the day was never written."""
    return _read(root, FETCH_LOG, local_date, "supply_point_id")


def read_quality_results(root: DataRoot, local_date: date) -> pa.Table | None:
    """A local day's stored data-quality results, or None when the day was never checked."""
    return _read(root, QUALITY_RESULTS, local_date, "check_name, supply_point_id NULLS FIRST")


def stored_days(root: DataRoot) -> list[date]:
    """Every local day that has been written (its fetch log is stored), in order."""
    days = _query(root, "SELECT DISTINCT local_date FROM fetch_log ORDER BY local_date", [])
    return list(days["local_date"].to_pylist())
