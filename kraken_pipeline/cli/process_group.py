"""Run a long-lived child (the UI's `dagster dev`) so that stopping this command stops it all.

The child runs in a process group of its own; a stop is forwarded to the whole group, and what
is left after STOP_TIMEOUT is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from types import FrameType

# Seconds the group gets to stop after a forwarded signal before it is killed.
STOP_TIMEOUT = 10.0  # `dagster dev` stops in about 3 s
POLL_SECONDS = 0.2
FORWARDED = (signal.SIGINT, signal.SIGTERM)


def call_in_own_group(
    arguments: Sequence[str], env: Mapping[str, str], stop_timeout: float = STOP_TIMEOUT
) -> int:
    """Run `arguments` until it ends or this process is told to stop; its exit status.

    Stopped by SIGINT or SIGTERM, the child's group gets SIGINT, then SIGKILL once
    `stop_timeout` seconds have passed; the return is then 0 (stopping is how it is meant to end).
    """
    stop_requested: list[float] = []
    children: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        stop_requested.append(time.monotonic())
        for child in children:
            _signal_group(child.pid, signal.SIGINT)  # what `dagster dev` shuts down cleanly on

    # Handlers first: a caught signal is reset to its default in the child, where one ignored
    # here (a command started in the background by a shell ignores SIGINT) would stay ignored.
    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED}
    try:
        # A group of its own, so a terminal's Ctrl-C reaches only this command, which forwards it.
        # Our own interpreter running a fixed command line: nothing untrusted reaches it.
        children.append(subprocess.Popen(arguments, env=dict(env), process_group=0))  # noqa: S603
        if stop_requested:
            _signal_group(children[0].pid, signal.SIGINT)
        status = _wait(children[0], stop_requested, stop_timeout)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for child in children:
            _signal_group(child.pid, signal.SIGKILL)  # children that outlived their parent
            child.wait()
    return 0 if stop_requested else status


def _wait(child: subprocess.Popen[bytes], stop_requested: list[float], timeout: float) -> int:
    """The child's exit status; it is killed with its group `timeout` after a stop request."""
    while True:
        with suppress(subprocess.TimeoutExpired):
            return child.wait(timeout=POLL_SECONDS)
        if stop_requested and time.monotonic() - stop_requested[0] > timeout:
            _signal_group(child.pid, signal.SIGKILL)


def _signal_group(group: int, signum: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)
