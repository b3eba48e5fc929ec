"""The lake's days: replace, merge, validation, concurrent writers and crash safety.

A real DuckLake (SQLite catalog, Parquet files) under tmp_path; the crash test kills a real
writer process with SIGKILL.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from kraken_pipeline import storage, warehouse
from kraken_pipeline.schema import (
    MEASUREMENTS_SCHEMA,
    QUALITY_RESULTS_SCHEMA,
)
from kraken_pipeline.supply_points import load_supply_points
from kraken_pipeline.warehouse import lake
from kraken_pipeline.warehouse.maintenance import maintain
from kraken_pipeline_tests.support.day_tables import (
    DAY,
    EXAMPLE_CSV,
    FETCHED_AT,
    TZ,
    day_tables,
    fetch_log_table,
    measurements_table,
)
from kraken_pipeline_tests.support.lake import lake_rows, seed_defined_lake


@pytest.fixture(autouse=True)
def defined_lake(tmp_path: Path) -> None:
    """Each test's root starts with the lake's tables defined, as a first run leaves it: these
    tests are about days written into a lake, not about defining one (test_warehouse.py is)."""
    seed_defined_lake(tmp_path, TZ)


def rows_of(table: pa.Table, supply_point_id: str) -> pa.Table:
    return table.filter(pc.equal(table["supply_point_id"], supply_point_id))


# --- replace -----------------------------------------------------------------------------------


def test_writing_a_day_again_replaces_its_rows_and_fetch_log_whole(tmp_path: Path) -> None:
    first, first_log = day_tables(DAY, ["a", "b", "c"])
    second, second_log = day_tables(DAY, ["b"], first_value=Decimal("9.000000000000000001"))

    before = storage.write_day(tmp_path, DAY, first, first_log)
    written = storage.write_day(tmp_path, DAY, second, second_log)

    assert written.rows == 48
    assert written.snapshot > before.snapshot
    assert storage.read_day(tmp_path, DAY) == second
    assert storage.read_fetch_log(tmp_path, DAY) == second_log


def test_the_same_write_twice_stores_the_same_rows(tmp_path: Path) -> None:
    table, fetch_log = day_tables(DAY, ["a", "b"])

    storage.write_day(tmp_path, DAY, table, fetch_log)
    storage.write_day(tmp_path, DAY, table, fetch_log)

    assert storage.read_day(tmp_path, DAY) == table


def test_a_day_is_stored_as_sorted_parquet_files_in_its_local_date_folder(tmp_path: Path) -> None:
    table, fetch_log = day_tables(DAY, ["b", "a"])
    shuffled = table.take(random.Random(7).sample(range(table.num_rows), table.num_rows))

    storage.write_day(tmp_path, DAY, shuffled, fetch_log)

    files = sorted((tmp_path / "lake" / "main" / "measurements").rglob("*.parquet"))
    assert [path.parent.name for path in files] == [f"local_date={DAY}"]
    by_key = [("supply_point_id", "ascending"), ("interval_start", "ascending")]
    key = ["supply_point_id", "interval_start"]
    stored = pq.read_table(files[0]).select(key).to_pylist()
    assert stored == table.sort_by(by_key).select(key).to_pylist()
    assert pq.ParquetFile(files[0]).metadata.row_group(0).column(0).compression == "ZSTD"


def test_more_lakes_than_a_process_keeps_attached_each_read_back_their_own_day(
    tmp_path: Path,
) -> None:
    # Each root's day has its own supply points; the first roots are detached by the last.
    ids = {f"root{i}": [f"p{i}-{n}" for n in range(i % 3 + 1)] for i in range(10)}
    written = {name: day_tables(DAY, points) for name, points in ids.items()}
    for name, (table, fetch_log) in written.items():
        storage.write_day(tmp_path / name, DAY, table, fetch_log)

    for name, (table, fetch_log) in written.items():
        assert storage.read_day(tmp_path / name, DAY) == table, name
        assert storage.read_fetch_log(tmp_path / name, DAY) == fetch_log, name


def test_a_root_deleted_after_a_write_does_not_stop_the_next_root_from_opening(
    tmp_path: Path,
) -> None:
    # A new lake's first query misses a table, and DuckDB then searches every attached lake.
    table, fetch_log = day_tables(DAY, ["a"])
    storage.write_day(tmp_path / "removed", DAY, table, fetch_log)
    shutil.rmtree(tmp_path / "removed")

    storage.write_day(tmp_path / "next", DAY, table, fetch_log)

    assert storage.read_day(tmp_path / "next", DAY) == table


def test_a_day_of_more_rows_than_a_write_flush_is_one_file_of_full_row_groups(
    tmp_path: Path,
) -> None:
    ids = [f"sp-{number:04d}" for number in range(2_600)]  # 124,800 rows: one flush and a bit
    table, fetch_log = day_tables(DAY, ids)

    storage.write_day(tmp_path, DAY, table, fetch_log)

    files = list((tmp_path / "lake" / "main" / "measurements").rglob("*.parquet"))
    assert len(files) == 1
    metadata = pq.ParquetFile(files[0]).metadata
    sizes = [metadata.row_group(number).num_rows for number in range(metadata.num_row_groups)]
    assert sizes == [122_880, table.num_rows - 122_880]
    assert storage.read_day(tmp_path, DAY) == table


def test_an_interval_given_twice_is_refused_and_the_stored_day_kept(tmp_path: Path) -> None:
    table, fetch_log = day_tables(DAY, ["a"])
    storage.write_day(tmp_path, DAY, table, fetch_log)

    with pytest.raises(
        storage.InvalidTableError, match=r"1 interval\(s\) more than once, e\.g\. a"
    ):
        storage.write_day(tmp_path, DAY, pa.concat_tables([table, table.slice(3, 1)]), fetch_log)

    assert storage.read_day(tmp_path, DAY) == table


def test_an_interval_given_twice_in_sorted_rows_is_refused(tmp_path: Path) -> None:
    table, fetch_log = day_tables(DAY, ["a"])
    twice = pa.concat_tables([table.slice(0, 4), table.slice(3)])  # in order, the 4th twice

    with pytest.raises(
        storage.InvalidTableError, match=r"1 interval\(s\) more than once, e\.g\. a"
    ):
        storage.write_day(tmp_path, DAY, twice, fetch_log)


def test_a_day_without_rows_still_gets_a_file(tmp_path: Path) -> None:
    empty = MEASUREMENTS_SCHEMA.empty_table()

    storage.write_day(tmp_path, DAY, empty, fetch_log_table(DAY, {"a": 0}, failed=["a"]))

    assert storage.read_day(tmp_path, DAY) == empty
    assert storage.stored_days(tmp_path) == [DAY]
    assert storage.read_fetch_log(tmp_path, DAY)["status"].to_pylist() == ["failed"]  # type: ignore[index]


def test_a_day_never_written_reads_as_none_and_is_not_listed(tmp_path: Path) -> None:
    for day in (date(2026, 3, 11), DAY):
        storage.write_day(tmp_path, day, *day_tables(day, ["a"]))

    assert storage.read_day(tmp_path, date(2026, 3, 1)) is None
    assert storage.read_fetch_log(tmp_path, date(2026, 3, 1)) is None
    assert storage.stored_days(tmp_path) == [DAY, date(2026, 3, 11)]


# --- merge -------------------------------------------------------------------------------------


def test_a_subset_write_replaces_only_those_supply_points_and_keeps_the_others(
    tmp_path: Path,
) -> None:
    before, before_log = day_tables(DAY, ["a", "b", "c", "d"])
    storage.write_day(tmp_path, DAY, before, before_log)
    restated = measurements_table(DAY, ["b"], first_value=Decimal("5.5"), intervals=40)
    repair_log = fetch_log_table(DAY, {"b": 40, "c": 0}, failed=["c"])

    written = storage.write_day(tmp_path, DAY, restated, repair_log, only_supply_points={"b", "c"})

    after = storage.read_day(tmp_path, DAY)
    assert after is not None
    assert written.rows == after.num_rows == 48 + 40 + 48
    assert rows_of(after, "b") == restated
    assert rows_of(after, "c").num_rows == 0  # replaced by nothing: its rows are gone
    for untouched in ("a", "d"):
        assert rows_of(after, untouched) == rows_of(before, untouched)
    # b's new rows are stored after the others' (a second file), yet read back in key order
    assert after == after.sort_by(
        [("supply_point_id", "ascending"), ("interval_start", "ascending")]
    )
    after_log = storage.read_fetch_log(tmp_path, DAY)
    assert after_log is not None
    assert after_log["supply_point_id"].to_pylist() == ["a", "b", "c", "d"]
    assert after_log["status"].to_pylist() == ["ok", "ok", "failed", "ok"]
    assert rows_of(after_log, "a") == rows_of(before_log, "a")


def test_a_subset_write_to_a_new_day_stores_just_its_rows(tmp_path: Path) -> None:
    table, fetch_log = day_tables(DAY, ["a"])

    storage.write_day(tmp_path, DAY, table, fetch_log, only_supply_points=["a"])

    assert storage.read_day(tmp_path, DAY) == table


def test_a_subset_write_with_rows_of_other_supply_points_is_refused(tmp_path: Path) -> None:
    before, before_log = day_tables(DAY, ["a", "b"])
    storage.write_day(tmp_path, DAY, before, before_log)
    stray, stray_log = day_tables(DAY, ["a", "b"], first_value=Decimal(7))

    with pytest.raises(storage.InvalidTableError, match=r"\['b'\], outside the supply points"):
        storage.write_day(tmp_path, DAY, stray, stray_log, only_supply_points={"a"})

    assert storage.read_day(tmp_path, DAY) == before


def test_one_id_given_as_a_string_is_refused_rather_than_read_as_letters(
    tmp_path: Path,
) -> None:
    table, fetch_log = day_tables(DAY, ["ab"])

    with pytest.raises(TypeError, match="collection of ids"):
        storage.write_day(tmp_path, DAY, table, fetch_log, only_supply_points="ab")


def test_overlapping_subset_writers_of_one_day_lose_no_supply_point(tmp_path: Path) -> None:
    ids = [f"point-{n}" for n in range(6)]
    errors: list[BaseException] = []

    def repair(supply_point_id: str) -> None:
        try:
            for _ in range(4):
                table, fetch_log = day_tables(DAY, [supply_point_id])
                storage.write_day(
                    tmp_path, DAY, table, fetch_log, only_supply_points=[supply_point_id]
                )
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=repair, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert storage.read_day(tmp_path, DAY) == measurements_table(DAY, ids)


# --- validation --------------------------------------------------------------------------------


def test_lossless_differences_are_cast_to_the_contract(tmp_path: Path) -> None:
    table, fetch_log = day_tables(DAY, ["a"])
    loose = pa.table(
        {
            **{name: table[name] for name in reversed(table.column_names)},
            "supply_point_id": table["supply_point_id"].cast(pa.large_string()),
            "interval_start": table["interval_start"].cast(pa.timestamp("ns", tz=TZ)),
            "value": table["value"].cast(pa.decimal128(12, 3)),
            "device_id": pa.nulls(table.num_rows),
        }
    )

    storage.write_day(tmp_path, DAY, loose, fetch_log)

    stored = storage.read_day(tmp_path, DAY)
    assert stored is not None
    assert stored.schema.equals(MEASUREMENTS_SCHEMA)
    assert stored.drop_columns(["device_id"]) == table.drop_columns(["device_id"])


def with_column(table: pa.Table, column: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    return table.set_column(table.schema.get_field_index(column), column, values)


@pytest.mark.parametrize(
    ("column", "change", "message"),
    [
        ("value", lambda c: c.cast(pa.float64()), "'value' is double; it must be decimal128"),
        (
            "interval_start",
            lambda c: c.cast(pa.int64()).cast(pa.timestamp("us")),  # the same digits, no zone
            r"'interval_start' is timestamp\[us\]; it must be timestamp\[us, tz=UTC\]",
        ),
        ("local_date", lambda c: c.cast(pa.string()), "'local_date' is string; it must be date32"),
    ],
)
def test_a_column_whose_meaning_would_change_is_refused_and_nothing_is_written(
    tmp_path: Path,
    column: str,
    change: Callable[[pa.ChunkedArray], pa.ChunkedArray],
    message: str,
) -> None:
    table, fetch_log = day_tables(DAY, ["a"])

    with pytest.raises(storage.InvalidTableError, match=message):
        storage.write_day(
            tmp_path, DAY, with_column(table, column, change(table[column])), fetch_log
        )

    assert storage.read_day(tmp_path, DAY) is None


def test_a_value_or_instant_that_would_be_rounded_is_refused(tmp_path: Path) -> None:
    table, fetch_log = day_tables(DAY, ["a"])
    too_precise = pa.array([Decimal("1." + "0" * 18 + "1")] * table.num_rows, pa.decimal128(38, 19))
    in_nanoseconds = table["interval_start"].cast(pa.timestamp("ns", tz="UTC"))
    nanoseconds = pc.add(in_nanoseconds, pa.scalar(1, pa.duration("ns")))

    for column, values in (("value", too_precise), ("interval_start", nanoseconds)):
        bad = with_column(table, column, values)
        with pytest.raises(
            storage.InvalidTableError, match=rf"'{column}' cannot become .* without loss"
        ):
            storage.write_day(tmp_path, DAY, bad, fetch_log)


def test_missing_unknown_and_null_required_columns_are_named(tmp_path: Path) -> None:
    table, fetch_log = day_tables(DAY, ["a"])
    renamed = table.rename_columns(["meter" if n == "device_id" else n for n in table.column_names])
    null_unit = with_column(table, "unit", pa.nulls(48, pa.string()))

    with pytest.raises(
        storage.InvalidTableError, match=r"missing .*'device_id'.*unknown .*'meter'"
    ):
        storage.write_day(tmp_path, DAY, renamed, fetch_log)
    with pytest.raises(storage.InvalidTableError, match="'unit' has 48 null"):
        storage.write_day(tmp_path, DAY, null_unit, fetch_log)


def test_rows_of_another_day_are_refused(tmp_path: Path) -> None:
    table, fetch_log = day_tables(DAY, ["a"])
    next_day, _ = day_tables(DAY + timedelta(days=1), ["b"])

    with pytest.raises(
        storage.InvalidTableError, match=r"48 measurements row.*other than 2026-03-10"
    ):
        storage.write_day(tmp_path, DAY, pa.concat_tables([table, next_day]), fetch_log)
    with pytest.raises(storage.InvalidTableError, match=r"fetch log row.*other than"):
        storage.write_day(tmp_path, DAY + timedelta(days=1), next_day, fetch_log)


# --- the other tables --------------------------------------------------------------------------


def quality_table(day: date, passed: bool) -> pa.Table:
    row = {
        "local_date": day,
        "check_name": "complete_day",
        "supply_point_id": "a",
        "passed": passed,
        "severity": "WARN",
        "detail": None,
        "evaluated_at": FETCHED_AT,
    }
    return pa.Table.from_pylist([row], schema=QUALITY_RESULTS_SCHEMA)


def test_quality_results_of_a_day_are_replaced_whole(tmp_path: Path) -> None:
    storage.write_quality_results(tmp_path, DAY, quality_table(DAY, passed=False))

    storage.write_quality_results(tmp_path, DAY, quality_table(DAY, passed=True))

    stored = storage.read_quality_results(tmp_path, DAY)
    assert stored is not None
    assert stored["passed"].to_pylist() == [True]
    with pytest.raises(storage.InvalidTableError, match="other than"):
        storage.write_quality_results(tmp_path, DAY, quality_table(date(2026, 1, 1), passed=True))


def test_the_supply_points_of_the_run_are_stored_with_their_interval(tmp_path: Path) -> None:
    points = load_supply_points(EXAMPLE_CSV)

    storage.write_supply_points(tmp_path, points)

    stored = lake_rows(tmp_path, "supply_points")
    assert [row["supply_point_id"] for row in stored] == sorted(p.supply_point_id for p in points)
    flat = next(row for row in stored if row["supply_point_id"] == "flat-import-15min")
    assert (flat["interval_seconds"], flat["utility"], flat["reading_direction"]) == (
        900,
        "electricity",
        "CONSUMPTION",
    )


# --- crash safety ------------------------------------------------------------------------------

_WRITE_FOREVER = """
import sys
from datetime import date
from pathlib import Path
import pyarrow.parquet as pq
from kraken_pipeline.storage import write_day

root, day = Path(sys.argv[1]), date.fromisoformat(sys.argv[2])
tables = [pq.read_table(path) for path in sys.argv[3:5]]
fetch_log = pq.read_table(sys.argv[5])
write_day(root, day, tables[0], fetch_log)
print("ready", flush=True)
turn = 1
while True:
    write_day(root, day, tables[turn % 2], fetch_log)
    turn += 1
"""


def files_on_disk(root: Path) -> set[str]:
    """The data files of the day's two tables."""
    tables = [root / "lake" / "main" / name for name in ("measurements", "fetch_log")]
    return {str(path) for table in tables for path in table.rglob("*.parquet")}


def files_in_catalog(root: Path) -> set[str]:
    """The data files of the newest snapshot."""
    with warehouse.connect(root) as connection:
        rows = connection.execute(
            "SELECT data_file FROM ducklake_list_files('kraken', 'measurements') UNION ALL "
            "SELECT data_file FROM ducklake_list_files('kraken', 'fetch_log')"
        ).fetchall()
    return {str(Path(name)) for (name,) in rows}


def uncommitted_files(root: Path) -> list[tuple[str]]:
    """Data files no commit recorded, as DuckLake itself finds them (a dry run writes nothing)."""
    with lake.session(root) as connection:
        return connection.execute(
            "CALL ducklake_delete_orphaned_files(current_database(), dry_run => true, "
            "older_than => ?)",
            [datetime.now(UTC) + timedelta(minutes=1)],
        ).fetchall()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_writer_killed_mid_commit_leaves_the_old_or_the_new_day_and_the_next_write_works(
    tmp_path: Path,
) -> None:
    root = tmp_path / "data"
    ids = [f"point-{n:04d}" for n in range(2000)]
    old, fetch_log = day_tables(DAY, ids)
    new = measurements_table(DAY, ids[:1500], first_value=Decimal("2.5"))
    inputs = []
    for name, table in (("old", old), ("new", new), ("log", fetch_log)):
        inputs.append(str(tmp_path / f"{name}.parquet"))
        pq.write_table(table, inputs[-1])
    jitter = random.Random(20260329)
    kills_mid_write = 0

    for _ in range(6):
        writer = subprocess.Popen(
            [sys.executable, "-c", _WRITE_FOREVER, str(root), DAY.isoformat(), *inputs],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(jitter.uniform(0.05, 0.6))
        writer.send_signal(signal.SIGKILL)
        assert writer.wait() == -signal.SIGKILL

        stored = storage.read_day(root, DAY)
        assert stored is not None
        assert stored in (old, new)
        # A file written but never committed: the kill came inside a day's transaction.
        kills_mid_write += bool(uncommitted_files(root))
        storage.write_day(root, DAY, old, fetch_log)
        assert storage.read_day(root, DAY) == old

    assert kills_mid_write > 0, "no kill landed mid-write; the test proved nothing"
    # Maintenance deletes what the killed transactions wrote, once it is a day old.
    a_day_later = datetime.now(UTC) + timedelta(days=1, minutes=1)
    assert maintain(root, now=a_day_later, retention=timedelta(0)).orphans_deleted > 0
    assert files_on_disk(root) == files_in_catalog(root)
    assert storage.read_day(root, DAY) == old
