"""The analysts' lake: its tables and views, connections held across runs, history, upkeep.

Real DuckLakes under tmp_path. The analyst is a second process holding one read-only
connection from `warehouse.connect`, as a notebook or a dashboard would, while days land.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import ExecuteInProcessResult, materialize

from kraken_pipeline import storage, warehouse
from kraken_pipeline.defs.lake_upkeep import lake_maintenance
from kraken_pipeline.defs.resources import StorageResource
from kraken_pipeline.schema import MEASUREMENTS_SCHEMA
from kraken_pipeline.supply_points import load_supply_points
from kraken_pipeline.warehouse import lake
from kraken_pipeline.warehouse.maintenance import maintain
from kraken_pipeline_tests.support.day_tables import (
    EXAMPLE_CSV,
    TZ,
    day_tables,
    fetch_log_table,
    measurements_table,
)
from kraken_pipeline_tests.support.lake import Analyst, seed_defined_lake

SPRING_FORWARD = date(2026, 3, 29)  # 46 half-hours in London
FALL_BACK = date(2026, 10, 25)  # 50 half-hours in London
TABLES = {"measurements", "fetch_log", "supply_points", "quality_results", "daily_consumption"}
VIEWS = {"daily_totals", "restatements"}
FILE_LAYOUT_ROOT = Path(__file__).parents[1] / "data" / "file_layout_root"


@pytest.fixture(scope="module")
def defined(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new root whose lake `ensure_warehouse` defined, and nothing more: read, never written."""
    root = tmp_path_factory.mktemp("defined")
    warehouse.ensure_warehouse(root, TZ)
    return root


def test_every_table_and_view_answers_before_any_day_is_written(
    defined: Path, analyst: Analyst
) -> None:
    assert (defined / "catalog.sqlite").is_file()
    for name in TABLES | VIEWS:
        assert analyst.query(defined, f"SELECT count(*) FROM {name}") == [(0,)]  # noqa: S608
    columns = analyst.query(defined, "SELECT column_name, column_type FROM (DESCRIBE measurements)")
    assert [name for name, _ in columns] == MEASUREMENTS_SCHEMA.names
    assert dict(columns)["value"] == "DECIMAL(38,18)"
    assert dict(columns)["interval_start"] == "TIMESTAMP WITH TIME ZONE"


def test_every_table_view_and_column_carries_a_comment(defined: Path, analyst: Analyst) -> None:
    described = analyst.query(
        defined,
        "SELECT table_name, comment FROM duckdb_tables() WHERE database_name = 'kraken' "
        "UNION ALL SELECT view_name, comment FROM duckdb_views() WHERE database_name = 'kraken'",
    )
    uncommented = analyst.query(
        defined,
        "SELECT table_name || '.' || column_name FROM duckdb_columns() "
        "WHERE database_name = 'kraken' AND comment IS NULL AND table_name IN "
        "(SELECT table_name FROM duckdb_tables() WHERE database_name = 'kraken')",
    )
    comments = dict(described)
    assert set(comments) >= TABLES | VIEWS
    assert all(comments[name] for name in TABLES | VIEWS)
    assert "intervals_expected:" in str(comments["daily_totals"])  # a view lists its columns
    assert uncommented == []


def test_a_lake_opens_from_any_working_directory_and_after_the_root_is_moved(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    analyst: Analyst,
) -> None:
    monkeypatch.chdir(tmp_path)
    storage.write_day(Path("data"), SPRING_FORWARD, *day_tables(SPRING_FORWARD, ["a"]))
    storage.write_supply_points(Path("data"), load_supply_points(EXAMPLE_CSV))
    elsewhere = tmp_path / "notebooks"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    moved = tmp_path / "mounted" / "elsewhere"
    moved.parent.mkdir()

    assert analyst.query(tmp_path / "data", "SELECT count(*) FROM measurements") == [(46,)]
    analyst.close()
    lake.forget_connections()  # the pipeline's own connections must not outlive the move
    shutil.move(tmp_path / "data", moved)

    assert analyst.query(moved, "SELECT count(*) FROM measurements") == [(46,)]
    assert analyst.query(moved, "SELECT count(*) FROM supply_points") == [(7,)]
    storage.write_day(moved, FALL_BACK, *day_tables(FALL_BACK, ["a"]))
    assert analyst.query(moved, "SELECT count(*) FROM measurements") == [(96,)]
    assert not (tmp_path / "data").exists()


def test_connect_defaults_to_the_configured_root_and_names_a_missing_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.write_day(tmp_path / "configured", SPRING_FORWARD, *day_tables(SPRING_FORWARD, ["a"]))
    monkeypatch.setenv("KRAKEN_PIPELINE_DATA", str(tmp_path / "configured"))

    with warehouse.connect() as connection:
        assert connection.execute("SELECT count(*) FROM measurements").fetchall() == [(46,)]
        with pytest.raises(duckdb.Error, match="read-only"):
            connection.execute("DELETE FROM measurements")
    monkeypatch.delenv("KRAKEN_PIPELINE_DATA")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(lake.LakeError, match=r"no warehouse at .*data: run `kraken-pipeline run`"):
        warehouse.connect()


def test_an_unknown_time_zone_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'Europe/Londn'"):
        warehouse.ensure_warehouse(tmp_path, "Europe/Londn")


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
    analyst: Analyst,
) -> None:
    seed_defined_lake(tmp_path, TZ)
    write_clock_change_days(tmp_path)
    warehouse.ensure_warehouse(tmp_path, TZ)

    rows = analyst.query(
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


def test_daily_totals_add_values_exactly_in_their_unit(tmp_path: Path, analyst: Analyst) -> None:
    seed_defined_lake(tmp_path, TZ)
    write_clock_change_days(tmp_path)
    warehouse.ensure_warehouse(tmp_path, TZ)
    day = storage.read_day(tmp_path, FALL_BACK)
    assert day is not None
    house = [row["value"] for row in day.to_pylist() if row["supply_point_id"] == "house-import"]

    rows = analyst.query(
        tmp_path,
        "SELECT total_value, unit FROM daily_totals "
        "WHERE supply_point_id = 'house-import' AND local_date = DATE '2026-10-25'",
    )

    assert rows == [(sum(house, Decimal(0)), "kWh")]
    assert sum(house, Decimal(0)) == Decimal("7.475")  # 50 x 0.125 + (0 + ... + 49) / 1000


# --- an analyst holding a connection -----------------------------------------------------------

_ANALYST = """
import json, sys
from pathlib import Path
from kraken_pipeline import warehouse

connection = warehouse.connect(sys.argv[1])
print("connected", flush=True)
stop, errors, answers = Path(sys.argv[2]), [], []

def ask():
    # One query reads one snapshot: its parts agree with each other.
    return list(connection.execute(
        "SELECT (SELECT count(*) FROM measurements), "
        "(SELECT count(DISTINCT local_date) FROM measurements), "
        "(SELECT count(*) FROM fetch_log), (SELECT count(*) FROM daily_totals)"
    ).fetchone())

while not stop.exists():
    try:
        answers.append(ask())
    except Exception as error:
        errors.append(repr(error))
answers.append(ask())
print(json.dumps({"errors": errors[:5], "answers": answers}))
"""


def start_analyst(root: Path, stop: Path) -> subprocess.Popen[str]:
    """A second process holding one read-only connection and querying in a loop."""
    analyst = subprocess.Popen(
        [sys.executable, "-c", _ANALYST, str(root), str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert analyst.stdout is not None
    assert analyst.stdout.readline().strip() == "connected"
    return analyst


@pytest.mark.slow  # starts a second process, the analyst
@pytest.mark.timeout(180)
def test_a_connection_held_open_sees_every_day_as_it_lands_and_no_query_fails(
    tmp_path: Path,
) -> None:
    root, stop = tmp_path / "data", tmp_path / "stop"
    seed_defined_lake(root, TZ)
    storage.write_supply_points(root, load_supply_points(EXAMPLE_CSV))
    storage.write_day(root, SPRING_FORWARD, *day_tables(SPRING_FORWARD, ["house-import"]))
    warehouse.ensure_warehouse(root, TZ)
    analyst = start_analyst(root, stop)
    days = [date(2026, 4, 1) + timedelta(days=n) for n in range(8)]
    ids = ["house-import", "house-export", "office-import"]

    for day in days:
        storage.write_day(root, day, *day_tables(day, ids))
        time.sleep(0.2)  # let the analyst ask between two commits
    stop.touch()
    assert analyst.stdout is not None
    report = json.loads(analyst.stdout.readline())
    analyst.wait(timeout=30)

    assert report["errors"] == []
    # Each answer is one committed state: whole days only, every measured day logged.
    committed = [[46 + 144 * n, 1 + n, 1 + 3 * n, 1 + 3 * n] for n in range(len(days) + 1)]
    assert [answer for answer in report["answers"] if answer not in committed] == []
    seen = {answer[1] for answer in report["answers"]}
    assert len(seen) > len(days) // 2  # new days showed up on the same connection
    assert report["answers"][-1] == committed[-1]


# --- history: restatements and time travel ----------------------------------------------------


def restate(
    root: Path, day: date, supply_point_id: str, first_value: Decimal, estimates: int
) -> None:
    table = measurements_table(day, [supply_point_id], first_value=first_value, estimates=estimates)
    log = fetch_log_table(day, {supply_point_id: table.num_rows}, expected=table.num_rows)
    storage.write_day(root, day, table, log, only_supply_points=[supply_point_id])


def test_restatements_list_the_intervals_a_run_changed_with_old_and_new_values(
    tmp_path: Path,
    analyst: Analyst,
) -> None:
    day = date(2026, 4, 2)
    seed_defined_lake(tmp_path, TZ)
    warehouse.ensure_warehouse(tmp_path, TZ)
    storage.write_day(tmp_path, day, *day_tables(day, ["a", "b"]))
    restate(tmp_path, day, "a", Decimal("0.125"), estimates=0)  # the same values again
    assert analyst.query(tmp_path, "SELECT count(*) FROM restatements") == [(0,)]
    warehouse.ensure_warehouse(tmp_path, TZ)

    restate(tmp_path, day, "a", Decimal("0.5"), estimates=2)

    rows = analyst.query(
        tmp_path,
        "SELECT supply_point_id, interval_start, old_value, new_value, old_quality, new_quality "
        "FROM restatements ORDER BY interval_start LIMIT 3",
    )
    counted = analyst.query(
        tmp_path, "SELECT count(*), count(DISTINCT supply_point_id) FROM restatements"
    )
    first = datetime(2026, 4, 1, 23, 0, tzinfo=UTC)  # local midnight in summer time
    assert counted == [(48, 1)]
    assert rows[0] == ("a", first, Decimal("0.125"), Decimal("0.5"), "ACTUAL", "ESTIMATE")
    assert rows[2][4:] == ("ACTUAL", "ACTUAL")


def test_time_travel_answers_what_was_stored_at_an_earlier_snapshot_or_instant(
    tmp_path: Path,
    analyst: Analyst,
) -> None:
    day = date(2026, 4, 3)
    seed_defined_lake(tmp_path, TZ)
    first = storage.write_day(tmp_path, day, *day_tables(day, ["a"]))
    time.sleep(0.05)
    between = datetime.now(UTC)
    time.sleep(0.05)
    restate(tmp_path, day, "a", Decimal(7), estimates=0)

    total = "SELECT sum(value) FROM measurements{at} WHERE local_date = ?"
    before_by_version = analyst.query(
        tmp_path, total.format(at=f" AT (VERSION => {first.snapshot})"), [day]
    )
    before_by_time = analyst.query(
        tmp_path, total.format(at=" AT (TIMESTAMP => ?)"), [between, day]
    )
    now = analyst.query(tmp_path, total.format(at=""), [day])

    stored_first = sum(measurements_table(day, ["a"])["value"].to_pylist(), Decimal(0))
    assert before_by_version == before_by_time == [(stored_first,)]
    assert now != before_by_version


# --- maintenance -------------------------------------------------------------------------------


def test_maintenance_merges_files_and_keeps_every_snapshot_inside_the_retention_readable(
    tmp_path: Path,
    analyst: Analyst,
) -> None:
    seed_defined_lake(tmp_path, TZ)
    warehouse.ensure_warehouse(tmp_path, TZ)
    days = [date(2026, 4, 1) + timedelta(days=n) for n in range(4)]
    for turn in range(3):
        for day in days:
            storage.write_day(tmp_path, day, *day_tables(day, ["a"], first_value=Decimal(turn)))
    cutoff = datetime.now(UTC)
    time.sleep(0.05)
    retained = storage.write_day(tmp_path, days[0], *day_tables(days[0], ["a", "b"]))
    storage.write_day(tmp_path, days[0], *day_tables(days[0], ["b"]))
    files_before = sorted((tmp_path / "lake").rglob("*.parquet"))

    done = maintain(tmp_path, now=cutoff + timedelta(days=30), retention=timedelta(days=30))

    assert done.snapshots_expired > 0
    assert done.files_deleted > 0
    assert len(sorted((tmp_path / "lake").rglob("*.parquet"))) < len(files_before)
    at_retained = "SELECT count(*) FROM measurements AT (VERSION => ?)"
    assert analyst.query(tmp_path, at_retained, [retained.snapshot]) == [(48 * 2 + 48 * 3,)]
    assert analyst.query(tmp_path, "SELECT count(*) FROM measurements") == [(48 + 48 * 3,)]
    with pytest.raises(duckdb.Error, match="No snapshot found"):
        analyst.query(tmp_path, "SELECT count(*) FROM measurements AT (VERSION => 3)")  # expired
    # The change feed still answers from the oldest snapshot kept.
    restate(tmp_path, days[0], "b", Decimal(3), estimates=0)
    assert analyst.query(tmp_path, "SELECT DISTINCT supply_point_id FROM restatements") == [("b",)]


def test_maintenance_refuses_a_negative_retention(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        maintain(tmp_path, now=datetime.now(UTC), retention=timedelta(days=-1))


# --- a data root of the older file layout ------------------------------------------------------


def old_files(root: Path, pattern: str) -> pa.Table:
    return pa.concat_tables(pq.read_table(path) for path in sorted(root.glob(pattern)))


def test_a_root_of_the_file_layout_is_imported_once_losing_nothing_and_its_files_kept(
    tmp_path: Path,
    analyst: Analyst,
) -> None:
    root = tmp_path / "data"
    shutil.copytree(FILE_LAYOUT_ROOT, root)
    expected = old_files(root, "measurements/date=*/measurements.parquet")
    expected_log = old_files(root, "measurements/date=*/fetch_log.parquet")
    quality = old_files(root, "quality/date=*/quality_results.parquet")
    files = sorted(str(path) for path in root.rglob("*.parquet") if "lake" not in path.parts)

    warehouse.ensure_warehouse(root, TZ)
    lake.forget_connections()
    warehouse.ensure_warehouse(root, TZ)  # a second process: nothing imported twice

    days = sorted(set(expected["local_date"].to_pylist()))
    stored = pa.concat_tables([storage.read_day(root, day) for day in days])  # type: ignore[misc]
    key = [("supply_point_id", "ascending"), ("interval_start", "ascending")]
    assert stored.sort_by(key).to_pylist() == expected.sort_by(key).to_pylist()
    assert analyst.query(root, "SELECT count(*) FROM fetch_log") == [(expected_log.num_rows,)]
    assert analyst.query(root, "SELECT count(*) FROM quality_results") == [(quality.num_rows,)]
    assert analyst.query(root, "SELECT count(*) FROM supply_points") == [(7,)]
    assert analyst.query(root, "SELECT count(*) FROM daily_totals") != [(0,)]
    assert sorted(str(p) for p in root.rglob("*.parquet") if "lake" not in p.parts) == files


def test_a_day_landed_after_the_import_replaces_the_imported_one(
    tmp_path: Path, analyst: Analyst
) -> None:
    root = tmp_path / "data"
    shutil.copytree(FILE_LAYOUT_ROOT, root)
    warehouse.ensure_warehouse(root, TZ)
    day = storage.stored_days(root)[0]

    storage.write_day(root, day, *day_tables(day, ["house-import"]))
    lake.forget_connections()
    warehouse.ensure_warehouse(root, TZ)

    assert analyst.query(
        root, "SELECT DISTINCT supply_point_id FROM measurements WHERE local_date = ?", [day]
    ) == [("house-import",)]


def test_the_maintenance_asset_expires_what_its_configured_retention_lets_go(
    tmp_path: Path,
    analyst: Analyst,
) -> None:
    seed_defined_lake(tmp_path, TZ)
    for value in (1, 2, 3):
        storage.write_day(tmp_path, FALL_BACK, *day_tables(FALL_BACK, ["a"], Decimal(value)))
    resources = {"storage_root": StorageResource(data_root=str(tmp_path))}

    kept = materialize([lake_maintenance], resources=resources)
    none_kept = materialize(
        [lake_maintenance],
        resources=resources,
        run_config={"ops": {"lake_maintenance": {"config": {"retention_days": 0}}}},
    )

    def expired(result: ExecuteInProcessResult) -> object:
        [materialization] = result.asset_materializations_for_node("lake_maintenance")
        return materialization.metadata["snapshots_expired"].value

    assert kept.success
    assert none_kept.success
    assert expired(kept) == 0  # everything is younger than the default 30 days
    assert expired(none_kept) > 0
    assert analyst.query(tmp_path, "SELECT count(*) FROM ducklake_snapshots('kraken')") == [(1,)]
    assert analyst.query(tmp_path, "SELECT sum(value) FROM measurements") == [
        (sum(measurements_table(FALL_BACK, ["a"], first_value=Decimal(3))["value"].to_pylist()),)
    ]
