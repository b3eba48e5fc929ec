"""The sensors: derived days follow `measurements`; failed runs and checks alert a webhook.

The follow sensor runs by default; the alert sensors only with KRAKEN_ALERTS_ENABLED=true.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetSelection,
    AutomationConditionSensorDefinition,
    ConfigurableResource,
    DagsterEventType,
    DefaultSensorStatus,
    EventLogRecord,
    EventRecordsFilter,
    RunFailureSensorContext,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)
from pydantic import Field

from kraken_pipeline import quality
from kraken_pipeline.alerts import (
    WEBHOOK_VARIABLE,
    CheckFailure,
    check_failures_message,
    post_alert,
    repair_command,
    run_failure_message,
)
from kraken_pipeline.defs.dagster_internals import UnresolvedAssetJobDefinition
from kraken_pipeline.defs.partitions import partition_date
from kraken_pipeline.defs.schedules import range_days, range_label
from kraken_pipeline.settings import PipelineSettings

FOLLOW_SENSOR = "derived_days_follow_measurements"
RUN_FAILURE_SENSOR = "alert_on_failed_runs"
CHECK_FAILURE_SENSOR = "alert_on_failed_blocking_checks"
# Evaluations read per tick: a year's backfill stores about 2,500; the rest wait for the next tick.
EVALUATIONS_PER_TICK = 5000
NOT_CONFIGURED = f"{WEBHOOK_VARIABLE} is not set: set it to the webhook to post alerts to"


class AlertWebhookResource(ConfigurableResource):  # type: ignore[type-arg]
    """Where alerts go: a Slack-compatible incoming webhook (env KRAKEN_ALERT_WEBHOOK_URL)."""

    url: str | None = Field(
        default=None, description=f"Incoming webhook URL (env {WEBHOOK_VARIABLE}); a secret."
    )

    def __repr__(self) -> str:
        return f"AlertWebhookResource(configured={self.url is not None})"

    __str__ = __repr__

    def post(self, message: dict[str, Any]) -> None:
        """Post one message; the caller checks `url` first."""
        assert self.url is not None
        post_alert(self.url, message)


def build_follow_sensor() -> AutomationConditionSensorDefinition:
    """Evaluates the assets' automation conditions (daily_consumption follows measurements)."""
    return AutomationConditionSensorDefinition(
        FOLLOW_SENSOR,
        target=AssetSelection.all(),
        # Running from the start, unlike Dagster's implicit automation sensor: an operator who
        # repairs a day from the UI must not also have to know to turn a sensor on.
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "Derives daily_consumption for the days whose measurements a run materialised "
            "without it (a day, a range or a repair launched from the UI, the API or a sensor)."
        ),
    )


def build_alert_sensors(
    job: UnresolvedAssetJobDefinition, settings: PipelineSettings
) -> list[SensorDefinition]:
    """The two alert sensors, running from the start only with KRAKEN_ALERTS_ENABLED=true."""
    status = DefaultSensorStatus.RUNNING if settings.alerts_enabled else DefaultSensorStatus.STOPPED

    @run_failure_sensor(
        name=RUN_FAILURE_SENSOR,
        monitored_jobs=[job],
        default_status=status,
        description="Posts each failed run (its days, why, the command to re-run) to the webhook.",
    )
    def alert_on_failed_runs(
        context: RunFailureSensorContext, alert_webhook: AlertWebhookResource
    ) -> SkipReason | None:
        if alert_webhook.url is None:
            return SkipReason(NOT_CONFIGURED)
        run = context.dagster_run
        days = range_days(run.tags)
        repair = repair_command(*days) if days else None
        error = _why(context)
        alert_webhook.post(run_failure_message(run.run_id, range_label(run.tags), error, repair))
        return None

    @sensor(
        name=CHECK_FAILURE_SENSOR,
        minimum_interval_seconds=60,
        default_status=status,
        description="Posts the blocking checks that failed since its last tick to the webhook.",
    )
    def alert_on_failed_blocking_checks(
        context: SensorEvaluationContext, alert_webhook: AlertWebhookResource
    ) -> SkipReason | None:
        if alert_webhook.url is None:
            return SkipReason(NOT_CONFIGURED)
        after = int(context.cursor) if context.cursor else _latest_evaluation(context)
        # Dagster 1.13 has fetch_* readers for materialisations and observations but none for
        # check evaluations, so the generic reader (deprecated for 2.0) reads them.
        records = context.instance.get_event_records(
            EventRecordsFilter(DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=after),
            limit=EVALUATIONS_PER_TICK,
            ascending=True,
        )
        failures = failed_blocking_checks([_evaluation(record) for record in records])
        if failures:
            alert_webhook.post(check_failures_message(failures))
        if records:
            # Moved only after the post: an alert the webhook refused is posted again next tick.
            context.update_cursor(str(records[-1].storage_id))
        elif not context.cursor:
            context.update_cursor(str(after))
        return None if failures else SkipReason("no blocking check failed since the last tick")

    return [alert_on_failed_runs, alert_on_failed_blocking_checks]


def _why(context: RunFailureSensorContext) -> str:
    """The steps' own errors (what to fix), else the run's failure message."""
    reasons = []
    for event in context.get_step_failure_events():
        error = getattr(event.event_specific_data, "error", None)
        while error is not None and error.cause is not None:
            error = error.cause  # Dagster wraps the step's own exception; that one says why
        if error is not None:
            reasons.append(f"{event.step_key}: {error.message.strip()}")
    return "; ".join(reasons) or context.failure_event.message or "no message"


def failed_blocking_checks(
    evaluations: Sequence[AssetCheckEvaluation | None],
) -> list[CheckFailure]:
    """The evaluations that failed a blocking rule of a day, as alerts name them."""
    failures = []
    for evaluation in evaluations:
        if evaluation is None:
            continue
        blocking = evaluation.check_name in quality.BLOCKING_CHECKS
        if evaluation.passed or not blocking or evaluation.partition is None:
            continue
        if evaluation.severity is not AssetCheckSeverity.ERROR:
            continue
        failures.append(
            CheckFailure(
                local_date=partition_date(evaluation.partition),
                check_name=evaluation.check_name,
                summary=evaluation.description or "",
                supply_point_ids=_rerun_ids(evaluation),
            )
        )
    return failures


def _evaluation(record: EventLogRecord) -> AssetCheckEvaluation | None:
    event = record.event_log_entry.dagster_event
    data = event.event_specific_data if event is not None else None
    return data if isinstance(data, AssetCheckEvaluation) else None


def _rerun_ids(evaluation: AssetCheckEvaluation) -> tuple[str, ...]:
    entry = evaluation.metadata.get("rerun_supply_point_ids")
    value = getattr(entry, "value", None)
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


def _latest_evaluation(context: SensorEvaluationContext) -> int:
    """A sensor turned on starts from now: the history before it is not posted."""
    newest = context.instance.get_event_records(
        EventRecordsFilter(DagsterEventType.ASSET_CHECK_EVALUATION), limit=1, ascending=False
    )
    return newest[0].storage_id if newest else 0
