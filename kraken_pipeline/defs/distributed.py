"""The scale-out code location: backfills split into runs whose steps run on Celery workers.

How to serve it, start workers and run a backfill without a daemon: docs/scaling.md,
"Distributed execution (Celery)".
"""

import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from multiprocessing import get_context
from typing import Any

import click

# Celery ships no type information; dagster-celery's functions below carry no annotations.
from celery import signals  # type: ignore[import-untyped]
from dagster import (
    BackfillPolicy,
    BetaWarning,
    DagsterEvent,
    DagsterInstance,
    Executor,
    InitExecutorContext,
    JobDefinition,
    PreviewWarning,
    execute_job,
    executor,
    multiple_process_executor_requirements,
    reconstructable,
)
from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from kraken_pipeline.cli.runner import RunOutcome, check_range
from kraken_pipeline.defs.dagster_internals import InstanceRef, RetryMode, SerializableErrorInfo
from kraken_pipeline.defs.location import MEASUREMENTS_JOB, build_definitions
from kraken_pipeline.defs.schedules import range_tags
from kraken_pipeline.settings import PipelineSettings, SettingsError

# As in definitions.py: the preview/beta features are used on purpose.
warnings.filterwarnings("ignore", category=PreviewWarning)
warnings.filterwarnings("ignore", category=BetaWarning)
# dagster-celery registers its step task again for every step it submits; Celery 5.7 warns
# each time although the task is the same one.
warnings.filterwarnings("ignore", message="Task name 'execute_plan' is already registered")

BROKER_ENV = "KRAKEN_CELERY_BROKER"
BACKEND_ENV = "KRAKEN_CELERY_BACKEND"
# Runs orchestrated at once by `backfill`; the workers, not this, bound the steps in flight.
DEFAULT_PARALLEL_RUNS = 4
CELERY_SETTINGS: dict[str, Any] = {
    # Prefetch 1, acknowledged late: a queued step goes to an idle worker, and a step whose worker
    # died is delivered again (safe: a day is replaced whole).
    "worker_prefetch_multiplier": 1,
    "task_acks_late": True,
    # Give up on an unreachable result store within seconds, as dagster-celery does for the
    # broker, instead of Celery's 20 one-second retries; run retries cover a longer outage.
    "result_backend_transport_options": {
        "retry_policy": {"max_retries": 5, "interval_start": 0, "interval_step": 0.5}
    },
}
BROKER_HINT = f"check that the broker named by {BROKER_ENV} is running and reachable"


def broker_url(environ: Mapping[str, str] | None = None) -> str:
    """The Celery broker every run and worker uses (KRAKEN_CELERY_BROKER)."""
    url = (os.environ if environ is None else environ).get(BROKER_ENV, "")
    if not url:
        raise SettingsError(
            f"{BROKER_ENV} is not set: give the Celery broker URL of the workers, "
            "e.g. redis://127.0.0.1:6379/0 or amqp://user:password@host:5672//"
        )
    return url


def result_backend(broker: str, environ: Mapping[str, str] | None = None) -> str:
    """Where step results wait for their run (KRAKEN_CELERY_BACKEND, else chosen by broker)."""
    # Redis for a Redis broker: Celery's rpc:// backend over Redis was seen to lose a reply and
    # leave its run polling for ever.
    configured = (os.environ if environ is None else environ).get(BACKEND_ENV, "")
    if configured:
        return configured
    return broker if broker.startswith(("redis://", "rediss://")) else "rpc://"


def executor_from_environ(environ: Mapping[str, str] | None = None) -> CeleryExecutor:
    """dagster-celery's executor with this deployment's broker, backend and settings."""
    broker = broker_url(environ)
    return _celery_executor(broker, result_backend(broker, environ))


def _celery_executor(broker: str | None, backend: str) -> CeleryExecutor:
    return CeleryExecutor(  # type: ignore[no-untyped-call]
        retries=RetryMode(RetryMode.ENABLED),
        broker=broker,
        backend=backend,
        config_source=CELERY_SETTINGS,
    )


@executor(
    name="kraken_celery",
    config_schema={},
    requirements=multiple_process_executor_requirements(),
)
def kraken_celery_executor(_: InitExecutorContext) -> Executor:
    """Steps as Celery tasks; the broker is read from the environment when a run starts.

    Read there, a URL with a password never enters run config, the job snapshot or the UI.
    """
    return executor_from_environ()


_settings = PipelineSettings.from_environ()
defs = build_definitions(
    _settings,
    executor=kraken_celery_executor,
    backfill_policy=BackfillPolicy.multi_run(_settings.backfill_days_per_run),
)


def measurements_job() -> JobDefinition:
    """The measurements job of this location; Celery workers rebuild it from this function."""
    return defs.resolve_job_def(MEASUREMENTS_JOB)


# The workers' Celery app (`celery -A kraken_pipeline.defs.distributed worker`). Its broker is
# checked when a worker starts, so the code location itself loads without one.
_worker_broker = os.environ.get(BROKER_ENV)
_worker_settings = _celery_executor(_worker_broker, result_backend(_worker_broker or ""))
app = make_app(_worker_settings.app_args())  # type: ignore[no-untyped-call]
execute_plan = create_task(app)  # type: ignore[no-untyped-call]


@signals.worker_init.connect
def _require_broker(**_: Any) -> None:
    """Refuse to start a worker on Celery's default broker when none was configured."""
    try:
        broker_url()
    except SettingsError as exc:
        # Celery logs and swallows a receiver's exceptions; only SystemExit stops the worker.
        raise SystemExit(str(exc)) from None


def run_ranges(first: date, last: date, days: int) -> list[tuple[date, date]]:
    """first..last cut into consecutive ranges of at most `days` days, oldest first."""
    ranges = []
    start = first
    while start <= last:
        end = min(start + timedelta(days=days - 1), last)
        ranges.append((start, end))
        start = end + timedelta(days=1)
    return ranges


def backfill(
    instance: DagsterInstance,
    first: date,
    last: date,
    *,
    run_config: Mapping[str, Any] | None = None,
    parallel_runs: int = DEFAULT_PARALLEL_RUNS,
) -> list[RunOutcome]:
    """Materialise first..last in runs of KRAKEN_BACKFILL_DAYS_PER_RUN days; wait for them all.

    Each run is orchestrated by a process of its own, as Dagster's run launcher would do, and
    hands its steps to the Celery workers. Outcomes come back oldest range first.
    """
    settings = PipelineSettings.from_environ()
    check_range(first, last, settings)
    broker_url()  # refuse before any run exists when no broker is configured
    ranges = run_ranges(first, last, settings.backfill_days_per_run)
    # A fresh interpreter per run: Dagster's run set-up reconfigures logging, which deadlocked
    # when two runs shared one process, and a forked child would inherit held locks.
    with ProcessPoolExecutor(
        max_workers=min(parallel_runs, len(ranges)), mp_context=get_context("spawn")
    ) as pool:
        futures = [
            pool.submit(_run_range, instance.get_ref(), start, end, dict(run_config or {}))
            for start, end in ranges
        ]
        return [future.result() for future in futures]


def _run_range(
    instance_ref: InstanceRef, first: date, last: date, run_config: dict[str, Any]
) -> RunOutcome:
    """One run of a backfill, in its own process."""
    with (
        DagsterInstance.from_ref(instance_ref) as instance,
        execute_job(
            reconstructable(measurements_job),
            instance,
            run_config=run_config,
            tags=range_tags(first, last),
            raise_on_error=False,
        ) as result,
    ):
        failure = None if result.success else run_failure(result.all_events)
        return RunOutcome(run_id=result.run_id, success=result.success, failure=failure)


def run_failure(events: Sequence[DagsterEvent]) -> str:
    """The first error a run recorded: a step's, the executor's (e.g. no broker) or the run's."""
    for event in events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            return str(event.step_failure_data.error.message).strip()
        if event.is_engine_event and event.engine_event_data.error is not None:
            what = (event.message or "the executor failed").rstrip(".")
            return f"{what}: {_root_cause(event.engine_event_data.error)} ({BROKER_HINT})"
        if event.is_run_failure and event.job_failure_data.error is not None:
            return _root_cause(event.job_failure_data.error)
    return "the run failed; see its logs in the UI"


def _root_cause(error: SerializableErrorInfo) -> str:
    """The innermost error of a chain: what actually went wrong, not Dagster's wrappers."""
    while (deeper := error.cause or error.context) is not None:
        error = deeper
    return str(error.message).strip()


@click.command()
@click.option("--start", "first", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--end", "last", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--parallel-runs", type=click.IntRange(min=1), default=DEFAULT_PARALLEL_RUNS)
def main(first: Any, last: Any, parallel_runs: int) -> None:
    """Backfill --start..--end (local days) through the Celery workers, on DAGSTER_HOME."""
    with DagsterInstance.get() as instance:
        try:
            outcomes = backfill(instance, first.date(), last.date(), parallel_runs=parallel_runs)
        except ValueError as exc:  # SettingsError, or a range the partitions do not hold
            raise click.ClickException(str(exc)) from None
    for outcome in outcomes:
        click.echo(f"{outcome.run_id}: {'ok' if outcome.success else outcome.failure}")
    sys.exit(0 if all(outcome.success for outcome in outcomes) else 1)


if __name__ == "__main__":
    # The command of the imported module, not of this `__main__` copy: run processes and
    # workers must find the job as kraken_pipeline.defs.distributed.
    from kraken_pipeline.defs.distributed import main as backfill_command

    backfill_command()
