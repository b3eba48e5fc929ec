"""The `kraken-pipeline` command line: one click group, one subcommand per job.

Subcommands import their machinery inside the command, so `kraken-pipeline --help` and each
command start without loading what the others need.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import warnings
from datetime import UTC, date, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

import click

from kraken_pipeline import __version__

if TYPE_CHECKING:
    from kraken_pipeline.settings import PipelineSettings


@click.group()
@click.version_option(__version__, prog_name="kraken-pipeline")
def main() -> None:
    """Land Kraken smart-meter measurements as daily Parquet files with a DuckDB warehouse."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0: any free port.",
)
@click.option(
    "--token-lifetime",
    default=3600,
    show_default=True,
    type=click.IntRange(1),
    help="Seconds an access token lives.",
)
@click.option(
    "--latency-ms",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="Delay added to every answer.",
)
@click.option("--seed", default=1, show_default=True, type=int, help="Seed of the demo data.")
@click.option(
    "--profile",
    default="lenient",
    show_default=True,
    help="Limits to enforce: lenient, strict-pages, strict-complexity, small-nodes, strictest.",
)
def emulator(
    host: str, port: int, token_lifetime: int, latency_ms: int, seed: int, profile: str
) -> None:
    """Serve a local Kraken (auth server and GraphQL API) with demo data until Ctrl-C."""
    from kraken_pipeline.emulator import (
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        DatasetConfig,
        Emulator,
        EmulatorConfig,
        demo_dataset,
    )
    from kraken_pipeline.emulator.profiles import with_profile

    config = EmulatorConfig(
        host=host,
        port=port,
        token_lifetime=timedelta(seconds=token_lifetime),
        latency=timedelta(milliseconds=latency_ms),
        dataset=demo_dataset(DatasetConfig(seed=seed)),
    )
    try:
        config = with_profile(config, profile)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--profile") from None
    _stop_on_sigterm()
    try:
        with Emulator(config) as running:
            click.echo(f"Kraken emulator running at {running.base_url} ({profile} limits)")
            click.echo(f"  token URL:     {running.token_url}")
            click.echo(f"  GraphQL URL:   {running.graphql_url}")
            click.echo(f"  control API:   {running.base_url}/_emulator/")
            # The demo credentials exist only in the emulator; printing them is the point.
            click.echo(f"  client id:     {DEMO_CLIENT_ID}")
            click.echo(f"  client secret: {DEMO_CLIENT_SECRET}")
            click.echo("Press Ctrl-C to stop.")
            threading.Event().wait()
    except KeyboardInterrupt:
        pass  # Ctrl-C (or SIGTERM) is how this command is meant to end
    click.echo("Emulator stopped.")


def _stop_on_sigterm() -> None:
    """Make SIGTERM (sent by process managers and `kill`) end the command like Ctrl-C."""

    def on_terminate(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_terminate)


def _quiet_dagster() -> None:
    # Partitioned asset checks and single-run backfills are preview/beta features we use on
    # purpose (see checks.py); the operator cannot act on those warnings.
    from dagster import BetaWarning, PreviewWarning

    warnings.filterwarnings("ignore", category=PreviewWarning)
    warnings.filterwarnings("ignore", category=BetaWarning)


def _settings(
    *, dagster: bool = True, refused: type[click.ClickException] = click.ClickException
) -> PipelineSettings:
    from kraken_pipeline.settings import (
        PipelineSettings,
        SettingsError,
        export_env_file,
        unread_variables,
    )

    export_env_file(os.environ)
    if dagster:
        _quiet_dagster()
    try:
        settings = PipelineSettings.from_environ()
    except SettingsError as exc:
        raise refused(str(exc)) from None
    for name in unread_variables(os.environ):
        click.echo(
            f"warning: {name} is not a kraken-pipeline setting and is ignored; check its "
            "spelling against the README's configuration reference",
            err=True,
        )
    return settings


@main.command()
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d"]),
    help="First local day (YYYY-MM-DD); alone, it runs to the last complete day.",
)
@click.option(
    "--end",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Last local day, inclusive; never after the last complete day.",
)
@click.option("--days", type=click.IntRange(1), help="The last N complete days instead.")
@click.option(
    "--supply-point",
    "supply_point_ids",
    multiple=True,
    metavar="ID",
    help="Re-run only this supply point (repeatable); the days' other rows are kept.",
)
@click.option(
    "--verbose", "-v", is_flag=True, help="Also print Dagster's own event lines (standard error)."
)
def run(
    start: datetime | None,
    end: datetime | None,
    days: int | None,
    supply_point_ids: tuple[str, ...],
    verbose: bool,
) -> None:
    """Materialise a range of days through Dagster (default: the schedule's window).

    \b
    Exit status:
      0  everything landed: every requested supply point on every day
      1  the run failed (red in the UI): e.g. every supply point failed
      2  refused before anything ran: bad range, setting, CSV, credentials,
         or a data root / Dagster home that cannot be written
      3  the run landed the others, but some supply point-days failed;
         the last line is the command that re-runs exactly those
      130  stopped by Ctrl-C: the days not landed and the command that
         lands them are printed
    """
    try:
        settings = _settings()
        from kraken_pipeline.cli.commands import run_command
    except KeyboardInterrupt:
        _exit_interrupted_before_the_run()
    first_and_last = _window(settings, start, end, days)
    status = run_command(
        settings,
        *first_and_last,
        echo=click.echo,
        supply_point_ids=supply_point_ids,
        verbose=verbose,
    )
    sys.exit(status)


def _exit_interrupted_before_the_run() -> NoReturn:
    """Ctrl-C while the command was still loading: say so, without click's bare "Aborted!"."""
    from kraken_pipeline.cli.run_endings import EXIT_INTERRUPTED

    click.echo("interrupted before the run started: nothing landed", err=True)
    sys.exit(EXIT_INTERRUPTED)


def _window(
    settings: PipelineSettings, start: datetime | None, end: datetime | None, days: int | None
) -> tuple[date, date]:
    from kraken_pipeline.defs.partitions import trailing_days

    if days is not None and (start or end):
        raise click.UsageError("give either --days or --start/--end, not both")
    now = datetime.now(UTC)
    if end and not start:
        raise click.UsageError("--end needs --start (--start alone runs to the last complete day)")
    if start:
        # Kraken has not finished a day that has not ended: landing it would store a partial day
        # that every check would then have to tell apart from a broken one.
        [last_complete] = trailing_days(now, settings.timezone, 1, date.min)
        first, last = start.date(), end.date() if end else last_complete
        option, latest = ("--start", first) if first > last_complete else ("--end", last)
        if latest > last_complete:
            raise click.UsageError(
                f"{option} {latest} is after the last complete local day {last_complete} "
                f"({settings.timezone}); give days up to {last_complete}"
            )
        return first, last
    window = trailing_days(now, settings.timezone, days or settings.schedule_days, date.min)
    return window[0], window[-1]


@main.command()
@click.option("--port", default=3000, show_default=True, type=click.IntRange(1, 65535))
def ui(port: int) -> None:
    """Start the Dagster UI (`dagster dev`) on the same instance and data as `run`."""
    settings = _settings()
    from kraken_pipeline.cli.commands import ui_command

    sys.exit(ui_command(settings, port, echo=click.echo))


@main.command()
def check() -> None:
    """Check credentials, permissions and yesterday's data for every supply point."""
    settings = _settings()
    from kraken_pipeline.cli.commands import check_command

    sys.exit(check_command(settings, echo=click.echo))


class _StatusRefused(click.ClickException):
    """A setting `status` cannot use: exit 2, like a missing data root (1 means "act")."""

    exit_code = 2


@main.command()
@click.option(
    "--days",
    default=14,
    show_default=True,
    type=click.IntRange(1),
    help="How many local days to look at, up to the last complete one.",
)
def status(days: int) -> None:
    """List the recent days that need action, each with the command that repairs it.

    A day needs action when nothing is stored, a fetch failed, a blocking check failed (or it was
    never checked), or it is below the completeness floor past the publication lag; such a day
    inside the lag is pending. Reads the data root only: no Dagster, no Kraken.

    \b
    Exit status:
      0  no day needs action (pending days do not)
      1  some day needs action: run the command printed on its line
      2  the data root does not exist, or a setting is invalid
    """
    from kraken_pipeline.status import status_command

    settings = _settings(dagster=False, refused=_StatusRefused)
    now = datetime.now(UTC)
    sys.exit(status_command(settings.data_root, settings.timezone, days, now, echo=click.echo))
