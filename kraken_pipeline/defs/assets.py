"""The `measurements` asset: one run lands a range of local days, chunk by chunk."""

import enum
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
from pydantic import Field, create_model

from kraken_pipeline import storage, warehouse
from kraken_pipeline.consumption import derive_daily_consumption, failed_blocking_checks
from kraken_pipeline.defs.day_metadata import day_metadata, whole_day_metadata
from kraken_pipeline.defs.partitions import partition_date, partition_key
from kraken_pipeline.defs.resources import KrakenResource, StorageResource, SupplyPointsResource
from kraken_pipeline.landing import DayReport, land_days
from kraken_pipeline.supply_points import SupplyPoint

GROUP = "kraken"
MEASUREMENTS_KEY = "measurements"
# Up to this many supply points the launchpad offers the file's ids as a list to pick from and
# refuses any other before a run exists; a larger file's ids are checked when the run starts.
LISTED_SUPPLY_POINTS_LIMIT = 20_000
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


def measurements_config(supply_point_ids: Sequence[str], path: str) -> type[MeasurementsConfig]:
    """The run options, with `supply_point_ids` limited to the ids of the supply points file.

    With no ids, or more than LISTED_SUPPLY_POINTS_LIMIT, any string passes and the step refuses
    unknown ids before it fetches.
    """
    # Dagster validates run config before it creates a run: a typo is refused in the launchpad.
    if not supply_point_ids or len(supply_point_ids) > LISTED_SUPPLY_POINTS_LIMIT:
        return MeasurementsConfig
    # A str enum, so the chosen ids compare and hash as the plain strings they are.
    pairs = [(supply_point_id, supply_point_id) for supply_point_id in supply_point_ids]
    choices = enum.StrEnum("SupplyPointId", pairs)  # type: ignore[misc]
    listed: type[MeasurementsConfig] = create_model(
        "MeasurementsConfig",
        __base__=MeasurementsConfig,
        supply_point_ids=(
            list[choices],
            Field(
                default=[],
                description=(
                    "Repair only these supply points (ids of the supply_point_id column of "
                    f"{path}); the day's other rows are kept. Empty: all."
                ),
            ),
        ),
    )
    return listed


def build_measurements_asset(
    partitions: DailyPartitionsDefinition,
    backfill_policy: BackfillPolicy = SINGLE_RUN,
    config_class: type[MeasurementsConfig] = MeasurementsConfig,
) -> AssetsDefinition:
    """The measurements asset over the given daily partitions, configured by `config_class`."""

    def measurements(
        context: AssetExecutionContext,
        config: MeasurementsConfig,
        kraken: KrakenResource,
        storage_root: StorageResource,
        supply_points: SupplyPointsResource,
    ) -> Iterator[Any]:
        days = [partition_date(key) for key in context.partition_keys]
        points = supply_points.load()
        only = {str(supply_point_id) for supply_point_id in config.supply_point_ids} or None
        refuse_unknown_supply_points(only, points, supply_points.path)
        root = storage_root.root
        landed = RunLanded()
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
                # Recorded as soon as the day is committed, so a run that breaks later leaves it
                # landed; the step's output records it again at the end, with the same metadata.
                yield AssetMaterialization(
                    asset_key=MEASUREMENTS_KEY,
                    partition=partition_key(report.local_date),
                    metadata=metadata,
                )
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

    # Dagster reads the config schema from this annotation, which must be the class built for
    # this deployment's supply points (a decorator would read the static one).
    measurements.__annotations__["config"] = config_class
    decorate = asset(
        name=MEASUREMENTS_KEY,
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
    return decorate(measurements)


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


# eager() without in_latest_time_window() (a backfill of older days must be followed) and without
# newly_missing(): docs/architecture.md, "Derived days follow measurements".
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
        deps=[MEASUREMENTS_KEY],
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
