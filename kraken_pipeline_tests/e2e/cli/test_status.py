"""`kraken-pipeline status` on a data root that real runs filled, as an operator runs it.

The runs go through the Dagster job against emulators on the real clock (status judges the last
complete local days as of now); the command runs as its own process with a clean environment.
The data tell the day kinds apart: a clean day, a fetch refused for one property, a day never
landed, a day Kraken answered empty (an emulator that has published nothing of the last month),
a stored day spoiled with a duplicate and judged again, and days inside the publication lag.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from kraken_pipeline.emulator import DatasetConfig, Emulator, Fault, demo_dataset
from kraken_pipeline.report import rerun_command
from kraken_pipeline_tests.support.cli import COMMAND_TIMEOUT, Finished
from kraken_pipeline_tests.support.live_days import (
    HOUSE,
    days_ago,
    land,
    real_clock,
)
from kraken_pipeline_tests.support.pipeline import PipelineHarness
from kraken_pipeline_tests.support.quality_runs import (
    rejudge,
    spoil_stored_day,
)


def land_empty(
    harness: PipelineHarness, start_emulator: Callable[..., Emulator], day: date
) -> None:
    """Land a day as answered by a Kraken that has published none of it: every page empty."""
    published = harness.emulator
    unpublished = DatasetConfig(publication_lag=timedelta(days=30))
    harness.emulator = start_emulator(clock=real_clock, dataset=demo_dataset(unpublished))
    land(harness, day)
    harness.emulator = published


def status(root: Path, *arguments: str) -> Finished:
    """`kraken-pipeline status` in a clean environment whose data root is `root`."""
    environment = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.defpath]),
        "HOME": str(root.parent),
        "KRAKEN_PIPELINE_DATA": str(root),
    }
    done = subprocess.run(
        [sys.executable, "-m", "kraken_pipeline.cli", "status", *arguments],
        cwd=root.parent,
        env=environment,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    return Finished(done.returncode, done.stdout, done.stderr)


def lines_of(finished: Finished, day: date) -> list[str]:
    """The lines about one day (the closing count starts with the first day, then "..")."""
    return [line for line in finished.stdout.splitlines() if line.startswith(f"{day}  ")]


def line_of(finished: Finished, day: date) -> str:
    [line] = lines_of(finished, day)
    return line


def test_status_names_each_day_that_needs_action_with_its_repair_and_exits_1(
    live: PipelineHarness, start_emulator: Callable[..., Emulator]
) -> None:
    land(live, days_ago(7))
    live.emulator.faults.add(Fault("kraken_error", code="KT-CT-4178", property_id="1000001"))
    live.run(days_ago(6), days_ago(6))  # the house's fetch is refused; the others land
    live.emulator.faults.clear()
    land_empty(live, start_emulator, days_ago(4))
    land(live, days_ago(3))
    spoil_stored_day(live, days_ago(3), "office-import", 0, lambda row: [row, row])
    rejudge(live, days_ago(3), days_ago(3))
    land_empty(live, start_emulator, days_ago(2))

    finished = status(live.root, "--days", "7")

    assert finished.returncode == 1, finished.output
    assert lines_of(finished, days_ago(7)) == [], "a clean day needs nothing"
    fetch = line_of(finished, days_ago(6))
    assert "3 supply point(s) failed to fetch: KT-CT-4178 x3;" in fetch
    assert fetch.endswith(f"re-run: {rerun_command(days_ago(6), days_ago(6), HOUSE)}")
    missing = line_of(finished, days_ago(5))
    assert missing.endswith(f"no data stored; re-run: {rerun_command(days_ago(5), days_ago(5))}")
    empty = line_of(finished, days_ago(4))
    assert empty.endswith(
        f"6 supply point(s) below 90% complete; re-run: {rerun_command(days_ago(4), days_ago(4))}"
    )
    spoiled = line_of(finished, days_ago(3))
    assert "blocking check(s) failed: unique_intervals" in spoiled
    assert spoiled.endswith(f"re-run: {rerun_command(days_ago(3), days_ago(3))}")
    incomplete = line_of(finished, days_ago(2))
    assert incomplete.startswith(f"{days_ago(2)}  pending: 6 supply point(s) below 90% complete")
    assert line_of(finished, days_ago(1)).endswith(
        "pending: no data yet (within the publication lag)"
    )
    assert f"re-run them all: {rerun_command(days_ago(6), days_ago(3))}" in finished.stdout
    assert finished.stdout.splitlines()[-1] == (
        f"{days_ago(7)}..{days_ago(1)}: 4 day(s) need action, 2 pending, 1 ok"
    )


def test_status_exits_0_when_every_day_is_landed_or_only_pending(live: PipelineHarness) -> None:
    land(live, days_ago(3))

    finished = status(live.root, "--days", "3")

    assert finished.returncode == 0, finished.output
    assert [line.split("  ")[0] for line in finished.stdout.splitlines()[:-1]] == [
        str(days_ago(2)),
        str(days_ago(1)),
    ]
    assert finished.stdout.splitlines()[-1].endswith("0 day(s) need action, 2 pending, 1 ok")


def test_status_of_a_data_root_that_does_not_exist_is_one_line_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-data"

    finished = status(missing)

    assert finished.returncode == 2
    assert finished.stdout == ""
    assert finished.stderr.strip().splitlines() == [
        f"error: the data root {missing} does not exist; set KRAKEN_PIPELINE_DATA to the "
        "directory that runs write to"
    ]
