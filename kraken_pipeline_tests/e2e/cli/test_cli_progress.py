"""What `kraken-pipeline run` prints while days land, when its output is not a terminal.

Through a pipe (CI, `| tee`, cron) the command prints one plain line per landed day and keeps
Dagster's per-event log lines out; `--verbose` lets them through (on standard error). Real
subprocess, clean environment, against the emulator.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from kraken_pipeline.emulator import Emulator
from kraken_pipeline.local_days import days_between
from kraken_pipeline_tests.support.cli import (
    COMMAND_TIMEOUT,
    SENTINEL_GRANT,
    Finished,
    Workspace,
)

# Two chunks of the default seven days (seven and one).
FIRST, LAST = date(2026, 11, 1), date(2026, 11, 8)
DAYS = days_between(FIRST, LAST)
# How Dagster's console logger prints an event: "<time> - dagster - DEBUG - ... - STEP_START"
DAGSTER_EVENT_LINE = re.compile(r" - dagster - \w+ - .*(STEP_START|RUN_SUCCESS|STEP_SUCCESS)")
pytestmark = pytest.mark.slow  # each test starts a process that imports Dagster


@pytest.fixture
def kraken(start_emulator: Callable[..., Emulator]) -> Emulator:
    return start_emulator(clients=(SENTINEL_GRANT,))


def run_piped(kraken: Emulator, cwd: Path, *options: str) -> Finished:
    """`kraken-pipeline run` over FIRST..LAST, its output captured through pipes."""
    workspace = Workspace(cwd)
    arguments = ["run", "--start", FIRST.isoformat(), "--end", LAST.isoformat(), *options]
    done = subprocess.run(
        [sys.executable, "-m", "kraken_pipeline.cli", *arguments],
        cwd=cwd,
        env=workspace.environment(kraken),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    return Finished(done.returncode, done.stdout, done.stderr)


def progress_lines(finished: Finished) -> list[str]:
    return [line for line in finished.stdout.splitlines() if line.startswith("landed ")]


def test_a_piped_run_prints_one_line_per_landed_day_and_no_dagster_event_lines(
    kraken: Emulator, tmp_path: Path
) -> None:
    finished = run_piped(kraken, tmp_path)

    assert finished.returncode == 0, finished.output[-3000:]
    lines = progress_lines(finished)
    assert [line.split()[1] for line in lines] == [day.isoformat() for day in DAYS]
    assert lines[0].startswith(f"landed {FIRST} (1/8 days): ")
    assert lines[-1].startswith(f"landed {LAST} (8/8 days): ")
    assert re.search(r"so far [\d,]+ rows, \d+ requests", lines[-1])
    assert "\x1b[" not in finished.stdout  # no terminal control codes in a pipe
    assert not DAGSTER_EVENT_LINE.search(finished.output)
    # The summary table after the run is still there, a line per day.
    for day in DAYS:
        assert re.search(rf"^{day}\s+[\d,]+\s+[\d.]+%", finished.stdout, re.MULTILINE)


def test_verbose_adds_dagsters_event_lines_on_standard_error(
    kraken: Emulator, tmp_path: Path
) -> None:
    finished = run_piped(kraken, tmp_path, "--verbose")

    assert finished.returncode == 0, finished.output[-3000:]
    assert DAGSTER_EVENT_LINE.search(finished.stderr)
    assert not DAGSTER_EVENT_LINE.search(finished.stdout)
    assert len(progress_lines(finished)) == len(DAYS)
