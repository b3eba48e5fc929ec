"""Running the real Dagster job for resilience tests, and judging what it left on disk.

The job runs in process (as `kraken-pipeline run` does, through runner.run_range) against an
emulator over loopback HTTP. What a run left behind is judged against the emulator's ground
truth, so "equal to a clean run" needs no second run, and against digests of what an analyst
reads of a day (the lake's Parquet files for it and its rows), so "intact" means byte for byte.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from kraken_pipeline import storage, warehouse
from kraken_pipeline.emulator import Emulator
from kraken_pipeline.local_days import days_between
from kraken_pipeline.supply_points import SupplyPoint
from kraken_pipeline.warehouse import lake
from kraken_pipeline_tests.support.lake import Analyst
from kraken_pipeline_tests.support.pipeline import (
    EXAMPLE_CSV,
    TIMEZONE,
    PipelineHarness,
    Series,
    expected_series,
    stored_values,
)

# The in-process pipeline is the one the other pipeline tests use; these names read better here.
Pipeline = PipelineHarness
stored_series = stored_values
DAY_TABLES = ("measurements", "fetch_log")  # replaced together, in one commit per day
__all__ = ["EXAMPLE_CSV", "TIMEZONE", "Pipeline", "Series", "expected_series", "stored_series"]


def assert_days_hold_the_emulators_data(
    root: Path, emulator: Emulator, points: tuple[SupplyPoint, ...], first: date, last: date
) -> None:
    """Every day first..last holds exactly the emulator's values, every fetch ok, one row each."""
    for day in days_between(first, last):
        table = storage.read_day(root, day)
        fetch_log = storage.read_fetch_log(root, day)
        assert table is not None, f"{day} was not written"
        assert fetch_log is not None, f"{day} has no fetch log"
        assert set(fetch_log["status"].to_pylist()) == {"ok"}, fetch_log.to_pylist()
        for point in points:
            assert stored_series(table, point.supply_point_id) == expected_series(
                emulator, point, day
            ), f"{point.supply_point_id} on {day}"
        assert table.num_rows == len(set(zip(*_keys(table), strict=True))), f"duplicates {day}"


def _keys(table: pa.Table) -> tuple[list[Any], list[Any]]:
    return table["supply_point_id"].to_pylist(), table["interval_start"].to_pylist()


def landed(root: Path, day: date) -> pa.Table:
    """The stored measurements of a day that must have been landed."""
    table = storage.read_day(root, day)
    assert table is not None, f"{day} was not written"
    return table


def without_fetch_times(table: pa.Table) -> pa.Table:
    """A stored table minus fetched_at, the one column two equal runs differ in."""
    return table.drop_columns(["fetched_at"])


def day_digests(root: Path, day: date, analyst: Analyst | None = None) -> dict[str, str]:
    """What an analyst reads of one landed day, byte for byte: equal means the day is untouched.

    For the measurements and the fetch log: the sha256 of every Parquet file the lake's latest
    snapshot reads for the day (by path), and of the day's rows as the analyst's query answers
    them (fetched_at included, so even an identical re-fetch counts as a change). Read on the
    analyst's held connection, or on a connection of its own.
    """
    if analyst is not None:
        return _day_digests(analyst.connection(root), root, day)
    with warehouse.connect(root) as connection:
        return _day_digests(connection, root, day)


def _day_digests(connection: duckdb.DuckDBPyConnection, root: Path, day: date) -> dict[str, str]:
    found: dict[str, str] = {}
    for table in DAY_TABLES:
        of_the_day = f"FROM {table} WHERE local_date = ?"  # our table names, no input
        files = connection.execute(f"SELECT DISTINCT filename {of_the_day}", [day])
        for (name,) in sorted(files.fetchall()):
            found[str(Path(name).relative_to(root))] = _sha256(Path(name).read_bytes())
        rows = connection.execute(f"SELECT * {of_the_day} ORDER BY ALL", [day]).fetchall()
        found[f"{table} rows"] = _sha256(repr(rows).encode())
    return found


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def orphaned_files(root: Path) -> list[Path]:
    """Data files under the lake that no snapshot references (a killed writer's, never read).

    DuckLake's own dry run of its orphan clean-up names them: its notion, not ours.
    """
    with lake.session(root) as connection:
        rows = connection.execute(
            "SELECT path FROM ducklake_delete_orphaned_files"
            "(current_database(), dry_run => true, cleanup_all => true)",
        ).fetchall()
    return sorted(Path(path) for (path,) in rows)
