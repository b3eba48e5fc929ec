"""The daily schedule re-pulls the trailing window of complete local days, across clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from dagster import RunRequest, SkipReason, build_schedule_context

from kraken_pipeline.defs.location import MEASUREMENTS_JOB, build_definitions
from kraken_pipeline.defs.partitions import trailing_days
from kraken_pipeline.defs.schedules import SCHEDULE_NAME, range_tags
from kraken_pipeline.settings import PipelineSettings

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
PRIORITY = "dagster/priority"


def evaluate(settings: PipelineSettings, at: datetime) -> RunRequest | SkipReason:
    defs = build_definitions(settings)
    schedule = defs.resolve_schedule_def(SCHEDULE_NAME)
    with build_schedule_context(scheduled_execution_time=at) as context:
        result = schedule.evaluate_tick(context)
    if result.skip_message:
        return SkipReason(result.skip_message)
    (request,) = result.run_requests or []
    return request


def test_the_morning_run_requests_the_five_days_before_today_in_one_run() -> None:
    request = evaluate(PipelineSettings(), datetime(2026, 11, 20, 7, tzinfo=UTC))

    assert isinstance(request, RunRequest)
    assert request.tags[RANGE_START] == "2026-11-15"
    assert request.tags[RANGE_END] == "2026-11-19"


def test_the_daily_run_is_served_before_backfills_by_the_queue_and_the_pools() -> None:
    request = evaluate(PipelineSettings(), datetime(2026, 11, 20, 7, tzinfo=UTC))
    # What `kraken-pipeline run`, the UI's backfills and their parts are tagged with.
    backfill = range_tags(date(2025, 11, 20), date(2026, 11, 19))

    assert isinstance(request, RunRequest)
    assert int(request.tags[PRIORITY]) > int(backfill.get(PRIORITY, "0")) == 0


def test_the_window_spans_the_autumn_clock_change_by_local_days() -> None:
    # 07:00 in London on 2026-10-27 is 07:00 UTC (GMT); the window is 22..26 October local.
    request = evaluate(PipelineSettings(), datetime(2026, 10, 27, 7, tzinfo=UTC))

    assert isinstance(request, RunRequest)
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("2026-10-22", "2026-10-26")


def test_just_after_midnight_in_summer_today_is_already_the_new_local_day() -> None:
    # 23:30 UTC on 2026-03-29 is 00:30 BST on 2026-03-30: 2026-03-29 is now complete.
    days = trailing_days(datetime(2026, 3, 29, 23, 30, tzinfo=UTC), "Europe/London", 2, date.min)

    assert days == [date(2026, 3, 28), date(2026, 3, 29)]


def test_the_window_never_starts_before_the_first_partition() -> None:
    settings = PipelineSettings(partitions_start=date(2026, 11, 18))

    request = evaluate(settings, datetime(2026, 11, 20, 7, tzinfo=UTC))

    assert isinstance(request, RunRequest)
    assert request.tags[RANGE_START] == "2026-11-18"


def test_before_the_first_complete_day_the_schedule_skips_naming_the_first_day() -> None:
    settings = PipelineSettings(partitions_start=date(2026, 11, 20))

    result = evaluate(settings, datetime(2026, 11, 20, 7, tzinfo=UTC))

    # What the tick shows in the UI: why nothing ran, and from which day runs will start.
    assert isinstance(result, SkipReason)
    assert "no complete day since 2026-11-20" in str(result.skip_message)


@pytest.mark.parametrize(("at", "days"), [(time(6, 30), 3), (time(9, 0), 7)])
def test_the_schedule_time_and_window_are_configurable(at: time, days: int) -> None:
    settings = PipelineSettings(schedule_time=at, schedule_days=days)
    defs = build_definitions(settings)

    schedule = defs.resolve_schedule_def(SCHEDULE_NAME)

    assert schedule.cron_schedule == f"{at.minute} {at.hour} * * *"
    assert schedule.execution_timezone == "Europe/London"
    request = evaluate(settings, datetime(2026, 11, 20, 12, tzinfo=UTC))
    assert isinstance(request, RunRequest)
    assert request.tags[RANGE_START] == f"2026-11-{19 - days + 1:02d}"
    assert schedule.job_name == MEASUREMENTS_JOB
