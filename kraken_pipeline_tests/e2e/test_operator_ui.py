"""The operator's day in the real Dagster UI: backfill a range, re-run a day, read the results.

Everything goes through the webserver's GraphQL API, the calls the UI's buttons make, against
`kraken-pipeline ui` (webserver and daemon) in subprocesses; then a headless Chromium shows the
asset's pages. What the UI reports is compared with what the runs wrote to the lake, read as an
analyst reads it (`warehouse.connect`): each day's rows, the lake snapshot that committed them,
the quality results, and the Parquet files any other tool would read. A repair naming a supply
point the file does not hold is refused by the launch itself, so no run exists and the day stays
as it was. A run that fails unexpectedly fails the test with its event log.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlencode

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kraken_pipeline import storage, warehouse
from kraken_pipeline.consumption import failed_blocking_checks
from kraken_pipeline.defs.checks import DAY_CHECKS
from kraken_pipeline.defs.schedules import range_tags
from kraken_pipeline.quality import CHECK_FRESHNESS
from kraken_pipeline_tests.e2e.browser import (
    headless_chromium,
    screenshot,
    wait_for_element,
    wait_for_texts,
)
from kraken_pipeline_tests.e2e.conftest import ARTIFACTS, RunningUI
from kraken_pipeline_tests.e2e.webserver_api import Backfill, LaunchOutcome
from kraken_pipeline_tests.support.lake import stored_days_of
from kraken_pipeline_tests.support.xdist_groups import DAEMONS

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group(DAEMONS)]

MEASUREMENTS, DAILY_CONSUMPTION = "measurements", "daily_consumption"
BOTH_ASSETS = [MEASUREMENTS, DAILY_CONSUMPTION]
BACKFILL_TIMEOUT = 150  # the daemon looks for new backfills every 30 s
RUN_TIMEOUT = 90
UNKNOWN_SUPPLY_POINT = "no-such-meter"
REFUSED_CONFIG = "RunConfigValidationInvalid"  # what the launch answers for run config it rejects
ROWS_LABEL = "rows"  # the metadata entry of a landed day that counts its stored rows
SNAPSHOT_LABEL = "lake_snapshot"  # the metadata entry naming the lake snapshot of the day
MEASUREMENTS_SQL = "SELECT * FROM measurements WHERE local_date BETWEEN ? AND ?"
MEASUREMENTS_COUNT_SQL = "SELECT count(*) FROM measurements WHERE local_date = ?"
# Time travel: the day as the materialisation's snapshot committed it.
SNAPSHOT_COUNT_SQL = "SELECT count(*) FROM measurements AT (VERSION => ?) WHERE local_date = ?"
DAILY_CONSUMPTION_SQL = "SELECT * FROM daily_consumption WHERE local_date BETWEEN ? AND ?"
QUALITY_SQL = (
    "SELECT local_date, check_name, passed, severity, detail FROM quality_results "
    "WHERE supply_point_id IS NULL AND local_date BETWEEN ? AND ?"
)


@dataclass(frozen=True)
class OperatorSession:
    """What the operator launched from the UI, once every run has ended."""

    ui: RunningUI
    backfill: Backfill
    rerun_id: str
    refusal: LaunchOutcome  # the answer to the repair naming an unknown supply point
    refused_day: pa.Table | None  # that day's rows in the lake just before it was asked for


@pytest.fixture(scope="module")
def session(ui: RunningUI) -> OperatorSession:
    """Backfill three days, re-run the middle one, then a repair that names an unknown meter."""
    api, days = ui.api, ui.days
    keys = [day.isoformat() for day in days.backfill]
    backfill_id = api.launch_backfill(BOTH_ASSETS, keys, title="operator backfill")
    backfill = api.wait_for_backfill(backfill_id, BACKFILL_TIMEOUT)
    rerun_id = api.launch_run(BOTH_ASSETS, days.rerun.isoformat())
    api.require_success(rerun_id, RUN_TIMEOUT)
    repair = {"ops": {MEASUREMENTS: {"config": {"supply_point_ids": [UNKNOWN_SUPPLY_POINT]}}}}
    refused_day = storage.read_day(ui.data, days.refused)
    refusal = api.attempt_run(BOTH_ASSETS, days.refused.isoformat(), run_config=repair)
    if refusal.run_id is not None:  # launched after all: let it end, so the tests see its day
        api.wait_for_run(refusal.run_id, RUN_TIMEOUT)
    return OperatorSession(ui, backfill, rerun_id, refusal, refused_day)


@pytest.fixture(scope="module")
def analyst(session: OperatorSession) -> Iterator[duckdb.DuckDBPyConnection]:
    """The lake, attached read-only as the README tells analysts to."""
    with warehouse.connect(session.ui.data) as connection:
        yield connection


def stored_keys(root: Path, table: str, days: tuple[date, ...]) -> set[str]:
    """Partition keys of those `days` that the lake table holds rows for."""
    return {day.isoformat() for day in stored_days_of(root, table) & set(days)}


def test_a_backfill_of_three_days_runs_as_one_run_over_the_range_and_succeeds(
    session: OperatorSession,
) -> None:
    days = session.ui.days.backfill

    [tags] = session.backfill.run_tags

    assert session.backfill.status == "COMPLETED_SUCCESS"
    assert len(session.backfill.run_ids) == 1
    assert tags.items() >= range_tags(days[0], days[-1]).items()


def test_rerunning_one_day_replaces_that_days_rows_and_leaves_the_others(
    session: OperatorSession,
) -> None:
    ui, rerun = session.ui, session.ui.days.rerun
    keys = [day.isoformat() for day in ui.days.backfill]

    latest = ui.api.latest_materializations(MEASUREMENTS, keys)
    fetched = {day: _fetched_at(ui.data, day) for day in ui.days.backfill}

    [backfill_run] = session.backfill.run_ids
    assert {key: m.run_id for key, m in latest.items()} == {
        key: session.rerun_id if key == rerun.isoformat() else backfill_run for key in keys
    }
    others = [moment for day, moment in fetched.items() if day != rerun]
    assert fetched[rerun][0] > max(moment[1] for moment in others)


def _fetched_at(root: Path, day: date) -> tuple[datetime, datetime]:
    table = storage.read_day(root, day)
    assert table is not None, f"{day} was not written"
    column = table["fetched_at"].to_pylist()
    return min(column), max(column)


def test_a_repair_naming_an_unknown_supply_point_is_refused_before_any_run_exists(
    session: OperatorSession,
) -> None:
    ui, refusal = session.ui, session.refusal

    runs = ui.api.runs()

    assert refusal.typename == REFUSED_CONFIG, refusal
    assert refusal.run_id is None
    assert any(UNKNOWN_SUPPLY_POINT in message for message in refusal.messages), refusal.messages
    assert [run.run_id for run in runs if UNKNOWN_SUPPLY_POINT in run.run_config_yaml] == []


def test_the_refused_repair_leaves_its_day_landed_and_its_rows_as_they_were(
    session: OperatorSession,
) -> None:
    ui, refused = session.ui, session.ui.days.refused

    statuses = ui.api.partition_statuses(MEASUREMENTS)
    rows = storage.read_day(ui.data, refused)

    assert session.refused_day is not None
    assert session.refused_day.num_rows > 0
    assert rows is not None
    assert rows.equals(session.refused_day)
    assert refused.isoformat() in statuses.materialized
    assert refused.isoformat() not in statuses.failed


def test_partition_statuses_in_the_ui_are_the_days_stored_in_the_lake(
    session: OperatorSession,
) -> None:
    ui = session.ui

    measurements = ui.api.partition_statuses(MEASUREMENTS)
    consumption = ui.api.partition_statuses(DAILY_CONSUMPTION)

    every_day = ui.days.every_day
    landed = stored_keys(ui.data, MEASUREMENTS, every_day)
    derived = stored_keys(ui.data, DAILY_CONSUMPTION, every_day)
    trusted = {
        day.isoformat() for day in ui.days.backfill if not failed_blocking_checks(ui.data, day)
    }
    assert landed == {day.isoformat() for day in ui.days.backfill}
    assert measurements.materialized == landed
    assert not measurements.failed
    assert consumption.materialized == derived == trusted
    assert not measurements.materializing
    assert not consumption.materializing


def test_row_counts_and_snapshots_in_the_ui_metadata_are_the_lakes_commits_of_each_day(
    session: OperatorSession, analyst: duckdb.DuckDBPyConnection
) -> None:
    ui = session.ui
    keys = [day.isoformat() for day in ui.days.backfill]

    latest = ui.api.latest_materializations(MEASUREMENTS, keys)

    for day in ui.days.backfill:
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
    session: OperatorSession, analyst: duckdb.DuckDBPyConnection
) -> None:
    ui = session.ui
    days = ui.days.backfill

    shown = {
        (day, name): ui.api.check_evaluation(MEASUREMENTS, name, day.isoformat())
        for day in days
        for name in DAY_CHECKS
    }

    stored = _day_verdicts(ui.data, days)
    assert set(stored) == set(shown)
    for key, evaluation in shown.items():
        assert evaluation is not None, f"no {key[1]} result for {key[0]} in the UI"
        assert (evaluation.passed, evaluation.severity, evaluation.description) == stored[key]
    queried = analyst.execute(QUALITY_SQL, [days[0], days[-1]]).fetchall()
    assert {(d, n): (p, s, t) for d, n, p, s, t in queried} == stored
    assert ui.api.check_evaluation(MEASUREMENTS, CHECK_FRESHNESS, "") is not None


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
    session: OperatorSession, analyst: duckdb.DuckDBPyConnection
) -> None:
    """Every row is in plain Parquet (nothing inlined in the catalog, no pending deletes), so a
    tool that reads the lake's current files, not its catalog, finds what DuckDB answers."""
    ui = session.ui
    first, last = ui.days.backfill[0], ui.days.backfill[-1]

    measurements = analyst.execute(MEASUREMENTS_SQL, [first, last]).fetchall()
    consumption = analyst.execute(DAILY_CONSUMPTION_SQL, [first, last]).fetchall()

    assert measurements
    assert sorted(measurements) == _parquet_rows(analyst, MEASUREMENTS, ui.days.backfill)
    assert sorted(consumption) == _parquet_rows(analyst, DAILY_CONSUMPTION, ui.days.backfill)


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
    session: OperatorSession, tmp_path: Path
) -> None:
    ui = session.ui
    url = f"{ui.deployment.url}/assets/{MEASUREMENTS}"
    statuses = ui.api.partition_statuses(MEASUREMENTS)
    ui.api.dismiss_welcome_dialog()

    with headless_chromium(tmp_path / "profile", ARTIFACTS / "chromedriver.log") as browser:
        browser.get(f"{url}?view=overview")
        overview = wait_for_texts(browser, [MEASUREMENTS, "Description", "kraken"])
        screenshot(browser, ARTIFACTS / "overview.png")
        browser.get(f"{url}?view=checks")
        checks = wait_for_texts(browser, [*DAY_CHECKS, CHECK_FRESHNESS])
        screenshot(browser, ARTIFACTS / "checks.png")
        browser.get(f"{url}?{urlencode({'view': 'partitions', 'partition': ui.days.rerun})}")
        partitions = wait_for_texts(
            browser,
            [
                f"Materialized ({len(statuses.materialized)})",
                f"Failed ({len(statuses.failed)})",
                ROWS_LABEL,
                SNAPSHOT_LABEL,
            ],
        )
        bar = wait_for_element(browser, "[class*='PartitionStatusBar_partitionSpansContainer']")
        bar_width = bar.size["width"]
        spans = bar.find_elements("css selector", "[class*='PartitionStatusBar_colorSpan']")
        screenshot(browser, ARTIFACTS / "partitions.png")

    assert "Every supply point's interval measurements" in overview
    assert f"Checks ({len(DAY_CHECKS) + 1})" in checks
    assert all(day.isoformat() in partitions for day in ui.days.backfill)
    assert ui.days.partitions_start.isoformat() in partitions  # the bar's first day
    assert bar_width > 0
    assert spans, "the partitions bar shows no coloured span"
