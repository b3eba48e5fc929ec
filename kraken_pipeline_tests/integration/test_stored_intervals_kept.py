"""The stored_intervals_kept check: a re-run that removed stored intervals of a published day.

An emulator whose days are not yet published answers every page empty, as an outage of
Kraken's measurement store might: re-running an already landed day against it replaces the day
with nothing. The rule itself is also called alone on hand-made fetch logs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pyarrow.compute as pc
from dagster import AssetCheckSeverity

from kraken_pipeline import quality, storage
from kraken_pipeline.emulator import DatasetConfig, Emulator, demo_dataset
from kraken_pipeline_tests.support.pipeline import Landed, PipelineHarness
from kraken_pipeline_tests.support.quality_rows import (
    CONFIG,
    LONG_AFTER,
    ORDINARY_DAY,
    TZ,
    Row,
    electricity,
    fetch_log,
    gas,
    log_row,
)
from kraken_pipeline_tests.support.quality_runs import evaluations, key, offenders

DAY = date(2026, 11, 10)  # past the publication lag; the `landed_day` fixture's day
CHECK = quality.CHECK_STORED_INTERVALS_KEPT


def answering_empty_pages(start_emulator: Callable[..., Emulator]) -> Emulator:
    """An emulator at the same clock that has published nothing of the last month yet."""
    unpublished = DatasetConfig(publication_lag=timedelta(days=30))
    return start_emulator(dataset=demo_dataset(unpublished))


def stored_rows_per_supply_point(harness: PipelineHarness) -> dict[str, int]:
    table = harness.day(DAY)
    return {
        point.supply_point_id: pc.sum(
            pc.equal(table["supply_point_id"], point.supply_point_id)
        ).as_py()
        for point in harness.supply_points()
    }


def removed_per_supply_point(harness: PipelineHarness) -> dict[str, int]:
    log = harness.fetch_log(DAY).to_pylist()
    return {row["supply_point_id"]: row["intervals_removed"] for row in log}


def test_an_ordinary_rerun_removes_no_stored_interval_and_passes(
    harness: PipelineHarness, landed_day: Landed
) -> None:
    harness.copy_of(landed_day.root)  # DAY as the job landed it
    again = harness.run(DAY, DAY)

    assert again.success, again.failure
    assert set(removed_per_supply_point(harness).values()) == {0}
    evaluation = evaluations(harness, again.run_id)[(key(DAY), CHECK)]
    assert evaluation.passed
    assert evaluation.severity == AssetCheckSeverity.WARN


def test_a_rerun_answered_with_empty_pages_warns_naming_each_supply_point_and_its_count(
    harness: PipelineHarness, start_emulator: Callable[..., Emulator], landed_day: Landed
) -> None:
    harness.copy_of(landed_day.root)  # DAY as the job landed it
    stored = stored_rows_per_supply_point(harness)
    harness.emulator = answering_empty_pages(start_emulator)

    outage = harness.run(DAY, DAY)

    assert outage.success, outage.failure
    assert harness.day(DAY).num_rows == 0, "the empty answer replaced the day"
    assert removed_per_supply_point(harness) == stored
    evaluation = evaluations(harness, outage.run_id)[(key(DAY), CHECK)]
    assert not evaluation.passed
    assert evaluation.severity == AssetCheckSeverity.WARN
    assert sorted(offenders(evaluation)) == sorted(stored)
    assert f"removed {sum(stored.values())} stored interval(s)" in (evaluation.description or "")
    results = storage.read_quality_results(harness.root, DAY)
    assert results is not None
    named = {
        row["supply_point_id"]: row["detail"]
        for row in results.to_pylist()
        if row["check_name"] == CHECK and row["supply_point_id"]
    }
    assert named == {
        point: f"the latest write removed {count} stored interval(s)"
        for point, count in stored.items()
    }


def test_a_repair_run_answered_empty_names_only_the_supply_point_it_replaced(
    harness: PipelineHarness, start_emulator: Callable[..., Emulator], landed_day: Landed
) -> None:
    harness.copy_of(landed_day.root)  # DAY as the job landed it
    stored = stored_rows_per_supply_point(harness)
    harness.emulator = answering_empty_pages(start_emulator)

    repair = harness.run(DAY, DAY, supply_point_ids=["house-import"])

    removed = removed_per_supply_point(harness)
    assert removed["house-import"] == stored["house-import"]
    assert {count for point, count in removed.items() if point != "house-import"} == {0}
    evaluation = evaluations(harness, repair.run_id)[(key(DAY), CHECK)]
    assert offenders(evaluation) == ["house-import"]


# --- the rule alone ------------------------------------------------------------------------------


def removed_log(*counts: tuple[str, int | None], error_code: str | None = None) -> list[Row]:
    points = {"house-import": electricity(), "house-gas": gas()}
    return [
        {**log_row(points[point], error_code=error_code), "intervals_removed": count}
        for point, count in counts
    ]


def test_intervals_removed_inside_the_publication_lag_are_not_judged_yet() -> None:
    log = fetch_log(*removed_log(("house-import", 12)))
    now = datetime(2026, 3, 12, 12, 0, tzinfo=UTC)  # ORDINARY_DAY ended 36 hours before

    outcome = quality.check_stored_intervals_kept(ORDINARY_DAY, log, TZ, now, CONFIG)
    later = quality.check_stored_intervals_kept(ORDINARY_DAY, log, TZ, LONG_AFTER, CONFIG)

    assert outcome.passed
    assert outcome.metrics["past_publication_lag"] == "no"
    assert not later.passed
    assert [(o.supply_point_id, o.count) for o in later.offenders] == [("house-import", 12)]


def test_a_failed_fetch_and_a_log_written_before_the_count_existed_remove_nothing() -> None:
    failed = removed_log(("house-import", 48), error_code="KT-CT-4178")
    old = removed_log(("house-gas", None))
    log = fetch_log(*failed, *old)

    outcome = quality.check_stored_intervals_kept(ORDINARY_DAY, log, TZ, LONG_AFTER, CONFIG)

    assert outcome.passed
    assert outcome.metrics["intervals_removed"] == 0
    assert not outcome.blocking


def test_offenders_come_most_intervals_removed_first() -> None:
    log = fetch_log(*removed_log(("house-import", 2), ("house-gas", 30)))

    outcome = quality.check_stored_intervals_kept(ORDINARY_DAY, log, TZ, LONG_AFTER, CONFIG)

    assert outcome.severity is quality.Severity.WARN
    assert [(o.supply_point_id, o.count) for o in outcome.offenders] == [
        ("house-gas", 30),
        ("house-import", 2),
    ]
    assert outcome.metrics["intervals_removed"] == 32
