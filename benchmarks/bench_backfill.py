"""Benchmark: a year-long backfill and the daily run, through Dagster, against the emulator.

    .venv/bin/python benchmarks/bench_backfill.py [--supply-points 200] [--days 365]
        [--compare-days 30] [--skip-overhead] [--daily-supply-points 1000] [--daily-days 5]
        [--skip-daily] [--rss-supply-points 10000] [--rss-days 7] [--rss-chunk-days N]
        [--skip-rss] [--rss-only]
        [--postgres-server postgresql://postgres@127.0.0.1:5432]

Each measured run is the operator's path:
`runner.run_range` (what `kraken-pipeline run --start --end` calls) on a persistent SQLite
Dagster instance in a fresh DAGSTER_HOME, in a child process of its own so that its peak RSS
(getrusage(RUSAGE_SELF) in that process: neither the benchmark's nor the emulator's memory) is
its own. The emulator (zero latency) runs in another process, over loopback.

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

(6a) Dagster overhead against its floor. Beside the year's run, in the same invocation and
against the same emulator (whose cache already holds the year's pages), two more child
processes cover the same days and supply points:

  bare   a Dagster job of the same shape that does no work (backfill_baselines.py): assets of
         the same names, daily partitions, single-run backfill policy and pools, our check
         specs, emitting per day what ours emits (the measurements materialisation with our
         day metadata, also one as each day lands if ours yields it, eight partitioned check
         evaluations, the daily_consumption materialisation), run through `run_range` on the
         same kind of instance with the same run config: the floor Dagster itself sets;
  plain  our own work for those days with no Dagster: what the run's three steps call, in
         their order (land_days, judge_day, freshness, derive_daily_consumption, the views).

  overhead = wall(ours) / (wall(bare) + wall(plain)), goal <= 1.25

1.00 means Dagster costs ours exactly its own floor on top of our work; above it, running our
work inside Dagster costs more than the two apart (events ours builds, Dagster's bookkeeping of
a step that runs long, resources). The printed events a day of both jobs show that the bare job
mirrors ours. Also printed: ours - plain (Dagster's part of our run) against the bare floor.

(6b) Peak RSS of one run of 10,000 supply points x 7 days (goal < 1 GiB), in a child process
of its own; the emulator renders its pages during that run (no answer cache: a pre-rendered
copy would only cost time and the emulator's memory), so its wall time is no throughput figure.
--rss-chunk-days sets the run's chunk_days (run config), to see what the chunk costs.
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
import warnings
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
from dagster import BetaWarning, DagsterInstance, Definitions, EventLogEntry, PreviewWarning

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backfill_baselines import bare_definitions, kraken_resource, land_plainly
from emulator_process import CLOCK, EmulatorProcess, cpu_between, emulator_process

from kraken_pipeline.cli.commands import QUIET_CONSOLE
from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from kraken_pipeline.emulator.dataset import synthetic_dataset, write_supply_points_csv
from kraken_pipeline.local_days import days_between, range_bounds
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline.supply_points import SupplyPoint, load_supply_points

TIMEZONE = "Europe/London"
CHUNK_DAYS = 7  # MeasurementsConfig's default: the pipeline fetches a week per request stream
LAST_DAY = CLOCK.date() - timedelta(days=2)
# What a child process runs: our job, the bare job of the same shape, our work without Dagster.
OURS, BARE, PLAIN = "ours", "bare", "plain"
# The emulator's hourly points allowance: its clock is fixed, so every run of the benchmark
# (and its pre-rendering) spends from one hour. The rate limit is bench_rate_limited.py's
# subject; here it must not throttle the third pass over the same year.
ALLOWANCE = 100_000_000
OVERHEAD_GOAL = 1.25
RSS_GOAL_MIB = 1024
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
    kind: str = OURS,
    per_day_materializations: bool = False,
    chunk_days: int | None = None,
) -> None:
    """Materialise first..last in one run on a fresh persistent instance; report the figures.

    The instance is the CLI's (SQLite in DAGSTER_HOME), or with `postgres_url` the production
    profile's storage (deploy/dagster.yaml) in that database. `kind`: OURS runs our job; BARE
    the job of the same shape that does no work (backfill_baselines.bare_definitions), the same
    way; PLAIN our work for the same days without Dagster (backfill_baselines.land_plainly).
    """
    os.environ["KRAKEN_CLIENT_ID"] = DEMO_CLIENT_ID
    os.environ["KRAKEN_CLIENT_SECRET"] = DEMO_CLIENT_SECRET
    os.environ.pop("DAGSTER_HOME", None)
    # As definitions.py does: the preview features are used on purpose.
    warnings.filterwarnings("ignore", category=PreviewWarning)
    warnings.filterwarnings("ignore", category=BetaWarning)
    clock = PhaseClock()
    clock.install()
    from kraken_pipeline import storage

    if kind == PLAIN:
        began = time.perf_counter()
        land_plainly(settings, first, last, CLOCK)
        wall, runs, success, events = time.perf_counter() - began, 0, True, EventStorageClock()
    else:
        bare = bare_definitions(settings, per_day_materializations) if kind == BARE else None
        wall, runs, success, events = _run_through_dagster(
            settings, first, last, postgres_url, bare, chunk_days
        )
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
            success=success,
            rows=rows,
            peak_rss_mib=peak,
            phases=dict(clock.seconds),
            events=dict(events.counts),
            event_storage=events.seconds,
        )
    )


def _run_through_dagster(
    settings: PipelineSettings,
    first: date,
    last: date,
    postgres_url: str | None,
    definitions: Definitions | None,
    chunk_days: int | None = None,
) -> tuple[float, int, bool, EventStorageClock]:
    """`run_range` on a fresh persistent instance: wall time, runs, success, events stored."""
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
        outcome = run_range(
            instance,
            settings,
            first,
            last,
            run_config=operator_run_config(chunk_days),
            definitions=definitions,
        )
        wall = time.perf_counter() - began
        runs = instance.get_runs_count()
    if not outcome.success:
        print(f"the run failed: {outcome.failure}", file=sys.stderr)
    return wall, runs, outcome.success, events


def operator_run_config(chunk_days: int | None = None) -> dict[str, Any]:
    """The CLI's run config (Dagster's console at INFO), judging quality as of the emulator's
    clock so that the benchmark's days count as published; `chunk_days` if given."""
    ops: dict[str, Any] = {"measurements_quality": {"config": {"as_of": CLOCK.isoformat()}}}
    if chunk_days is not None:
        ops["measurements"] = {"config": {"chunk_days": chunk_days}}
    return {**QUIET_CONSOLE, "ops": ops}


def prerender(settings: PipelineSettings, points: Sequence[SupplyPoint], days: list[date]) -> None:
    """Ask for the run's windows once, untimed, so the emulator's answer cache holds them."""
    with kraken_resource(settings, remember_limits=False).client() as client:
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
    *,
    kind: str = OURS,
    pre_render: bool = True,
    per_day_materializations: bool = False,
    chunk_days: int | None = None,
) -> RunFigures:
    """Pre-render (unless the emulator's cache holds the window already, or it has none), then
    run first..last in a child process; figures with the emulator's side."""
    first = LAST_DAY - timedelta(days=days - 1)
    settings = PipelineSettings(
        timezone=TIMEZONE,
        auth_url=server.urls.token,
        api_url=server.urls.graphql,
        data_root=scratch / label,
        supply_points_path=csv,
        partitions_start=first,
    )
    if pre_render:
        prerender(settings, load_supply_points(csv), days_between(first, LAST_DAY))
    context = multiprocessing.get_context("spawn")
    queue: Queue[RunFigures] = context.Queue()
    arguments = (
        settings,
        first,
        LAST_DAY,
        postgres_url,
        queue,
        kind,
        per_day_materializations,
        chunk_days,
    )
    child = context.Process(target=run_in_child, args=arguments)
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


def print_run(label: str, run: RunFigures, pages: str = "pre-rendered pages") -> None:
    emulator = "?" if run.emulator_cpu is None else f"{run.emulator_cpu:.1f} s"
    print(
        f"{label}: {run.days} days x {run.supply_points} supply points, {run.rows:,} rows, "
        f"{'succeeded' if run.success else 'FAILED'}\n"
        f"  wall {run.wall:.1f} s, {run.runs} run(s) launched, {run.requests} HTTP requests, "
        f"peak RSS {run.peak_rss_mib:.0f} MiB, {run.rows / run.wall:,.0f} rows/s\n"
        f"  emulator CPU during the run: {emulator} ({pages})"
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
    options = parse_options()
    print(f"{os.cpu_count()} CPU(s); emulator in its own process, zero latency")
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        if options.rss_only:
            print_peak_rss(measure_peak_rss(scratch, options), options.rss_chunk_days)
            return
        csv = supply_points_csv(options.supply_points, scratch)
        with emulator_process(
            options.supply_points, 0, cache_answers=True, points_allowance_per_hour=ALLOWANCE
        ) as server:
            short = timed_run(server, csv, scratch, options.compare_days, "short")
            year = timed_run(server, csv, scratch, options.days, "year")
            if not options.skip_overhead:
                # The year's pages are in the emulator's cache already: no second pre-rendering.
                plain = timed_run(
                    server, csv, scratch, options.days, PLAIN, kind=PLAIN, pre_render=False
                )
                bare = timed_run(
                    server,
                    csv,
                    scratch,
                    options.days,
                    BARE,
                    kind=BARE,
                    pre_render=False,
                    per_day_materializations=per_day_materializations(year),
                )
        if options.postgres_server:
            # A fresh emulator with Kraken's default allowance, as before.
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
        if not options.skip_overhead:
            print_overhead(year, bare, plain)
        if options.postgres_server:
            print_run("    the same on PostgreSQL storage (deploy/dagster.yaml)", on_postgres)
        if not options.skip_daily:
            csv = supply_points_csv(options.daily_supply_points, scratch)
            with emulator_process(options.daily_supply_points, 0, cache_answers=True) as server:
                daily = timed_run(server, csv, scratch, options.daily_days, "daily")
            print_run("(5) daily run", daily)
        if not options.skip_rss:
            print_peak_rss(measure_peak_rss(scratch, options), options.rss_chunk_days)


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--supply-points", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--compare-days", type=int, default=30)
    parser.add_argument(
        "--skip-overhead",
        action="store_true",
        help="do not run the bare Dagster job and our work without Dagster over --days",
    )
    parser.add_argument("--daily-supply-points", type=int, default=1000)
    parser.add_argument("--daily-days", type=int, default=5)
    parser.add_argument("--skip-daily", action="store_true")
    parser.add_argument("--rss-supply-points", type=int, default=10_000)
    parser.add_argument("--rss-days", type=int, default=7)
    parser.add_argument(
        "--rss-chunk-days",
        type=int,
        default=None,
        help="run config chunk_days of the peak-RSS run (default: the asset's, 7)",
    )
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--rss-only", action="store_true", help="only the peak-RSS run (6b)")
    parser.add_argument(
        "--postgres-server",
        metavar="URL",
        help="also run the backfill on the production instance's storage, in a new "
        "database on this server (e.g. postgresql://postgres@127.0.0.1:5432)",
    )
    return parser.parse_args()


def materializations_per_day(run: RunFigures) -> float:
    return run.events.get("ASSET_MATERIALIZATION", 0) / run.days


def per_day_materializations(ours: RunFigures) -> bool:
    """Whether our measurements step yields a materialisation per day as it lands, besides its
    output: then ours stores three a day (two of measurements, one of daily_consumption)."""
    return materializations_per_day(ours) > 2.5


def print_overhead(ours: RunFigures, bare: RunFigures, plain: RunFigures) -> None:
    """(6a): our run against the bare Dagster floor plus our own work done without Dagster."""
    floor = bare.wall + plain.wall
    ratio = ours.wall / floor
    print(
        f"(6a) Dagster overhead, {ours.days} days x {ours.supply_points} supply points, "
        "side by side in this run:\n"
        f"  ours: the job through Dagster (1)            {ours.wall:7.1f} s\n"
        f"  bare: a job of the same shape, no work       {bare.wall:7.1f} s  "
        f"(its events a day {bare.events_per_day:.1f}, ours {ours.events_per_day:.1f}; "
        f"materialisations {materializations_per_day(bare):.1f} and "
        f"{materializations_per_day(ours):.1f})\n"
        f"  plain: our work for those days, no Dagster   {plain.wall:7.1f} s  "
        f"({plain.rows:,} rows, peak RSS {plain.peak_rss_mib:.0f} MiB)\n"
        f"  ours / (bare + plain) = {ours.wall:.1f} / {floor:.1f} = {ratio:.2f}  "
        f"(goal <= {OVERHEAD_GOAL}: {met(ratio <= OVERHEAD_GOAL)})\n"
        f"  Dagster's part of ours, ours - plain = {ours.wall - plain.wall:.1f} s, is "
        f"{(ours.wall - plain.wall) / bare.wall:.2f}x the bare floor"
    )
    if abs(bare.events_per_day - ours.events_per_day) >= 0.5:
        print(
            f"  note: the bare job stores {bare.events_per_day:.2f} events a day, ours "
            f"{ours.events_per_day:.2f}: the bare job no longer mirrors ours exactly"
        )


def met(condition: bool) -> str:
    return "met" if condition else "MISSED"


def measure_peak_rss(scratch: Path, options: argparse.Namespace) -> RunFigures:
    """(6b): one run of --rss-days x --rss-supply-points in a child process, for its peak RSS.

    The emulator renders the pages during the run (no cache: a pre-rendered copy would only
    cost its own memory and time), so the wall time printed is not a throughput figure.
    """
    supply_points, chunk_days = options.rss_supply_points, options.rss_chunk_days
    csv = supply_points_csv(supply_points, scratch)
    with emulator_process(supply_points, 0, points_allowance_per_hour=ALLOWANCE) as server:
        return timed_run(
            server, csv, scratch, options.rss_days, "rss", pre_render=False, chunk_days=chunk_days
        )


def print_peak_rss(run: RunFigures, chunk_days: int | None) -> None:
    chunks = f", chunk_days {chunk_days}" if chunk_days else ""
    print_run(f"(6b) peak RSS{chunks}", run, "rendering every page during the run")
    print(
        f"  peak RSS of the run's process: {run.peak_rss_mib:.0f} MiB "
        f"(goal < {RSS_GOAL_MIB} MiB: {met(run.peak_rss_mib < RSS_GOAL_MIB)})"
    )


if __name__ == "__main__":
    main()
