"""A range run records each day as it lands, even when the run breaks before its end.

Each day is recorded twice by a run that ends well: once when its lake commit is done, and
again by the step's output, which Dagster records for every day of the step at its end.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from dagster import AssetKey, AssetRecordsFilter, EventLogRecord

from kraken_pipeline import storage, warehouse
from kraken_pipeline.defs.partitions import partition_key
from kraken_pipeline.warehouse.lake import ALIAS
from kraken_pipeline_tests.support.pipeline import Landed, PipelineHarness, landed_root

FIRST, BROKEN, LAST = date(2026, 11, 9), date(2026, 11, 10), date(2026, 11, 11)
MEASUREMENTS = AssetKey("measurements")


def _materialisations(harness: PipelineHarness, day: date) -> list[EventLogRecord]:
    """The day's materialisations, oldest first."""
    records = harness.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=MEASUREMENTS, asset_partitions=[partition_key(day)]),
        limit=10,
    ).records
    return sorted(records, key=lambda record: record.storage_id)


def _metadata(record: EventLogRecord) -> dict[str, Any]:
    materialization = record.asset_materialization
    assert materialization is not None
    return {name: entry.value for name, entry in materialization.metadata.items()}


def _commit_times(harness: PipelineHarness) -> dict[int, datetime]:
    """When each lake snapshot was committed, by snapshot id."""
    with warehouse.connect(harness.root) as lake:
        rows = lake.execute(
            "SELECT snapshot_id, snapshot_time FROM ducklake_snapshots(?)", [ALIAS]
        ).fetchall()
    return dict(rows)


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


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Landed:
    """FIRST..LAST landed by one clean run; the tests read its records and its lake."""
    return landed_root(tmp_path_factory.mktemp("landed") / "data", FIRST, LAST)


def test_a_run_records_each_day_before_it_commits_the_next(landed: Landed) -> None:
    harness = landed.harness

    assert landed.outcome.success, landed.outcome.failure
    records = {day: _materialisations(harness, day) for day in (FIRST, BROKEN, LAST)}
    committed = _commit_times(harness)
    for day, next_day in ((FIRST, BROKEN), (BROKEN, LAST)):
        first_record = records[day][0]
        next_commit = committed[_metadata(records[next_day][0])["lake_snapshot"]]
        assert first_record.timestamp <= next_commit.timestamp(), (day, next_day)


def test_a_days_records_in_one_run_carry_the_same_figures_as_its_stored_rows(
    landed: Landed,
) -> None:
    harness = landed.harness
    assert landed.outcome.success, landed.outcome.failure

    for day in (FIRST, BROKEN, LAST):
        as_landed, at_the_end = (_metadata(record) for record in _materialisations(harness, day))
        assert as_landed == at_the_end
        assert at_the_end["rows"] == harness.day(day).num_rows > 0
