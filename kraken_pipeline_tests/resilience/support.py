"""Running the real Dagster job for resilience tests, and judging what it left on disk.

The job runs in process (as `kraken-pipeline run` does, through runner.run_range) against an
emulator over loopback HTTP. What a run left behind is judged against the emulator's ground
truth, so "equal to a clean run" needs no second run, and against file digests, so "intact"
means byte for byte.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from dagster import DagsterInstance

from kraken_pipeline import storage
from kraken_pipeline.emulator import Emulator
from kraken_pipeline.local_days import days_between, range_bounds
from kraken_pipeline.runner import RunOutcome, run_range
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline.supply_points import SupplyPoint, load_supply_points

EXAMPLE_CSV = Path(__file__).resolve().parents[2] / "data" / "supply_points.example.csv"
TIMEZONE = "Europe/London"
Series = list[tuple[datetime, Decimal]]


@dataclass
class Pipeline:
    """The measurements job wired to one emulator, one data root and one Dagster instance."""

    emulator: Emulator
    root: Path
    supply_points_csv: Path = EXAMPLE_CSV
    page_size: int = 1000
    instance: DagsterInstance = field(default_factory=DagsterInstance.ephemeral)

    @property
    def settings(self) -> PipelineSettings:
        return PipelineSettings(
            auth_url=self.emulator.token_url,
            api_url=self.emulator.graphql_url,
            data_root=self.root,
            supply_points_path=self.supply_points_csv,
            page_size=self.page_size,
        )

    def run(
        self, first: date, last: date, *, deadline_seconds: float | None = None, **ops: Any
    ) -> RunOutcome:
        """Materialise first..last in one run; `ops` is extra config of the measurements op."""
        run_config: dict[str, Any] = {
            "ops": {"measurements_quality": {"config": {"as_of": self.emulator.now().isoformat()}}}
        }
        if deadline_seconds is not None:
            ops = {**ops, "deadline_seconds": deadline_seconds}
        if ops:
            run_config["ops"]["measurements"] = {"config": ops}
        return run_range(self.instance, self.settings, first, last, run_config=run_config)

    def elsewhere(self, root: Path) -> Pipeline:
        """The same pipeline writing to another data root (a reference run)."""
        return replace(self, root=root, instance=DagsterInstance.ephemeral())

    def supply_points(self) -> tuple[SupplyPoint, ...]:
        return load_supply_points(self.supply_points_csv)


def expected_series(emulator: Emulator, point: SupplyPoint, day: date) -> Series:
    """What the emulator serves for one supply point and local day, right now."""
    start, end = range_bounds(day, day, TIMEZONE)
    readings = emulator.expected_readings(
        point.property_id,
        point.market_supply_point_id,
        point.reading_direction.value if point.reading_direction else None,
        point.reading_frequency,
        start,
        end,
    )
    return [(reading.start, reading.value) for reading in readings]


def stored_series(table: pa.Table, supply_point_id: str) -> Series:
    """(interval_start, value) of one supply point in a stored day, in stored order."""
    rows = table.filter(pc.equal(table["supply_point_id"], supply_point_id))
    return list(zip(rows["interval_start"].to_pylist(), rows["value"].to_pylist(), strict=True))


def assert_days_hold_the_emulators_data(
    root: Path, emulator: Emulator, points: tuple[SupplyPoint, ...], first: date, last: date
) -> None:
    """Every day first..last holds exactly the emulator's values, every fetch ok, one row each."""
    for day in days_between(first, last):
        table = storage.read_day(root, day)
        fetch_log = storage.read_fetch_log(root, day)
        assert table is not None, f"{day} was not written"
        assert fetch_log is not None, f"{day} has no fetch log"
        assert set(fetch_log["status"].to_pylist()) == {"ok"}, fetch_log.to_pylist()
        for point in points:
            assert stored_series(table, point.supply_point_id) == expected_series(
                emulator, point, day
            ), f"{point.supply_point_id} on {day}"
        assert table.num_rows == len(set(zip(*_keys(table), strict=True))), f"duplicates {day}"


def _keys(table: pa.Table) -> tuple[list[Any], list[Any]]:
    return table["supply_point_id"].to_pylist(), table["interval_start"].to_pylist()


def landed(root: Path, day: date) -> pa.Table:
    """The stored measurements of a day that must have been landed."""
    table = storage.read_day(root, day)
    assert table is not None, f"{day} was not written"
    return table


def without_fetch_times(table: pa.Table) -> pa.Table:
    """A stored table minus fetched_at, the one column two equal runs differ in."""
    return table.drop_columns(["fetched_at"])


def digests(root: Path) -> dict[str, str]:
    """sha256 of every file under root, by relative path: equal digests mean untouched files."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def day_digests(root: Path, day: date) -> dict[str, str]:
    """Digests of the files a reader sees for one landed day (measurements and fetch log).

    Hidden names (the lock file, a killed writer's temporary file) are no reader's business.
    """
    directory = storage.measurements_path(root, day).parent
    return {name: digest for name, digest in digests(directory).items() if name[0] != "."}


def temporary_files(root: Path) -> list[Path]:
    """Temporary files a writer left behind (storage and warehouse write `.<name>.<hex>.tmp`)."""
    return sorted(root.rglob(".*.tmp"))
