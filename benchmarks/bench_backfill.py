"""Benchmark: a year-long backfill and the daily run, through Dagster, against the emulator.

    .venv/bin/python benchmarks/bench_backfill.py [--supply-points 200] [--days 365]
        [--compare-days 30] [--daily-supply-points 1000] [--daily-days 5] [--skip-daily]
        [--postgres-server postgresql://postgres@127.0.0.1:5432]

Issue 7, items 1, 2 and 5. Each measured run is the operator's path: `runner.run_range` (what
`kraken-pipeline run --start --end` calls) on a persistent SQLite Dagster instance in a fresh
DAGSTER_HOME, in a child process of its own so that its peak RSS is its own. The emulator
(zero latency) runs in another process.

The emulator must not be the bottleneck of its own benchmark: it is one Python process, where
rendering 3.5 million nodes costs about as much CPU as the whole pipeline. So it runs with its
answer cache (EmulatorConfig.cache_answers), and before a run is timed a KrakenClient asks for the
same window in the same 7-day chunks, untimed: the timed run then gets pre-rendered pages, byte
for byte the same, still authenticated, limited and charged. The emulator's CPU during the timed
run is printed, so the reader can see what it cost.

Where the time goes is measured inside the run by timing the plain functions the assets call:
the client's fetch (HTTP, JSON and parse: `KrakenClient.fetch_measurements`), the writes
(`storage.write_day`, quality results, daily consumption, the lake's views), the quality
rules (`quality.evaluate_day`) and the derivation (`consumption.daily_consumption`). Everything
else in the run's wall time is orchestration: Dagster's steps, events and their storage (SQLite,
or with --postgres-server also the production profile's PostgreSQL). Within it, the instance's
event log storage is timed per stored event, by event type: what the events a day of this job
stores cost, whatever the rest of Dagster does.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from multiprocessing.queues import Queue
from pathlib import Path
from queue import Empty
from typing import Any

import requests
from dagster import DagsterInstance, EventLogEntry

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator_process import CLOCK, EmulatorProcess, cpu_between, emulator_process

from kraken_pipeline.cli.commands import QUIET_CONSOLE
from kraken_pipeline.defs.resources import KrakenResource
from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from kraken_pipeline.emulator.dataset import synthetic_dataset, write_supply_points_csv
from kraken_pipeline.local_days import days_between, range_bounds
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline.supply_points import SupplyPoint, load_supply_points

TIMEZONE = "Europe/London"
CHUNK_DAYS = 7  # MeasurementsConfig's default: the pipeline fetches a week per request stream
LAST_DAY = CLOCK.date() - timedelta(days=2)
# The plain functions the assets call, by phase: (module, attribute).
PHASES: dict[str, tuple[tuple[str, str], ...]] = {
    "fetch (HTTP + JSON + parse)": (
        ("kraken_pipeline.kraken.client", "KrakenClient.fetch_measurements"),
    ),
    "write (lake commits, views)": (
        ("kraken_pipeline.storage", "write_day"),
        ("kraken_pipeline.storage", "write_quality_results"),
        ("kraken_pipeline.storage", "write_daily_consumption"),
        ("kraken_pipeline.warehouse", "ensure_warehouse"),
    ),
    "quality rules": (("kraken_pipeline.quality", "evaluate_day"),),
    "daily consumption": (("kraken_pipeline.consumption", "daily_consumption"),),
}


@dataclass(frozen=True)
class RunFigures:
    """What one timed run did, measured in its own process."""

    days: int
    supply_points: int
    wall: float
    runs: int
    success: bool
    rows: int
    peak_rss_mib: float
    phases: dict[str, float]
    events: dict[str, int] = field(default_factory=dict)
    event_storage: float = 0.0
    requests: int = 0
    emulator_cpu: float | None = None

    @property
    def orchestration(self) -> float:
        return max(0.0, self.wall - sum(self.phases.values()))

    @property
    def events_per_day(self) -> float:
        return sum(self.events.values()) / self.days


@dataclass
class PhaseClock:
    """Seconds spent inside the wrapped functions, by phase; nested calls count once."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    _depth: int = 0

    def wrap(self, phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.seconds[phase] += time.perf_counter() - began

        return timed

    def install(self) -> None:
        """Wrap every function of PHASES where the pipeline looks it up."""
        for phase, targets in PHASES.items():
            for module_name, attribute in targets:
                owner: Any = importlib.import_module(module_name)
                *path, name = attribute.split(".")
                for part in path:
                    owner = getattr(owner, part)
                setattr(owner, name, self.wrap(phase, getattr(owner, name)))


@dataclass
class EventStorageClock:
    """Dagster events stored by the run, by type, and the seconds its event storage took."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: float = 0.0

    def install(self, instance: DagsterInstance) -> None:
        """Time every `store_event` of this instance's event log storage (SQLite or PostgreSQL)."""
        storage = instance.event_log_storage
        store_event = storage.store_event

        def timed(event: EventLogEntry) -> None:
            began = time.perf_counter()
            try:
                store_event(event)
            finally:
                self.seconds += time.perf_counter() - began
                kind = event.dagster_event_type
                self.counts[kind.value if kind else "log message"] += 1

        storage.store_event = timed  # type: ignore[method-assign]


def run_in_child(
    settings: PipelineSettings,
    first: date,
    last: date,
    postgres_url: str | None,
    figures: Queue[RunFigures],
) -> None:
    """Materialise first..last in one run on a fresh persistent instance; report the figures.

    The instance is the CLI's (SQLite in DAGSTER_HOME), or with `postgres_url` the production
    profile's storage (deploy/dagster.yaml) in that database.
    """
    os.environ["KRAKEN_CLIENT_ID"] = DEMO_CLIENT_ID
    os.environ["KRAKEN_CLIENT_SECRET"] = DEMO_CLIENT_SECRET
    os.environ.pop("DAGSTER_HOME", None)
    clock = PhaseClock()
    clock.install()
    from kraken_pipeline import storage
    from kraken_pipeline.cli.runner import dagster_home, persistent_instance, run_range

    home = dagster_home(settings)
    if postgres_url:
        # SQLAlchemy maps a bare postgresql:// to psycopg 3; dagster-postgres brings psycopg2.
        url = postgres_url.replace("postgresql://", "postgresql+psycopg2://", 1)
        (home / "dagster.yaml").write_text(
            f"telemetry:\n  enabled: false\nstorage:\n  postgres:\n    postgres_url: {url}\n",
            encoding="utf-8",
        )
    events = EventStorageClock()
    with persistent_instance(home) as instance:
        events.install(instance)
        began = time.perf_counter()
        outcome = run_range(instance, settings, first, last, run_config=operator_run_config())
        wall = time.perf_counter() - began
        runs = instance.get_runs_count()
    if not outcome.success:
        print(f"the run failed: {outcome.failure}", file=sys.stderr)
    rows = sum(
        table.num_rows
        for day in days_between(first, last)
        if (table := storage.read_day(settings.data_root, day)) is not None
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    figures.put(
        RunFigures(
            days=len(days_between(first, last)),
            supply_points=len(load_supply_points(settings.supply_points_path)),
            wall=wall,
            runs=runs,
            success=outcome.success,
            rows=rows,
            peak_rss_mib=peak,
            phases=dict(clock.seconds),
            events=dict(events.counts),
            event_storage=events.seconds,
        )
    )


def operator_run_config() -> dict[str, Any]:
    """The CLI's run config (Dagster's console at INFO), judging quality as of the emulator's
    clock so that the benchmark's days count as published."""
    return {
        **QUIET_CONSOLE,
        "ops": {"measurements_quality": {"config": {"as_of": CLOCK.isoformat()}}},
    }


def prerender(settings: PipelineSettings, points: Sequence[SupplyPoint], days: list[date]) -> None:
    """Ask for the run's windows once, untimed, so the emulator's answer cache holds them."""
    kraken = KrakenResource(
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        auth_url=settings.auth_url,
        api_url=settings.api_url,
        timezone=settings.timezone,
        page_size=settings.page_size,
        concurrency=settings.concurrency,
    )
    with kraken.client() as client:
        for offset in range(0, len(days), CHUNK_DAYS):
            chunk = days[offset : offset + CHUNK_DAYS]
            start, end = range_bounds(chunk[0], chunk[-1], settings.timezone)
            client.fetch_measurements(points, start, end)


def emulator_requests(server: EmulatorProcess) -> int:
    """HTTP requests the emulator has answered so far (token and GraphQL)."""
    counts = requests.get(server.urls.control + "/stats", timeout=30).json()["requests"]
    return sum(int(n) for n in counts.values())


def timed_run(
    server: EmulatorProcess,
    csv: Path,
    scratch: Path,
    days: int,
    label: str,
    postgres_url: str | None = None,
) -> RunFigures:
    """Pre-render, then run first..last in a child process; figures with the emulator's side."""
    first = LAST_DAY - timedelta(days=days - 1)
    settings = PipelineSettings(
        timezone=TIMEZONE,
        auth_url=server.urls.token,
        api_url=server.urls.graphql,
        data_root=scratch / label,
        supply_points_path=csv,
        partitions_start=first,
    )
    prerender(settings, load_supply_points(csv), days_between(first, LAST_DAY))
    context = multiprocessing.get_context("spawn")
    queue: Queue[RunFigures] = context.Queue()
    child = context.Process(
        target=run_in_child, args=(settings, first, LAST_DAY, postgres_url, queue)
    )
    requests_before, cpu_before = emulator_requests(server), server.cpu_seconds()
    child.start()
    while True:
        try:
            figures = queue.get(timeout=5)
            break
        except Empty:
            if not child.is_alive():
                raise SystemExit(f"the run's process died (exit code {child.exitcode})") from None
    child.join()
    return replace(
        figures,
        requests=emulator_requests(server) - requests_before,
        emulator_cpu=cpu_between(cpu_before, server.cpu_seconds()),
    )


def supply_points_csv(series: int, scratch: Path) -> Path:
    return write_supply_points_csv(synthetic_dataset(series), scratch / f"sp{series}.csv")


def print_run(label: str, run: RunFigures) -> None:
    emulator = "?" if run.emulator_cpu is None else f"{run.emulator_cpu:.1f} s"
    print(
        f"{label}: {run.days} days x {run.supply_points} supply points, {run.rows:,} rows, "
        f"{'succeeded' if run.success else 'FAILED'}\n"
        f"  wall {run.wall:.1f} s, {run.runs} run(s) launched, {run.requests} HTTP requests, "
        f"peak RSS {run.peak_rss_mib:.0f} MiB, {run.rows / run.wall:,.0f} rows/s\n"
        f"  emulator CPU during the run: {emulator} (pre-rendered pages)"
    )
    for phase, seconds in sorted(run.phases.items(), key=lambda item: -item[1]):
        print(f"  {phase:<30} {seconds:7.1f} s  {seconds / run.wall:6.1%}")
    print(
        f"  {'orchestration (Dagster)':<30} {run.orchestration:7.1f} s  "
        f"{run.orchestration / run.wall:6.1%}"
    )
    stored = sum(run.events.values())
    print(
        f"    {'of which storing its events':<28} {run.event_storage:7.1f} s  "
        f"{run.event_storage / run.wall:6.1%}  ({stored:,} events, "
        f"{1000 * run.event_storage / max(stored, 1):.1f} ms each)"
    )
    per_day = ", ".join(
        f"{count / run.days:.1f} {kind}"
        for kind, count in sorted(run.events.items(), key=lambda item: -item[1])
        if count >= run.days
    )
    print(f"    events a day: {run.events_per_day:.1f}, mostly {per_day}")


@contextmanager
def temporary_database(server_url: str) -> Iterator[str]:
    """A brand-new PostgreSQL database on the server (dropped afterwards): its URL."""
    import psycopg2
    from psycopg2 import sql

    name = f"kraken_bench_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(f"{server_url}/postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        yield f"{server_url}/{name}"
        with admin.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    finally:
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--supply-points", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--compare-days", type=int, default=30)
    parser.add_argument("--daily-supply-points", type=int, default=1000)
    parser.add_argument("--daily-days", type=int, default=5)
    parser.add_argument("--skip-daily", action="store_true")
    parser.add_argument(
        "--postgres-server",
        metavar="URL",
        help="also run the backfill on the production instance's storage, in a new "
        "database on this server (e.g. postgresql://postgres@127.0.0.1:5432)",
    )
    options = parser.parse_args()
    print(f"{os.cpu_count()} CPU(s); emulator in its own process, zero latency")
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        csv = supply_points_csv(options.supply_points, scratch)
        with emulator_process(options.supply_points, 0, cache_answers=True) as server:
            short = timed_run(server, csv, scratch, options.compare_days, "short")
            year = timed_run(server, csv, scratch, options.days, "year")
        if options.postgres_server:
            # A fresh emulator: on its fixed clock, the runs above (and their pre-rendering)
            # spent most of the hour's points allowance, which would throttle a third year.
            with (
                emulator_process(options.supply_points, 0, cache_answers=True) as server,
                temporary_database(options.postgres_server) as database,
            ):
                on_postgres = timed_run(server, csv, scratch, options.days, "postgres", database)
        print_run("(1) backfill", year)
        print_run("    the same, shorter", short)
        print(
            f"peak RSS {year.days} days / {short.days} days: "
            f"{year.peak_rss_mib / short.peak_rss_mib:.2f}  (target: flat, under 1 GiB)"
        )
        print(
            f"(2) orchestration share: {year.orchestration / year.wall:.1%} of the wall time "
            f"(target < 15%); storing Dagster's {year.events_per_day:.0f} events a day alone "
            f"took {year.event_storage / year.wall:.1%}"
        )
        if options.postgres_server:
            print_run("    the same on PostgreSQL storage (deploy/dagster.yaml)", on_postgres)
        if not options.skip_daily:
            csv = supply_points_csv(options.daily_supply_points, scratch)
            with emulator_process(options.daily_supply_points, 0, cache_answers=True) as server:
                daily = timed_run(server, csv, scratch, options.daily_days, "daily")
            print_run("(5) daily run", daily)


if __name__ == "__main__":
    main()
