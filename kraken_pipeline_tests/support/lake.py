"""Reading and deliberately spoiling a test data root's lake, as an analyst or a fault would."""

from __future__ import annotations

from datetime import date

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


def lake_rows(root: DataRoot, table: str, day: date | None = None) -> list[dict[str, object]]:
    """The rows of a lake table (of one local day), read as an analyst reads them."""
    with warehouse.connect(root) as connection:
        where, parameters = ("WHERE local_date = ?", [day]) if day else ("", [])
        result = connection.execute(f"SELECT * FROM {table} {where}", parameters)  # noqa: S608
        return result.to_arrow_table().to_pylist()


def stored_days_of(root: DataRoot, table: str) -> set[date]:
    """The local days a daily lake table holds rows for."""
    return {row["local_date"] for row in lake_rows(root, table)}  # type: ignore[misc]
