"""Build the one Definitions object (assets, checks, resources, job, schedule) from settings.

Loads with no environment set: secrets are EnvVars, read only when a run starts.
"""

from __future__ import annotations

from dagster import (
    AssetSelection,
    BackfillPolicy,
    Definitions,
    EnvVar,
    ExecutorDefinition,
    define_asset_job,
)

from kraken_pipeline.defs.assets import (
    SINGLE_RUN,
    MeasurementsConfig,
    build_daily_consumption_asset,
    build_measurements_asset,
    measurements_config,
)
from kraken_pipeline.defs.bad_days import build_bad_days_sensor
from kraken_pipeline.defs.checks import build_quality_checks
from kraken_pipeline.defs.lake_upkeep import build_lake_maintenance
from kraken_pipeline.defs.partitions import daily_partitions
from kraken_pipeline.defs.resources import KrakenResource, StorageResource, SupplyPointsResource
from kraken_pipeline.defs.schedules import build_daily_schedule
from kraken_pipeline.defs.sensors import (
    AlertWebhookResource,
    build_alert_sensors,
    build_follow_sensor,
)
from kraken_pipeline.kraken.limits import learned_limits_path
from kraken_pipeline.settings import PipelineSettings, variable_of
from kraken_pipeline.supply_points import SupplyPointsError, load_supply_points

MEASUREMENTS_JOB = "measurements_job"


def build_definitions(
    settings: PipelineSettings,
    *,
    executor: ExecutorDefinition | None = None,
    backfill_policy: BackfillPolicy | None = None,
) -> Definitions:
    """Everything Dagster needs, for one deployment's settings.

    `executor` replaces Dagster's default (multiprocess) for every job of the location;
    `backfill_policy` replaces the default of one run per backfilled range (see assets.py).
    """
    partitions = daily_partitions(settings.partitions_start, settings.timezone)
    policy = backfill_policy or SINGLE_RUN
    measurements = build_measurements_asset(
        partitions, backfill_policy=policy, config_class=_measurements_config(settings)
    )
    daily_consumption = build_daily_consumption_asset(
        partitions, settings.timezone, backfill_policy=policy
    )
    job = define_asset_job(
        MEASUREMENTS_JOB,
        selection=AssetSelection.assets(measurements, daily_consumption),
        description=(
            "Land the measurements of a range of local days in one run, judge each day, and "
            "derive daily consumption for the days that passed their blocking checks."
        ),
    )
    maintenance, maintenance_job, weekly_maintenance = build_lake_maintenance(settings)
    return Definitions(
        executor=executor,
        assets=[measurements, daily_consumption, maintenance],
        asset_checks=[build_quality_checks(partitions, settings.timezone)],
        jobs=[job, maintenance_job],
        schedules=[build_daily_schedule(job, settings), weekly_maintenance],
        sensors=[
            build_follow_sensor(),
            *build_alert_sensors(job, settings),
            build_bad_days_sensor(job, settings),
        ],
        resources={
            "kraken": KrakenResource(
                client_id=EnvVar(variable_of("client_id")),
                client_secret=EnvVar(variable_of("client_secret")),
                auth_url=settings.auth_url,
                api_url=settings.api_url,
                timezone=settings.timezone,
                page_size=settings.page_size,
                concurrency=settings.concurrency,
                ca_bundle=settings.ca_bundle,
                learned_limits_path=learned_limits_path(settings.data_root),
            ),
            "storage_root": StorageResource(data_root=str(settings.data_root)),
            "supply_points": SupplyPointsResource(
                path=str(settings.supply_points_path), market=settings.market.value
            ),
            "alert_webhook": AlertWebhookResource(
                # An EnvVar, not the value: the webhook URL is a secret.
                url=_env_var(settings, "alert_webhook_url")
            ),
        },
    )


def _env_var(settings: PipelineSettings, field: str) -> EnvVar | None:
    """The variable of a secret the deployment sets, resolved when a run starts; else None."""
    return EnvVar(variable_of(field)) if getattr(settings, field) is not None else None


def _measurements_config(settings: PipelineSettings) -> type[MeasurementsConfig]:
    """Run options whose supply_point_ids the launchpad checks against the supply points file."""
    path = settings.supply_points_path
    try:
        points = load_supply_points(path, settings.market)
    except SupplyPointsError:
        # The location still loads; a run checks the ids when it starts, naming the file's problem.
        return MeasurementsConfig
    return measurements_config([point.supply_point_id for point in points], str(path))
