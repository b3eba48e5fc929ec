"""Repairing some supply points from the launchpad: the field is offered, a typo costs nothing,
and the repaired day's materialisation still describes the whole stored day."""

from __future__ import annotations

from datetime import date
from typing import Any

from dagster import AssetKey, AssetRecordsFilter, EventLogRecord
from dagster._core.snap.snap_to_yaml import default_values_yaml_from_type_snap

from kraken_pipeline.partitions import partition_key
from kraken_pipeline.pipeline import MEASUREMENTS_JOB, build_definitions
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline_tests.pipeline_support import PipelineHarness

DAY = date(2026, 11, 10)
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


def test_unknown_ids_fail_before_any_fetch_and_leave_the_days_materialisation_as_it_was(
    harness: PipelineHarness,
) -> None:
    assert harness.run(DAY, DAY).success
    before = _latest_materialisation(harness, DAY)
    stored = harness.day(DAY)
    graphql_requests = harness.emulator.stats.requests.get("graphql", 0)

    outcome = harness.run(DAY, DAY, supply_point_ids=["house-gas", "no-such-meter", "ghost"])

    assert not outcome.success
    failure = outcome.failure or ""
    assert len(failure.splitlines()) == 1, failure
    assert "ghost, no-such-meter" in failure
    assert str(harness.supply_points_csv) in failure
    assert "house-gas" not in failure
    assert harness.emulator.stats.requests.get("graphql", 0) == graphql_requests
    assert _latest_materialisation(harness, DAY).storage_id == before.storage_id
    assert harness.day(DAY).equals(stored)


def test_a_repaired_days_materialisation_describes_the_whole_stored_day(
    harness: PipelineHarness,
) -> None:
    assert harness.run(DAY, DAY).success
    whole_run = _metadata(_latest_materialisation(harness, DAY))

    assert harness.run(DAY, DAY, supply_point_ids=["house-gas"]).success

    repaired = _metadata(_latest_materialisation(harness, DAY))
    assert repaired["rows"] == harness.day(DAY).num_rows == whole_run["rows"]
    assert repaired["supply_points"] == len(harness.supply_points()) == whole_run["supply_points"]
    assert repaired["intervals_received"] == whole_run["intervals_received"]
    assert _totals(repaired) == _totals(whole_run)
    assert any("electricity" in name for name in _totals(repaired))
    assert repaired["rows_fetched"] == 48
    assert repaired["repaired_supply_points"] == ["house-gas"]
