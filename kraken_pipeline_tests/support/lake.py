"""Reading and deliberately spoiling a test data root's lake, as an analyst or a fault would."""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import sqlite3
import tempfile
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from kraken_pipeline import warehouse
from kraken_pipeline.filesystems import DataRoot
from kraken_pipeline.warehouse import lake
from kraken_pipeline.warehouse.tables import MEASUREMENTS, column_list


def plant_measurements(root: DataRoot, day: date, rows: pa.Table) -> None:
    """Replace a stored day's measurements with `rows` as they are, bypassing every rule."""

    def replace(connection: duckdb.DuckDBPyConnection) -> None:
        connection.execute("DELETE FROM measurements WHERE local_date = ?", [day])
        connection.register("planted", rows)
        columns = column_list(MEASUREMENTS)
        connection.execute(f"INSERT INTO measurements ({columns}) SELECT {columns} FROM planted")  # noqa: S608

    lake.commit(root, replace, "a test's planted rows")


def lake_rows(
    root: DataRoot, table: str, day: date | None = None, *, analyst: Analyst | None = None
) -> list[dict[str, object]]:
    """The rows of a lake table (of one local day), read as an analyst reads them: on the
    analyst's held connection, or on a connection of their own."""
    if analyst is not None:
        return _rows(analyst.connection(root), table, day)
    with warehouse.connect(root) as connection:
        return _rows(connection, table, day)


def _rows(
    connection: duckdb.DuckDBPyConnection, table: str, day: date | None
) -> list[dict[str, object]]:
    where, parameters = ("WHERE local_date = ?", [day]) if day else ("", [])
    result = connection.execute(f"SELECT * FROM {table} {where}", parameters)  # noqa: S608
    return result.to_arrow_table().to_pylist()


class Analyst:
    """An analyst's read-only connections (`warehouse.connect`), one per root, held open across
    queries as a notebook holds one: opening a connection loads and verifies DuckDB's extensions,
    the slow part of a query. Each query still reads the latest committed snapshot."""

    def __init__(self) -> None:
        self._connections: dict[str, duckdb.DuckDBPyConnection] = {}

    def connection(self, root: DataRoot) -> duckdb.DuckDBPyConnection:
        """The analyst's connection to a root's lake, opened on first use."""
        key = str(root)
        if key not in self._connections:
            self._connections[key] = warehouse.connect(root)
        return self._connections[key]

    def query(
        self, root: DataRoot, sql: str, parameters: list[object] | None = None
    ) -> list[tuple[object, ...]]:
        """The rows one query answers."""
        return self.connection(root).execute(sql, parameters or []).fetchall()

    def close(self) -> None:
        """Close every connection (the analyst goes away, or a root is about to be moved)."""
        while self._connections:
            self._connections.popitem()[1].close()


def stored_days_of(root: DataRoot, table: str) -> set[date]:
    """The local days a daily lake table holds rows for."""
    return {row["local_date"] for row in lake_rows(root, table)}  # type: ignore[misc]


@functools.cache
def _defined_lake(timezone: str) -> Path:
    """A root whose lake holds every table and the views of `timezone`, and no row; one per
    process, removed at exit."""
    home = Path(tempfile.mkdtemp(prefix="kraken-defined-lake-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    root = home / "data"
    warehouse.ensure_warehouse(root, timezone)
    return root


def seed_defined_lake(root: Path, timezone: str) -> None:
    """Give a new local root the lake a first run would define (its tables and views), copied.

    Defining them takes a dozen catalog commits per root; a copy takes milliseconds. The run
    still checks the definitions (their fingerprints) and defines them again if they differ.
    A root with a lake, or one whose catalog is configured elsewhere, is left alone.
    """
    if os.environ.get(lake.CATALOG_VARIABLE, "").strip():
        return
    if (root / lake.CATALOG_FILE).exists() or (root / lake.DATA_DIRECTORY).exists():
        return
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # the run is to meet this root as it is
    copy_lake(_defined_lake(timezone), root)


def copy_lake(source: Path, destination: Path) -> None:
    """Copy a local root's lake (its SQLite catalog and its data files) into another root.

    The copy is a lake of its own: the catalog's paths are relative to the data directory, and
    DuckLake files are never changed once written, so they can be copied while `source` is open.
    """
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source / lake.DATA_DIRECTORY, destination / lake.DATA_DIRECTORY)
    # SQLite's backup makes a consistent copy while the source is open; the copy is then put in
    # write-ahead-log mode, as the pipeline creates its catalogs.
    with (
        contextlib.closing(sqlite3.connect(source / lake.CATALOG_FILE)) as original,
        contextlib.closing(sqlite3.connect(destination / lake.CATALOG_FILE)) as copy,
    ):
        original.backup(copy)
        copy.execute("PRAGMA journal_mode = WAL")
