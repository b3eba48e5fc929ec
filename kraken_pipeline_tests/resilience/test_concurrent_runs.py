"""Two `kraken-pipeline run`s of overlapping day ranges at once (the operator clicked twice).

Two processes share one data root and one Dagster instance. To make a mix detectable, each
reads its own emulator with different data: every day shared by both runs must hold exactly one
emulator's data, never a blend, and what was derived from it (daily consumption) must agree
with the file it was derived from. What makes this safe is parquet_files.py's per-directory fcntl
lock (writers of one day's files take turns, a day's measurements and fetch log are replaced
together) and the atomic replace of every file; the warehouse refresh takes DuckDB's own file
lock and defers to whoever holds it. On a brand-new install the two also open Dagster's instance
at once, which runner.persistent_instance serialises (Dagster's SQLite table creation races).
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, DagsterRunStatus

from kraken_pipeline import storage
from kraken_pipeline.emulator import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DatasetConfig,
    Emulator,
    Fault,
    demo_dataset,
)
from kraken_pipeline.local_days import days_between
from kraken_pipeline.runner import dagster_home, persistent_instance
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline.supply_points import load_supply_points
from kraken_pipeline_tests.resilience.cli_support import SENTINEL_GRANT, Workspace
from kraken_pipeline_tests.resilience.support import (
    EXAMPLE_CSV,
    TIMEZONE,
    Pipeline,
    expected_series,
    landed,
    stored_series,
    temporary_files,
)

RUN_A = (date(2026, 11, 3), date(2026, 11, 8))
RUN_B = (date(2026, 11, 6), date(2026, 11, 11))
SHARED = days_between(RUN_B[0], RUN_A[1])
POINTS = load_supply_points(EXAMPLE_CSV)
DAY = date(2026, 11, 10)
FIRST_ANSWER_HELD = 4.0  # seconds; more than two `kraken-pipeline run` start-ups differ by
FRESH_INSTALLS = 4  # measured without the lock: 6 of 8 fresh installs failed
PROCESS_TIMEOUT = 60


class RequestTimes:
    """When each emulator answered GraphQL requests, sampled while the runs go on."""

    def __init__(self, emulators: list[Emulator]) -> None:
        self._emulators = emulators
        self.seen: list[list[float]] = [[] for _ in emulators]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        counts = [0] * len(self._emulators)
        while not self._stop.is_set():
            for index, emulator in enumerate(self._emulators):
                count = emulator.stats.requests.get("graphql", 0)
                if count != counts[index]:
                    counts[index] = count
                    self.seen[index].append(time.monotonic())
            time.sleep(0.005)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def overlapped(self) -> bool:
        """Whether both emulators were being asked at the same time."""
        (a_first, a_last), (b_first, b_last) = ((s[0], s[-1]) for s in self.seen)
        return a_first <= b_last and b_first <= a_last


def source_of(table_day: date, root: Path, emulators: dict[str, Emulator]) -> str | None:
    """Which emulator's data a stored day holds entirely, or None when it is a blend."""
    table = storage.read_day(root, table_day)
    assert table is not None, f"{table_day} was not written"
    for name, emulator in emulators.items():
        if all(
            stored_series(table, p.supply_point_id) == expected_series(emulator, p, table_day)
            for p in POINTS
        ):
            return name
    return None


def assert_consumption_agrees_with_measurements(root: Path, day: date) -> None:
    """Each day's derived totals are the sums of the measurements file as it stands."""
    measurements = storage.read_day(root, day)
    consumption = storage.daily_consumption_path(root, day)
    assert measurements is not None, day
    assert consumption.is_file(), day
    rows = pq.read_table(consumption).to_pylist()
    totals = {row["supply_point_id"]: row["total"] for row in rows}
    for point in POINTS:
        values = [value for _start, value in stored_series(measurements, point.supply_point_id)]
        expected = sum(values, Decimal(0)) if values else None
        assert totals.get(point.supply_point_id) == expected, (day, point.supply_point_id)


def prepare_instance(home: Path) -> None:
    """The Dagster instance as a deployment has it after its first run.

    Opening a brand-new instance is serialised (the next test), which would add one command's
    opening time to the difference between the two runs' start-ups.
    """
    with persistent_instance(dagster_home(PipelineSettings(), {"DAGSTER_HOME": str(home)})):
        pass


def open_instance(home: str, together: Barrier, outcomes: Queue[str]) -> None:
    """In a process of its own: open the CLI's instance in `home` once every process is ready."""
    try:
        together.wait()
        with persistent_instance(dagster_home(PipelineSettings(), {"DAGSTER_HOME": home})):
            pass
        outcomes.put("opened")
    except Exception as error:  # what the operator would see as the command's failure
        outcomes.put(f"{type(error).__name__}: {error}"[:300])


@pytest.mark.slow
def test_two_commands_opening_a_brand_new_instance_at_once_both_succeed(tmp_path: Path) -> None:
    # Each round is a fresh install; without a lock, Dagster's table creation collides in most.
    context = multiprocessing.get_context("spawn")
    for round_number in range(FRESH_INSTALLS):
        home = tmp_path / f"install-{round_number}" / "dagster_home"
        together, outcomes = context.Barrier(2), context.Queue()
        processes = [
            context.Process(target=open_instance, args=(str(home), together, outcomes))
            for _ in range(2)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=PROCESS_TIMEOUT)

        assert [outcomes.get(timeout=1) for _ in processes] == ["opened", "opened"]


@pytest.mark.slow
def test_two_overlapping_runs_at_once_leave_every_day_whole_from_one_run_and_consistent(
    start_emulator: Callable[..., Emulator], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulators = {
        name: start_emulator(
            clients=(SENTINEL_GRANT,),
            dataset=demo_dataset(DatasetConfig(seed=seed)),
            latency=timedelta(milliseconds=40),
        )
        for name, seed in (("a", 11), ("b", 12))
    }
    # Each run's first answer is held, so that its fetching lasts longer than the two
    # processes' start-up times can differ: the runs really fetch, and then write, at once.
    for emulator in emulators.values():
        emulator.faults.add(
            Fault(kind="delay", endpoint="graphql", delay_seconds=FIRST_ANSWER_HELD)
        )
    workspace = Workspace(tmp_path)
    prepare_instance(workspace.dagster_home)
    times = RequestTimes(list(emulators.values()))
    small_pages = {"KRAKEN_PAGE_SIZE": "40"}

    run_a = workspace.start(*RUN_A, workspace.environment(emulators["a"], **small_pages))
    run_b = workspace.start(*RUN_B, workspace.environment(emulators["b"], **small_pages))
    finished = [run_a.finish(), run_b.finish()]
    times.stop()

    for done in finished:
        assert done.returncode == 0, done.output[-3000:]
    assert times.overlapped(), "the two runs did not fetch at the same time"
    for day in days_between(RUN_A[0], RUN_B[1]):
        source = source_of(day, workspace.data, emulators)
        if day < SHARED[0]:
            assert source == "a", day
        elif day > SHARED[-1]:
            assert source == "b", day
        else:
            assert source is not None, f"{day} blends both runs' data"
        assert_consumption_agrees_with_measurements(workspace.data, day)
    # Mirror leftovers of overlapping refreshes are proven (deterministically) by the next test.
    data_files = [p for p in temporary_files(workspace.data) if "_views" not in p.parts]
    assert data_files == []
    monkeypatch.setenv("DAGSTER_HOME", str(workspace.dagster_home))
    with DagsterInstance.get() as instance:
        statuses = [run.status for run in instance.get_runs()]
    assert statuses == [DagsterRunStatus.SUCCESS, DagsterRunStatus.SUCCESS]


def test_two_warehouse_refreshes_that_overlap_leave_no_temporary_links_in_the_mirror(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh decides what to publish, then takes DuckDB's lock and publishes it.

    Here a second refresh publishes everything in between (as another run's would): the
    first must not leave temporary links behind when it finds its work already done.
    """
    monkeypatch.setenv("KRAKEN_CLIENT_ID", DEMO_CLIENT_ID)
    monkeypatch.setenv("KRAKEN_CLIENT_SECRET", DEMO_CLIENT_SECRET)
    pipeline = Pipeline(emulator, tmp_path / "data")
    assert pipeline.run(DAY, DAY).success
    fetch_log = storage.read_fetch_log(pipeline.root, DAY)
    assert fetch_log is not None
    storage.write_day(pipeline.root, DAY, landed(pipeline.root, DAY), fetch_log)  # new inodes
    first_may_connect = threading.Event()
    first_wants_to_connect = threading.Event()
    real_connect = duckdb.connect

    def connect_when_allowed(*args: Any, **kwargs: Any) -> duckdb.DuckDBPyConnection:
        if not kwargs.get("read_only") and threading.current_thread().name == "first":
            first_wants_to_connect.set()
            first_may_connect.wait(timeout=30)
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", connect_when_allowed)
    first = threading.Thread(
        target=storage.ensure_warehouse, args=(pipeline.root, TIMEZONE), name="first"
    )
    first.start()
    assert first_wants_to_connect.wait(timeout=30)
    storage.ensure_warehouse(pipeline.root, TIMEZONE)  # the other run's refresh
    first_may_connect.set()
    first.join(timeout=30)

    assert temporary_files(pipeline.root) == []
