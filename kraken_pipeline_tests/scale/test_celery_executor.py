"""Backfills on Dagster's Celery executor, with two worker processes on the machine's Redis.

Four days are backfilled as the operator does it: the UI's backfill of the Celery location,
which Dagster's daemon cuts into two runs of two days whose steps are Celery tasks. Steps must
run on both workers and land what one in-process run lands; an unreachable broker must fail its
run soon, naming the broker, and land nothing; a worker without a broker must refuse to start.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

from kraken_pipeline import storage
from kraken_pipeline.defs import distributed
from kraken_pipeline.defs.dagster_internals import PARTITION_NAME_TAG
from kraken_pipeline.defs.schedules import range_tags
from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator
from kraken_pipeline.settings import SettingsError
from kraken_pipeline_tests.scale.instances import instance_home
from kraken_pipeline_tests.support.dagster_processes import running_ui
from kraken_pipeline_tests.support.pipeline import EXAMPLE_CSV, PipelineHarness
from kraken_pipeline_tests.support.webserver_api import DagsterWebserver

FIRST, LAST = date(2026, 11, 10), date(2026, 11, 13)
DAYS = [FIRST + timedelta(days=n) for n in range((LAST - FIRST).days + 1)]
DAYS_PER_RUN = 2
WORKER_NAMES = ("kraken-w1", "kraken-w2")
WORKER_READY_SECONDS = 60
WORKER_STOP_SECONDS = 15
UNREACHABLE_BROKER_SECONDS = 45
BACKFILL_SECONDS = 240
# A run whose step result never came back would poll for ever; fail the test instead.
TEST_TIMEOUT_SECONDS = 420
DISTRIBUTED_LOCATION = "kraken_pipeline.defs.distributed"
# Columns that record when, not what: they differ between any two runs.
WHEN_COLUMNS = ("fetched_at",)


@dataclass
class CeleryWorker:
    """A `celery -A kraken_pipeline.defs.distributed worker` process and its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def pipeline_environment(
    emulator: Emulator, tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """KRAKEN_* variables that point runs and workers at the emulator; returns the data root."""
    for name in [name for name in os.environ if name.startswith("KRAKEN_")]:
        monkeypatch.delenv(name)
    root = tmp_path / "distributed"
    settings = {
        "KRAKEN_AUTH_URL": emulator.token_url,
        "KRAKEN_API_URL": emulator.graphql_url,
        "KRAKEN_CLIENT_ID": DEMO_CLIENT_ID,
        "KRAKEN_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "KRAKEN_PIPELINE_DATA": str(root),
        "KRAKEN_SUPPLY_POINTS": str(EXAMPLE_CSV),
        "KRAKEN_CELERY_BROKER": redis_url,
        "KRAKEN_BACKFILL_DAYS_PER_RUN": str(DAYS_PER_RUN),
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return root


@pytest.fixture
def postgres_instance(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DagsterInstance]:
    """Runs, event log and schedules in a fresh PostgreSQL database, as in production."""
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with DagsterInstance.from_config(str(instance_home(home, postgres_url))) as instance:
        yield instance


@pytest.fixture
def celery_workers(pipeline_environment: Path, tmp_path: Path) -> Iterator[list[CeleryWorker]]:
    """Two workers of concurrency 1 with distinct names, ready; stopped whatever happens."""
    workers: list[CeleryWorker] = []
    try:
        for name in WORKER_NAMES:
            workers.append(_start_worker(name, tmp_path))
        _wait_until_ready(workers)
        yield workers
    finally:
        _stop(workers)


def _start_worker(name: str, tmp_path: Path) -> CeleryWorker:
    log = tmp_path / f"{name}.log"
    command = [
        sys.executable, "-m", "celery", "-A", "kraken_pipeline.defs.distributed", "worker",
        "--concurrency=1", f"--hostname={name}@%h", "--loglevel=INFO",
        # Nothing to synchronise between two local workers; these only slow the start.
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=dict(os.environ),
            stdout=output,
            stderr=subprocess.STDOUT,
            # A session of its own: stopping its group also stops its pool processes.
            start_new_session=True,
        )
    return CeleryWorker(name=name, process=process, log=log)


def _wait_until_ready(workers: list[CeleryWorker]) -> None:
    deadline = time.monotonic() + WORKER_READY_SECONDS
    while not all(f"{worker.name}@" in worker.log_text() and " ready." in worker.log_text()
                  for worker in workers):  # fmt: skip
        for worker in workers:
            if worker.process.poll() is not None:
                pytest.fail(f"worker {worker.name} exited:\n{worker.log_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail("workers not ready:\n" + "\n".join(w.log_text()[-2000:] for w in workers))
        time.sleep(0.1)


def _stop(workers: list[CeleryWorker]) -> None:
    for worker in workers:
        _signal_group(worker.process.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.process.wait(WORKER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(worker.process.pid, signal.SIGKILL)
            worker.process.wait(WORKER_STOP_SECONDS)


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)


@pytest.fixture
def distributed_ui(
    pipeline_environment: Path, postgres_instance: DagsterInstance, tmp_path: Path
) -> Iterator[DagsterWebserver]:
    """`dagster dev` on the Celery location and the PostgreSQL instance: webserver, daemon."""
    with running_ui(tmp_path, dict(os.environ), module=DISTRIBUTED_LOCATION) as deployment:
        webserver = DagsterWebserver(deployment.graphql_url)
        try:
            yield webserver
        finally:
            webserver.close()


def parent_pid(pid: int) -> int:
    """The parent of a live process, from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    return int(stat.rsplit(")", 1)[1].split()[1])


@dataclass(frozen=True)
class StepExecution:
    """Where the event log says one step of one run executed."""

    run_id: str
    step_key: str
    celery_worker: str
    pid: int


def step_executions(instance: DagsterInstance, run_id: str) -> list[StepExecution]:
    """Every step of a run with the Celery worker that took it and the pid that executed it."""
    workers: dict[str, str] = {}
    pids: dict[str, int] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == DagsterEventType.ENGINE_EVENT:
            metadata = event.engine_event_data.metadata
            if "Celery worker" in metadata:
                workers[event.step_key] = str(metadata["Celery worker"].value)
        elif event.event_type == DagsterEventType.STEP_START and event.pid is not None:
            pids[event.step_key] = event.pid
    return [
        StepExecution(run_id, step_key, workers.get(step_key, ""), pid)
        for step_key, pid in pids.items()
    ]


def comparable(table: pa.Table | None) -> pa.Table:
    """A landed day without its timestamps of fetching, in key order."""
    assert table is not None, "the day was not landed"
    table = table.drop_columns([name for name in WHEN_COLUMNS if name in table.column_names])
    return table.sort_by([("supply_point_id", "ascending"), ("interval_start", "ascending")])


@pytest.mark.slow
@pytest.mark.timeout(TEST_TIMEOUT_SECONDS)
def test_a_backfill_spreads_its_steps_over_two_celery_workers_and_lands_the_same_data(
    emulator: Emulator,
    pipeline_environment: Path,
    postgres_instance: DagsterInstance,
    celery_workers: list[CeleryWorker],
    distributed_ui: DagsterWebserver,
    tmp_path: Path,
) -> None:
    partitions = [day.isoformat() for day in DAYS]
    backfill_id = distributed_ui.launch_backfill(
        ["measurements", "daily_consumption"], partitions, "four days on Celery"
    )
    backfill = distributed_ui.wait_for_backfill(backfill_id, BACKFILL_SECONDS)

    expected_ranges = [range_tags(DAYS[0], DAYS[1]), range_tags(DAYS[2], DAYS[3])]
    ranges = sorted(
        ({tag: tags.get(tag) for tag in expected_ranges[0]} for tags in backfill.run_tags),
        key=lambda tags: str(tags),
    )
    assert ranges == expected_ranges

    executions = [
        execution
        for run_id in backfill.run_ids
        for execution in step_executions(postgres_instance, run_id)
    ]
    assert len(executions) == 6, executions  # measurements, its checks, daily_consumption, x2
    host = socket.gethostname()
    assert {execution.celery_worker for execution in executions} == {
        f"{name}@{host}" for name in WORKER_NAMES
    }
    worker_pids = {worker.process.pid: worker.name for worker in celery_workers}
    for execution in executions:
        executed_by = worker_pids.get(parent_pid(execution.pid))
        assert execution.celery_worker == f"{executed_by}@{host}", execution

    reference = PipelineHarness(emulator=emulator, root=tmp_path / "single_process")
    assert reference.run(FIRST, LAST).success
    for day in DAYS:
        landed = comparable(storage.read_day(pipeline_environment, day))
        expected = comparable(storage.read_day(reference.root, day))
        assert landed.num_rows > 0
        assert landed.equals(expected), day


@pytest.mark.slow
@pytest.mark.timeout(TEST_TIMEOUT_SECONDS)
def test_a_run_whose_broker_is_unreachable_fails_soon_naming_the_broker(
    pipeline_environment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("KRAKEN_CELERY_BROKER", f"redis://127.0.0.1:{closed_port}/0")
    home = instance_home(tmp_path / "dagster_home")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    command = [
        sys.executable, "-m", "dagster", "job", "execute", "-m", DISTRIBUTED_LOCATION,
        "-j", "measurements_job", "--tags", json.dumps({PARTITION_NAME_TAG: FIRST.isoformat()}),
    ]  # fmt: skip
    started = time.monotonic()

    finished = subprocess.run(
        command, cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True, check=False
    )

    assert time.monotonic() - started < UNREACHABLE_BROKER_SECONDS
    assert finished.returncode != 0
    with DagsterInstance.from_config(str(home)) as instance:
        [run] = instance.get_runs()
        errors = [
            record.dagster_event.engine_event_data.error
            for record in instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT)
            if record.dagster_event is not None
            and record.dagster_event.engine_event_data.error is not None
        ]
    assert run.status == DagsterRunStatus.FAILURE
    assert errors, finished.stdout + finished.stderr
    explained = "\n".join(error.to_string() for error in errors)
    assert "Celery" in explained
    assert f"Error 111 connecting to 127.0.0.1:{closed_port}. Connection refused." in explained
    assert storage.read_day(pipeline_environment, FIRST) is None


@pytest.mark.slow
def test_a_worker_without_a_broker_setting_exits_naming_the_variable(
    pipeline_environment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KRAKEN_CELERY_BROKER")

    worker = _start_worker("kraken-unconfigured", tmp_path)
    try:
        exit_code = worker.process.wait(WORKER_READY_SECONDS)
    finally:
        _stop([worker])

    assert exit_code != 0
    assert "KRAKEN_CELERY_BROKER is not set" in worker.log_text()
    assert " ready." not in worker.log_text()


def test_without_a_broker_setting_the_executor_refuses_to_start_and_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="KRAKEN_CELERY_BROKER is not set"):
        distributed.executor_from_environ({})


def test_a_redis_broker_keeps_step_results_in_redis_and_rabbitmq_sends_them_back() -> None:
    redis = "redis://127.0.0.1:6379/0"
    assert distributed.result_backend(redis, {}) == redis
    assert distributed.result_backend("amqp://guest:guest@127.0.0.1:5672//", {}) == "rpc://"
