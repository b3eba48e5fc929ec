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
import pyarrow.parquet as pq
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
    # Within the same open months: closing a month moves the views' boundary (tested below).
    a_week_later = SPRING_FORWARD + timedelta(days=7)
    storage.write_day(tmp_path, a_week_later, *day_tables(a_week_later, ["a", "b"]))
    storage.ensure_warehouse(tmp_path, TZ)

    rows = "SELECT local_date, count(*) FROM measurements GROUP BY ALL ORDER BY ALL"
    assert query(tmp_path, rows) == [(SPRING_FORWARD, 46), (a_week_later, 96)]
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


# --- closed months, compacted ------------------------------------------------------------------

# Every third day from 2 January to 21 March: the newest day closes January and February.
WINTER = [date(2026, 1, 2) + timedelta(days=3 * n) for n in range(27)]
assert WINTER[2] == date(2026, 1, 8)
assert WINTER[-1] == date(2026, 3, 21)
IDS = ["house-import", "flat-import", "office-import"]
ANSWERS = {
    "rows per day": "SELECT local_date, count(*), sum(value) FROM {source} GROUP BY ALL",
    "monthly totals": "SELECT supply_point_id, date_trunc('month', local_date) AS month, "
    "sum(value), count(*) FROM {source} GROUP BY ALL",
    "one profile": "SELECT interval_start, value, local_date FROM {source} "
    "WHERE supply_point_id = 'flat-import'",
    "one closed month": "SELECT * FROM {source} "
    "WHERE local_date >= DATE '2026-02-01' AND local_date < DATE '2026-03-01'",
    "one open day": "SELECT * FROM {source} WHERE local_date = DATE '2026-03-21'",
}


def write_winter(root: Path) -> None:
    for number, day in enumerate(WINTER):
        storage.write_day(root, day, *day_tables(day, IDS, first_value=Decimal(number) / 8))


def monthly_file(root: Path, month: str) -> Path:
    return (
        root
        / warehouse.VIEWS_DIRECTORY
        / warehouse.MONTHLY_DIRECTORY
        / month
        / ("measurements.parquet")
    )


def answers_through_views(root: Path) -> dict[str, list[tuple[object, ...]]]:
    return {
        name: sorted(query(root, sql.format(source="measurements")))
        for name, sql in ANSWERS.items()
    }


def answers_from_stored_files(root: Path) -> dict[str, list[tuple[object, ...]]]:
    """The same questions asked of the stored daily files themselves, without the views."""
    files = storage.measurements_path(root, date(2000, 1, 1))
    every_day = Path(str(files)).parent.with_name("date=*") / files.name
    source = f"read_parquet('{every_day}', hive_partitioning = false)"
    with duckdb.connect() as connection:
        return {
            name: sorted(connection.execute(sql.format(source=source)).fetchall())
            for name, sql in ANSWERS.items()
        }


def identity(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_ino, status.st_mtime_ns


def test_a_month_is_closed_once_it_ended_more_than_the_settling_days_before_the_newest_day() -> (
    None
):
    assert warehouse.SETTLING_DAYS == 14
    assert warehouse.first_open_month(date(2026, 3, 14)) == date(2026, 2, 1)  # February still open
    assert warehouse.first_open_month(date(2026, 3, 15)) == date(2026, 3, 1)  # February closed
    assert warehouse.first_open_month(date(2026, 1, 10)) == date(2025, 12, 1)


def test_closed_months_are_read_from_monthly_files_with_the_answers_of_the_daily_files(
    tmp_path: Path,
) -> None:
    write_winter(tmp_path)

    warehouse.ensure_warehouse(tmp_path, TZ)

    assert answers_through_views(tmp_path) == answers_from_stored_files(tmp_path)
    assert monthly_file(tmp_path, "month=2026-01").is_file()
    assert monthly_file(tmp_path, "month=2026-02").is_file()
    assert not monthly_file(tmp_path, "month=2026-03").exists()  # March is still open
    february = pq.read_table(monthly_file(tmp_path, "month=2026-02"))
    assert february.num_rows == 48 * len(IDS) * sum(day.month == 2 for day in WINTER)
    ids = february["supply_point_id"].to_pylist()
    assert ids == sorted(ids)
    columns = query(tmp_path, "SELECT column_name, column_type FROM (DESCRIBE measurements)")
    assert [name for name, _ in columns] == MEASUREMENTS_SCHEMA.names
    assert dict(columns)["local_date"] == "DATE"
    assert dict(columns)["value"] == "DECIMAL(38,18)"


def test_a_day_rerun_in_a_compacted_month_replaces_its_old_values_after_the_refresh(
    tmp_path: Path,
) -> None:
    write_winter(tmp_path)
    warehouse.ensure_warehouse(tmp_path, TZ)
    february = identity(monthly_file(tmp_path, "month=2026-02"))
    rerun = WINTER[2]  # 8 January
    one_value = (
        "SELECT value FROM measurements WHERE supply_point_id = 'flat-import' "
        "AND local_date = DATE '2026-01-08' ORDER BY interval_start LIMIT 1"
    )
    assert query(tmp_path, one_value) == [(Decimal("0.25"),)]

    storage.write_day(tmp_path, rerun, *day_tables(rerun, IDS, first_value=Decimal("7.5")))
    warehouse.ensure_warehouse(tmp_path, TZ)

    assert query(tmp_path, one_value) == [(Decimal("7.5"),)]  # the new value, and only it
    assert query(tmp_path, "SELECT count(*) FROM measurements WHERE value = 0.25") == [(0,)]
    assert answers_through_views(tmp_path) == answers_from_stored_files(tmp_path)
    assert identity(monthly_file(tmp_path, "month=2026-02")) == february  # only January redone


def test_a_month_is_counted_once_while_its_monthly_file_waits_for_the_views(
    tmp_path: Path,
) -> None:
    """A refresh killed after compacting a newly closed month, before the views moved their
    boundary, leaves that month's file beside its daily links: the views read one of them."""
    write_winter(tmp_path)
    warehouse.ensure_warehouse(tmp_path, TZ)
    march = [storage.measurements_path(tmp_path, day) for day in WINTER if day.month == 3]
    early = monthly_file(tmp_path, "month=2026-03")
    early.parent.mkdir(parents=True)
    pq.write_table(pa.concat_tables(pq.read_table(path) for path in march), early)

    assert answers_through_views(tmp_path) == answers_from_stored_files(tmp_path)

    later = date(2026, 4, 20)  # closes March: its monthly file is rebuilt, then read instead
    storage.write_day(tmp_path, later, *day_tables(later, IDS))
    warehouse.ensure_warehouse(tmp_path, TZ)

    assert answers_through_views(tmp_path) == answers_from_stored_files(tmp_path)
    counts = "SELECT month(local_date), count(*) FROM measurements GROUP BY ALL ORDER BY ALL"
    per_month = [sum(day.month == month for day in WINTER) * 48 * len(IDS) for month in (1, 2, 3)]
    assert query(tmp_path, counts) == [
        (1, per_month[0]),
        (2, per_month[1]),
        (3, per_month[2]),
        (4, 48 * len(IDS)),
    ]


def test_a_refresh_with_nothing_new_compacts_nothing_and_a_lost_marker_redoes_one_month(
    tmp_path: Path,
) -> None:
    write_winter(tmp_path)
    warehouse.ensure_warehouse(tmp_path, TZ)
    january, february = (monthly_file(tmp_path, f"month=2026-0{n}") for n in (1, 2))
    before = identity(january), identity(february), warehouse_info(tmp_path)[2]

    warehouse.ensure_warehouse(tmp_path, TZ)

    assert (identity(january), identity(february), warehouse_info(tmp_path)[2]) == before
    # As if a refresh was killed after writing January's file, before marking what it holds.
    for marker in january.parent.glob(".built-from-*"):
        marker.unlink()
    warehouse.ensure_warehouse(tmp_path, TZ)
    assert identity(january) != before[0]
    assert identity(february) == before[1]
    assert answers_through_views(tmp_path) == answers_from_stored_files(tmp_path)
