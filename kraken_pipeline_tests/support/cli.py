"""`kraken-pipeline run` as an operator runs it: a separate process, a clean environment.

The command runs in a temporary working directory (no `.env` is read) with an environment built
from scratch, its Dagster instance in that directory (DAGSTER_HOME), against an emulator this
test process serves on loopback. `start` leaves the process running so that a test can kill it
at a chosen moment; crash_driver.py runs the same command with a crash point armed.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from kraken_pipeline.emulator import ClientGrant, Emulator
from kraken_pipeline_tests.support.resilience import EXAMPLE_CSV

COMMAND_TIMEOUT = 120
CRASH_DRIVER = Path(__file__).with_name("crash_driver.py")
SENTINEL_ID = "resilience-app"
SENTINEL_SECRET = "SENTINEL-s3cr3t-7f3a9c"  # searched for everywhere the product writes
SENTINEL_GRANT = ClientGrant(SENTINEL_ID, SENTINEL_SECRET, "Resilience meter reader")
_RUN_NUMBERS = itertools.count(1)


@dataclass(frozen=True)
class Finished:
    """A finished command: exit status and what it printed."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def problem_lines(self) -> list[str]:
        """The lines that report an error, as click (`Error:`) and our commands (`error:`) do."""
        return [line for line in self.output.splitlines() if line.lower().startswith("error")]


@dataclass
class Started:
    """A running command; its output goes to files, so a full pipe can never stall it."""

    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path

    def finish(self) -> Finished:
        """Wait for the command to end and collect what it printed."""
        self.process.wait(timeout=COMMAND_TIMEOUT)
        return Finished(
            self.process.returncode,
            self.stdout_path.read_text(encoding="utf-8", errors="replace"),
            self.stderr_path.read_text(encoding="utf-8", errors="replace"),
        )

    def kill(self) -> None:
        """SIGKILL: no handler, no cleanup, no flush; then reap the process."""
        self.process.kill()
        self.process.wait(timeout=COMMAND_TIMEOUT)


@dataclass(frozen=True)
class Workspace:
    """A working directory with the data root and the Dagster instance inside it."""

    cwd: Path

    @property
    def data(self) -> Path:
        return self.cwd / "data"

    @property
    def dagster_home(self) -> Path:
        return self.cwd / "dagster_home"

    def environment(self, emulator: Emulator, **variables: str) -> dict[str, str]:
        """PATH, HOME, data root, Dagster home and credentials for `emulator`, plus `variables`."""
        return {
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.defpath]),
            "HOME": str(self.cwd),
            "KRAKEN_PIPELINE_DATA": str(self.data),
            "DAGSTER_HOME": str(self.dagster_home),
            "KRAKEN_CLIENT_ID": SENTINEL_ID,
            "KRAKEN_CLIENT_SECRET": SENTINEL_SECRET,
            "KRAKEN_AUTH_URL": emulator.token_url,
            "KRAKEN_API_URL": emulator.graphql_url,
            "KRAKEN_SUPPLY_POINTS": str(EXAMPLE_CSV),
            **variables,
        }

    def start(
        self, first: date, last: date, env: dict[str, str], crash_at: str | None = None
    ) -> Started:
        """Start `kraken-pipeline run --start first --end last`, optionally with a crash point."""
        arguments = ["run", "--start", first.isoformat(), "--end", last.isoformat()]
        if crash_at is None:
            command = [sys.executable, "-m", "kraken_pipeline.cli", *arguments]
        else:
            marker = str(self.cwd / f"crashed-at-{crash_at}")
            command = [sys.executable, str(CRASH_DRIVER), crash_at, marker, *arguments]
        number = next(_RUN_NUMBERS)
        stdout_path, stderr_path = self.cwd / f"run-{number}.out", self.cwd / f"run-{number}.err"
        with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
            process = subprocess.Popen(command, cwd=self.cwd, env=env, stdout=stdout, stderr=stderr)
        return Started(process, stdout_path, stderr_path)

    def run(self, first: date, last: date, env: dict[str, str]) -> Finished:
        """The command run to its end."""
        return self.start(first, last, env).finish()

    def command(self, *arguments: str, env: dict[str, str]) -> Finished:
        """Any `kraken-pipeline` subcommand, run to its end."""
        done = subprocess.run(
            [sys.executable, "-m", "kraken_pipeline.cli", *arguments],
            cwd=self.cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        return Finished(done.returncode, done.stdout, done.stderr)

    def crash_marker(self, crash_at: str) -> Path:
        """The file crash_driver.py writes when the process stands at its crash point."""
        return self.cwd / f"crashed-at-{crash_at}"


def wait_until(condition: Callable[[], bool], started: Started, what: str) -> None:
    """Poll `condition` until it holds; fail if the process ended first or time ran out."""
    deadline = time.monotonic() + COMMAND_TIMEOUT
    while not condition():
        if started.process.poll() is not None:
            done = started.finish()
            raise AssertionError(f"the run ended before {what}: {done.output[-3000:]}")
        if time.monotonic() > deadline:
            started.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
