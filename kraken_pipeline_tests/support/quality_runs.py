"""Running the quality checks through the real job, and reading what they recorded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from dagster import (
    AssetCheckEvaluation,
    AssetKey,
    AssetSelection,
    DagsterEventType,
    Definitions,
    define_asset_job,
)

from kraken_pipeline.cli.runner import RunOutcome, run_range
from kraken_pipeline.defs.location import MEASUREMENTS_JOB, build_definitions
from kraken_pipeline.schema import MEASUREMENTS_SCHEMA
from kraken_pipeline_tests.support.lake import plant_measurements
from kraken_pipeline_tests.support.pipeline import EXAMPLE_CSV, PipelineHarness

MEASUREMENTS = AssetKey("measurements")
CHECK_STEP = "measurements_quality"
GAPPY = "shop-import-gappy"
DAY = date(2026, 11, 10)  # long restated and past the publication lag at the emulator's clock
LAND_ONLY = AssetSelection.assets(MEASUREMENTS).without_checks()
CHECKS_ONLY = AssetSelection.checks_for_assets(MEASUREMENTS)
Row = dict[str, Any]
Evaluations = dict[tuple[str | None, str], AssetCheckEvaluation]


def supply_points_without_gaps(directory: Path) -> Path:
    """A supply points file in `directory`: the demo's minus the gappy meter."""
    lines = EXAMPLE_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    path = directory / "supply_points_without_gaps.csv"
    path.write_text("".join(line for line in lines if not line.startswith(GAPPY)), "utf-8")
    return path


def use_supply_points_without_gaps(harness: PipelineHarness, directory: Path) -> None:
    """Point the harness at the demo supply points minus the gappy meter."""
    harness.supply_points_csv = supply_points_without_gaps(directory)


def selection_definitions(harness: PipelineHarness, selection: AssetSelection) -> Definitions:
    """The location's assets, checks and resources with a measurements job of `selection` only."""
    base = build_definitions(harness.settings)
    return Definitions(
        assets=base.assets,
        asset_checks=base.asset_checks,
        jobs=[define_asset_job(MEASUREMENTS_JOB, selection=selection)],
        resources=base.resources,
    )


def run_selection(
    harness: PipelineHarness, selection: AssetSelection, first: date, last: date
) -> RunOutcome:
    """Run part of the job (same assets, checks and resources) over first..last in one run."""
    harness.seed()
    definitions = selection_definitions(harness, selection)
    judged = any(
        node.name == CHECK_STEP for node in definitions.resolve_job_def(MEASUREMENTS_JOB).nodes
    )
    as_of = {"as_of": harness.emulator.now().isoformat()}
    run_config = {"ops": {CHECK_STEP: {"config": as_of}}} if judged else {}
    return run_range(
        harness.instance,
        harness.settings,
        first,
        last,
        run_config=run_config,
        definitions=definitions,
    )


def rejudge(harness: PipelineHarness, first: date, last: date) -> RunOutcome:
    """Run only the check step over stored days, judged as of the emulator's clock."""
    return run_selection(harness, CHECKS_ONLY, first, last)


def spoil_stored_day(
    harness: PipelineHarness,
    day: date,
    supply_point_id: str,
    position: int,
    change: Callable[[Row], list[Row]],
) -> None:
    """Replace one stored row of a supply point (by position among its rows) with change(row)."""
    rows = harness.day(day).to_pylist()
    indices = [i for i, row in enumerate(rows) if row["supply_point_id"] == supply_point_id]
    target = indices[position]
    spoiled = rows[:target] + change(rows[target]) + rows[target + 1 :]
    plant_measurements(harness.root, day, pa.Table.from_pylist(spoiled, schema=MEASUREMENTS_SCHEMA))


def evaluations(harness: PipelineHarness, run_id: str) -> Evaluations:
    """The run's recorded check evaluations by (partition, check); freshness has no partition."""
    records = harness.instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    found: Evaluations = {}
    for record in records:
        event = record.event_log_entry.dagster_event
        assert event is not None
        evaluation = event.asset_check_evaluation_data
        found[(evaluation.partition, evaluation.check_name)] = evaluation
    return found


def metadata(evaluation: AssetCheckEvaluation, name: str) -> Any:
    """The plain value of one metadata entry of an evaluation."""
    return evaluation.metadata[name].value


def offenders(evaluation: AssetCheckEvaluation) -> list[str]:
    """The supply points the UI tells the operator to re-run."""
    entry = evaluation.metadata.get("rerun_supply_point_ids")
    return [] if entry is None else list(entry.value)  # type: ignore[arg-type]


def offender_row(supply_point_id: str, day: date, count: int) -> str:
    """The start of a row of the worst-offenders table: supply point, day, count."""
    return f"| `{supply_point_id}` | {day.isoformat()} | {count} |"


def key(day: date) -> str:
    """The partition key of a local day."""
    return day.isoformat()
