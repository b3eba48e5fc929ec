"""The definitions load with no environment set, and expose what the operator relies on.

What a backfilled range becomes is asked of the function Dagster's backfill daemon calls
(`build_run_requests_with_backfill_policies`): Dagster has no public API for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta

import pytest
from dagster import (
    AssetKey,
    BackfillPolicy,
    DagsterInstance,
    DailyPartitionsDefinition,
    DefaultScheduleStatus,
    EnvVar,
    RunRequest,
)
from dagster._core.definitions.automation_tick_evaluation_context import (
    build_run_requests_with_backfill_policies,
)
from dagster._core.definitions.events import AssetKeyPartitionKey

from kraken_pipeline.defs.location import build_definitions
from kraken_pipeline.defs.schedules import SCHEDULE_NAME
from kraken_pipeline.settings import PipelineSettings

MEASUREMENTS = AssetKey("measurements")
DAILY_CONSUMPTION = AssetKey("daily_consumption")
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
CHECKS = [
    "completeness",
    "estimate_share",
    "fetch_failures",
    "freshness",
    "intervals_aligned",
    "one_unit_per_series",
    "stored_intervals_kept",
    "unique_intervals",
    "valid_values",
]
# What the UI lists, printed by a fresh interpreter that imports the code location.
LIST_DEFINITIONS = """
import json
from kraken_pipeline.definitions import defs
print(json.dumps({
    "assets": sorted(key.to_user_string() for key in defs.resolve_all_asset_keys()),
    "checks": sorted(spec.name for checks in defs.asset_checks for spec in checks.check_specs),
    "jobs": sorted(job.name for job in defs.jobs),
    "schedules": sorted(schedule.name for schedule in defs.schedules),
    "sensors": sorted(sensor.name for sensor in defs.sensors),
}))
"""


@pytest.mark.slow  # starts a fresh interpreter
def test_the_definitions_module_imports_with_an_empty_environment() -> None:
    env = {"PATH": os.environ["PATH"]}

    completed = subprocess.run(
        [sys.executable, "-c", LIST_DEFINITIONS],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == {
        "assets": ["daily_consumption", "lake_maintenance", "measurements"],
        "checks": CHECKS,
        "jobs": ["lake_maintenance_job", "measurements_job"],
        "schedules": ["daily_measurements", "weekly_lake_maintenance"],
        "sensors": [
            "alert_on_failed_blocking_checks",
            "alert_on_failed_runs",
            "bad_days",
            "derived_days_follow_measurements",
        ],
    }


def test_the_measurements_asset_is_daily_partitioned_in_the_tenant_zone() -> None:
    defs = build_definitions(
        PipelineSettings(timezone="Europe/Berlin", partitions_start=date(2025, 3, 1))
    )

    assets = defs.resolve_assets_def(MEASUREMENTS)

    partitions = assets.partitions_def
    assert isinstance(partitions, DailyPartitionsDefinition)
    assert partitions.timezone == "Europe/Berlin"
    assert partitions.get_first_partition_key() == "2025-03-01"
    assert assets.backfill_policy == BackfillPolicy.single_run()


def backfill(policy: BackfillPolicy | None, first: date, last: date) -> list[RunRequest]:
    """The runs a backfill of measurements and daily_consumption over first..last launches."""
    defs = build_definitions(PipelineSettings(), backfill_policy=policy)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    wanted = [
        AssetKeyPartitionKey(asset, day.isoformat())
        for asset in (MEASUREMENTS, DAILY_CONSUMPTION)
        for day in days
    ]
    with DagsterInstance.ephemeral() as instance:
        runs = build_run_requests_with_backfill_policies(
            wanted, defs.resolve_asset_graph(), instance
        )
    return sorted(runs, key=lambda run: run.tags[RANGE_START])


def test_a_backfilled_year_is_one_run_over_the_range_with_every_check() -> None:
    (run,) = backfill(None, date(2025, 1, 1), date(2025, 12, 31))

    assert (run.tags[RANGE_START], run.tags[RANGE_END]) == ("2025-01-01", "2025-12-31")
    assert set(run.asset_selection or []) == {MEASUREMENTS, DAILY_CONSUMPTION}
    assert sorted(key.name for key in run.asset_check_keys or []) == CHECKS


def test_a_backfill_policy_given_to_the_location_splits_the_range_into_runs_of_that_size() -> None:
    runs = backfill(BackfillPolicy.multi_run(7), date(2025, 1, 6), date(2025, 2, 2))

    assert [(run.tags[RANGE_START], run.tags[RANGE_END]) for run in runs] == [
        ("2025-01-06", "2025-01-12"),
        ("2025-01-13", "2025-01-19"),
        ("2025-01-20", "2025-01-26"),
        ("2025-01-27", "2025-02-02"),
    ]


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
