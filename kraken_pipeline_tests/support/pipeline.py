"""Run the real Dagster job against an emulator, into a temporary data root."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from dagster import AssetKey, DagsterInstance, ExecuteInProcessResult

from kraken_pipeline import storage
from kraken_pipeline.cli.runner import RunOutcome, run_range
from kraken_pipeline.defs.location import build_definitions
from kraken_pipeline.defs.partitions import partition_key
from kraken_pipeline.emulator import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    Dataset,
    Emulator,
    EmulatorConfig,
    Reading,
)
from kraken_pipeline.local_days import range_bounds
from kraken_pipeline.market_ids import market_of
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline.supply_points import SupplyPoint, load_supply_points
from kraken_pipeline_tests.support.emulator_http import EMULATOR_NOW
from kraken_pipeline_tests.support.lake import copy_lake, seed_defined_lake

EXAMPLE_CSV = Path(__file__).resolve().parents[2] / "data" / "supply_points.example.csv"
TIMEZONE = "Europe/London"
Series = list[tuple[datetime, Decimal]]
MEASUREMENTS = AssetKey("measurements")


@dataclass
class PipelineHarness:
    """The job, an ephemeral Dagster instance and a data root, wired to one emulator."""

    emulator: Emulator
    root: Path
    supply_points_csv: Path = EXAMPLE_CSV
    page_size: int = 1000
    timezone: str = TIMEZONE  # the tenant's; its market decides which ids are valid
    instance: DagsterInstance = field(default_factory=DagsterInstance.ephemeral)
    # Copy the lake's definitions into a new root before the first run (support/lake.py), for
    # tests that do not watch the root being created.
    seed_lake: bool = False

    @property
    def settings(self) -> PipelineSettings:
        return PipelineSettings(
            auth_url=self.emulator.token_url,
            api_url=self.emulator.graphql_url,
            data_root=self.root,
            supply_points_path=self.supply_points_csv,
            page_size=self.page_size,
            timezone=self.timezone,
            market=market_of(None, self.timezone),
        )

    def run(
        self, first: date, last: date, *, deadline_seconds: float | None = None, **ops: Any
    ) -> RunOutcome:
        """Materialise first..last in one run, judging quality as of the emulator's clock.

        `ops` is config of the measurements op (e.g. supply_point_ids for a repair run).
        """
        run_config: dict[str, Any] = {
            "ops": {"measurements_quality": {"config": {"as_of": self.emulator.now().isoformat()}}}
        }
        if deadline_seconds is not None:
            ops = {**ops, "deadline_seconds": deadline_seconds}
        if ops:
            run_config["ops"]["measurements"] = {"config": ops}
        self.seed()
        return run_range(self.instance, self.settings, first, last, run_config=run_config)

    def materialise(self, assets: Sequence[AssetKey], day: date) -> ExecuteInProcessResult:
        """Materialise only these assets (and their checks) for one day, as the UI's Materialize
        button does: Dagster's implicit asset job, not the measurements job."""
        self.seed()
        job = build_definitions(self.settings).resolve_implicit_global_asset_job_def()
        as_of = {"as_of": self.emulator.now().isoformat()}
        return job.execute_in_process(
            instance=self.instance,
            asset_selection=list(assets),
            partition_key=partition_key(day),
            run_config={"ops": {"measurements_quality": {"config": as_of}}}
            if MEASUREMENTS in assets
            else {},
            raise_on_error=False,
        )

    def seed(self) -> None:
        """Copy the lake's definitions into a new root, if this harness is to (seed_lake)."""
        if self.seed_lake:
            seed_defined_lake(self.root, self.timezone)

    def copy_of(self, root: Path) -> PipelineHarness:
        """This harness on a copy of another root's lake (a landed_root), not yet run here."""
        copy_lake(root, self.root)
        return self

    def elsewhere(self, root: Path) -> PipelineHarness:
        """The same pipeline writing to another data root (a reference run)."""
        return replace(self, root=root, instance=DagsterInstance.ephemeral())

    def day(self, day: date) -> pa.Table:
        table = storage.read_day(self.root, day)
        assert table is not None, f"{day} was not written"
        return table

    def fetch_log(self, day: date) -> pa.Table:
        table = storage.read_fetch_log(self.root, day)
        assert table is not None, f"{day} has no fetch log"
        return table

    def supply_points(self) -> tuple[SupplyPoint, ...]:
        return load_supply_points(self.supply_points_csv, market_of(None, self.timezone))

    def expected_values(self, point: SupplyPoint, day: date) -> Series:
        """What the emulator serves for one supply point and day, right now."""
        return expected_series(self.emulator, point, day)


@dataclass(frozen=True)
class Landed:
    """A clean run's data root and the harness (its Dagster instance) that ran it."""

    harness: PipelineHarness
    outcome: RunOutcome

    @property
    def root(self) -> Path:
        return self.harness.root


@contextmanager
def demo_harness(root: Path, **fields: Any) -> Iterator[PipelineHarness]:
    """The harness on a demo emulator at EMULATOR_NOW with the demo client's credentials set,
    both until the block ends: for a module-scoped fixture's runs. `fields` are PipelineHarness
    fields."""
    with (
        Emulator(EmulatorConfig(clock=lambda: EMULATOR_NOW)) as emulator,
        pytest.MonkeyPatch.context() as environment,
    ):
        environment.setenv("KRAKEN_CLIENT_ID", DEMO_CLIENT_ID)
        environment.setenv("KRAKEN_CLIENT_SECRET", DEMO_CLIENT_SECRET)
        yield PipelineHarness(emulator=emulator, root=root, seed_lake=True, **fields)


def landed_root(root: Path, first: date, last: date, **fields: Any) -> Landed:
    """Days first..last as a clean run lands them from the demo emulator into `root`.

    For a module-scoped fixture: each test then works on its own copy (PipelineHarness.copy_of),
    so a run that many tests start from is made once. `fields` are PipelineHarness fields.
    """
    with demo_harness(root, **fields) as harness:
        outcome = harness.run(first, last)
    assert outcome.success, outcome.failure
    return Landed(harness, outcome)


def expected_readings(emulator: Emulator, point: SupplyPoint, day: date) -> list[Reading]:
    """The readings an emulator serves for one supply point and local day, right now."""
    start, end = range_bounds(day, day, TIMEZONE)
    return emulator.expected_readings(
        point.property_id,
        point.market_supply_point_id,
        point.reading_direction.value if point.reading_direction else None,
        point.reading_frequency,
        start,
        end,
    )


def expected_series(emulator: Emulator, point: SupplyPoint, day: date) -> Series:
    """(interval_start, value) an emulator serves for one supply point and local day."""
    return [(reading.start, reading.value) for reading in expected_readings(emulator, point, day)]


def stored_values(table: pa.Table, supply_point_id: str) -> Series:
    """(interval_start, value) of one supply point in a stored day, in stored order."""
    rows = table.filter(pc.equal(table["supply_point_id"], supply_point_id))
    return list(zip(rows["interval_start"].to_pylist(), rows["value"].to_pylist(), strict=True))


def first_estimated_house_day(dataset: Dataset) -> date:
    """The first day from 2026-09-01 that the demo house's import meter serves as estimates (to be
    restated as actuals later)."""
    house = dataset.find(
        "1000001", "electricity", "1200012345679", "CONSUMPTION", "THIRTY_MIN_INTERVAL"
    )
    assert house is not None
    return next(
        day
        for day in (date(2026, 9, 1) + timedelta(days=n) for n in range(60))
        if dataset.is_estimated(house, day)
    )
