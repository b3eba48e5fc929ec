"""The two baselines bench_backfill.py sets beside our run: Dagster alone, and our work alone.

`bare_definitions` is a job of the same shape as ours (kraken_pipeline.defs.location) that does no
work: assets of the same names, daily partitions, single-run backfill policy, pools and
automation condition, and a check step with our check specs, emitting per day what ours emits
(see `measurements`, `measurements_quality` and `daily_consumption` below), with metadata made
by our own metadata functions from a fixed day, so that its events are of the same kinds, number
and size. Run through `runner.run_range` like ours, it is the floor Dagster sets for a run of
that many days: launching, steps, events and their storage.

`land_plainly` is our own work for the same days with no Dagster at all: what the three steps
of a run call (kraken_pipeline.defs.assets, checks), in their order, with the same client settings.
"""

# No `from __future__ import annotations`: Dagster reads the context parameters' annotations.
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetExecutionContext,
    AssetMaterialization,
    AssetSelection,
    Definitions,
    MaterializeResult,
    MetadataValue,
    Output,
    asset,
    define_asset_job,
    multi_asset_check,
)

from kraken_pipeline import quality, storage, warehouse
from kraken_pipeline.consumption import derive_daily_consumption, failed_blocking_checks
from kraken_pipeline.defs.assets import (
    DAY_WRITER_POOL,
    FOLLOWS_MEASUREMENTS,
    GROUP,
    KRAKEN_API_POOL,
    SINGLE_RUN,
)
from kraken_pipeline.defs.checks import (
    DAY_CHECKS,
    MEASUREMENTS,
    QualityRunConfig,
    _evaluation,
    _latest_materializations,
    check_specs,
    judge_day,
    newest_complete_day,
    outcome_metadata,
)
from kraken_pipeline.defs.day_metadata import day_metadata
from kraken_pipeline.defs.location import MEASUREMENTS_JOB
from kraken_pipeline.defs.partitions import daily_partitions, partition_date
from kraken_pipeline.defs.resources import KrakenResource
from kraken_pipeline.kraken.limits import learned_limits_path
from kraken_pipeline.landing import DayReport, SeriesTotal, land_days
from kraken_pipeline.local_days import days_between, local_date_of
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline.supply_points import load_supply_points

CHUNK_DAYS = 7  # MeasurementsConfig's default
# Per supply point and day, what a day of the synthetic fleet holds (for the bare metadata).
INTERVALS_PER_DAY = 48
SERIES = (("electricity", "CONSUMPTION", "kWh"), ("electricity", "GENERATION", "kWh"))


def kraken_resource(settings: PipelineSettings, *, remember_limits: bool = True) -> KrakenResource:
    """The client settings a run of the pipeline uses (definitions.py), with the demo grant;
    without `remember_limits`, nothing learned of the limits is written beside the data."""
    from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    return KrakenResource(
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        auth_url=settings.auth_url,
        api_url=settings.api_url,
        timezone=settings.timezone,
        page_size=settings.page_size,
        concurrency=settings.concurrency,
        learned_limits_path=learned_limits_path(settings.data_root) if remember_limits else None,
    )


# --- our work without Dagster -------------------------------------------------------------------


def land_plainly(settings: PipelineSettings, first: date, last: date, now: datetime) -> int:
    """Land, judge and derive first..last as a run's three steps do, without Dagster; days
    derived."""
    root, timezone = settings.data_root, settings.timezone
    days = days_between(first, last)
    points = load_supply_points(settings.supply_points_path)
    # measurements
    with kraken_resource(settings).client() as client:
        for report in land_days(client, root, days, points, timezone, chunk_days=CHUNK_DAYS):
            day_metadata(report)
    storage.write_supply_points(root, points)
    warehouse.ensure_warehouse(root, timezone)
    # measurements_quality
    rules = QualityRunConfig().quality_config()
    for day in days:
        for outcome in judge_day(root, day, points, timezone, now, rules):
            outcome_metadata(outcome)
    newest = newest_complete_day(root, rules.completeness_floor)
    today = local_date_of(now, timezone)
    outcome_metadata(quality.check_freshness([newest] if newest else [], today, rules))
    warehouse.ensure_warehouse(root, timezone)
    # daily_consumption
    derived = 0
    for day in days:
        if not failed_blocking_checks(root, day):
            derive_daily_consumption(root, day)
            derived += 1
    warehouse.ensure_warehouse(root, timezone)
    return derived


# --- Dagster without our work -------------------------------------------------------------------


def sample_day(day: date, supply_points: int) -> DayReport:
    """A complete landed day of the synthetic fleet, as land_days reports it."""
    rows = supply_points * INTERVALS_PER_DAY
    return DayReport(
        local_date=day,
        rows=rows,
        rows_stored=rows,
        supply_points_ok=supply_points,
        failures=(),
        intervals_expected=rows,
        intervals_received=rows,
        totals=tuple(SeriesTotal(*series, Decimal("1234.567")) for series in SERIES),
        chunk_requests=12,
        lake_snapshot=3 * (day.toordinal() % 1000),
    )


def sample_outcomes(day: date, supply_points: int) -> list[quality.CheckOutcome]:
    """A passed outcome of every per-day check, with metrics as the rules report them."""
    return [
        quality.CheckOutcome(
            check_name=name,
            local_date=day,
            passed=True,
            severity=quality.Severity.ERROR,
            summary=f"{name}: {supply_points} supply points as expected on {day}",
            offenders=(),
            metrics={
                "supply_points": supply_points,
                "rows": supply_points * 48,
                "offenders_total": 0,
            },
        )
        for name in DAY_CHECKS
    ]


def bare_definitions(settings: PipelineSettings, per_day_materializations: bool) -> Definitions:
    """A job named as ours, of our assets' and checks' shape, that only emits events.

    `per_day_materializations`: the measurements step also yields an AssetMaterialization per
    day as it lands (besides the step's output), as ours does when assets.py emits them.
    """
    partitions = daily_partitions(settings.partitions_start, settings.timezone)
    supply_points = len(load_supply_points(settings.supply_points_path))

    @asset(
        name="measurements",
        partitions_def=partitions,
        backfill_policy=SINGLE_RUN,
        pool=KRAKEN_API_POOL,
        group_name=GROUP,
    )
    def measurements(context: AssetExecutionContext) -> Iterator[Any]:
        for key in context.partition_keys:
            metadata = day_metadata(sample_day(partition_date(key), supply_points))
            if per_day_materializations:
                yield AssetMaterialization(
                    asset_key="measurements", partition=key, metadata=metadata
                )
            context.add_asset_metadata(metadata, partition_key=key)
        context.log.info("landed %d day(s)", len(context.partition_keys))
        yield MaterializeResult()

    @multi_asset_check(specs=check_specs(partitions), name="measurements_quality")
    def measurements_quality(
        context: AssetCheckExecutionContext, config: QualityRunConfig
    ) -> Iterator[Any]:
        keys = context.op_execution_context.partition_keys
        targets = _latest_materializations(context.instance, keys)
        for key in keys:
            for outcome in sample_outcomes(partition_date(key), supply_points):
                yield _evaluation(outcome, targets.get(key))
        for name in DAY_CHECKS:
            yield Output(None, output_name=f"{MEASUREMENTS.path[-1]}_{name}")
        yield AssetCheckResult(
            asset_key=MEASUREMENTS,
            check_name=quality.CHECK_FRESHNESS,
            passed=True,
            metadata={"summary": MetadataValue.text("fresh"), "age_days": 2},
        )

    @asset(
        name="daily_consumption",
        deps=["measurements"],
        partitions_def=partitions,
        backfill_policy=SINGLE_RUN,
        pool=DAY_WRITER_POOL,
        group_name=GROUP,
        output_required=False,
        automation_condition=FOLLOWS_MEASUREMENTS,
    )
    def daily_consumption(context: AssetExecutionContext) -> Iterator[Any]:
        for key in context.partition_keys:
            yield AssetMaterialization(
                asset_key="daily_consumption",
                partition=key,
                metadata={
                    "rows": MetadataValue.int(supply_points * len(SERIES)),
                    "lake_snapshot": MetadataValue.int(3 * partition_date(key).toordinal()),
                },
            )

    job = define_asset_job(
        MEASUREMENTS_JOB, selection=AssetSelection.assets(measurements, daily_consumption)
    )
    return Definitions(
        assets=[measurements, daily_consumption], asset_checks=[measurements_quality], jobs=[job]
    )
