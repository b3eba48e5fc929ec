"""The `measurements` asset: one run lands a range of local days, chunk by chunk."""

from collections.abc import Iterator, Sequence
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetMaterialization,
    AssetsDefinition,
    AutomationCondition,
    BackfillPolicy,
    Config,
    DailyPartitionsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from kraken_pipeline import storage, warehouse
from kraken_pipeline.consumption import derive_daily_consumption, failed_blocking_checks
from kraken_pipeline.day_metadata import day_metadata, whole_day_metadata
from kraken_pipeline.landing import DayReport, land_days
from kraken_pipeline.partitions import partition_date, partition_key
from kraken_pipeline.resources import KrakenResource, StorageResource, SupplyPointsResource
from kraken_pipeline.supply_points import SupplyPoint

GROUP = "kraken"
# Dagster pools (concurrency keys) an instance may limit: the steps that call Kraken, and the
# steps that write only a day's derived files.
KRAKEN_API_POOL = "kraken_api"
DAY_WRITER_POOL = "day_writer"
# A backfilled range runs as one run by default (DESIGN.md decision 1).
SINGLE_RUN = BackfillPolicy.single_run()
MEASUREMENTS_DESCRIPTION = (
    "Every supply point's interval measurements for one local day, as read from Kraken: the "
    "day's rows and fetch log committed together to the `measurements` and `fetch_log` tables "
    "of the data root's DuckLake, which analysts query from DuckDB (kraken_pipeline.warehouse)."
)


class MeasurementsConfig(Config):
    """Run options an operator may set from the launchpad."""

    # A default value, not a default factory: Dagster's launchpad scaffolds fields that have one,
    # so the operator sees this field (and its description) without knowing it exists.
    supply_point_ids: list[str] = Field(
        default=[],
        description="Repair only these supply points; the day's other rows are kept. Empty: all.",
    )
    chunk_days: int = Field(
        default=7, ge=1, le=92, description="Days fetched per request stream; bounds memory."
    )
    deadline_seconds: float = Field(
        default=0, ge=0, description="Give up retrying after this many seconds; 0: the default."
    )


def build_measurements_asset(
    partitions: DailyPartitionsDefinition,
    backfill_policy: BackfillPolicy = SINGLE_RUN,
) -> AssetsDefinition:
    """The measurements asset over the given daily partitions."""

    @asset(
        name="measurements",
        partitions_def=partitions,
        backfill_policy=backfill_policy,
        # Caps how many steps talk to Kraken at once across runs when the instance sets pool
        # limits (deploy/dagster.yaml); unlimited on the default single-machine instance.
        pool=KRAKEN_API_POOL,
        group_name=GROUP,
        description=MEASUREMENTS_DESCRIPTION,
        kinds={"parquet", "duckdb"},
        owners=["team:data-engineering"],
        tags={"source": "kraken"},
    )
    def measurements(
        context: AssetExecutionContext,
        config: MeasurementsConfig,
        kraken: KrakenResource,
        storage_root: StorageResource,
        supply_points: SupplyPointsResource,
    ) -> Iterator[Any]:
        days = [partition_date(key) for key in context.partition_keys]
        points = supply_points.load()
        only = set(config.supply_point_ids) or None
        refuse_unknown_supply_points(only, points, supply_points.path)
        root = storage_root.root
        landed = RunLanded()
        try:
            with kraken.client(config.deadline_seconds or None) as client:
                for report in land_days(
                    client,
                    root,
                    days,
                    points,
                    kraken.timezone,
                    chunk_days=config.chunk_days,
                    only_supply_points=only,
                ):
                    metadata = day_metadata(report)
                    if only is not None:
                        metadata.update(whole_day_metadata(root, report.local_date, only))
                    landed.add(report, metadata)
                    _warn_if_short(context, report)
        except BaseException:
            # The step's output records its days only when the step ends well; the days written
            # before a failure or a termination are recorded here, so they show as landed.
            yield from landed.materializations()
            raise
        for key, metadata in landed.metadata.items():
            context.add_asset_metadata(metadata, partition_key=key)
        context.log.info(
            "landed %d day(s) %s..%s: %d rows; %d day(s) incomplete or with failed fetches",
            len(days),
            days[0],
            days[-1],
            landed.rows,
            landed.short_days,
        )
        storage.write_supply_points(root, points)
        warehouse.ensure_warehouse(root, kraken.timezone)
        landed.raise_if_nothing_landed()
        yield MaterializeResult()

    return measurements


def refuse_unknown_supply_points(
    only: set[str] | None, points: Sequence[SupplyPoint], path: str
) -> None:
    """Fail the step, before anything is fetched or written, when run config names ids the
    supply points file does not hold."""
    unknown = sorted((only or set()) - {point.supply_point_id for point in points})
    if unknown:
        raise Failure(
            description=(
                f"supply_point_ids {', '.join(unknown)}: not in {path}; use ids of its "
                "supply_point_id column"
            )
        )


def _warn_if_short(context: AssetExecutionContext, report: DayReport) -> None:
    # Every log line is a stored Dagster event: a year's backfill logs only the days an operator
    # must look at; each day's figures are in its materialisation.
    if report.failures or report.completeness < 1:
        context.log.warning(
            "landed %s: %d rows, %.1f%% complete, %d supply point(s) failed",
            report.local_date,
            report.rows,
            100 * report.completeness,
            len(report.failures),
        )


class RunLanded:
    """The days a run wrote, with their metadata, and whether it landed any supply point-day:
    a run in which every one failed fails."""

    def __init__(self) -> None:
        self.ok = self.rows = self.short_days = 0
        self.failures: list[tuple[str, str]] = []  # (day, "supply point: error")
        self.metadata: dict[str, dict[str, Any]] = {}  # partition key -> what the UI shows

    def add(self, report: DayReport, metadata: dict[str, Any]) -> None:
        """Count one written day's fetch outcomes and keep its metadata."""
        self.ok += report.supply_points_ok
        self.rows += report.rows
        self.short_days += bool(report.failures or report.completeness < 1)
        day = report.local_date.isoformat()
        self.metadata[partition_key(report.local_date)] = metadata
        self.failures.extend(
            (day, f"{o.supply_point_id}: {o.error_message}") for o in report.failures
        )

    def materializations(self) -> Iterator[AssetMaterialization]:
        """One materialisation per written day, for a step that will not reach its output."""
        for key, metadata in self.metadata.items():
            yield AssetMaterialization(asset_key="measurements", partition=key, metadata=metadata)

    def raise_if_nothing_landed(self) -> None:
        """Fail the step (red in the UI) when every requested supply point failed on every day."""
        if self.ok or not self.failures:
            return
        first_day, first = self.failures[0]
        raise Failure(
            description=(
                f"every requested supply point failed ({len(self.failures)} supply point-day(s)); "
                f"nothing was landed. First failure, on {first_day}: {first}"
            ),
            metadata={"failed_supply_point_days": MetadataValue.int(len(self.failures))},
        )


# Derived days follow whatever materialised `measurements` without also planning them: a day, a
# range or a repair, launched from the UI, the API or a sensor. Dagster's eager() considers only the
# latest day of a daily asset, so a backfill of older days would not be followed; this is eager()
# without that restriction and without newly_missing() (a new day has no measurements yet).
# Runs that plan daily_consumption themselves (the job, the CLI, the schedule) trigger nothing:
# any_deps_updated() ignores updates made by a run that also targets the asset.
FOLLOWS_MEASUREMENTS = (
    AutomationCondition.any_deps_updated().since_last_handled()
    & ~AutomationCondition.any_deps_missing()
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
).with_label("follows measurements")


DAILY_CONSUMPTION_DESCRIPTION = (
    "Per supply point and local day: total (exact, in the series' unit), intervals received and "
    "expected, completeness and share of estimates. Only days whose blocking data-quality checks "
    "passed are materialised; a blocked day is named in the run's failure."
)


def build_daily_consumption_asset(
    partitions: DailyPartitionsDefinition,
    timezone: str,
    backfill_policy: BackfillPolicy = SINGLE_RUN,
) -> AssetsDefinition:
    """daily_consumption: derived per day, refused for days that failed a blocking check."""

    @asset(
        name="daily_consumption",
        deps=["measurements"],
        partitions_def=partitions,
        backfill_policy=backfill_policy,
        pool=DAY_WRITER_POOL,
        group_name=GROUP,
        description=DAILY_CONSUMPTION_DESCRIPTION,
        kinds={"parquet", "duckdb"},
        owners=["team:data-engineering"],
        output_required=False,
        automation_condition=FOLLOWS_MEASUREMENTS,
    )
    def daily_consumption(
        context: AssetExecutionContext, storage_root: StorageResource
    ) -> Iterator[Any]:
        root = storage_root.root
        blocked: dict[str, list[str]] = {}
        for key in context.partition_keys:
            day = partition_date(key)
            failed = failed_blocking_checks(root, day)
            if failed:
                blocked[key] = failed
                context.log.warning("not deriving %s: blocking checks failed: %s", key, failed)
                continue
            written = derive_daily_consumption(root, day)
            yield AssetMaterialization(
                asset_key="daily_consumption",
                partition=key,
                metadata={
                    "rows": MetadataValue.int(written.rows),
                    "lake_snapshot": MetadataValue.int(written.lake_snapshot),
                },
            )
        warehouse.ensure_warehouse(root, timezone)
        if blocked:
            raise Failure(
                description=(
                    f"daily_consumption refused {len(blocked)} day(s) whose blocking checks "
                    "failed; fix the data (re-run measurements for the day) and re-run: "
                    + "; ".join(f"{day}: {', '.join(names)}" for day, names in blocked.items())
                ),
                metadata={"blocked_days": MetadataValue.json(blocked)},
            )

    return daily_consumption
