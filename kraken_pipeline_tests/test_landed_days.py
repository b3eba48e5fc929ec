"""A range run records each day it wrote, even when the run breaks before its end."""

from __future__ import annotations

from datetime import date

from dagster import AssetKey, AssetRecordsFilter

from kraken_pipeline import storage
from kraken_pipeline.partitions import partition_key
from kraken_pipeline_tests.pipeline_support import PipelineHarness

FIRST, BROKEN, LAST = date(2026, 11, 9), date(2026, 11, 10), date(2026, 11, 11)
MEASUREMENTS = AssetKey("measurements")


def _materialisations(harness: PipelineHarness, day: date) -> int:
    records = harness.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=MEASUREMENTS, asset_partitions=[partition_key(day)]),
        limit=10,
    ).records
    return len(records)


def test_a_run_broken_on_a_day_leaves_the_days_written_before_it_materialised(
    harness: PipelineHarness,
) -> None:
    # A file where the day's folder of the lake must go: its commit fails, as on a broken disk.
    blocker = harness.root / "lake" / "main" / "measurements" / f"local_date={BROKEN}"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a directory\n", encoding="utf-8")

    outcome = harness.run(FIRST, LAST)

    assert not outcome.success
    materialised = harness.instance.get_materialized_partitions(MEASUREMENTS)
    assert materialised == {partition_key(FIRST)}
    assert harness.day(FIRST).num_rows > 0
    assert storage.read_day(harness.root, LAST) is None


def test_a_run_that_ends_well_records_each_day_once(harness: PipelineHarness) -> None:
    outcome = harness.run(FIRST, LAST)

    assert outcome.success, outcome.failure
    assert [_materialisations(harness, day) for day in (FIRST, BROKEN, LAST)] == [1, 1, 1]
