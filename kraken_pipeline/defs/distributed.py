"""The scale-out code location: backfills split into runs whose steps run on Celery workers.

How to serve it with the daemon and start workers: docs/scaling.md, "Distributed execution
(Celery)".
"""

import os
import warnings
from collections.abc import Mapping
from typing import Any

# Celery ships no type information; dagster-celery's functions below carry no annotations.
from celery import signals  # type: ignore[import-untyped]
from dagster import (
    BackfillPolicy,
    BetaWarning,
    Executor,
    InitExecutorContext,
    PreviewWarning,
    executor,
    multiple_process_executor_requirements,
)
from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from kraken_pipeline.defs.dagster_internals import RetryMode
from kraken_pipeline.defs.location import build_definitions
from kraken_pipeline.settings import PipelineSettings, SettingsError

# As in definitions.py: the preview/beta features are used on purpose.
warnings.filterwarnings("ignore", category=PreviewWarning)
warnings.filterwarnings("ignore", category=BetaWarning)
# dagster-celery registers its step task again for every step it submits; Celery 5.7 warns
# each time although the task is the same one.
warnings.filterwarnings("ignore", message="Task name 'execute_plan' is already registered")

BROKER_ENV = "KRAKEN_CELERY_BROKER"
BACKEND_ENV = "KRAKEN_CELERY_BACKEND"
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
