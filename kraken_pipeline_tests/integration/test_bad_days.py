"""The `bad_days` sensor: the recent days that need action, one repair run each, in the UI.

Real runs through the Dagster job against an emulator on the real clock fill the lake; the
sensor's tick is evaluated as the UI's *Preview tick result* evaluates it.
"""

from __future__ import annotations

from datetime import date

from dagster import RunRequest, SkipReason, build_sensor_context

from kraken_pipeline.defs.bad_days import PROBLEM_TAG, SENSOR_NAME
from kraken_pipeline.defs.location import build_definitions
from kraken_pipeline.defs.resources import StorageResource
from kraken_pipeline.defs.schedules import range_days
from kraken_pipeline.emulator import Fault
from kraken_pipeline_tests.support.live_days import HOUSE, days_ago, land
from kraken_pipeline_tests.support.pipeline import PipelineHarness


def tick(harness: PipelineHarness) -> list[RunRequest | SkipReason]:
    """What a preview of the sensor's tick shows."""
    sensor = build_definitions(harness.settings).get_unresolved_sensor_def(SENSOR_NAME)
    context = build_sensor_context(
        instance=harness.instance,
        resources={"storage_root": StorageResource(data_root=str(harness.root))},
    )
    return list(sensor.evaluate_tick(context).run_requests or []) or [
        SkipReason(sensor.evaluate_tick(context).skip_message)
    ]


def requested(results: list[RunRequest | SkipReason]) -> dict[date, RunRequest]:
    days = {}
    for result in results:
        assert isinstance(result, RunRequest), result
        first_and_last = range_days(result.tags)
        assert first_and_last is not None
        assert first_and_last[0] == first_and_last[1]
        days[first_and_last[0]] = result
    return days


def test_the_tick_lists_each_bad_day_once_with_its_repair_and_no_good_or_pending_day(
    live: PipelineHarness,
) -> None:
    land(live, days_ago(6))
    live.emulator.faults.add(Fault("kraken_error", code="KT-CT-4178", property_id="1000001"))
    live.run(days_ago(5), days_ago(5))  # the house's fetch is refused; the others land
    live.emulator.faults.clear()
    land(live, days_ago(3))  # days_ago(4) is never landed; days_ago(1) is inside the lag

    bad = requested(tick(live))

    assert sorted(bad) == [days_ago(5), days_ago(4)]
    house = bad[days_ago(5)]
    assert house.run_config == {"ops": {"measurements": {"config": {"supply_point_ids": HOUSE}}}}
    assert "KT-CT-4178" in house.tags[PROBLEM_TAG]
    assert bad[days_ago(4)].run_config == {}
    assert bad[days_ago(4)].tags[PROBLEM_TAG] == "no data stored"


def test_repairing_the_listed_days_empties_the_list(live: PipelineHarness) -> None:
    land(live, days_ago(3))
    live.emulator.faults.add(Fault("kraken_error", code="KT-CT-4178", property_id="1000001"))
    live.run(days_ago(2), days_ago(2))
    live.emulator.faults.clear()
    [repair] = requested(tick(live)).values()

    repaired = live.run(days_ago(2), days_ago(2), supply_point_ids=HOUSE)

    assert repair.run_config["ops"]["measurements"]["config"]["supply_point_ids"] == HOUSE
    assert repaired.success, repaired.failure
    [skipped] = tick(live)
    assert isinstance(skipped, SkipReason)
    skipped = skipped.skip_message
    assert "no day of the last 4 weeks needs action; pending publication:" in str(skipped)
    assert days_ago(1).isoformat() in str(skipped)
