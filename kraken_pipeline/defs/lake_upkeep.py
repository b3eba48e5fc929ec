"""The lake's upkeep in Dagster: an asset that merges, expires and cleans, and its schedule."""

from datetime import UTC, datetime, timedelta

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    Config,
    DefaultScheduleStatus,
    MaterializeResult,
    MetadataValue,
    ScheduleDefinition,
    asset,
    define_asset_job,
)
from pydantic import Field

from kraken_pipeline.defs.dagster_internals import UnresolvedAssetJobDefinition
from kraken_pipeline.defs.resources import StorageResource
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline.warehouse.maintenance import DEFAULT_RETENTION, maintain

LAKE_MAINTENANCE_JOB = "lake_maintenance_job"


class LakeMaintenanceConfig(Config):
    """How far back analysts can travel in time."""

    retention_days: int = Field(
        default=DEFAULT_RETENTION.days,
        ge=0,
        description=(
            "Keep every snapshot younger than this many days readable (time travel, "
            "restatements); older snapshots are expired and the files only they read deleted."
        ),
    )


@asset(
    group_name="kraken",
    description=(
        "Upkeep of the data root's DuckLake: small files merged, snapshots older than the "
        "retention expired, files no remaining snapshot reads deleted."
    ),
)
def lake_maintenance(
    context: AssetExecutionContext, config: LakeMaintenanceConfig, storage_root: StorageResource
) -> MaterializeResult[None]:
    """One maintenance pass over the lake."""
    done = maintain(
        storage_root.root, now=datetime.now(UTC), retention=timedelta(days=config.retention_days)
    )
    context.log.info(
        "lake maintenance: %d snapshot(s) expired, %d file(s) deleted, measurements files %d -> %d",
        done.snapshots_expired,
        done.files_deleted,
        done.files_before,
        done.files_after,
    )
    return MaterializeResult(
        metadata={
            "snapshots_expired": MetadataValue.int(done.snapshots_expired),
            "files_deleted": MetadataValue.int(done.files_deleted),
            "uncommitted_files_deleted": MetadataValue.int(done.orphans_deleted),
            "measurements_files_before": MetadataValue.int(done.files_before),
            "measurements_files_after": MetadataValue.int(done.files_after),
            "retention_days": MetadataValue.int(config.retention_days),
        }
    )


def build_lake_maintenance(
    settings: PipelineSettings,
) -> tuple[AssetsDefinition, UnresolvedAssetJobDefinition, ScheduleDefinition]:
    """The maintenance asset, its job, and a weekly schedule (on with the daily schedule)."""
    job = define_asset_job(LAKE_MAINTENANCE_JOB, selection=[lake_maintenance])
    weekly = ScheduleDefinition(
        name="weekly_lake_maintenance",
        job=job,
        cron_schedule="30 4 * * 0",  # Sunday before dawn, after the daily run
        execution_timezone=settings.timezone,
        description="Every Sunday at 04:30, merge the lake's small files and expire old snapshots.",
        default_status=(
            DefaultScheduleStatus.RUNNING
            if settings.schedule_enabled
            else DefaultScheduleStatus.STOPPED
        ),
    )
    return lake_maintenance, job, weekly
