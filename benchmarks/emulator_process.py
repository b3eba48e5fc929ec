"""An emulator in a process of its own, as a real Kraken would be, for the benchmarks.

Its CPU is then not the client's, and can be read from /proc to show how much of a benchmark's
time the emulator itself took.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from kraken_pipeline.emulator import Emulator, EmulatorConfig
from kraken_pipeline.emulator.dataset import synthetic_dataset

# The emulator's clock: every day the benchmarks ask for is published.
CLOCK = datetime(2026, 11, 20, 12, tzinfo=UTC)


@dataclass(frozen=True)
class Urls:
    """Where the emulator process listens."""

    token: str
    graphql: str
    control: str


@dataclass(frozen=True)
class EmulatorProcess:
    """Where the emulator process listens, and a way to read the CPU time it has used."""

    urls: Urls
    pid: int

    def cpu_seconds(self) -> float | None:
        """User + system CPU of the process so far; None where /proc is not available."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        ticks = int(fields[11]) + int(fields[12])  # utime and stime (fields 14 and 15 of stat)
        return ticks / os.sysconf("SC_CLK_TCK")


def cpu_between(before: float | None, after: float | None) -> float | None:
    """CPU seconds between two readings, None when either is unknown."""
    return None if before is None or after is None else after - before


def fixed_clock() -> datetime:
    """The emulator's clock when nothing in a benchmark depends on time passing."""
    return CLOCK


@dataclass(frozen=True)
class RunningClock:
    """A clock that starts at CLOCK when the emulator starts and runs at wall-clock speed
    (picklable, so it can be handed to the emulator process); rate-limit windows roll with it."""

    started_at: float = 0.0

    def __call__(self) -> datetime:
        return CLOCK + timedelta(seconds=time.monotonic() - self.started_at)


def _serve(
    series: int, latency_ms: int, options: dict[str, Any], urls: Queue[Urls], stop: Event
) -> None:
    """Run an emulator in this (child) process until `stop` is set."""
    if isinstance(options.get("clock"), RunningClock):
        options = {**options, "clock": RunningClock(time.monotonic())}
    settings: dict[str, Any] = {"clock": fixed_clock, **options}
    config = EmulatorConfig(
        dataset=synthetic_dataset(series), latency=timedelta(milliseconds=latency_ms), **settings
    )
    with Emulator(config) as emulator:
        urls.put(Urls(emulator.token_url, emulator.graphql_url, f"{emulator.base_url}/_emulator"))
        stop.wait()


@contextmanager
def emulator_process(series: int, latency_ms: int, **options: Any) -> Iterator[EmulatorProcess]:
    """An emulator serving `series` synthetic series in its own process.

    `options` are EmulatorConfig fields; the clock is `fixed_clock` unless a RunningClock is
    given, which then starts when the emulator does.
    """
    context = multiprocessing.get_context("spawn")
    urls: Queue[Urls] = context.Queue()
    stop = context.Event()
    process = context.Process(
        target=_serve, args=(series, latency_ms, options, urls, stop), daemon=True
    )
    process.start()
    try:
        yield EmulatorProcess(urls.get(timeout=120), process.pid or 0)
    finally:
        stop.set()
        process.join(timeout=10)
