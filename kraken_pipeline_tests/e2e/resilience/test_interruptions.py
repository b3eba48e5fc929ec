"""Stopping commands with signals: Ctrl-C during `run`, SIGTERM or Ctrl-C to `ui`.

Ctrl-C (SIGINT) during a run must end it with exit status 130, name the days that did not land
and the command that lands them, and print no traceback. Stopping `ui` must leave none of the
processes `dagster dev` spawned. Real processes and real signals, against the emulator.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from dagster import AssetKey, DagsterInstance, DagsterRunStatus

from kraken_pipeline import storage
from kraken_pipeline.emulator import Emulator, Fault
from kraken_pipeline.local_days import days_between
from kraken_pipeline_tests.support.cli import (
    COMMAND_TIMEOUT,
    SENTINEL_GRANT,
    Workspace,
    wait_until,
)
from kraken_pipeline_tests.support.loopback import free_port
from kraken_pipeline_tests.support.xdist_groups import DAEMONS

# Four chunks of seven days: Ctrl-C lands after the first chunk, well before the last.
FIRST, LAST = date(2026, 10, 1), date(2026, 10, 28)
HELD_SECONDS = 2
# Every test starts processes that import Dagster; two of them start the UI.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group(DAEMONS)]


@pytest.fixture
def kraken(start_emulator: Callable[..., Emulator]) -> Emulator:
    return start_emulator(clients=(SENTINEL_GRANT,), latency=timedelta(milliseconds=50))


def test_ctrl_c_mid_run_names_the_days_not_landed_and_exits_130_without_a_traceback(
    kraken: Emulator, tmp_path: Path
) -> None:
    workspace = Workspace(tmp_path)
    started = workspace.start(FIRST, LAST, workspace.environment(kraken))
    first_chunk_done = f"landed {FIRST + timedelta(days=6)} "  # its progress line, piped
    wait_until(
        lambda: first_chunk_done in started.stdout_path.read_text(encoding="utf-8"),
        started,
        "the first chunk",
    )
    # Requests sent from now on are held 2 s; a chunk being written lands meanwhile, so the
    # Ctrl-C a second later falls between days, not inside one.
    kraken.faults.add(Fault(kind="delay", delay_seconds=HELD_SECONDS, times=None))
    time.sleep(HELD_SECONDS / 2)

    started.process.send_signal(signal.SIGINT)
    finished = started.finish()

    assert finished.returncode == 130, finished.output[-3000:]
    assert "Traceback" not in finished.stderr
    assert "Stack Trace" not in finished.output
    landed = [day for day in days_between(FIRST, LAST) if storage.read_day(workspace.data, day)]
    first_missing = landed[-1] + timedelta(days=1)
    assert first_missing <= LAST
    assert f"interrupted: {len(landed)} of 28 day(s) landed ({FIRST}..{landed[-1]})" in (
        finished.stderr
    )
    assert f"not landed: {(LAST - landed[-1]).days} day(s), {first_missing}..{LAST}" in (
        finished.stderr
    )
    assert f"re-run: kraken-pipeline run --start {first_missing} --end {LAST}" in finished.stderr
    with DagsterInstance.from_config(str(workspace.dagster_home)) as instance:
        [run] = instance.get_runs()
        materialised = instance.get_materialized_partitions(AssetKey("measurements"))
    assert run.status == DagsterRunStatus.FAILURE  # Dagster's own record of the interruption
    # The UI shows the landed days green, the others failed with the run.
    assert materialised == {day.isoformat() for day in landed}


def session_processes(session: int) -> list[int]:
    """Live (not zombie) processes of a session, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        state, session_id = fields[0], int(fields[3])
        if session_id == session and state != "Z":
            found.append(int(entry.name))
    return found


def start_ui(kraken: Emulator, workspace: Workspace) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "kraken_pipeline.cli", "ui", "--port", str(port)]
    log = (workspace.cwd / "ui.log").open("wb")
    process = subprocess.Popen(
        command,
        cwd=workspace.cwd,
        env=workspace.environment(kraken),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its session holds every process it spawns
    )
    log.close()
    return process, f"http://127.0.0.1:{port}/server_info"


def wait_for_webserver(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + COMMAND_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(encoding="utf-8", errors="replace")
        try:
            requests.get(url, timeout=5).raise_for_status()
            return
        except requests.RequestException:
            time.sleep(0.5)
    raise AssertionError(f"the UI did not answer: {log.read_text(encoding='utf-8')[-3000:]}")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_stopping_the_ui_leaves_none_of_its_processes(
    kraken: Emulator, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    workspace = Workspace(tmp_path)
    process, url = start_ui(kraken, workspace)
    try:
        wait_for_webserver(process, url, workspace.cwd / "ui.log")
        spawned = session_processes(process.pid)
        assert len(spawned) > 2, "dagster dev should run a webserver and a daemon"

        os.kill(process.pid, stop_signal)  # the command alone, as a terminal or systemd does
        status = process.wait(timeout=COMMAND_TIMEOUT)

        assert status == 0
        assert session_processes(process.pid) == []
    finally:
        with_leftovers = session_processes(process.pid)
        for pid in with_leftovers:
            os.kill(pid, signal.SIGKILL)
