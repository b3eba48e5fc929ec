"""Data-quality checks on `measurements`, evaluated per local day on what was written.

The check step yields one partitioned `AssetCheckEvaluation` per day and check, so each day's
results show against that day in the UI.
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow.compute as pc
from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AssetRecordsFilter,
    Config,
    DagsterEventType,
    DagsterInstance,
    DailyPartitionsDefinition,
    MetadataValue,
    Output,
    multi_asset_check,
)
from pydantic import Field

from kraken_pipeline import quality, storage, warehouse
from kraken_pipeline.defs.assets import MEASUREMENTS_KEY
from kraken_pipeline.defs.dagster_internals import AssetCheckEvaluationTargetMaterializationData
from kraken_pipeline.defs.partitions import partition_date, partition_key
from kraken_pipeline.defs.resources import StorageResource, SupplyPointsResource
from kraken_pipeline.filesystems import DataRoot
from kraken_pipeline.local_days import local_date_of
from kraken_pipeline.supply_points import SupplyPoint

MEASUREMENTS = AssetKey(MEASUREMENTS_KEY)
DAY_CHECKS = (
    quality.CHECK_UNIQUE_INTERVALS,
    quality.CHECK_ALIGNED_INTERVALS,
    quality.CHECK_COMPLETENESS,
    quality.CHECK_FETCH_FAILURES,
    quality.CHECK_VALID_VALUES,
    quality.CHECK_ONE_UNIT,
    quality.CHECK_ESTIMATES,
    quality.CHECK_STORED_INTERVALS_KEPT,
)
OFFENDERS_SHOWN = 10
DEFAULT_RULES = quality.QualityConfig()


class QualityRunConfig(Config):
    """Thresholds of the checks, and the instant they judge the days as of."""

    as_of: str = Field(
        default="",
        description="Judge the days as of this ISO instant (with offset) instead of now.",
    )
    completeness_floor: float = Field(
        default=0.90, ge=0, le=1, description="Completeness below this share is an ERROR."
    )
    publication_lag_days: int = Field(
        default=2, ge=0, description="Younger days are only WARNed when incomplete."
    )
    estimate_share_threshold: float = Field(
        default=0.20, ge=0, le=1, description="WARN above this share of estimated intervals."
    )
    freshness_max_age_days: int = Field(
        default=3, ge=0, description="WARN when the newest complete day is older than this."
    )

    def quality_config(self) -> quality.QualityConfig:
        """The pure rules' configuration."""
        return quality.QualityConfig(
            completeness_floor=self.completeness_floor,
            publication_lag=timedelta(days=self.publication_lag_days),
            estimate_share_threshold=self.estimate_share_threshold,
            freshness_max_age_days=self.freshness_max_age_days,
        )


def check_specs(partitions: DailyPartitionsDefinition) -> list[AssetCheckSpec]:
    """One spec per rule: per-day rules are partitioned, freshness is about the whole asset."""
    per_day = [
        AssetCheckSpec(
            name,
            asset=MEASUREMENTS,
            description=quality.CHECK_DESCRIPTIONS[name],
            blocking=name in quality.BLOCKING_CHECKS,
            partitions_def=partitions,
        )
        for name in DAY_CHECKS
    ]
    freshness = AssetCheckSpec(
        quality.CHECK_FRESHNESS,
        asset=MEASUREMENTS,
        description=quality.CHECK_DESCRIPTIONS[quality.CHECK_FRESHNESS],
    )
    return [*per_day, freshness]


def build_quality_checks(
    partitions: DailyPartitionsDefinition, timezone: str
) -> AssetChecksDefinition:
    """The check step that judges every day of a run and persists the results."""

    @multi_asset_check(
        specs=check_specs(partitions),
        name="measurements_quality",
        description="Judge each stored day of measurements and persist the results.",
    )
    def measurements_quality(
        context: AssetCheckExecutionContext,
        config: QualityRunConfig,
        storage_root: StorageResource,
        supply_points: SupplyPointsResource,
    ) -> Iterator[Any]:
        now = datetime.fromisoformat(config.as_of) if config.as_of else datetime.now(UTC)
        rules = config.quality_config()
        root = storage_root.root
        points = supply_points.load()
        keys = context.op_execution_context.partition_keys
        targets = _latest_materializations(context.instance, keys)
        for key in keys:
            day = partition_date(key)
            outcomes = judge_day(root, day, points, timezone, now, rules)
            for outcome in outcomes:
                yield _evaluation(outcome, targets.get(key))
        for name in DAY_CHECKS:
            yield Output(None, output_name=f"{MEASUREMENTS.path[-1]}_{name}")
        yield _freshness_result(root, now, timezone, rules)
        warehouse.ensure_warehouse(root, timezone)

    return measurements_quality


def judge_day(
    root: DataRoot,
    day: date,
    points: Sequence[SupplyPoint],
    timezone: str,
    now: datetime,
    rules: quality.QualityConfig = DEFAULT_RULES,
) -> tuple[quality.CheckOutcome, ...]:
    """Evaluate every per-day rule on the stored day and persist the outcomes beside it.

    A day never landed fails every rule with ERROR, and nothing is persisted.
    """
    measurements = storage.read_day(root, day)
    fetch_log = storage.read_fetch_log(root, day)
    # Not raised: a check-only run over a range judges the other days instead of stopping here.
    if measurements is None or fetch_log is None:
        return tuple(_not_landed(name, day) for name in DAY_CHECKS)
    outcomes = quality.evaluate_day(day, measurements, fetch_log, points, timezone, now, rules)
    storage.write_quality_results(root, day, quality.outcomes_to_table(outcomes, now))
    return outcomes


def _not_landed(check_name: str, day: date) -> quality.CheckOutcome:
    return quality.CheckOutcome(
        check_name=check_name,
        local_date=day,
        passed=False,
        severity=quality.Severity.ERROR,
        summary=f"{day} has no stored measurements: materialise the day, then check it",
        offenders=(),
        metrics={},
    )


def _latest_materializations(
    instance: DagsterInstance, keys: Sequence[str]
) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """The latest materialisation of each partition, in two queries whatever the range's length."""
    latest = instance.event_log_storage.get_latest_storage_id_by_partition(
        MEASUREMENTS, DagsterEventType.ASSET_MATERIALIZATION, partitions=set(keys)
    )
    if not latest:
        return {}
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=MEASUREMENTS, storage_ids=list(latest.values())),
        limit=len(latest),
    ).records
    by_id = {record.storage_id: record for record in records}
    return {
        key: AssetCheckEvaluationTargetMaterializationData(
            storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
        )
        for key, storage_id in latest.items()
        if (record := by_id.get(storage_id)) is not None
    }


def _evaluation(
    outcome: quality.CheckOutcome, target: AssetCheckEvaluationTargetMaterializationData | None
) -> AssetCheckEvaluation:
    return AssetCheckEvaluation(
        asset_key=MEASUREMENTS,
        check_name=outcome.check_name,
        passed=outcome.passed,
        metadata=outcome_metadata(outcome),
        target_materialization_data=target,
        severity=_severity(outcome.severity),
        description=outcome.summary,
        # Non-blocking, so one bad day does not fail the step for every other day; per-day
        # blocking is enforced by daily_consumption, which refuses exactly the failed days.
        blocking=False,
        partition=partition_key(outcome.local_date),
    )


def _severity(severity: quality.Severity) -> AssetCheckSeverity:
    return (
        AssetCheckSeverity.ERROR
        if severity is quality.Severity.ERROR
        else (AssetCheckSeverity.WARN)
    )


def outcome_metadata(outcome: quality.CheckOutcome) -> dict[str, Any]:
    """Metrics, blocking flag and the worst offenders, so the operator knows what to re-run."""
    metadata: dict[str, Any] = {
        "summary": MetadataValue.text(outcome.summary),
        "blocking": MetadataValue.bool(outcome.check_name in quality.BLOCKING_CHECKS),
    }
    for name, value in outcome.metrics.items():
        metadata[name] = value
    if outcome.offenders:
        rows = [
            f"| `{o.supply_point_id or '-'}` | {o.local_date} | {o.count} | {o.detail} |"
            for o in outcome.offenders[:OFFENDERS_SHOWN]
        ]
        metadata["worst_offenders"] = MetadataValue.md(
            "| supply point | day | count | detail |\n|---|---|---|---|\n" + "\n".join(rows)
        )
        metadata["rerun_supply_point_ids"] = MetadataValue.json(
            sorted({o.supply_point_id for o in outcome.offenders if o.supply_point_id})
        )
    return metadata


def _freshness_result(
    root: DataRoot, now: datetime, timezone: str, rules: quality.QualityConfig
) -> AssetCheckResult:
    today = local_date_of(now, timezone)
    newest = newest_complete_day(root, rules.completeness_floor)
    outcome = quality.check_freshness([newest] if newest else [], today, rules)
    return AssetCheckResult(
        asset_key=MEASUREMENTS,
        check_name=quality.CHECK_FRESHNESS,
        passed=outcome.passed,
        severity=_severity(outcome.severity),
        description=outcome.summary,
        metadata=outcome_metadata(outcome),
    )


def newest_complete_day(root: DataRoot, floor: float) -> date | None:
    """The newest stored day whose fetches all succeeded and hold at least `floor` of the
    expected intervals; None when no day is.
    """
    # The completeness floor, not 100 %: one permanently gappy meter must not make every day stale.
    # Newest first, stopping at the first complete day: one or a few fetch logs, however many years.
    for day in reversed(storage.stored_days(root)):
        log = storage.read_fetch_log(root, day)
        if log is None:
            continue
        failed = pc.any(pc.not_equal(log["status"], "ok")).as_py()
        rows = pc.sum(log["rows"]).as_py() or 0
        expected = pc.sum(log["intervals_expected"]).as_py() or 0
        if not failed and rows >= floor * expected:
            return day
    return None
