"""What the `run`, `ui` and `check` commands do, as plain functions returning exit codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from kraken_pipeline.cli.day_progress import LandedDays, watching_landed_days
from kraken_pipeline.cli.demo import KrakenTarget, kraken_target
from kraken_pipeline.cli.process_group import call_in_own_group
from kraken_pipeline.cli.progress_display import live_bar, plain_lines
from kraken_pipeline.cli.run_endings import (
    EXIT_INTERRUPTED,
    interrupted_lines,
    report_abandoned_runs,
)
from kraken_pipeline.cli.runner import (
    RunOutcome,
    check_range,
    dagster_home,
    dagster_home_path,
    persistent_instance,
    run_range,
    unwritable_directory,
)
from kraken_pipeline.filesystems import DATA_ROOT_VARIABLE, DataRoot
from kraken_pipeline.kraken import KrakenClient, KrakenError
from kraken_pipeline.kraken.limits import (
    LimitsStore,
    application_key,
    describe,
    learned_limits_path,
)
from kraken_pipeline.local_days import days_between
from kraken_pipeline.report import (
    DaySummary,
    example_query,
    format_summary,
    rerun_command,
    summarise,
)
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline.status import pending_lines
from kraken_pipeline.supply_points import SupplyPointsError, load_supply_points

Echo = Callable[..., None]
# Exit statuses of `kraken-pipeline run` (documented in its --help and the README).
EXIT_OK = 0  # every requested supply point landed on every day
EXIT_RUN_FAILED = 1  # the Dagster run failed (nothing landed, or a step broke)
EXIT_BAD_INPUT = 2  # refused before anything ran: range, settings, CSV, credentials, paths
EXIT_PARTIAL = 3  # the run landed the others; some supply point-days failed: re-run them
# Dagster's console logger prints every event (failures with their stack traces) to standard
# error; the command prints its own progress and outcome, so only --verbose lets events through.
QUIET_CONSOLE: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
VERBOSE_CONSOLE: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "DEBUG"}}}}


def run_command(
    settings: PipelineSettings,
    first: date,
    last: date,
    *,
    echo: Echo,
    supply_point_ids: Sequence[str] = (),
    verbose: bool = False,
) -> int:
    """Validate everything, then materialise first..last in one run and print a summary.

    `echo(text, err=False)` prints; errors go to standard error. `supply_point_ids` limits the
    run to those supply points (a repair run: the days' other rows are kept). Progress shows as
    days land; `verbose` adds Dagster's own event lines (standard error). Ctrl-C stops the run
    and names the days that did not land (EXIT_INTERRUPTED).
    """
    try:
        check_range(first, last, settings)
    except ValueError as exc:
        echo(f"error: {exc}", err=True)
        return EXIT_BAD_INPUT
    asked = RunRequest(first, last, tuple(supply_point_ids), settings.data_root, verbose)
    landed = LandedDays(total_days=len(days_between(first, last)))
    try:
        return _run(settings, asked, landed, echo)
    except KeyboardInterrupt:  # outside Dagster's execution, which reports it as `interrupted`
        return _interrupted(asked, landed, echo)


def _run(settings: PipelineSettings, asked: RunRequest, landed: LandedDays, echo: Echo) -> int:
    with kraken_target(settings) as target:
        echo(target.description)
        problem = _preflight(target, asked.supply_point_ids) or _unwritable(settings)
        if problem:
            echo(f"error: {problem}", err=True)
            return EXIT_BAD_INPUT
        home = dagster_home(settings)
        echo(f"materialising {asked.first}..{asked.last} (Dagster instance: {home})")
        with persistent_instance(home) as instance:
            report_abandoned_runs(instance, echo)
            config = _run_config(asked.supply_point_ids, asked.verbose)
            with _showing_progress(landed, target.settings, echo):
                outcome = run_range(
                    instance, target.settings, asked.first, asked.last, run_config=config
                )
        if outcome.interrupted:
            raise KeyboardInterrupt
        learned = _learned_limits(target.settings)
    days = days_between(asked.first, asked.last)
    summaries = summarise(settings.data_root, days)
    for line in format_summary(summaries):
        echo(line)
    for line in pending_lines(settings.data_root, days, settings.timezone, datetime.now(UTC)):
        echo(f"{line}: the daily schedule pulls it again")
    for line in learned:
        echo(line)
    return _finish(outcome, summaries, asked, echo)


def _interrupted(asked: RunRequest, landed: LandedDays, echo: Echo) -> int:
    """Name what a Ctrl-C left undone and how to land it; the run is failed in Dagster."""
    for line in interrupted_lines(asked.first, asked.last, landed.days, asked.supply_point_ids):
        echo(line, err=True)
    return EXIT_INTERRUPTED


def _learned_limits(settings: PipelineSettings) -> list[str]:
    """What this and earlier runs of the application learned of Kraken's limits and costs."""
    key = application_key(settings.api_url, settings.client_id or "")
    return describe(learned_limits_path(settings.data_root), key)


@contextmanager
def _showing_progress(landed: LandedDays, settings: PipelineSettings, echo: Echo) -> Iterator[None]:
    """Show days as they land: a live bar on a terminal, else one line per day."""
    points = _points_per_node(settings)
    if sys.stdout.isatty():
        with (
            live_bar(sys.stdout, landed.total_days, points) as show,
            watching_landed_days(landed, show),
        ):
            yield
    else:
        with watching_landed_days(landed, plain_lines(echo, landed.total_days, points)):
            yield


def _points_per_node(settings: PipelineSettings) -> float | None:
    """The dearest measured cost of a node, for a points estimate; None before any measurement."""
    key = application_key(settings.api_url, settings.client_id or "")
    costs = LimitsStore(learned_limits_path(settings.data_root), key).current().points_per_node
    return max(costs.values(), default=None)


def _run_config(supply_point_ids: Sequence[str], verbose: bool) -> dict[str, Any]:
    console = VERBOSE_CONSOLE if verbose else QUIET_CONSOLE
    if not supply_point_ids:
        return console
    ops = {"measurements": {"config": {"supply_point_ids": list(supply_point_ids)}}}
    return {**console, "ops": ops}


@dataclass(frozen=True)
class RunRequest:
    """What the operator asked `run` for."""

    first: date
    last: date
    supply_point_ids: tuple[str, ...]
    root: DataRoot
    verbose: bool = False


def _finish(
    outcome: RunOutcome, summaries: Sequence[DaySummary], asked: RunRequest, echo: Echo
) -> int:
    """Print how the run ended and what to re-run; return the exit status."""
    if not outcome.success:
        echo(f"error: run {outcome.run_id} failed: {outcome.failure}", err=True)
        command = rerun_command(asked.first, asked.last, asked.supply_point_ids)
        echo(f"re-run: {command}", err=True)
        return EXIT_RUN_FAILED
    failed = [summary for summary in summaries if summary.failed_supply_points]
    if failed:
        ids = sorted({point for summary in failed for point in summary.failed_supply_points})
        days = ", ".join(summary.local_date.isoformat() for summary in failed)
        echo(
            f"error: run {outcome.run_id} landed the others, but {len(ids)} supply point(s) "
            f"failed on {len(failed)} day(s): {', '.join(ids)} on {days}",
            err=True,
        )
        command = rerun_command(failed[0].local_date, failed[-1].local_date, ids)
        echo(f"re-run: {command}", err=True)
        return EXIT_PARTIAL
    echo(f"run {outcome.run_id} succeeded. Query the data, for example:")
    echo(f"  {example_query(asked.root)}")
    echo("See it in the UI: make ui (or kraken-pipeline ui)")
    return EXIT_OK


def _unwritable(settings: PipelineSettings) -> str | None:
    """A line naming the data root or Dagster home that cannot be written, and what to do."""
    root = settings.data_root
    if isinstance(root, Path):
        reason = unwritable_directory(root)
        if reason:
            return (
                f"cannot write the data root {root}: {reason}; set {DATA_ROOT_VARIABLE} to a "
                "writable directory with free space"
            )
    home = dagster_home_path(settings)
    reason = unwritable_directory(home)
    if reason:
        return (
            f"cannot write the Dagster home {home}: {reason}; set DAGSTER_HOME to a writable "
            "directory with free space (or unset it to keep the instance under the data root)"
        )
    return None


def _preflight(target: KrakenTarget, supply_point_ids: Sequence[str] = ()) -> str | None:
    """Fail before anything is written: bad supply points, unreachable Kraken, bad credentials."""
    if not target.embedded and "supply_points_path" not in target.settings.model_fields_set:
        return "set KRAKEN_SUPPLY_POINTS to your supply points CSV (see .env.example)"
    settings = target.settings
    try:
        points = load_supply_points(settings.supply_points_path, settings.market)
    except SupplyPointsError as exc:
        return str(exc)
    unknown = sorted(set(supply_point_ids) - {point.supply_point_id for point in points})
    if unknown:
        return (
            f"--supply-point {', '.join(unknown)}: not in {settings.supply_points_path}; use "
            "ids of its supply_point_id column"
        )
    try:
        with KrakenClient(settings.kraken()) as client:
            client.token_expires_at()
    except KrakenError as exc:
        return str(exc)
    return None


def ui_command(settings: PipelineSettings, port: int, *, echo: Echo) -> int:
    """Run `dagster dev` on the run command's instance and data until it is stopped."""
    problem = _unwritable(settings)
    if problem:
        echo(f"error: {problem}", err=True)
        return EXIT_BAD_INPUT
    with kraken_target(settings) as target:
        echo(target.description)
        home = dagster_home(settings)
        # Dagster's webserver and daemon would create a new instance's tables themselves, racing
        # any `run` started meanwhile; opened here, under the lock runs take, they exist first.
        with persistent_instance(home) as instance:
            report_abandoned_runs(instance, echo)
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "KRAKEN_PIPELINE_DATA": str(settings.data_root),
        }
        command = [sys.executable, "-m", "dagster", "dev", "-m", "kraken_pipeline.definitions"]
        echo(f"Dagster UI on http://127.0.0.1:{port} (Ctrl-C stops it)")
        return call_in_own_group([*command, "-h", "127.0.0.1", "-p", str(port)], env)


def check_command(settings: PipelineSettings, *, echo: Echo) -> int:
    """Print the credentials check, one line per finding, and return its exit status."""
    from kraken_pipeline.kraken.diagnostics import check_settings

    _report_abandoned_runs_if_any(settings, echo)
    with kraken_target(settings) as target:
        echo(target.description)
        report = check_settings(target.settings)
    for line in report.lines:
        echo(f"{'ok  ' if line.ok else 'FAIL'}  {line.text}")
    return report.exit_code


def _report_abandoned_runs_if_any(settings: PipelineSettings, echo: Echo) -> None:
    """Mark failed, and name, the runs killed mid-run, where an instance exists (never made one)."""
    home = dagster_home_path(settings)
    if (home / "dagster.yaml").is_file():
        with persistent_instance(home) as instance:
            report_abandoned_runs(instance, echo)
