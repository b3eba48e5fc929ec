"""The daily schedule: one run that re-pulls the trailing window of days."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from kraken_pipeline.defs.dagster_internals import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
    PRIORITY_TAG,
    UnresolvedAssetJobDefinition,
)
from kraken_pipeline.defs.partitions import partition_date, partition_key, trailing_days
from kraken_pipeline.settings import PipelineSettings

SCHEDULE_NAME = "daily_measurements"
# Above the default 0 of backfills and operators' runs: the daily run takes the next free slot
# of the run queue and the kraken_api pool instead of waiting behind a backfill (docs/scaling.md).
DAILY_RUN_PRIORITY = 10


def range_tags(first_day: date, last_day: date) -> dict[str, str]:
    """Run tags that make one run materialise every partition from first_day to last_day."""
    return {
        ASSET_PARTITION_RANGE_START_TAG: partition_key(first_day),
        ASSET_PARTITION_RANGE_END_TAG: partition_key(last_day),
    }


def range_label(tags: Mapping[str, str]) -> str:
    """The days a run's tags name, as `first..last`; "its days" when they name none."""
    first = tags.get(ASSET_PARTITION_RANGE_START_TAG) or tags.get(PARTITION_NAME_TAG)
    last = tags.get(ASSET_PARTITION_RANGE_END_TAG) or first
    return f"{first}..{last}" if first else "its days"


def range_days(tags: Mapping[str, str]) -> tuple[date, date] | None:
    """The first and last day a run's tags name, or None when they name none."""
    first = tags.get(ASSET_PARTITION_RANGE_START_TAG) or tags.get(PARTITION_NAME_TAG)
    last = tags.get(ASSET_PARTITION_RANGE_END_TAG) or first
    if not first or not last:
        return None
    return partition_date(first), partition_date(last)


def build_daily_schedule(
    job: UnresolvedAssetJobDefinition, settings: PipelineSettings
) -> ScheduleDefinition:
    """Every day at the configured local time, re-materialise the last N complete days.

    Off by default: the operator turns it on in the UI, or sets KRAKEN_SCHEDULE_ENABLED=true.
    """
    at = settings.schedule_time

    @schedule(
        name=SCHEDULE_NAME,
        cron_schedule=f"{at.minute} {at.hour} * * *",
        execution_timezone=settings.timezone,
        target=job,
        description=(
            f"Every day at {at:%H:%M} ({settings.timezone}) re-pull the last "
            f"{settings.schedule_days} complete days in one run: late and restated data land."
        ),
        default_status=(
            DefaultScheduleStatus.RUNNING
            if settings.schedule_enabled
            else DefaultScheduleStatus.STOPPED
        ),
    )
    def daily_measurements(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        now = context.scheduled_execution_time
        days = trailing_days(
            now, settings.timezone, settings.schedule_days, settings.partitions_start
        )
        if not days:
            return SkipReason(f"no complete day since {settings.partitions_start} yet")
        return RunRequest(
            run_key=f"daily-{partition_key(days[-1])}",
            tags={**range_tags(days[0], days[-1]), PRIORITY_TAG: str(DAILY_RUN_PRIORITY)},
        )

    return daily_measurements
