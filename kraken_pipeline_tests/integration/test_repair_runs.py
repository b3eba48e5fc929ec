"""Repairing some supply points from the launchpad: the field is offered, a typo costs nothing,
and the repaired day's materialisation still describes the whole stored day.

Dagster validates run config before it creates a run: ids outside the supply points file are
refused there, so no run exists to turn the day red. The step refuses them too, for a file
edited after the code location loaded it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetKey, AssetRecordsFilter, DagsterInvalidConfigError, EventLogRecord
from dagster._core.snap.snap_to_yaml import default_values_yaml_from_type_snap

from kraken_pipeline.cli.runner import run_range
from kraken_pipeline.defs.assets import (
    LISTED_SUPPLY_POINTS_LIMIT,
    MeasurementsConfig,
    measurements_config,
)
from kraken_pipeline.defs.location import MEASUREMENTS_JOB, build_definitions
from kraken_pipeline.defs.partitions import partition_key
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline_tests.support.pipeline import Landed, PipelineHarness

DAY = date(2026, 11, 10)  # the `landed_day` fixture's day
MEASUREMENTS = AssetKey("measurements")


def _latest_materialisation(harness: PipelineHarness, day: date) -> EventLogRecord:
    records = harness.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=MEASUREMENTS, asset_partitions=[partition_key(day)]), limit=1
    ).records
    assert records, f"{day} was never materialised"
    return records[0]


def _metadata(record: EventLogRecord) -> dict[str, Any]:
    materialization = record.asset_materialization
    assert materialization is not None
    return {name: entry.value for name, entry in materialization.metadata.items()}


def _totals(metadata: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in metadata.items() if name.startswith("total ")}


def test_the_launchpad_scaffold_shows_supply_point_ids_with_its_description() -> None:
    defs = build_definitions(PipelineSettings())
    for job in (
        defs.resolve_job_def(MEASUREMENTS_JOB),
        defs.resolve_implicit_global_asset_job_def(),
    ):
        snapshot = job.get_job_snapshot()
        schema = snapshot.config_schema_snapshot
        root = schema.get_config_snap(snapshot.mode_def_snaps[0].root_config_key)
        config = job.run_config_schema.config_type.fields["ops"].config_type  # type: ignore[attr-defined]
        field = (
            config.fields["measurements"]
            .config_type.fields["config"]
            .config_type.fields["supply_point_ids"]
        )

        # The UI's launchpad starts from this YAML (GraphQL rootDefaultYaml).
        assert "supply_point_ids: []" in default_values_yaml_from_type_snap(schema, root)
        assert "Repair only these supply points" in (field.description or "")


def test_unknown_ids_are_refused_before_a_run_exists_and_the_day_stays_as_it_was(
    harness: PipelineHarness,
) -> None:
    assert harness.run(DAY, DAY).success
    before = _latest_materialisation(harness, DAY)
    stored = harness.day(DAY)
    graphql_requests = harness.emulator.stats.requests.get("graphql", 0)
    runs = harness.instance.get_runs_count()

    with pytest.raises(DagsterInvalidConfigError) as refused:
        harness.run(DAY, DAY, supply_point_ids=["house-gas", "no-such-meter", "ghost"])

    message = str(refused.value)
    assert "supply_point_ids[1] not in enum type SupplyPointId got no-such-meter" in message
    assert "supply_point_ids[2] not in enum type SupplyPointId got ghost" in message
    assert "got house-gas" not in message
    assert harness.instance.get_runs_count() == runs
    assert harness.emulator.stats.requests.get("graphql", 0) == graphql_requests
    assert _latest_materialisation(harness, DAY).storage_id == before.storage_id
    assert harness.day(DAY).equals(stored)


def test_the_launchpad_offers_the_files_ids_and_takes_any_of_them() -> None:
    defs = build_definitions(PipelineSettings())
    config = defs.resolve_job_def(MEASUREMENTS_JOB).run_config_schema.config_type
    ops = config.fields["ops"].config_type  # type: ignore[attr-defined]
    field = ops.fields["measurements"].config_type.fields["config"].config_type
    choices = field.fields["supply_point_ids"].config_type.inner_type.inner_type

    assert {value.config_value for value in choices.enum_values} >= {"house-import", "house-gas"}
    assert "supply_point_id column of" in field.fields["supply_point_ids"].description


def test_without_a_readable_file_or_with_very_many_ids_any_id_passes_the_launchpad(
    tmp_path: Path,
) -> None:
    many = [f"meter-{n}" for n in range(LISTED_SUPPLY_POINTS_LIMIT + 1)]

    assert measurements_config(many, "big.csv") is MeasurementsConfig
    assert measurements_config([], "empty.csv") is MeasurementsConfig
    assert measurements_config(["a", "b"], "two.csv") is not MeasurementsConfig
    missing = PipelineSettings(supply_points_path=tmp_path / "missing.csv")
    config = build_definitions(missing).resolve_job_def(MEASUREMENTS_JOB).run_config_schema
    assert "supply_point_ids" in str(config.config_type.fields["ops"].config_type.fields)  # type: ignore[attr-defined]


def test_ids_removed_from_the_file_after_loading_fail_the_step_before_any_fetch(
    harness: PipelineHarness, tmp_path: Path, landed_day: Landed
) -> None:
    csv = tmp_path / "supply_points.csv"
    csv.write_bytes(harness.supply_points_csv.read_bytes())
    harness.supply_points_csv = csv
    harness.copy_of(landed_day.root)  # DAY as the job landed it
    stored = harness.day(DAY)
    definitions = build_definitions(harness.settings)  # loaded while house-gas is in the file
    kept = [line for line in csv.read_text().splitlines() if not line.startswith("house-gas,")]
    csv.write_text("\n".join(kept) + "\n")
    graphql_requests = harness.emulator.stats.requests.get("graphql", 0)

    outcome = run_range(
        harness.instance,
        harness.settings,
        DAY,
        DAY,
        run_config={"ops": {"measurements": {"config": {"supply_point_ids": ["house-gas"]}}}},
        definitions=definitions,
    )

    assert not outcome.success
    failure = outcome.failure or ""
    assert len(failure.splitlines()) == 1, failure
    assert f"supply_point_ids house-gas: not in {csv}" in failure
    assert harness.emulator.stats.requests.get("graphql", 0) == graphql_requests
    assert harness.day(DAY).equals(stored)


def test_a_repaired_days_materialisation_describes_the_whole_stored_day(
    harness: PipelineHarness, landed_day: Landed
) -> None:
    whole_run = _metadata(_latest_materialisation(landed_day.harness, DAY))
    harness.copy_of(landed_day.root)  # the day that whole run landed

    assert harness.run(DAY, DAY, supply_point_ids=["house-gas"]).success

    repaired = _metadata(_latest_materialisation(harness, DAY))
    assert repaired["rows"] == harness.day(DAY).num_rows == whole_run["rows"]
    assert repaired["supply_points"] == len(harness.supply_points()) == whole_run["supply_points"]
    assert repaired["intervals_received"] == whole_run["intervals_received"]
    assert _totals(repaired) == _totals(whole_run)
    assert any("electricity" in name for name in _totals(repaired))
    assert repaired["rows_fetched"] == 48
    assert repaired["repaired_supply_points"] == ["house-gas"]
