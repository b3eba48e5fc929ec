"""The operator tunes the checks from run config, and a check-only run survives a missing day."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from kraken_pipeline.cli.runner import run_range
from kraken_pipeline_tests.support.lake import copy_lake
from kraken_pipeline_tests.support.pipeline import Landed, PipelineHarness
from kraken_pipeline_tests.support.quality_runs import (
    CHECK_STEP,
    CHECKS_ONLY,
    GAPPY,
    evaluations,
    rejudge,
    selection_definitions,
)

DAY = date(2026, 11, 10)  # the `landed_day` fixture's day


def judge_with(harness: PipelineHarness, day: date = DAY, **thresholds: Any) -> dict[str, Any]:
    """Re-judge one stored day with the given thresholds; the evaluations by check name."""
    definitions = selection_definitions(harness, CHECKS_ONLY)
    config = {"as_of": harness.emulator.now().isoformat(), **thresholds}
    outcome = run_range(
        harness.instance,
        harness.settings,
        day,
        day,
        run_config={"ops": {CHECK_STEP: {"config": config}}},
        definitions=definitions,
    )
    return {name: value for (_, name), value in evaluations(harness, outcome.run_id).items()}


@pytest.fixture(scope="module")
def judged_again(tmp_path_factory: pytest.TempPathFactory, landed_day: Landed) -> Path:
    """A copy of the landed day for this module's check-only runs, which only re-judge it."""
    root = tmp_path_factory.mktemp("judged_again") / "data"
    copy_lake(landed_day.root, root)
    return root


@pytest.fixture
def on_the_landed_day(harness: PipelineHarness, judged_again: Path) -> PipelineHarness:
    """The harness on the copy of the landed day (DAY, ten days before the emulator's clock)."""
    harness.root = judged_again
    return harness


def test_the_completeness_floor_decides_between_warn_and_error(
    on_the_landed_day: PipelineHarness,
) -> None:
    harness = on_the_landed_day  # the gappy meter misses a few half-hours of 48

    lenient = judge_with(harness, completeness_floor=0.5)["completeness"]
    strict = judge_with(harness, completeness_floor=1.0)["completeness"]

    assert not lenient.passed
    assert lenient.severity.value == "WARN"
    assert not strict.passed
    assert strict.severity.value == "ERROR"
    assert GAPPY in str(strict.metadata["worst_offenders"].value)


def test_the_estimate_threshold_is_the_operators_to_set(harness: PipelineHarness) -> None:
    dataset = harness.emulator.config.dataset
    house = next(spec for spec in dataset.series if spec.supply_point_id == "house-import")
    day = next(
        d for d in (date(2026, 9, n) for n in range(1, 31)) if dataset.is_estimated(house, d)
    )
    harness.emulator.set_clock(dataset.publication_time(day) + timedelta(hours=1))
    harness.run(day, day)

    strict = judge_with(harness, day, estimate_share_threshold=0.5)["estimate_share"]
    tolerant = judge_with(harness, day, estimate_share_threshold=1.0)["estimate_share"]

    assert not strict.passed
    assert strict.severity.value == "WARN"
    assert "house-import" in str(strict.metadata["worst_offenders"].value)
    assert tolerant.passed


def test_freshness_age_is_the_operators_to_set(on_the_landed_day: PipelineHarness) -> None:
    harness = on_the_landed_day  # DAY is ten days before the emulator's clock

    assert judge_with(harness, freshness_max_age_days=30)["freshness"].passed
    assert not judge_with(harness, freshness_max_age_days=3)["freshness"].passed


def test_a_check_only_run_over_a_missing_day_fails_that_day_and_judges_the_others(
    on_the_landed_day: PipelineHarness,
) -> None:
    harness, missing = on_the_landed_day, DAY - timedelta(days=1)  # only DAY was landed

    outcome = rejudge(harness, missing, DAY)

    found = evaluations(harness, outcome.run_id)
    assert not found[(missing.isoformat(), "completeness")].passed
    assert "materialise the day" in str(found[(missing.isoformat(), "completeness")].description)
    assert found[(DAY.isoformat(), "unique_intervals")].passed
