"""Launch a range of days through Dagster on a persistent instance, as `kraken-pipeline run` does.

Runs go through the same job, resources and instance as the UI, so they appear there afterwards.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from dagster import DagsterEvent, DagsterInstance, Definitions

from kraken_pipeline.cli.run_owner import owner_tags
from kraken_pipeline.defs.dagster_internals import SerializableErrorInfo
from kraken_pipeline.defs.location import MEASUREMENTS_JOB, build_definitions
from kraken_pipeline.defs.schedules import range_tags
from kraken_pipeline.filesystems import DataRoot, local_directory
from kraken_pipeline.settings import PipelineSettings


@dataclass(frozen=True)
class RunOutcome:
    """The Dagster run that materialised a range, and whether it succeeded."""

    run_id: str
    success: bool
    failure: str | None
    interrupted: bool = False  # stopped by Ctrl-C (SIGINT): Dagster marked the run failed


# Dagster's telemetry would upload usage logs from the webserver; nothing here leaves the machine.
INSTANCE_CONFIG = "telemetry:\n  enabled: false\n"
# The connection pool a run on PostgreSQL storage holds (see persistent_instance): no statement
# timeout, since a run's queries are its own; connections renewed hourly; room for bursts.
NO_STATEMENT_TIMEOUT = 0
POOL_RECYCLE_SECONDS = 3600
POOL_MAX_OVERFLOW = 4
# Beside dagster.yaml: held while a process opens a new instance, and left once one has (_opening).
OPENING_LOCK = ".opening.lock"
OPENED_MARKER = ".opened"


def dagster_home(settings: PipelineSettings, environ: Mapping[str, str] | None = None) -> Path:
    """DAGSTER_HOME if set, else a folder under the data root, created with telemetry off.

    An S3 data root cannot hold the instance: it goes to the root's local directory.
    """
    home = dagster_home_path(settings, environ)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        # Written aside and renamed: a second command starting now reads a whole file or none.
        draft = home / f".dagster.yaml.{os.getpid()}.tmp"
        draft.write_text(INSTANCE_CONFIG, encoding="utf-8")
        draft.replace(config)
    return home


def unwritable_directory(path: Path) -> str | None:
    """Why a directory cannot be created or written (the system's words), or None if it can.

    Really writes: permission bits say nothing for root, and a full disk shows only on write.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path, prefix=".write-check.") as probe:
            probe.write(b"kraken-pipeline write check\n")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def dagster_home_path(settings: PipelineSettings, environ: Mapping[str, str] | None = None) -> Path:
    """Where the Dagster instance lives: DAGSTER_HOME, else data root/dagster_home."""
    env = os.environ if environ is None else environ
    default = local_directory(settings.data_root) / "dagster_home"
    return Path(env.get("DAGSTER_HOME") or default).absolute()


@contextmanager
def persistent_instance(home: Path) -> Iterator[DagsterInstance]:
    """The Dagster instance stored in `home`, the one `dagster dev` shows with the same home."""
    os.environ["DAGSTER_HOME"] = str(home)
    with _opening(home):
        instance = DagsterInstance.get()
    with instance:
        # A connection pool, as the webserver keeps: PostgreSQL storages otherwise open a new
        # connection for every event (docs/scaling.md). SQLite has no pool and is unchanged.
        instance.optimize_for_webserver(
            statement_timeout=NO_STATEMENT_TIMEOUT,
            pool_recycle=POOL_RECYCLE_SECONDS,
            max_overflow=POOL_MAX_OVERFLOW,
        )
        yield instance


@contextmanager
def _opening(home: Path) -> Iterator[None]:
    """Open a new instance in `home` one process at a time; an opened one, concurrently."""
    # Two processes creating a new home's SQLite tables at once fail inside Dagster ("table ...
    # already exists"); opening is slow, so only the first opening is serialised.
    marker = home / OPENED_MARKER
    if marker.exists():
        yield
        return
    with (home / OPENING_LOCK).open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released when the file closes
        yield
        marker.touch()


def check_range(first: date, last: date, settings: PipelineSettings) -> None:
    """Refuse ranges that would fail inside Dagster, with a line that says what to change."""
    if last < first:
        raise ValueError(f"--end {last} is before --start {first}: swap them")
    if first < settings.partitions_start:
        raise ValueError(
            f"--start {first} is before the first partition {settings.partitions_start}: use a "
            "later start or set KRAKEN_PIPELINE_START_DATE"
        )


def run_range(
    instance: DagsterInstance,
    settings: PipelineSettings,
    first: date,
    last: date,
    *,
    run_config: Mapping[str, Any] | None = None,
    definitions: Definitions | None = None,
) -> RunOutcome:
    """Materialise every day from `first` to `last` inclusive in one Dagster run, executed in
    this process (tagged with it: run_owner.py)."""
    check_range(first, last, settings)
    defs = definitions or build_definitions(settings)
    job = defs.resolve_job_def(MEASUREMENTS_JOB)
    result = job.execute_in_process(
        instance=instance,
        tags={**range_tags(first, last), **owner_tags()},
        run_config=dict(run_config or {}),
        raise_on_error=False,
    )
    failure = None
    if not result.success:
        failure = _first_failure(result.all_events) or "the run failed; see its logs in the UI"
    return RunOutcome(
        run_id=result.run_id,
        success=result.success,
        failure=failure,
        interrupted=_was_interrupted(result.all_events),
    )


# Dagster turns SIGINT during execution into this error in the step, then fails the run.
INTERRUPTED_ERROR = "DagsterExecutionInterruptedError"


def _was_interrupted(events: Sequence[DagsterEvent]) -> bool:
    for event in events:
        error = _failure_error(event)
        if error is None and event.is_run_failure and event.job_failure_data is not None:
            error = event.job_failure_data.error
        if error is not None and (error.cls_name or "").endswith(INTERRUPTED_ERROR):
            return True
    return False


FAILURE_LINES_SHOWN = 21


def _first_failure(events: Sequence[DagsterEvent]) -> str | None:
    """The error of the first failed step that our code raised, without Dagster's wrappers."""
    for event in events:
        error = _failure_error(event)
        if error is not None:
            while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
                error = error.cause
            message = str(error.message).strip()
            name = error.cls_name or ""
            for candidate in (f"{name}: ", f"{name.rsplit('.', 1)[-1]}: "):
                message = message.removeprefix(candidate)
            message = re.sub(r"^[\w.]+Error: ", "", message)
            return "\n".join(message.splitlines()[:FAILURE_LINES_SHOWN])
    return None


def _failure_error(event: DagsterEvent) -> SerializableErrorInfo | None:
    if event.is_step_failure:
        return event.step_failure_data.error
    if event.is_resource_init_failure:  # an unusable data root fails here (resources.py)
        return event.engine_event_data.error
    return None


def with_data_root(settings: PipelineSettings, root: DataRoot) -> PipelineSettings:
    """The same settings with another data root (tests, the embedded demo)."""
    absolute = root.absolute() if isinstance(root, Path) else root
    return settings.model_copy(update={"data_root": absolute})
