"""Build the one Definitions object (assets, checks, resources, job, schedule) from settings.

Loads with no environment set: secrets are EnvVars, read only when a run starts.
"""

from __future__ import annotations

from dagster import AssetSelection, Definitions, EnvVar, define_asset_job

from kraken_pipeline.assets import build_daily_consumption_asset, build_measurements_asset
from kraken_pipeline.checks import build_quality_checks
from kraken_pipeline.partitions import daily_partitions
from kraken_pipeline.resources import KrakenResource, StorageResource, SupplyPointsResource
from kraken_pipeline.schedules import build_daily_schedule
from kraken_pipeline.settings import PipelineSettings

MEASUREMENTS_JOB = "measurements_job"


def build_definitions(settings: PipelineSettings) -> Definitions:
    """Everything Dagster needs, for one deployment's settings."""
    partitions = daily_partitions(settings.partitions_start, settings.timezone)
    measurements = build_measurements_asset(partitions)
    daily_consumption = build_daily_consumption_asset(partitions, settings.timezone)
    job = define_asset_job(
        MEASUREMENTS_JOB,
        selection=AssetSelection.assets(measurements, daily_consumption),
        description=(
            "Land the measurements of a range of local days in one run, judge each day, and "
            "derive daily consumption for the days that passed their blocking checks."
        ),
    )
    return Definitions(
        assets=[measurements, daily_consumption],
        asset_checks=[build_quality_checks(partitions, settings.timezone)],
        jobs=[job],
        schedules=[build_daily_schedule(job, settings)],
        resources={
            "kraken": KrakenResource(
                client_id=EnvVar("KRAKEN_CLIENT_ID"),
                client_secret=EnvVar("KRAKEN_CLIENT_SECRET"),
                auth_url=settings.auth_url,
                api_url=settings.api_url,
                timezone=settings.timezone,
                page_size=settings.page_size,
                concurrency=settings.concurrency,
                ca_bundle=settings.ca_bundle,
            ),
            "storage_root": StorageResource(data_root=str(settings.data_root)),
            "supply_points": SupplyPointsResource(path=str(settings.supply_points_path)),
        },
    )
