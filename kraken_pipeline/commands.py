"""What the `run`, `ui` and `check` commands do, as plain functions returning exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

from kraken_pipeline.demo import KrakenTarget, kraken_target
from kraken_pipeline.kraken import KrakenClient, KrakenError
from kraken_pipeline.report import example_query, format_summary, summarise
from kraken_pipeline.resources import KrakenResource
from kraken_pipeline.run_owner import fail_runs_of_dead_processes
from kraken_pipeline.runner import check_range, dagster_home, persistent_instance, run_range
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline.supply_points import SupplyPointsError, load_supply_points

Echo = Callable[..., None]
EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT = 0, 1, 2
# Show the pipeline's progress lines, not Dagster's step-by-step debug events.
QUIET_CONSOLE: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def run_command(settings: PipelineSettings, first: date, last: date, *, echo: Echo) -> int:
    """Validate everything, then materialise first..last in one run and print a summary.

    `echo(text, err=False)` prints; errors go to standard error.
    """
    try:
        check_range(first, last, settings)
    except ValueError as exc:
        echo(f"error: {exc}", err=True)
        return EXIT_BAD_INPUT
    with kraken_target(settings) as target:
        echo(target.description)
        problem = _preflight(target)
        if problem:
            echo(f"error: {problem}", err=True)
            return EXIT_BAD_INPUT
        home = dagster_home(settings)
        echo(f"materialising {first}..{last} (Dagster instance: {home})")
        with persistent_instance(home) as instance:
            for run_id in fail_runs_of_dead_processes(instance):
                echo(
                    f"run {run_id} was left started by a command that no longer runs: "
                    "marked failed (its message in the UI says which days to re-run)"
                )
            outcome = run_range(instance, target.settings, first, last, run_config=QUIET_CONSOLE)
    for line in format_summary(summarise(settings.data_root, _days(first, last))):
        echo(line)
    if not outcome.success:
        echo(f"error: run {outcome.run_id} failed: {outcome.failure}", err=True)
        return EXIT_RUN_FAILED
    echo(f"run {outcome.run_id} succeeded. Query the data, for example:")
    echo(f"  {example_query(settings.data_root)}")
    echo("See it in the UI: make ui (or kraken-pipeline ui)")
    return EXIT_OK


def _preflight(target: KrakenTarget) -> str | None:
    """Fail before anything is written: bad supply points, unreachable Kraken, bad credentials."""
    if not target.embedded and not os.environ.get("KRAKEN_SUPPLY_POINTS"):
        return "set KRAKEN_SUPPLY_POINTS to your supply points CSV (see .env.example)"
    try:
        load_supply_points(target.settings.supply_points_path, target.settings.market)
    except SupplyPointsError as exc:
        return str(exc)
    try:
        with KrakenClient(_resource(target.settings).settings()) as client:
            client.token_expires_at()
    except KrakenError as exc:
        return str(exc)
    return None


def _resource(settings: PipelineSettings) -> KrakenResource:
    return KrakenResource(
        client_id=os.environ.get("KRAKEN_CLIENT_ID", ""),
        client_secret=os.environ.get("KRAKEN_CLIENT_SECRET", ""),
        auth_url=settings.auth_url,
        api_url=settings.api_url,
        timezone=settings.timezone,
        ca_bundle=settings.ca_bundle,
    )


def _days(first: date, last: date) -> list[date]:
    from kraken_pipeline.local_days import days_between

    return days_between(first, last)


def ui_command(settings: PipelineSettings, port: int, *, echo: Echo) -> int:
    """Run `dagster dev` on the run command's instance and data until it is stopped."""
    with kraken_target(settings) as target:
        echo(target.description)
        home = dagster_home(settings)
        # Dagster's webserver and daemon would create a new instance's tables themselves, racing
        # any `run` started meanwhile; opened here, under the lock runs take, they exist first.
        with persistent_instance(home):
            pass
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "KRAKEN_PIPELINE_DATA": str(settings.data_root),
        }
        command = [sys.executable, "-m", "dagster", "dev", "-m", "kraken_pipeline.definitions"]
        echo(f"Dagster UI on http://127.0.0.1:{port} (Ctrl-C stops it)")
        try:
            # Our own interpreter running Dagster's CLI with fixed arguments: nothing untrusted.
            arguments = [*command, "-h", "127.0.0.1", "-p", str(port)]
            return subprocess.call(arguments, env=env)  # noqa: S603
        except KeyboardInterrupt:
            return EXIT_OK


def check_command(settings: PipelineSettings, *, echo: Echo) -> int:
    """Print the credentials check, one line per finding, and return its exit status."""
    from kraken_pipeline.kraken.diagnostics import check_from_env

    with kraken_target(settings) as target:
        echo(target.description)
        report = check_from_env(
            {**os.environ, "KRAKEN_SUPPLY_POINTS": str(target.settings.supply_points_path)}
        )
    for line in report.lines:
        echo(f"{'ok  ' if line.ok else 'FAIL'}  {line.text}")
    return report.exit_code
