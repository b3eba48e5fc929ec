"""The lake's tables: made from the Arrow contracts in schema.py, commented for analysts."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from kraken_pipeline.schema import (
    DAILY_CONSUMPTION_SCHEMA,
    FETCH_LOG_SCHEMA,
    MEASUREMENTS_SCHEMA,
    QUALITY_RESULTS_SCHEMA,
    SUPPLY_POINTS_SCHEMA,
)
from kraken_pipeline.warehouse.comments import COLUMN_COMMENTS, TABLE_COMMENTS


@dataclass(frozen=True, slots=True)
class Table:
    """A lake table: its name, its contract, and whether its rows belong to local days."""

    name: str
    schema: pa.Schema
    daily: bool = True


MEASUREMENTS = Table("measurements", MEASUREMENTS_SCHEMA)
FETCH_LOG = Table("fetch_log", FETCH_LOG_SCHEMA)
QUALITY_RESULTS = Table("quality_results", QUALITY_RESULTS_SCHEMA)
DAILY_CONSUMPTION = Table("daily_consumption", DAILY_CONSUMPTION_SCHEMA)
SUPPLY_POINTS = Table("supply_points", SUPPLY_POINTS_SCHEMA, daily=False)
TABLES = (MEASUREMENTS, FETCH_LOG, QUALITY_RESULTS, DAILY_CONSUMPTION, SUPPLY_POINTS)


def sql_type(data_type: pa.DataType) -> str:
    """The DuckDB type of an Arrow type of the contracts."""
    if pa.types.is_string(data_type):
        return "VARCHAR"
    if pa.types.is_timestamp(data_type):
        return "TIMESTAMPTZ"  # every contract instant is UTC
    if pa.types.is_date(data_type):
        return "DATE"
    if pa.types.is_decimal(data_type):
        return f"DECIMAL({data_type.precision}, {data_type.scale})"
    simple = {pa.int64(): "BIGINT", pa.float64(): "DOUBLE", pa.bool_(): "BOOLEAN"}
    if data_type in simple:
        return simple[data_type]
    raise TypeError(f"no lake type for {data_type}")


def identifier(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal (DDL takes no parameters, so the quoting is done here, once)."""
    return "'" + text.replace("'", "''") + "'"


def column_list(table: Table) -> str:
    """The table's columns, quoted, in contract order."""
    return ", ".join(identifier(name) for name in table.schema.names)


def _column_definition(column: pa.Field) -> str:
    null = "" if column.nullable else " NOT NULL"
    return f"{identifier(column.name)} {sql_type(column.type)}{null}"


def _existing_columns(connection: duckdb.DuckDBPyConnection, table: Table) -> list[str] | None:
    rows = connection.execute(
        "SELECT column_name FROM duckdb_columns() "
        "WHERE database_name = current_database() AND table_name = ? ORDER BY column_index",
        [table.name],
    ).fetchall()
    return [name for (name,) in rows] or None


def create_or_extend(connection: duckdb.DuckDBPyConnection, table: Table) -> None:
    """Create the table, or add the columns its contract gained since the lake was made."""
    existing = _existing_columns(connection, table)
    if existing is None:
        columns = ", ".join(_column_definition(column) for column in table.schema)
        connection.execute(f"CREATE TABLE {identifier(table.name)} ({columns})")
        if table.daily:
            # A day's rows are one folder: a query filtering on the date reads only its files.
            connection.execute(
                f"ALTER TABLE {identifier(table.name)} SET PARTITIONED BY (local_date)"
            )
        existing = table.schema.names
    for column in table.schema:
        if column.name not in existing:
            # Rows stored before the column existed read NULL, so it is added nullable.
            connection.execute(
                f"ALTER TABLE {identifier(table.name)} ADD COLUMN "
                f"{identifier(column.name)} {sql_type(column.type)}"
            )


def _column_comment(name: str, column: str) -> str | None:
    return COLUMN_COMMENTS.get((name, column)) or COLUMN_COMMENTS.get(("*", column))


def comment(
    connection: duckdb.DuckDBPyConnection, name: str, columns: list[str], *, view: bool = False
) -> None:
    """COMMENT ON a table and each of its columns; a view's columns go in its own comment.

    DuckDB comments on the columns of tables only, so a view lists its columns' meanings.
    """
    if view:
        described = "; ".join(f"{column}: {_column_comment(name, column)}" for column in columns)
        text = f"{TABLE_COMMENTS[name]} Columns: {described}"
        connection.execute(f"COMMENT ON VIEW {identifier(name)} IS {literal(text)}")
        return
    connection.execute(f"COMMENT ON TABLE {identifier(name)} IS {literal(TABLE_COMMENTS[name])}")
    for column in columns:
        meaning = _column_comment(name, column)
        if meaning:
            connection.execute(
                f"COMMENT ON COLUMN {identifier(name)}.{identifier(column)} IS {literal(meaning)}"
            )
