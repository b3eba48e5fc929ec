"""Runs executed in a command's own process, and what becomes of them when that process dies.

Each in-process run is tagged with its process; the next command on the instance marks the runs
whose process is gone as failed, saying why and what to do.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter

from kraken_pipeline.defs.schedules import range_label

OWNER_TAG = "kraken/process"
# A run is created NOT_STARTED and reported STARTED moments later: a kill can land in either.
UNFINISHED_STATUSES = [
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


@dataclass(frozen=True)
class RunOwner:
    """A process on a host, told apart from a later process that reuses its pid."""

    host: str
    pid: int
    started: str  # the process's start time in clock ticks since boot ("" where unknown)

    @classmethod
    def this_process(cls) -> RunOwner:
        return cls(socket.gethostname(), os.getpid(), _start_ticks(os.getpid()))

    @classmethod
    def parse(cls, tag: str) -> RunOwner | None:
        host, _, rest = tag.rpartition("@")
        pid, _, started = rest.partition(":")
        return cls(host, int(pid), started) if host and pid.isdigit() else None

    @property
    def tag(self) -> str:
        return f"{self.host}@{self.pid}:{self.started}"

    def is_gone(self) -> bool:
        """Whether this process has ended; only answerable on its own host (else False)."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            return False
        return _start_ticks(self.pid) != self.started


def owner_tags() -> dict[str, str]:
    """Tags that name the current process as the one executing a run."""
    return {OWNER_TAG: RunOwner.this_process().tag}


def fail_runs_of_dead_processes(instance: DagsterInstance) -> list[DagsterRun]:
    """Mark as failed the unfinished runs whose executing process has ended; those runs."""
    failed = []
    for run in instance.get_runs(RunsFilter(statuses=UNFINISHED_STATUSES)):
        owner = RunOwner.parse(run.tags.get(OWNER_TAG, ""))
        if owner is None or not owner.is_gone():
            continue
        days = range_label(run.tags)
        instance.report_run_failed(
            run,
            message=(
                f"the process that executed this run (pid {owner.pid} on {owner.host}) ended "
                "before the run did: it was killed or the machine stopped. Files it wrote are "
                f"whole; re-run {days} to land what it did not."
            ),
        )
        failed.append(run)
    return failed


def _start_ticks(pid: int) -> str:
    """Field 22 of /proc/<pid>/stat (start time since boot); "" without /proc or the process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]
