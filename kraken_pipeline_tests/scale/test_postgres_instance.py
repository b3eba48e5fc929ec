"""The shipped production instance, deploy/dagster.yaml, on a fresh PostgreSQL database.

What a production machine runs, without the webserver: a code server (the only process that is
given the Kraken credentials), `dagster-daemon run` on deploy/workspace.yaml, and runs submitted
with `dagster job launch`, which goes through the instance's QueuedRunCoordinator. The file is
copied into DAGSTER_HOME unchanged and pointed at the test's database through its environment
variables, so a broken shipped file fails here. What landed is read back from PostgreSQL with
psycopg2, not through Dagster, the way an operator's own tooling would see it.

Runs use the in-process executor only to keep the test short (a step subprocess costs seconds
of start-up); every instance feature checked here (queue, pools, retries, storage) works the
same with either executor.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import psycopg2
import pytest

from kraken_pipeline import storage
from kraken_pipeline.defs.location import MEASUREMENTS_JOB
from kraken_pipeline.defs.schedules import range_tags
from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, Fault
from kraken_pipeline.supply_points import load_supply_points
from kraken_pipeline_tests.support.leak_search import leaks, needles
from kraken_pipeline_tests.support.loopback import free_port
from kraken_pipeline_tests.support.pipeline import EXAMPLE_CSV, TIMEZONE, expected_readings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
LANDED_DAYS = (date(2026, 11, 17), date(2026, 11, 18))  # published by the emulator's clock
REFUSED_DAY = date(2026, 11, 16)
READY_TIMEOUT = 60
RUNS_TIMEOUT = 90
# How long the landing run's fetch holds the kraken_api slot: longer than the other run, queued
# at the same moment, takes to reach its own fetch (a run worker starts in about 3 s on CI).
HOLD_SECONDS = 5
STOP_TIMEOUT = 15
CODE_SERVER_READY = "Started Dagster code server"
NOT_RETRIED = "Not retrying run since it failed due to an asset or op failure"
RETRIED = "Retrying the run"
IN_PROCESS = {"in_process": {}}


@contextmanager
def running(name: str, command: Sequence[str], env: Mapping[str, str], cwd: Path) -> Iterator[Path]:
    """A process in a session of its own, its output in `<name>.log`; always stopped after:
    SIGTERM first (what systemd and Kubernetes send, on which the daemon shuts its threads down),
    then SIGKILL for whatever is left of the process group (run workers)."""
    log = cwd / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        yield log
        assert process.poll() is None, f"{name} exited early:\n{tail(log)}"
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def wait_for_text(log: Path, text: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while text not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"no {text!r} in {log.name}:\n{tail(log)}"
        time.sleep(0.2)


def instance_environment(home: Path, postgres_url: str, code_server_port: int) -> dict[str, str]:
    """What every Dagster process of the deployment gets: the instance, the database, the
    code server's address. No Kraken setting and no secret."""
    url = urlsplit(postgres_url)
    return {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.defpath]),
        "HOME": str(home.parent),
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": url.hostname or "",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_DB": url.path.lstrip("/"),
        "DAGSTER_PG_USERNAME": url.username or "",
        "DAGSTER_PG_PASSWORD": url.password or "",
        "KRAKEN_CODE_SERVER_HOST": "127.0.0.1",
        "KRAKEN_CODE_SERVER_PORT": str(code_server_port),
    }


def kraken_environment(emulator: Emulator, data_root: Path) -> dict[str, str]:
    """What only the code server gets: where Kraken is, the credentials, the data root."""
    return {
        "KRAKEN_CLIENT_ID": DEMO_CLIENT_ID,
        "KRAKEN_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "KRAKEN_AUTH_URL": emulator.token_url,
        "KRAKEN_API_URL": emulator.graphql_url,
        "KRAKEN_PIPELINE_DATA": str(data_root),
        "KRAKEN_SUPPLY_POINTS": str(EXAMPLE_CSV),
        "KRAKEN_TIMEZONE": TIMEZONE,
    }


@dataclass(frozen=True)
class Launch:
    """One `dagster job launch` of the measurements job: it queues the run, nothing more."""

    run_id: str
    first: date
    last: date
    config: Mapping[str, Any]

    def start(self, env: Mapping[str, str], cwd: Path) -> tuple["subprocess.Popen[bytes]", Path]:
        command = [
            *("dagster", "job", "launch", "-w", str(DEPLOY / "workspace.yaml")),
            *("-j", MEASUREMENTS_JOB, "--run-id", self.run_id),
            *("--tags", json.dumps(range_tags(self.first, self.last))),
            *("--config-json", json.dumps(self.config)),
        ]
        log = cwd / f"launch-{self.run_id}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                command, cwd=cwd, env=dict(env), stdout=output, stderr=subprocess.STDOUT
            )
        return process, log


def queue(launches: Sequence[Launch], env: Mapping[str, str], cwd: Path) -> None:
    """Submit runs at once through the instance's run coordinator; returns once all are queued."""
    started = [launch.start(env, cwd) for launch in launches]
    for process, log in started:
        assert process.wait(timeout=READY_TIMEOUT) == 0, f"launch failed:\n{tail(log)}"


def refused_kraken_config(as_of: str, nobody: str) -> dict[str, Any]:
    """Run config of an operator's run at a Kraken URL nobody answers; secrets stay EnvVars."""
    kraken = {
        "client_id": {"env": "KRAKEN_CLIENT_ID"},
        "client_secret": {"env": "KRAKEN_CLIENT_SECRET"},
        "auth_url": f"{nobody}/token/",
        "api_url": f"{nobody}/v1/graphql/",
        "timezone": TIMEZONE,
    }
    return {
        "resources": {"kraken": {"config": kraken}},
        "ops": {
            "measurements": {"config": {"deadline_seconds": 1}},
            "measurements_quality": {"config": {"as_of": as_of}},
        },
        "execution": {"config": IN_PROCESS},
    }


class Postgres:
    """Read-only questions to the instance's database, as plain SQL."""

    def __init__(self, url: str) -> None:
        self.connection = psycopg2.connect(url)
        self.connection.autocommit = True

    def rows(self, query: str, *params: object) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(query, params)
            return list(cursor.fetchall())

    def status(self, run_id: str) -> str | None:
        found = self.rows("SELECT status FROM runs WHERE run_id = %s", run_id)
        return str(found[0][0]) if found else None

    def event_types(self, run_id: str) -> set[str]:
        query = "SELECT DISTINCT dagster_event_type FROM event_logs WHERE run_id = %s"
        return {str(kind) for (kind,) in self.rows(query, run_id) if kind}

    def materialised(self, run_id: str, asset: str) -> set[str]:
        query = (
            "SELECT partition FROM event_logs WHERE run_id = %s AND asset_key = %s"
            " AND dagster_event_type = 'ASSET_MATERIALIZATION'"
        )
        return {str(partition) for (partition,) in self.rows(query, run_id, json.dumps([asset]))}

    def events(self, run_id: str, kind: str) -> str:
        """The stored events of one type, as the JSON text Dagster keeps."""
        query = "SELECT event FROM event_logs WHERE run_id = %s AND dagster_event_type = %s"
        return "\n".join(str(event) for (event,) in self.rows(query, run_id, kind))

    def step_window(self, run_id: str, step: str) -> tuple[datetime | None, datetime | None]:
        """When a step started and when it ended (succeeded or failed); None: not yet."""
        query = (
            "SELECT dagster_event_type, timestamp FROM event_logs WHERE run_id = %s"
            " AND step_key = %s AND dagster_event_type IN ('STEP_START', 'STEP_SUCCESS',"
            " 'STEP_FAILURE')"
        )
        times = {str(kind): stamp for kind, stamp in self.rows(query, run_id, step)}
        return times.get("STEP_START"), times.get("STEP_SUCCESS") or times.get("STEP_FAILURE")

    def enqueued_at(self, run_id: str) -> datetime:
        query = "SELECT timestamp FROM event_logs WHERE run_id = %s AND dagster_event_type = %s"
        [(stamp,)] = self.rows(query, run_id, "PIPELINE_ENQUEUED")
        return cast(datetime, stamp)

    def everything_written(self) -> Iterator[tuple[str, str]]:
        for table, column in (("event_logs", "event"), ("runs", "run_body"), ("run_tags", "value")):
            for (text,) in self.rows(f"SELECT {column} FROM {table}"):  # noqa: S608 (constants)
                yield f"PostgreSQL {table}.{column}", str(text)


def finished(db: Postgres, landing: str, refused: str) -> bool:
    """Both runs ended, and the retry daemon has decided about the failed one."""
    ended = {db.status(landing), db.status(refused)} <= {"SUCCESS", "FAILURE", "CANCELED"}
    decisions = db.events(refused, "ENGINE_EVENT")
    return ended and (NOT_RETRIED in decisions or RETRIED in decisions)


def wait_until(condition: Callable[[], object], logs: Sequence[Path]) -> None:
    """Poll until `condition()` is truthy; fail with the processes' logs after RUNS_TIMEOUT."""
    deadline = time.monotonic() + RUNS_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            shown = "\n".join(f"--- {log.name}\n{tail(log)}" for log in logs)
            pytest.fail(f"not done after {RUNS_TIMEOUT} s:\n{shown}")
        time.sleep(0.3)


@pytest.fixture
def database(postgres_url: str) -> Iterator[Postgres]:
    """Plain SQL access to the `postgres_url` database."""
    db = Postgres(postgres_url)
    yield db
    db.connection.close()


def code_server_command(port: str) -> list[str]:
    return [
        *("dagster", "api", "grpc", "--module-name", "kraken_pipeline.definitions"),
        *("--host", "127.0.0.1", "--port", port, "--location-name", "kraken_pipeline"),
    ]


@pytest.mark.slow
def test_the_shipped_instance_queues_runs_and_keeps_their_history_in_postgres(
    postgres_url: str, database: Postgres, emulator: Emulator, tmp_path: Path
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    data_root = tmp_path / "data"
    base = instance_environment(home, postgres_url, free_port())
    as_of = emulator.now().isoformat()
    landing_config = {
        "ops": {"measurements_quality": {"config": {"as_of": as_of}}},
        "execution": {"config": IN_PROCESS},
    }
    landing = Launch(str(uuid.uuid4()), *LANDED_DAYS, landing_config)
    nobody = f"http://127.0.0.1:{free_port()}"
    refused_config = refused_kraken_config(as_of, nobody)
    refused = Launch(str(uuid.uuid4()), REFUSED_DAY, REFUSED_DAY, refused_config)

    code_server = code_server_command(base["KRAKEN_CODE_SERVER_PORT"])
    daemon = ["dagster-daemon", "run", "-w", str(DEPLOY / "workspace.yaml")]
    # The runs are queued together and the landing run's first token answer is held, so whichever
    # measurements step starts first still holds the kraken_api slot when the other could start.
    emulator.faults.add(Fault(kind="delay", endpoint="token", delay_seconds=HOLD_SECONDS))
    with ExitStack() as stack:
        secrets = base | kraken_environment(emulator, data_root)
        code_log = stack.enter_context(running("code-server", code_server, secrets, tmp_path))
        wait_for_text(code_log, CODE_SERVER_READY)
        daemon_log = stack.enter_context(running("daemon", daemon, base, tmp_path))
        logs = [code_log, daemon_log]
        queue([landing, refused], base, tmp_path)
        wait_until(lambda: finished(database, landing.run_id, refused.run_id), logs)

    assert_landed(database, landing.run_id, data_root, emulator)
    assert_refused_without_retry(database, refused.run_id, data_root, f"{nobody}/token/")
    assert_one_kraken_step_at_a_time(database, [landing.run_id, refused.run_id])
    found = leaks(database.everything_written(), needles(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, []))
    assert found == [], "the credentials reach runs through the code server's environment only"


def assert_landed(db: Postgres, run_id: str, data_root: Path, emulator: Emulator) -> None:
    """Queued, succeeded, and every day's materialisations and checks are rows in PostgreSQL."""
    assert db.status(run_id) == "SUCCESS"
    assert {"PIPELINE_ENQUEUED", "PIPELINE_SUCCESS"} <= db.event_types(run_id)
    days = {day.isoformat() for day in LANDED_DAYS}
    assert db.materialised(run_id, "measurements") == days
    assert db.materialised(run_id, "daily_consumption") == days
    query = (
        "SELECT DISTINCT partition FROM asset_check_executions"
        " WHERE run_id = %s AND partition IS NOT NULL"
    )
    assert {str(partition) for (partition,) in db.rows(query, run_id)} == days
    points = load_supply_points(EXAMPLE_CSV)
    for day in LANDED_DAYS:
        table = storage.read_day(data_root, day)
        assert table is not None, f"{day} has no Parquet file"
        assert table.num_rows == sum(len(expected_readings(emulator, p, day)) for p in points)


def assert_refused_without_retry(db: Postgres, run_id: str, data_root: Path, url: str) -> None:
    """A Kraken nobody answers: a failed run on record that names the URL, nothing landed, and
    no retry run spending allowance (the shipped file retries lost workers, not failed steps)."""
    assert db.status(run_id) == "FAILURE"
    assert {"PIPELINE_ENQUEUED", "STEP_FAILURE", "PIPELINE_FAILURE"} <= db.event_types(run_id)
    assert url in db.events(run_id, "STEP_FAILURE")
    assert NOT_RETRIED in db.events(run_id, "ENGINE_EVENT")
    assert db.materialised(run_id, "measurements") == set()
    assert storage.read_day(data_root, REFUSED_DAY) is None
    assert db.rows("SELECT run_id FROM run_tags WHERE key = 'dagster/parent_run_id'") == []


def assert_one_kraken_step_at_a_time(db: Postgres, run_ids: Sequence[str]) -> None:
    """The kraken_api pool took the shipped default limit, 1: the run that was queued while the
    other's measurements step was fetching fetched only after that step had ended."""
    query = "SELECT \"limit\" FROM concurrency_limits WHERE concurrency_key = 'kraken_api'"
    assert db.rows(query) == [(1,)]
    steps = [(*db.step_window(run_id, "measurements"), run_id) for run_id in run_ids]
    assert all(start and end for start, end, _ in steps), f"a step did not run: {steps}"
    (_, holder_end, _), (waiter_start, _, waiter) = sorted(steps)  # by start time
    assert db.enqueued_at(waiter) < holder_end, f"no contention: raise HOLD_SECONDS ({steps})"
    assert waiter_start >= holder_end, f"two measurements steps fetched at once: {steps}"
