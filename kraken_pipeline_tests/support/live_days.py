"""Days landed by real runs against an emulator on the real clock: what the status command and
the bad-days sensor are judged on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from kraken_pipeline.emulator import Emulator
from kraken_pipeline.local_days import local_date_of
from kraken_pipeline_tests.support.pipeline import TIMEZONE, PipelineHarness
from kraken_pipeline_tests.support.quality_runs import (
    use_supply_points_without_gaps,
)

HOUSE = ["house-export", "house-gas", "house-import"]  # property 1000001


def real_clock() -> datetime:
    return datetime.now(UTC)


def days_ago(count: int) -> date:
    return local_date_of(real_clock(), TIMEZONE) - timedelta(days=count)


def live(
    harness: PipelineHarness, start_emulator: Callable[..., Emulator], tmp_path: Path
) -> PipelineHarness:
    """The harness on an emulator at the real clock, without the meter that has gaps (the `live`
    fixture of kraken_pipeline_tests/conftest.py)."""
    harness.emulator = start_emulator(clock=real_clock)
    use_supply_points_without_gaps(harness, tmp_path)
    return harness


def land(harness: PipelineHarness, day: date) -> None:
    outcome = harness.run(day, day)
    assert outcome.success, outcome.failure
