"""A snapshot of what the code location shows an operator.

Assets with their partitions, backfill policy, pool and automation; asset checks; jobs and the
run config the launchpad fills in; schedules; sensors; every resource's config schema. A change
to `__snapshots__/` is a change an operator will see: review it as one. After an intended change,
regenerate with `pytest kraken_pipeline_tests/unit/test_definitions_snapshot.py --snapshot-update`.

The definitions are built as the code location builds them, from the environment, with every
secret set to a recognisable placeholder that must appear nowhere in the snapshot.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import (
    BackfillPolicy,
    Definitions,
    PartitionsDefinition,
    TimeWindowPartitionsDefinition,
)

# Dagster has no public way to read the run config the launchpad opens with; this is the function
# its GraphQL API calls for it (dagster_graphql's rootDefaultYaml).
from dagster._core.snap.snap_to_yaml import default_values_yaml_from_type_snap
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from kraken_pipeline.defs.location import build_definitions
from kraken_pipeline.settings import PipelineSettings

# A fixed, small supply points file: run config that lists its ids stays the same whatever the
# example file in data/ becomes.
SUPPLY_POINTS_CSV = """\
supply_point_id,property_id,utility,market_supply_point_id,device_id,reading_direction,reading_frequency
house-import,1000001,electricity,1200012345679,12-AB-34-CD-56-EF-78-01,CONSUMPTION,THIRTY_MIN_INTERVAL
house-gas,1000001,gas,7654321,12-AB-34-CD-56-EF-78-02,,THIRTY_MIN_INTERVAL
"""
SECRETS = {
    "KRAKEN_CLIENT_ID": "placeholder-client-id-7c1e",
    "KRAKEN_CLIENT_SECRET": "placeholder-client-secret-93fa",
    "KRAKEN_ALERT_WEBHOOK_URL": "https://hooks.invalid/placeholder-webhook-path-2b8d",
}
TMP = "<tmp>"


@pytest.fixture
def location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Definitions:
    """The definitions as the code location builds them, from placeholder environment values."""
    for name in [name for name in os.environ if name.startswith("KRAKEN_")]:
        monkeypatch.delenv(name)
    supply_points = tmp_path / "supply_points.csv"
    supply_points.write_text(SUPPLY_POINTS_CSV)
    monkeypatch.setenv("KRAKEN_SUPPLY_POINTS", str(supply_points))
    monkeypatch.setenv("KRAKEN_PIPELINE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("KRAKEN_PIPELINE_START_DATE", "2024-01-01")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return build_definitions(PipelineSettings.from_environ())


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def test_what_the_operator_sees_matches_the_reviewed_snapshot(
    location: Definitions, tmp_path: Path, snapshot_json: SnapshotAssertion
) -> None:
    seen = _without_root(operator_view(location), str(tmp_path))

    assert seen == snapshot_json


def test_no_secret_value_appears_in_the_snapshot_only_the_variables_naming_them(
    location: Definitions, tmp_path: Path
) -> None:
    seen = _without_root(operator_view(location), str(tmp_path))

    text = JSONSnapshotExtension().serialize(seen)

    for name, value in SECRETS.items():
        assert value not in text, name
        assert f'"env": "{name}"' in text, name


def operator_view(defs: Definitions) -> dict[str, Any]:
    """The definitions as plain, sorted data: what the UI lists and what the launchpad fills in."""
    named_jobs = sorted(job.name for job in defs.jobs or [])
    jobs = {name: defs.resolve_job_def(name) for name in named_jobs}
    return {
        "assets": {
            spec.key.to_user_string(): _asset(defs, spec.key)
            for spec in sorted(defs.resolve_all_asset_specs(), key=lambda s: s.key)
        },
        "asset_checks": dict(
            sorted(
                (f"{spec.asset_key.to_user_string()}:{spec.name}", _check(spec))
                for checks in defs.asset_checks or []
                for spec in checks.check_specs
            )
        ),
        "jobs": {name: _job(job) for name, job in jobs.items()},
        "schedules": {
            schedule.name: _schedule(defs.resolve_schedule_def(schedule.name))
            for schedule in sorted(defs.schedules or [], key=lambda s: s.name)
        },
        "sensors": {
            sensor.name: _sensor(defs.resolve_sensor_def(sensor.name))
            for sensor in sorted(defs.sensors or [], key=lambda s: s.name)
        },
        # Every job of the location offers the same resources; the first shows them.
        "resources": _resources(jobs[named_jobs[0]]),
    }


def _asset(defs: Definitions, key: Any) -> dict[str, Any]:
    assets_def = defs.resolve_assets_def(key)
    spec = assets_def.get_asset_spec(key)
    condition = spec.automation_condition
    return {
        "group": spec.group_name,
        "deps": sorted(dep.asset_key.to_user_string() for dep in spec.deps),
        "partitions": _partitions(spec.partitions_def),
        "backfill_policy": _backfill_policy(assets_def.backfill_policy),
        "pool": assets_def.op.pool,
        "automation_condition": condition.get_label() if condition is not None else None,
    }


def _partitions(partitions: PartitionsDefinition | None) -> dict[str, Any] | None:
    if partitions is None:
        return None
    assert isinstance(partitions, TimeWindowPartitionsDefinition)
    return {
        "type": type(partitions).__name__,
        "start": partitions.start.isoformat(),
        "timezone": partitions.timezone,
        "cron": partitions.cron_schedule,
        "key_format": partitions.fmt,
    }


def _backfill_policy(policy: BackfillPolicy | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    return {
        "type": policy.policy_type.value,
        "max_partitions_per_run": policy.max_partitions_per_run,
    }


def _check(spec: Any) -> dict[str, Any]:
    return {
        "asset": spec.asset_key.to_user_string(),
        "blocking": spec.blocking,
        "partitioned": spec.partitions_def is not None,
    }


def _job(job: Any) -> dict[str, Any]:
    schema = job.get_config_schema_snapshot()
    root = _run_config_root(job)
    return {
        "assets": sorted(key.to_user_string() for key in job.asset_layer.selected_asset_keys),
        "steps": sorted(node.name for node in job.nodes),
        "partitions": _partitions(job.partitions_def),
        "ops_config": _config_fields(schema, root.get_field("ops").type_key, nested="config"),
        "launchpad_run_config": yaml.safe_load(default_values_yaml_from_type_snap(schema, root)),
    }


def _resources(job: Any) -> dict[str, Any]:
    """Each resource's config fields, and the values the location wires into them."""
    schema = job.get_config_schema_snapshot()
    shape = schema.get_config_snap(_run_config_root(job).get_field("resources").type_key)
    described: dict[str, Any] = {}
    for name in sorted(shape.field_names):
        config = schema.get_config_snap(shape.get_field(name).type_key).get_field("config")
        described[name] = {
            "fields": _config_fields(schema, config.type_key),
            "wired": _default(config),
        }
    return described


def _run_config_root(job: Any) -> Any:
    """The type of a job's whole run config (ops, resources, execution, loggers)."""
    root_key = job.get_job_snapshot().mode_def_snaps[0].root_config_key
    return job.get_config_schema_snapshot().get_config_snap(root_key)


def _schedule(schedule: Any) -> dict[str, Any]:
    return {
        "job": schedule.job_name,
        "cron": schedule.cron_schedule,
        "timezone": schedule.execution_timezone,
        "default_status": schedule.default_status.value,
    }


def _sensor(sensor: Any) -> dict[str, Any]:
    return {
        "type": sensor.sensor_type.value,
        "jobs": sorted(target.job_name for target in sensor.targets),
        "default_status": sensor.default_status.value,
        "minimum_interval_seconds": sensor.minimum_interval_seconds,
    }


def _config_fields(schema: Any, type_key: str, *, nested: str | None = None) -> dict[str, Any]:
    """Each field of a config shape: its type, whether it is required, its default.

    With `nested`, each field is itself a shape (an op, a resource) whose `nested` field holds the
    config; fields without one (an op with no config) are left out.
    """
    shape = schema.get_config_snap(type_key)
    described: dict[str, Any] = {}
    for name in sorted(shape.field_names):
        field = shape.get_field(name)
        if nested is None:
            described[name] = _field(schema, field)
            continue
        inner = schema.get_config_snap(field.type_key)
        if inner.fields and nested in inner.field_names:
            config = inner.get_field(nested)
            if schema.get_config_snap(config.type_key).fields:
                described[name] = _config_fields(schema, config.type_key)
    return described


def _field(schema: Any, field: Any) -> dict[str, Any]:
    described: dict[str, Any] = {
        "type": _type_name(schema, field.type_key),
        "required": field.is_required,
    }
    if field.default_provided:
        described["default"] = _default(field)
    return described


def _default(field: Any) -> Any:
    return json.loads(field.default_value_as_json_str) if field.default_provided else None


def _type_name(schema: Any, type_key: str) -> Any:
    snap = schema.get_config_snap(type_key)
    kind = snap.kind.value
    params = snap.type_param_keys or []
    if kind == "NONEABLE":
        return f"{_type_name(schema, params[0])} | None"
    if kind == "ARRAY":
        return f"list[{_type_name(schema, params[0])}]"
    if kind == "SCALAR_UNION":  # a value, or {env: VARIABLE} read when a run starts
        return f"{_type_name(schema, params[0])} | env"
    if kind == "ENUM":
        return "one of " + ", ".join(sorted(value.value for value in snap.enum_values))
    if snap.fields:
        return _config_fields(schema, type_key)
    return snap.given_name or snap.key


def _without_root(value: Any, root: str) -> Any:
    """The value with the test's temporary directory written as <tmp>, so the snapshot is stable."""
    if isinstance(value, str):
        return value.replace(root, TMP)
    if isinstance(value, dict):
        return {key: _without_root(item, root) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_root(item, root) for item in value]
    return value
