"""The analysts' warehouse: a DuckLake per data root, its tables, views and `connect()`.

docs/architecture.md tells why DuckLake and how the lake is laid out.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import duckdb

from kraken_pipeline import filesystems
from kraken_pipeline.filesystems import DataRoot
from kraken_pipeline.schema import SCHEMA_VERSION
from kraken_pipeline.warehouse import lake, migration, tables
from kraken_pipeline.warehouse.comments import COLUMN_COMMENTS, TABLE_COMMENTS
from kraken_pipeline.warehouse.lake import ALIAS, Lake, lake_of
from kraken_pipeline.warehouse.views import VIEW_NAMES, view_statements

__all__ = ["ALIAS", "VIEW_NAMES", "Lake", "connect", "ensure_tables", "ensure_warehouse"]

_INFO_TABLE = "warehouse_info"
_INFO_COLUMNS = {
    "schema_version": "BIGINT",
    "timezone": "VARCHAR",
    "tables_fingerprint": "VARCHAR",
    "views_fingerprint": "VARCHAR",
    "defined_at": "TIMESTAMPTZ",
}
_ready: set[tuple[int, Lake]] = set()


def _definitions_fingerprint(timezone: str | None) -> str:
    parts = [f"schema version {SCHEMA_VERSION}", *(str(table) for table in tables.TABLES)]
    parts.append(repr(sorted(TABLE_COMMENTS.items())) + repr(sorted(COLUMN_COMMENTS.items())))
    if timezone is not None:
        parts.extend(view_statements(timezone))
    return hashlib.sha256("\n;\n".join(parts).encode()).hexdigest()


def _recorded(connection: duckdb.DuckDBPyConnection, column: str) -> str | None:
    try:
        row = connection.execute(f"SELECT {column} FROM {_INFO_TABLE}").fetchone()
    except duckdb.CatalogException:
        return None
    return None if row is None else row[0]


def _recorded_in(root: DataRoot, column: str) -> str | None:
    def read() -> str | None:
        with lake.session(root) as connection:
            return _recorded(connection, column)

    return lake.retrying(read, "reading the lake's definitions")


def _define(timezone: str | None, fingerprint: str) -> Callable[[duckdb.DuckDBPyConnection], None]:
    def work(connection: duckdb.DuckDBPyConnection) -> None:
        column = "tables_fingerprint" if timezone is None else "views_fingerprint"
        if _recorded(connection, column) == fingerprint:
            return  # another process defined them meanwhile
        columns = ", ".join(f"{name} {kind}" for name, kind in _INFO_COLUMNS.items())
        connection.execute(f"CREATE TABLE IF NOT EXISTS {_INFO_TABLE} ({columns})")
        # zstd: a third smaller than DuckDB's default snappy on measurements, as fast to read.
        connection.execute(
            "CALL ducklake_set_option(current_database(), 'parquet_compression', 'zstd')"
        )
        for table in tables.TABLES:
            tables.create_or_extend(connection, table)
            tables.comment(connection, table.name, table.schema.names)
        tables.comment(connection, _INFO_TABLE, list(_INFO_COLUMNS))
        if timezone is not None:
            for statement in view_statements(timezone):
                connection.execute(statement)
            for view in VIEW_NAMES:
                described = connection.execute(f"DESCRIBE {view}").fetchall()
                tables.comment(connection, view, [row[0] for row in described], view=True)
        connection.execute(f"DELETE FROM {_INFO_TABLE}")
        connection.execute(
            f"INSERT INTO {_INFO_TABLE} VALUES (?, ?, ?, ?, now())",
            [SCHEMA_VERSION, timezone, _definitions_fingerprint(None), fingerprint],
        )

    return work


def ensure_tables(root: DataRoot) -> Lake:
    """Create the lake's tables (once per process) and import an older layout's files once."""
    found = lake_of(root)
    key = (os.getpid(), found)
    if key in _ready:
        return found
    fingerprint = _definitions_fingerprint(None)
    if _recorded_in(root, "tables_fingerprint") != fingerprint:
        lake.commit(root, _define(None, fingerprint), "defining the lake's tables")
    migration.import_file_layout(root)
    _ready.add(key)
    return found


def ensure_warehouse(root: DataRoot | str, timezone: str) -> Lake:
    """Make the lake's tables and the analysts' views current for the tenant's time zone."""
    if isinstance(root, str):
        root = filesystems.parse_data_root(root)
    found = ensure_tables(root)
    fingerprint = _definitions_fingerprint(timezone)
    if _recorded_in(root, "views_fingerprint") == fingerprint:
        return found
    # The change feed's view names the lake by the analysts' alias: bound where it is that.
    lake.commit(
        root, _define(timezone, fingerprint), "defining the analysts' views", as_kraken=True
    )
    return found


def connect(data_root: DataRoot | str | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only DuckDB connection to the lake, its tables and views unqualified.

    data_root defaults to KRAKEN_PIPELINE_DATA, else `data`. Each query reads the latest
    committed snapshot, so a connection held open sees the days landed after it was opened.
    """
    if data_root is None:
        data_root = os.environ.get(filesystems.DATA_ROOT_VARIABLE) or "data"
    root = filesystems.parse_data_root(data_root) if isinstance(data_root, str) else data_root
    found = lake_of(root)
    if not found.configured_catalog and not Path(found.catalog.removeprefix("sqlite:")).is_file():
        raise lake.LakeError(
            f"no warehouse at {root}: run `kraken-pipeline run` first, or point "
            f"{filesystems.DATA_ROOT_VARIABLE} at the data root it wrote"
        )
    # The caller owns this connection: a fresh one, not the pipeline's shared one.
    return lake.open_connection(found, read_only=True)
