"""The DuckDB views: columns before any data, any working directory, daily totals, locking.

DuckDB lets one process write a database file or many read it. These tests hold a real read-only
connection in a second process, as an analyst's notebook would, while days are written.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from kraken_pipeline import storage, warehouse
from kraken_pipeline.schema import MEASUREMENTS_SCHEMA
from kraken_pipeline.supply_points import load_supply_points
from kraken_pipeline_tests.test_storage import (
    EXAMPLE_CSV,
    TZ,
    day_tables,
    fetch_log_table,
    measurements_table,
)

SPRING_FORWARD = date(2026, 3, 29)  # 46 half-hours in London
FALL_BACK = date(2026, 10, 25)  # 50 half-hours in London
VIEWS = {"measurements", "fetch_log", "supply_points", "quality_results", "daily_totals"}


def query(root: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(storage.warehouse_path(root)), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def warehouse_info(root: Path) -> tuple[object, ...]:
    rows = query(root, "SELECT timezone, data_root, refreshed_at FROM warehouse_info")
    return rows[0]


def test_every_view_answers_before_any_day_is_written(tmp_path: Path) -> None:
    database = warehouse.ensure_warehouse(tmp_path, TZ)

    assert database == tmp_path / "warehouse.duckdb"
    for view in VIEWS:
        assert query(tmp_path, f"SELECT count(*) FROM {view}") == [(0,)]  # noqa: S608
    columns = query(tmp_path, "SELECT column_name, column_type FROM (DESCRIBE measurements)")
    assert [name for name, _ in columns] == MEASUREMENTS_SCHEMA.names
    assert dict(columns)["value"] == "DECIMAL(38,18)"
    assert dict(columns)["interval_start"] == "TIMESTAMP WITH TIME ZONE"


def test_new_and_rewritten_days_show_up_without_the_views_being_rewritten(
    tmp_path: Path,
) -> None:
    storage.write_day(tmp_path, SPRING_FORWARD, *day_tables(SPRING_FORWARD, ["a", "b", "c"]))
    warehouse.ensure_warehouse(tmp_path, TZ)
    refreshed_at = warehouse_info(tmp_path)[2]

    storage.write_day(tmp_path, SPRING_FORWARD, *day_tables(SPRING_FORWARD, ["a"]))
    storage.write_day(tmp_path, FALL_BACK, *day_tables(FALL_BACK, ["a", "b"]))
    storage.ensure_warehouse(tmp_path, TZ)

    rows = "SELECT local_date, count(*) FROM measurements GROUP BY ALL ORDER BY ALL"
    assert query(tmp_path, rows) == [(SPRING_FORWARD, 46), (FALL_BACK, 100)]
    assert query(tmp_path, "SELECT count(*) FROM fetch_log") == [(3,)]
    assert warehouse_info(tmp_path)[2] == refreshed_at


def test_the_views_work_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    storage.write_day(Path("data"), SPRING_FORWARD, *day_tables(SPRING_FORWARD, ["a"]))
    storage.write_supply_points(Path("data"), load_supply_points(EXAMPLE_CSV))
    warehouse.ensure_warehouse(Path("data"), TZ)
    elsewhere = tmp_path / "notebooks"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    root = tmp_path / "data"
    assert query(root, "SELECT count(*) FROM measurements") == [(46,)]
    assert query(root, "SELECT count(*) FROM fetch_log") == [(1,)]
    assert query(root, "SELECT count(*) FROM supply_points") == [(7,)]
    assert warehouse_info(root)[1] == str(root)


def test_moving_the_data_root_repoints_the_views(tmp_path: Path) -> None:
    old_root, new_root = tmp_path / "old", tmp_path / "new"
    storage.write_day(old_root, SPRING_FORWARD, *day_tables(SPRING_FORWARD, ["a"]))
    warehouse.ensure_warehouse(old_root, TZ)
    old_root.rename(new_root)
    with pytest.raises(duckdb.Error):
        query(new_root, "SELECT count(*) FROM measurements")  # still reading the old place

    warehouse.ensure_warehouse(new_root, TZ)

    assert query(new_root, "SELECT count(*) FROM measurements") == [(46,)]


def test_an_unknown_time_zone_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'Europe/Londn'"):
        warehouse.ensure_warehouse(tmp_path, "Europe/Londn")


def test_a_link_left_by_a_killed_publisher_is_removed_by_the_next(tmp_path: Path) -> None:
    storage.write_day(tmp_path, SPRING_FORWARD, *day_tables(SPRING_FORWARD, ["a"]))
    warehouse.ensure_warehouse(tmp_path, TZ)
    published = next((tmp_path / warehouse.VIEWS_DIRECTORY / "measurements").glob("*"))
    leftover = published / ".measurements.parquet.0123.tmp"
    leftover.hardlink_to(storage.measurements_path(tmp_path, SPRING_FORWARD))

    storage.write_day(tmp_path, SPRING_FORWARD, *day_tables(SPRING_FORWARD, ["a", "b"]))
    warehouse.ensure_warehouse(tmp_path, TZ)

    assert not leftover.exists()
    assert query(tmp_path, "SELECT count(*) FROM measurements") == [(92,)]


# --- daily totals ------------------------------------------------------------------------------


def write_clock_change_days(root: Path) -> None:
    """Spring: one complete (half estimates), one short 15-minute, one failed. Autumn: one
    complete, one measured but absent from the fetch log (its expectation comes from the zone).
    """
    storage.write_supply_points(root, load_supply_points(EXAMPLE_CSV))
    spring = pa.concat_tables(
        [
            measurements_table(SPRING_FORWARD, ["house-import"], estimates=23),
            measurements_table(SPRING_FORWARD, ["flat-import-15min"], interval_seconds=900)[:90],
        ]
    )
    spring_log = pa.concat_tables(
        [
            fetch_log_table(SPRING_FORWARD, {"house-import": 46}, expected=46),
            fetch_log_table(SPRING_FORWARD, {"flat-import-15min": 90}, expected=92),
            fetch_log_table(SPRING_FORWARD, {"house-gas": 0}, expected=46, failed=["house-gas"]),
        ]
    )
    storage.write_day(root, SPRING_FORWARD, spring, spring_log)
    autumn = pa.concat_tables(
        [
            measurements_table(FALL_BACK, ["house-import"], estimates=5),
            measurements_table(FALL_BACK, ["flat-import-15min"], interval_seconds=900),
        ]
    )
    autumn_log = fetch_log_table(FALL_BACK, {"house-import": 50}, expected=50)
    storage.write_day(root, FALL_BACK, autumn, autumn_log)


def test_daily_totals_measure_completeness_against_46_and_50_interval_days(
    tmp_path: Path,
) -> None:
    write_clock_change_days(tmp_path)

    warehouse.ensure_warehouse(tmp_path, TZ)

    rows = query(
        tmp_path,
        "SELECT local_date, supply_point_id, intervals_received, intervals_expected, "
        "completeness, estimate_share, fetch_status FROM daily_totals ORDER BY ALL",
    )
    assert rows == [
        (SPRING_FORWARD, "flat-import-15min", 90, 92, 90 / 92, 0.0, "ok"),
        (SPRING_FORWARD, "house-gas", 0, 46, 0.0, None, "failed"),
        (SPRING_FORWARD, "house-import", 46, 46, 1.0, 0.5, "ok"),
        (FALL_BACK, "flat-import-15min", 100, 100, 1.0, 0.0, None),
        (FALL_BACK, "house-import", 50, 50, 1.0, 0.1, "ok"),
    ]


def test_daily_totals_add_values_exactly_in_their_unit(tmp_path: Path) -> None:
    write_clock_change_days(tmp_path)
    warehouse.ensure_warehouse(tmp_path, TZ)
    day = storage.read_day(tmp_path, FALL_BACK)
    assert day is not None
    house = [row["value"] for row in day.to_pylist() if row["supply_point_id"] == "house-import"]

    rows = query(
        tmp_path,
        "SELECT total_value, unit FROM daily_totals "
        "WHERE supply_point_id = 'house-import' AND local_date = DATE '2026-10-25'",
    )

    assert rows == [(sum(house, Decimal(0)), "kWh")]
    assert sum(house, Decimal(0)) == Decimal("7.475")  # 50 x 0.125 + (0 + ... + 49) / 1000


# --- an analyst holding the file -----------------------------------------------------------------

_ANALYST = """
import json, sys
from pathlib import Path
import duckdb

connection = duckdb.connect(sys.argv[1], read_only=True)
print("connected", flush=True)
stop, queries, errors, answers = Path(sys.argv[2]), 0, [], set()

def ask():
    rows = connection.execute("SELECT count(*), sum(value) FROM measurements").fetchone()
    totals = connection.execute(
        "SELECT count(*), sum(total_value), sum(intervals_expected) FROM daily_totals"
    ).fetchone()
    points = connection.execute(
        "SELECT count(*) FROM fetch_log JOIN supply_points USING (supply_point_id)"
    ).fetchone()
    return repr((rows, totals, points))

while not stop.exists():
    try:
        answers.add(ask())
        queries += 1
    except Exception as error:
        errors.append(repr(error))
answers.add(ask())
print(json.dumps({"queries": queries, "errors": errors[:5], "answers": sorted(answers)}))
"""


def start_analyst(database: Path, stop: Path) -> subprocess.Popen[str]:
    """A second process holding a read-only connection and querying every view in a loop."""
    analyst = subprocess.Popen(
        [sys.executable, "-c", _ANALYST, str(database), str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert analyst.stdout is not None
    assert analyst.stdout.readline().strip() == "connected"
    return analyst


@pytest.mark.timeout(120)
def test_an_analyst_holding_a_read_only_connection_never_fails_a_run_nor_sees_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root, stop = tmp_path / "data", tmp_path / "stop"
    storage.write_supply_points(root, load_supply_points(EXAMPLE_CSV))
    storage.write_day(root, SPRING_FORWARD, *day_tables(SPRING_FORWARD, ["house-import"]))
    warehouse.ensure_warehouse(root, TZ)
    analyst = start_analyst(storage.warehouse_path(root), stop)
    days = [date(2026, 3, 25) + timedelta(days=n) for n in range(8)]
    deadline, turn = time.monotonic() + 1.5, 0

    with caplog.at_level(logging.WARNING, logger="kraken_pipeline.warehouse"):
        while time.monotonic() < deadline or turn < len(days):
            day = days[turn % len(days)]
            ids = ["house-import", "house-export", "office-import"][: 1 + turn % 3]
            storage.write_day(root, day, *day_tables(day, ids))
            storage.ensure_warehouse(root, TZ if turn % 2 else "Europe/Dublin")
            turn += 1
    stop.touch()
    assert analyst.stdout is not None
    report = json.loads(analyst.stdout.readline())
    analyst.wait(timeout=30)

    assert report["errors"] == []
    assert report["queries"] > 10
    assert len(report["answers"]) == 1  # a stable picture: nothing changed under its queries
    assert "another process has the file open" in caplog.text
    warehouse.ensure_warehouse(root, "Europe/Dublin")  # the analyst has gone: it all lands
    written = sum(len(storage.read_day(root, day) or []) for day in storage.stored_days(root))
    assert query(root, "SELECT count(*) FROM measurements") == [(written,)]
    assert warehouse_info(root)[0] == "Europe/Dublin"


def test_with_nothing_new_a_run_leaves_a_connected_analyst_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage.write_day(tmp_path, SPRING_FORWARD, *day_tables(SPRING_FORWARD, ["a"]))
    warehouse.ensure_warehouse(tmp_path, TZ)
    database = str(storage.warehouse_path(tmp_path))

    # An open connection in this very process: opening the file for writing would be refused.
    with (
        duckdb.connect(database, read_only=True) as analyst,
        caplog.at_level(logging.WARNING, logger="kraken_pipeline.warehouse"),
    ):
        warehouse.ensure_warehouse(tmp_path, TZ)
        assert analyst.execute("SELECT count(*) FROM measurements").fetchall() == [(46,)]

    assert caplog.text == ""
