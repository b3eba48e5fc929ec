"""`kraken-pipeline run` killed with SIGKILL mid-run: what it leaves is whole, the next run repairs.

Each test lands two days, then starts the command in a separate process against the emulator,
kills it (SIGKILL: no handler, no cleanup) at one moment (while fetching, inside a day's lake
transaction with the day's new Parquet files written but not committed, between two days'
commits, inside the transaction defining the analysts' views) and checks what an analyst reads:
the days as they were, byte for byte, or as a whole new commit. Then it runs the command again
and checks that everything is repaired: the emulator's data, no new orphaned file, and views
that answer. Crash points other than the fetch are held by crash_driver.py, which wraps DuckDB's
`execute` so the kill never races the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRun, DagsterRunStatus

from kraken_pipeline import storage, warehouse
from kraken_pipeline.emulator import Emulator, Fault
from kraken_pipeline.local_days import days_between
from kraken_pipeline_tests.support.cli import (
    SENTINEL_GRANT,
    SENTINEL_ID,
    SENTINEL_SECRET,
    Finished,
    Started,
    Workspace,
    wait_until,
)
from kraken_pipeline_tests.support.resilience import (
    Pipeline,
    assert_days_hold_the_emulators_data,
    day_digests,
    landed,
    orphaned_files,
)

FIRST, LAST = date(2026, 11, 9), date(2026, 11, 10)
pytestmark = pytest.mark.slow  # every test starts two processes that import Dagster


@pytest.fixture
def kraken(start_emulator: Callable[..., Emulator]) -> Emulator:
    return start_emulator(clients=(SENTINEL_GRANT,))


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def land_first(kraken: Emulator, workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """The days as an earlier run landed them (in process: quicker than the command)."""
    monkeypatch.setenv("KRAKEN_CLIENT_ID", SENTINEL_ID)
    monkeypatch.setenv("KRAKEN_CLIENT_SECRET", SENTINEL_SECRET)
    assert Pipeline(kraken, workspace.data).run(FIRST, LAST).success


def all_day_digests(workspace: Workspace) -> dict[date, dict[str, str]]:
    return {day: day_digests(workspace.data, day) for day in days_between(FIRST, LAST)}


def assert_repaired_by_the_next_run(kraken: Emulator, workspace: Workspace) -> Finished:
    env = workspace.environment(kraken)
    killed_runs_files = orphaned_files(workspace.data)

    finished = workspace.run(FIRST, LAST, env)

    assert finished.returncode == 0, finished.output[-3000:]
    points = Pipeline(kraken, workspace.data).supply_points()
    assert_days_hold_the_emulators_data(workspace.data, kraken, points, FIRST, LAST)
    assert set(orphaned_files(workspace.data)) <= set(killed_runs_files), "the repair's own"
    with warehouse.connect(workspace.data) as db:
        counted = db.execute(
            "SELECT local_date, count(*) FROM measurements GROUP BY local_date ORDER BY 1"
        ).fetchall()
        totals = db.execute("SELECT count(*) FROM daily_totals WHERE total_value IS NOT NULL")
        assert totals.fetchall()[0][0] > 0
    stored = [(day, landed(workspace.data, day).num_rows) for day in days_between(FIRST, LAST)]
    assert counted == stored
    return finished


def runs_oldest_first(workspace: Workspace) -> list[DagsterRun]:
    with DagsterInstance.from_config(str(workspace.dagster_home)) as instance:
        return list(reversed(instance.get_runs()))


def run_statuses(workspace: Workspace) -> list[DagsterRunStatus]:
    return [run.status for run in runs_oldest_first(workspace)]


def crash(workspace: Workspace, env: dict[str, str], crash_at: str) -> Started:
    """Start the command with a crash point and wait until it stands there."""
    started = workspace.start(FIRST, LAST, env, crash_at=crash_at)
    marker = workspace.crash_marker(crash_at)
    wait_until(marker.exists, started, f"the crash point {crash_at}")
    return started


def test_a_run_killed_while_fetching_leaves_the_days_as_they_were_and_the_next_run_lands_them(
    kraken: Emulator, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    land_first(kraken, workspace, monkeypatch)
    before = all_day_digests(workspace)
    kraken.faults.add(Fault(kind="delay", delay_seconds=30))  # holds the first request
    started = workspace.start(FIRST, LAST, workspace.environment(kraken))

    wait_until(lambda: kraken.stats.faults.get("delay") == 1, started, "a request in flight")
    started.kill()

    assert all_day_digests(workspace) == before
    assert run_statuses(workspace) == [DagsterRunStatus.STARTED]  # nothing else can tell
    kraken.faults.clear()
    repaired = assert_repaired_by_the_next_run(kraken, workspace)
    # The next command marked the killed run failed, saying why and which days to re-run.
    killed, repair = runs_oldest_first(workspace)
    assert (killed.status, repair.status) == (DagsterRunStatus.FAILURE, DagsterRunStatus.SUCCESS)
    assert_reported_failed_with_its_days(workspace, killed, repaired)


def assert_reported_failed_with_its_days(
    workspace: Workspace, killed: DagsterRun, next_command: Finished
) -> None:
    """The killed run's failure says why and what to re-run, in Dagster and in the terminal."""
    with DagsterInstance.from_config(str(workspace.dagster_home)) as instance:
        failure = instance.all_logs(killed.run_id, of_type=DagsterEventType.RUN_FAILURE)
    message = failure[0].message
    assert "ended before the run did" in message
    assert f"re-run {FIRST}..{LAST}" in message
    assert f"run {killed.run_id} FAILED" in next_command.stderr
    assert f"re-run: kraken-pipeline run --start {FIRST} --end {LAST}" in next_command.stderr


def stopped_day(workspace: Workspace, crash_at: str) -> date:
    """The day whose commit the crash point stopped at (the marker ends with it)."""
    where = workspace.crash_marker(crash_at).read_text(encoding="utf-8")
    return date.fromisoformat(where.rsplit(" ", 1)[-1])


def test_a_run_killed_inside_a_days_transaction_leaves_the_old_day_whole_and_the_next_run_lands_it(
    kraken: Emulator, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    land_first(kraken, workspace, monkeypatch)
    before = all_day_digests(workspace)

    started = crash(workspace, workspace.environment(kraken), "day-commit")
    started.kill()

    day = stopped_day(workspace, "day-commit")
    written = orphaned_files(workspace.data)
    # The kill came after the day's new files were written in full, only their commit missing.
    assert {(path.parent.parent.name, path.parent.name) for path in written} == {
        ("measurements", f"local_date={day}"),
        ("fetch_log", f"local_date={day}"),
    }
    [new_measurements] = [path for path in written if path.parent.parent.name == "measurements"]
    assert pq.read_metadata(new_measurements).num_rows == landed(workspace.data, day).num_rows
    assert all_day_digests(workspace) == before
    assert_repaired_by_the_next_run(kraken, workspace)


def test_a_run_killed_between_two_days_commits_leaves_one_day_new_and_one_old_each_whole(
    kraken: Emulator, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    land_first(kraken, workspace, monkeypatch)
    before = all_day_digests(workspace)

    started = crash(workspace, workspace.environment(kraken), "between-days")
    started.kill()

    committed = stopped_day(workspace, "between-days")
    after = all_day_digests(workspace)
    assert [day for day in after if after[day] != before[day]] == [committed]
    points = Pipeline(kraken, workspace.data).supply_points()
    assert_days_hold_the_emulators_data(workspace.data, kraken, points, committed, committed)
    assert orphaned_files(workspace.data) == []
    assert_repaired_by_the_next_run(kraken, workspace)


def test_a_run_killed_inside_the_views_transaction_is_repaired_by_the_next_run(
    kraken: Emulator, workspace: Workspace
) -> None:
    started = crash(workspace, workspace.environment(kraken), "views-commit")
    started.kill()

    for day in days_between(FIRST, LAST):
        assert storage.read_day(workspace.data, day) is not None, "landed before the views"
    with warehouse.connect(workspace.data) as db, pytest.raises(duckdb.CatalogException):
        db.execute("SELECT count(*) FROM daily_totals")  # no half-defined views
    assert_repaired_by_the_next_run(kraken, workspace)


def test_a_run_killed_before_dagster_started_it_is_failed_and_named_by_the_next_command(
    kraken: Emulator, workspace: Workspace
) -> None:
    started = crash(workspace, workspace.environment(kraken), "run-created")
    started.kill()
    assert run_statuses(workspace) == [DagsterRunStatus.NOT_STARTED]  # nothing else can tell

    checked = workspace.command("check", env=workspace.environment(kraken))

    [killed] = runs_oldest_first(workspace)
    assert killed.status == DagsterRunStatus.FAILURE
    assert_reported_failed_with_its_days(workspace, killed, checked)
    repaired = assert_repaired_by_the_next_run(kraken, workspace)
    assert killed.run_id not in repaired.output  # reported once, by the first command after it
