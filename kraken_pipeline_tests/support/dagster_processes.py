"""The Dagster UI as an operator starts it (`kraken-pipeline ui`), run as a subprocess on loopback.

`kraken-pipeline ui` runs `dagster dev`: the webserver, the daemon (backfills, the run queue,
schedules) and their code servers. It starts in a session of its own, so stopping its process
group also stops every process it spawned, run workers included. The working directory is a
temporary one, so no `.env` of the repository is read, and the environment is built from
scratch: nothing of the developer's KRAKEN_* or DAGSTER_HOME leaks in.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import requests

from kraken_pipeline_tests.support.loopback import free_port

# Dagster's telemetry would upload usage logs; nothing in these tests may leave the machine.
INSTANCE_YAML = "telemetry:\n  enabled: false\n"
READY_TIMEOUT = 120
STOP_TIMEOUT = 15
LOG_TAIL_LINES = 60
# The daemons the operator's buttons need: backfills and the queue that starts launched runs.
NEEDED_DAEMONS = frozenset({"BACKFILL", "QUEUED_RUN_COORDINATOR"})
READINESS_QUERY = """
query Readiness {
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
  }
  instance { daemonHealth { allDaemonStatuses { daemonType healthy } } }
}
"""


class DeploymentError(RuntimeError):
    """The UI did not come up; the message carries the end of its log."""


@dataclass(frozen=True)
class DagsterDeployment:
    """A running `kraken-pipeline ui`: where it listens, its instance and its log."""

    process: subprocess.Popen[bytes]
    url: str
    home: Path
    log_path: Path

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines the webserver, daemon and code servers printed."""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def write_instance(home: Path) -> Path:
    """A fresh Dagster instance folder with telemetry off."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    config.write_text(INSTANCE_YAML, encoding="utf-8")
    return config


@contextmanager
def running_ui(
    workdir: Path, environment: Mapping[str, str], module: str | None = None
) -> Iterator[DagsterDeployment]:
    """Start `kraken-pipeline ui` in `workdir`, or `dagster dev` on another code location
    `module` (on the instance DAGSTER_HOME names), wait until it can run things, always stop it."""
    deployment = _start(workdir, environment, module)
    try:
        _wait_until_ready(deployment)
        yield deployment
    finally:
        stop(deployment)


def _start(workdir: Path, environment: Mapping[str, str], module: str | None) -> DagsterDeployment:
    port = free_port()
    home = Path(environment["DAGSTER_HOME"])
    log_path = workdir / "dagster-ui.log"
    if module is None:
        write_instance(home)
        command = [sys.executable, "-m", "kraken_pipeline.cli", "ui", "--port", str(port)]
    else:
        command = [sys.executable, "-m", "dagster", "dev", "-m", module, "-h", "127.0.0.1"]
        command += ["-p", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=dict(environment),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return DagsterDeployment(process, f"http://127.0.0.1:{port}", home, log_path)


def _wait_until_ready(deployment: DagsterDeployment) -> None:
    """Until the code location is loaded and the needed daemons beat; fail with the log if not."""
    deadline = time.monotonic() + READY_TIMEOUT
    problem: str | None = "the webserver did not answer"
    while time.monotonic() < deadline:
        if deployment.process.poll() is not None:
            raise DeploymentError(f"the UI exited early:\n{deployment.log_tail()}")
        problem = _readiness_problem(deployment)
        if problem is None:
            return
        time.sleep(0.5)
    raise DeploymentError(f"not ready after {READY_TIMEOUT} s: {problem}\n{deployment.log_tail()}")


def _readiness_problem(deployment: DagsterDeployment) -> str | None:
    try:
        answer = requests.post(
            deployment.graphql_url, json={"query": READINESS_QUERY}, timeout=10
        ).json()
    except (requests.ConnectionError, requests.Timeout, ValueError):
        return "the webserver did not answer"
    entries = answer["data"]["workspaceOrError"]["locationEntries"]
    for entry in entries:
        error = entry["locationOrLoadError"] or {}
        if error.get("__typename") == "PythonError":
            raise DeploymentError(f"the code location failed to load: {error['message']}")
    if not entries or any(entry["loadStatus"] != "LOADED" for entry in entries):
        return "the code location is still loading"
    statuses = answer["data"]["instance"]["daemonHealth"]["allDaemonStatuses"]
    healthy = {status["daemonType"] for status in statuses if status["healthy"]}
    missing = NEEDED_DAEMONS - healthy
    return f"daemons not running yet: {sorted(missing)}" if missing else None


def stop(deployment: DagsterDeployment) -> None:
    """SIGTERM the whole process group, then SIGKILL whatever is left; safe to call twice."""
    group = deployment.process.pid
    _signal_group(group, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        deployment.process.wait(timeout=STOP_TIMEOUT)
    # Children (code servers, run workers) may outlive the leader: the group goes as a whole.
    _signal_group(group, signal.SIGKILL)
    deployment.process.wait(timeout=STOP_TIMEOUT)


def _signal_group(group: int, signum: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(group, signum)
