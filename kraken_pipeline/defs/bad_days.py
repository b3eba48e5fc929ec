"""The bad days of the last weeks in the Dagster UI: a sensor whose tick lists and repairs them.

Days are judged as `kraken-pipeline status` judges them (status.py); each bad day becomes one
run request of the measurements job, tagged with what is wrong.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from kraken_pipeline import storage
from kraken_pipeline.defs.dagster_internals import UnresolvedAssetJobDefinition
from kraken_pipeline.defs.resources import StorageResource
from kraken_pipeline.defs.schedules import range_tags
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline.status import DayStatus, day_status, status_days

SENSOR_NAME = "bad_days"
WEEKS_SHOWN = 4
PROBLEM_TAG = "kraken/needs_action"


def repair_request(status: DayStatus) -> RunRequest:
    """The run that repairs one bad day, tagged with what is wrong with it."""
    run_config: dict[str, Any] = {}
    if status.repair_supply_points:
        config = {"supply_point_ids": list(status.repair_supply_points)}
        run_config = {"ops": {"measurements": {"config": config}}}
    problems = "; ".join(status.problems)
    # Keyed by the day and its problem: a repair that fails again is not retried in a loop.
    return RunRequest(
        run_key=f"repair-{status.local_date.isoformat()}-{problems}",
        run_config=run_config,
        tags={**range_tags(status.local_date, status.local_date), PROBLEM_TAG: problems[:255]},
    )


def build_bad_days_sensor(
    job: UnresolvedAssetJobDefinition, settings: PipelineSettings
) -> SensorDefinition:
    """The `bad_days` sensor over the last WEEKS_SHOWN weeks."""

    @sensor(
        name=SENSOR_NAME,
        job=job,
        minimum_interval_seconds=3600,
        default_status=DefaultSensorStatus.STOPPED,
        description=(
            f"The days of the last {WEEKS_SHOWN} weeks that need action (failed fetches, failed "
            "blocking checks, incomplete past the publication lag), one repair run each. "
            "Preview a tick to list them; launch its runs to re-run exactly those days."
        ),
    )
    def bad_days(
        context: SensorEvaluationContext, storage_root: StorageResource
    ) -> Iterator[RunRequest | SkipReason]:
        now = datetime.now(UTC)
        stored = storage.stored_days(storage_root.root)
        # Days before the lake's first day were never asked for: not bad, only not backfilled.
        since = max(settings.partitions_start, stored[0]) if stored else now.date()
        days = [d for d in status_days(now, settings.timezone, WEEKS_SHOWN * 7) if d >= since]
        statuses = [day_status(storage_root.root, day, settings.timezone, now) for day in days]
        bad = [status for status in statuses if status.needs_action]
        pending = [status.local_date.isoformat() for status in statuses if status.pending]
        for status in bad:
            context.log.info(f"{status.local_date}: {'; '.join(status.problems)}")
            yield repair_request(status)
        if not bad:
            waiting = f"; pending publication: {', '.join(pending)}" if pending else ""
            yield SkipReason(f"no day of the last {WEEKS_SHOWN} weeks needs action{waiting}")

    return bad_days
