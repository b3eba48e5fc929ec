"""The definitions load with no environment set, and expose what the operator relies on."""

from __future__ import annotations

import os
import subprocess
import sys

from dagster import AssetKey, DefaultScheduleStatus, EnvVar

from kraken_pipeline.pipeline import build_definitions
from kraken_pipeline.schedules import SCHEDULE_NAME
from kraken_pipeline.settings import PipelineSettings


def test_the_definitions_module_imports_with_an_empty_environment() -> None:
    env = {"PATH": os.environ["PATH"]}

    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from kraken_pipeline.definitions import defs; print(len(defs.assets))",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() != "0"


def test_the_measurements_asset_is_daily_partitioned_in_the_tenant_zone() -> None:
    defs = build_definitions(PipelineSettings(timezone="Europe/Berlin"))

    spec = defs.resolve_assets_def(AssetKey("measurements"))

    assert spec.partitions_def is not None
    assert spec.partitions_def.timezone == "Europe/Berlin"  # type: ignore[attr-defined]
    assert spec.backfill_policy is not None


def test_the_schedule_is_off_unless_the_operator_opts_in() -> None:
    off = build_definitions(PipelineSettings()).resolve_schedule_def(SCHEDULE_NAME)
    on = build_definitions(PipelineSettings(schedule_enabled=True)).resolve_schedule_def(
        SCHEDULE_NAME
    )

    assert off.default_status is DefaultScheduleStatus.STOPPED
    assert on.default_status is DefaultScheduleStatus.RUNNING


def test_secrets_are_environment_variables_not_values() -> None:
    defs = build_definitions(PipelineSettings())

    kraken = defs.resources["kraken"]

    assert isinstance(kraken.client_id, EnvVar)
    assert isinstance(kraken.client_secret, EnvVar)
    assert kraken.client_secret.env_var_name == "KRAKEN_CLIENT_SECRET"
