"""A data root written before the lake: its Parquet day files imported into the lake, once."""

from __future__ import annotations

import logging

import duckdb

from kraken_pipeline.filesystems import DataRoot
from kraken_pipeline.warehouse import lake
from kraken_pipeline.warehouse.tables import (
    DAILY_CONSUMPTION,
    FETCH_LOG,
    MEASUREMENTS,
    QUALITY_RESULTS,
    SUPPLY_POINTS,
    Table,
    comment,
    identifier,
    literal,
)

log = logging.getLogger(__name__)

_RECORD_TABLE = "file_layout_import"
# Each table's files in the older layout, relative to the data root.
OLD_FILES = {
    MEASUREMENTS: "measurements/date=*/measurements.parquet",
    FETCH_LOG: "measurements/date=*/fetch_log.parquet",
    QUALITY_RESULTS: "quality/date=*/quality_results.parquet",
    DAILY_CONSUMPTION: "daily_consumption/date=*/daily_consumption.parquet",
    # A pattern, not a name: DuckDB's glob() of an s3:// name without a wildcard answers the name
    # without asking whether the object exists.
    SUPPLY_POINTS: "supply_points.parque[t]",
}


def _files(connection: duckdb.DuckDBPyConnection, pattern: str) -> list[str]:
    return [
        name for (name,) in connection.execute("SELECT file FROM glob(?)", [pattern]).fetchall()
    ]


def _import_table(connection: duckdb.DuckDBPyConnection, table: Table, files: list[str]) -> int:
    """Insert the files' rows into the table; columns the files lack read NULL."""
    source = f"read_parquet([{', '.join(literal(name) for name in files)}], union_by_name = true)"
    present = {row[0] for row in connection.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    selected = ", ".join(
        identifier(name) if name in present else f"NULL AS {identifier(name)}"
        for name in table.schema.names
    )
    name = identifier(table.name)
    # Days (or, for the supply points, a table) the lake already holds are newer than the files.
    keep_newer = (
        f"local_date NOT IN (SELECT DISTINCT local_date FROM {name})"
        if table.daily
        else f"NOT EXISTS (SELECT 1 FROM {name})"
    )
    before = connection.execute(f"SELECT count(*) FROM {name}").fetchone()
    connection.execute(
        f"INSERT INTO {name} ({', '.join(identifier(n) for n in table.schema.names)}) "
        f"SELECT {selected} FROM {source} WHERE {keep_newer}"
    )
    after = connection.execute(f"SELECT count(*) FROM {name}").fetchone()
    return int(after[0] if after else 0) - int(before[0] if before else 0)


def _pending(root: DataRoot) -> dict[Table, list[str]]:
    with lake.session(root) as connection:
        found = {
            table: _files(connection, f"{root}/{pattern}") for table, pattern in OLD_FILES.items()
        }
        if not any(found.values()):
            return {}
        try:
            done = connection.execute(f"SELECT table_name FROM {_RECORD_TABLE}").fetchall()
        except duckdb.CatalogException:
            done = []
    imported = {name for (name,) in done}
    return {table: files for table, files in found.items() if files and table.name not in imported}


def import_file_layout(root: DataRoot) -> dict[str, int]:
    """Import the older layout's files of the root once; the rows imported per table."""
    if not _pending(root):
        return {}

    def work(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS {_RECORD_TABLE} "
            "(table_name VARCHAR, files BIGINT, rows BIGINT, imported_at TIMESTAMPTZ)"
        )
        comment(connection, _RECORD_TABLE, ["table_name", "files", "rows", "imported_at"])
        done = {
            name
            for (name,) in connection.execute(f"SELECT table_name FROM {_RECORD_TABLE}").fetchall()
        }
        counts = {}
        for table, pattern in OLD_FILES.items():
            files = _files(connection, f"{root}/{pattern}")
            if not files or table.name in done:
                continue
            counts[table.name] = _import_table(connection, table, files)
            connection.execute(
                f"INSERT INTO {_RECORD_TABLE} VALUES (?, ?, ?, now())",
                [table.name, len(files), counts[table.name]],
            )
        return counts

    counts = lake.commit(root, work, "import of the files of the older layout").value
    log.warning(
        "imported the Parquet files of the older layout in %s into the lake (%s rows); they "
        "are left in place: remove measurements/, quality/, daily_consumption/, "
        "supply_points.parquet, warehouse.duckdb and _views/ once you no longer need them",
        root,
        ", ".join(f"{name}: {rows}" for name, rows in counts.items()) or "none new",
    )
    return counts
