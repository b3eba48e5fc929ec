"""Running the real Dagster job for resilience tests, and judging what it left on disk.

The job runs in process (as `kraken-pipeline run` does, through runner.run_range) against an
emulator over loopback HTTP. What a run left behind is judged against the emulator's ground
truth, so "equal to a clean run" needs no second run, and against file digests, so "intact"
means byte for byte.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from kraken_pipeline import storage
from kraken_pipeline.emulator import Emulator
from kraken_pipeline.local_days import days_between
from kraken_pipeline.supply_points import SupplyPoint
from kraken_pipeline_tests.pipeline_support import (
    EXAMPLE_CSV,
    TIMEZONE,
    PipelineHarness,
    Series,
    expected_series,
    stored_values,
)

# The in-process pipeline is the one the other pipeline tests use; these names read better here.
Pipeline = PipelineHarness
stored_series = stored_values
__all__ = ["EXAMPLE_CSV", "TIMEZONE", "Pipeline", "Series", "expected_series", "stored_series"]


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
