"""daily_consumption follows whatever materialised measurements, via the automation sensor.

The sensor's tick is evaluated in process with Dagster's own testing helper, against the same
instance the runs wrote to, as the daemon would evaluate it.
"""

from __future__ import annotations

from datetime import date

from dagster import (
    AssetKey,
    DagsterInstance,
    DefaultSensorStatus,
    Definitions,
    EvaluateAutomationConditionsResult,
    evaluate_automation_conditions,
)

from kraken_pipeline.defs.location import build_definitions
from kraken_pipeline.defs.partitions import partition_key
from kraken_pipeline.defs.sensors import FOLLOW_SENSOR
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline_tests.support.pipeline import PipelineHarness

DAY = date(2026, 11, 10)
MEASUREMENTS = AssetKey("measurements")
DAILY_CONSUMPTION = AssetKey("daily_consumption")


def _tick(
    defs: Definitions, instance: DagsterInstance, previous: EvaluateAutomationConditionsResult
) -> EvaluateAutomationConditionsResult:
    return evaluate_automation_conditions(defs, instance, cursor=previous.cursor)


def _materialised(instance: DagsterInstance, key: AssetKey, day: date) -> bool:
    return partition_key(day) in instance.get_materialized_partitions(key)


def test_measurements_materialised_alone_lead_to_daily_consumption_for_that_day(
    harness: PipelineHarness,
) -> None:
    defs = build_definitions(harness.settings)
    first = evaluate_automation_conditions(defs, harness.instance)

    assert harness.materialise([MEASUREMENTS], DAY).success
    requested = _tick(defs, harness.instance, first)

    assert requested.get_requested_partitions(DAILY_CONSUMPTION) == {partition_key(DAY)}
    assert not _materialised(harness.instance, DAILY_CONSUMPTION, DAY)
    assert harness.materialise([DAILY_CONSUMPTION], DAY).success
    assert _materialised(harness.instance, DAILY_CONSUMPTION, DAY)
    assert _tick(defs, harness.instance, requested).total_requested == 0


def test_a_run_of_the_job_derives_its_days_itself_and_requests_nothing_more(
    harness: PipelineHarness,
) -> None:
    defs = build_definitions(harness.settings)
    first = evaluate_automation_conditions(defs, harness.instance)

    assert harness.run(DAY, DAY).success

    assert _materialised(harness.instance, DAILY_CONSUMPTION, DAY)
    assert _tick(defs, harness.instance, first).total_requested == 0


def test_the_follow_sensor_runs_from_the_start() -> None:
    defs = build_definitions(PipelineSettings())

    sensor = defs.resolve_sensor_def(FOLLOW_SENSOR)

    assert sensor.default_status is DefaultSensorStatus.RUNNING
