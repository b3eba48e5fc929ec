"""The operator's results in the real Dagster UI, compared with what the runs wrote to the lake.

The session conftest.py takes (operator_session.py): `kraken-pipeline ui` (webserver and daemon)
in subprocesses, a backfill of three days launched from the asset page, the days the automation
sensor derived from it, one day re-run, a spoiled day repaired. What the UI reports, read
through the webserver's GraphQL API as its pages read it, is compared with the lake as an
analyst reads it (`warehouse.connect`): each day's rows, the lake snapshot that committed them,
the quality results, and the Parquet files any other tool would read. A headless Chromium then
shows the asset's pages. A run that fails unexpectedly fails the test with its event log.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from kraken_pipeline import storage, warehouse
from kraken_pipeline.defs.checks import DAY_CHECKS
from kraken_pipeline.quality import CHECK_FRESHNESS
from kraken_pipeline_tests.e2e.operator_session import (
    DAILY_CONSUMPTION,
    MEASUREMENTS,
    ROWS_LABEL,
    SNAPSHOT_LABEL,
    AssetTabs,
    Operator,
    PartitionsTab,
    Settled,
    stored_keys,
)
from kraken_pipeline_tests.support.xdist_groups import DAEMONS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600), pytest.mark.xdist_group(DAEMONS)]

MEASUREMENTS_SQL = "SELECT * FROM measurements WHERE local_date BETWEEN ? AND ?"
MEASUREMENTS_COUNT_SQL = "SELECT count(*) FROM measurements WHERE local_date = ?"
# Time travel: the day as the materialisation's snapshot committed it.
SNAPSHOT_COUNT_SQL = "SELECT count(*) FROM measurements AT (VERSION => ?) WHERE local_date = ?"
DAILY_CONSUMPTION_SQL = "SELECT * FROM daily_consumption WHERE local_date BETWEEN ? AND ?"
QUALITY_SQL = (
    "SELECT local_date, check_name, passed, severity, detail FROM quality_results "
    "WHERE supply_point_id IS NULL AND local_date BETWEEN ? AND ?"
)


@pytest.fixture(scope="module")
def analyst(operator: Operator, settled: Settled) -> Iterator[duckdb.DuckDBPyConnection]:
    """The lake once every run has ended, attached read-only as the README tells analysts to."""
    del settled
    with warehouse.connect(operator.data) as connection:
        yield connection


def test_rerunning_one_day_replaces_that_days_rows_and_leaves_the_others(
    operator: Operator, rerun: str, settled: Settled
) -> None:
    days = operator.days
    keys = days.backfill_keys

    latest = operator.api.latest_materializations(MEASUREMENTS, keys)
    fetched = {day: _fetched_at(operator.data, day) for day in days.backfill}

    [backfill_run] = settled.backfill.run_ids
    assert {key: m.run_id for key, m in latest.items()} == {
        key: rerun if key == days.rerun.isoformat() else backfill_run for key in keys
    }
    others = [moment for day, moment in fetched.items() if day != days.rerun]
    assert fetched[days.rerun][0] > max(moment[1] for moment in others)


def _fetched_at(root: Path, day: date) -> tuple[datetime, datetime]:
    table = storage.read_day(root, day)
    assert table is not None, f"{day} was not written"
    column = table["fetched_at"].to_pylist()
    return min(column), max(column)


def test_partition_statuses_in_the_ui_are_the_days_stored_in_the_lake(
    operator: Operator, settled: Settled
) -> None:
    days = operator.days
    del settled  # every run has ended

    measurements = operator.api.partition_statuses(MEASUREMENTS)
    consumption = operator.api.partition_statuses(DAILY_CONSUMPTION)

    landed = stored_keys(operator.data, MEASUREMENTS, days.every_day)
    derived = stored_keys(operator.data, DAILY_CONSUMPTION, days.every_day)
    trusted = operator.trusted({date.fromisoformat(key) for key in landed})
    assert landed == {day.isoformat() for day in (days.spoiled, *days.backfill)}
    assert measurements.materialized == landed
    assert not measurements.failed
    assert consumption.materialized == derived == trusted
    assert not measurements.materializing
    assert not consumption.materializing


def test_row_counts_and_snapshots_in_the_ui_metadata_are_the_lakes_commits_of_each_day(
    operator: Operator, analyst: duckdb.DuckDBPyConnection
) -> None:
    days = operator.days.backfill

    latest = operator.api.latest_materializations(MEASUREMENTS, operator.days.backfill_keys)

    for day in days:
        shown = latest[day.isoformat()].numbers
        snapshot = shown[SNAPSHOT_LABEL]
        [(message,)] = analyst.execute(
            "SELECT commit_message FROM ducklake_snapshots(?) WHERE snapshot_id = ?",
            [warehouse.ALIAS, snapshot],
        ).fetchall()
        [(then,)] = analyst.execute(SNAPSHOT_COUNT_SQL, [snapshot, day]).fetchall()
        [(now,)] = analyst.execute(MEASUREMENTS_COUNT_SQL, [day]).fetchall()
        assert message == f"measurements and fetch log of {day}", day
        assert shown[ROWS_LABEL] == then == now > 0, day


def test_each_days_check_results_in_the_ui_are_its_quality_results(
    operator: Operator, analyst: duckdb.DuckDBPyConnection
) -> None:
    api, days = operator.api, operator.days.backfill

    shown = {
        (day, name): api.check_evaluation(MEASUREMENTS, name, day.isoformat())
        for day in days
        for name in DAY_CHECKS
    }

    stored = _day_verdicts(operator.data, days)
    assert set(stored) == set(shown)
    for key, evaluation in shown.items():
        assert evaluation is not None, f"no {key[1]} result for {key[0]} in the UI"
        assert (evaluation.passed, evaluation.severity, evaluation.description) == stored[key]
    queried = analyst.execute(QUALITY_SQL, [days[0], days[-1]]).fetchall()
    assert {(d, n): (p, s, t) for d, n, p, s, t in queried} == stored
    assert api.check_evaluation(MEASUREMENTS, CHECK_FRESHNESS, "") is not None


def _day_verdicts(root: Path, days: tuple[date, ...]) -> dict[tuple[date, str], tuple[object, ...]]:
    """(day, check) -> (passed, severity, summary) as the pipeline reads its quality results."""
    verdicts: dict[tuple[date, str], tuple[object, ...]] = {}
    for day in days:
        table = storage.read_quality_results(root, day)
        assert table is not None, f"{day} has no quality results"
        for row in table.to_pylist():
            if row["supply_point_id"] is None:
                key = (row["local_date"], row["check_name"])
                verdicts[key] = (row["passed"], row["severity"], row["detail"])
    return verdicts


def test_the_lakes_parquet_files_hold_exactly_the_rows_analysts_query(
    operator: Operator, analyst: duckdb.DuckDBPyConnection
) -> None:
    """Every row is in plain Parquet (nothing inlined in the catalog, no pending deletes), so a
    tool that reads the lake's current files, not its catalog, finds what DuckDB answers."""
    days = operator.days.backfill
    first, last = days[0], days[-1]

    measurements = analyst.execute(MEASUREMENTS_SQL, [first, last]).fetchall()
    consumption = analyst.execute(DAILY_CONSUMPTION_SQL, [first, last]).fetchall()

    assert measurements
    assert sorted(measurements) == _parquet_rows(analyst, MEASUREMENTS, days)
    assert sorted(consumption) == _parquet_rows(analyst, DAILY_CONSUMPTION, days)


def _parquet_rows(
    analyst: duckdb.DuckDBPyConnection, table: str, days: tuple[date, ...]
) -> list[tuple[object, ...]]:
    """The rows of the days' current data files of `table`, read with pyarrow, not DuckDB."""
    files = analyst.execute(
        "SELECT data_file, delete_file FROM ducklake_list_files(?, ?)", [warehouse.ALIAS, table]
    ).fetchall()
    partitions = {f"local_date={day}" for day in days}
    rows: list[tuple[object, ...]] = []
    for data_file, delete_file in files:
        if Path(data_file).parent.name in partitions:
            assert delete_file is None, f"{data_file} has rows deleted in {delete_file}"
            rows.extend(tuple(row.values()) for row in pq.read_table(data_file).to_pylist())
    return sorted(rows)


def test_the_asset_page_shows_the_asset_its_checks_and_the_partitions_bar(
    operator: Operator, asset_tabs: AssetTabs, partitions_tab: PartitionsTab
) -> None:
    days = operator.days

    assert "Every supply point's interval measurements" in asset_tabs.overview
    assert f"Checks ({len(DAY_CHECKS) + 1})" in asset_tabs.checks
    assert all(day.isoformat() in partitions_tab.text for day in days.backfill)
    assert days.partitions_start.isoformat() in partitions_tab.text  # the bar's first day
    assert partitions_tab.bar_width > 0
    assert partitions_tab.spans, "the partitions bar shows no coloured span"
