"""Benchmark: analyst queries through the warehouse views, and the cost of re-running one day.

    .venv/bin/python benchmarks/bench_warehouse.py [--days 365] [--supply-points 200]
                                                   [--rounds 7] [--rerun-rounds 7]

Issue 7, items 6 and 7, measured side by side in one run. The machines are shared and noisy,
so every comparison is interleaved (one sample of each side per round, in rotating order) and
each ratio is the median over rounds of the ratio within a round; medians of the times are
printed beside them, and for the re-runs process CPU time, which other processes disturb less.

Stored data: synthetic but realistic, written through the pipeline's own functions so that the
file layout is exactly the pipeline's. The supply points are the emulator's synthetic ones (a
mix of half-hourly and 15-minute imports, solar export, gas in m3 and in kWh, businesses), the
values follow the emulator's load shapes with noise, as exact decimal128 values, days have
46/48/50 half-hours as the clocks say, and some days are estimated. Each day goes through
`storage.write_day` (measurements and fetch log), its quality results (`quality.evaluate_day`)
and daily consumption are written beside it, then `storage.ensure_warehouse` publishes the
views. Landing the same year through Dagster and the emulator takes minutes (item 1's
benchmark, bench_backfill.py); this takes seconds, which leaves time for three stores (1, 30
and --days days; the smaller ones are hard links to the newest days of the largest, safe
because stored files are never modified in place, only replaced).

Item 7: each query runs through the views of warehouse.duckdb, opened read-only as an analyst
does, and as the same SQL on native DuckDB tables loaded from the same Parquet files
(`CREATE TABLE measurements AS SELECT * FROM read_parquet(...)`, likewise fetch_log and
supply_points, with `daily_totals` defined over them by the warehouse's own statement). Every
side must return identical rows. The views are the shipped ones: `local_date` taken from the
`date=` folders (a date filter skips other days' files unopened), and measurements of closed
months read from one compacted file per month (warehouse/compaction.py's docstring). Candidates
measured before they shipped, on this script's earlier version (worst ratio over the four
queries): daily files as they were 4.73x; date folders only 2.1-3.2x; date folders and monthly
files 2.1-2.6x. The cost of that layout is measured too: the first publication of the year
(every closed month compacted) and the refresh after a day of a closed month is written again
(that month compacted again).

Item 6: re-running the newest day through the real Dagster job (`runner.run_range`, the path of
`kraken-pipeline run` and of the UI: measurements, the quality checks, daily_consumption) against
an in-process emulator (zero latency, answer cache on, an allowance that never binds: the fetch
is the same whatever is stored), on a persistent SQLite Dagster instance per store. The same
steps are then timed one by one without Dagster, to show which of them grow with the stored
days, and cProfile names the functions. Before this version the warehouse listed its files with
pathlib globs, a sort and os.path.samefile per file, twice per publication (about +100 ms per
publication at 365 days), and the freshness check read every day's fetch log; both now cost
about the same whatever is stored (os.scandir and inode numbers; newest day first).
A Dagster instance holding a year of materialisations and check evaluations (reported with
`report_runless_asset_event`) re-ran no slower than a fresh one when tried (5.1 s against 5.5 s
on a loaded machine, within the noise), and seeding it took 90 s, so the instances start empty.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster
import duckdb
import numpy as np
import pyarrow as pa
from dagster import BetaWarning, DagsterInstance, PreviewWarning

import kraken_pipeline.checks
import kraken_pipeline.warehouse
from kraken_pipeline import quality, storage
from kraken_pipeline.checks import judge_day, newest_complete_day
from kraken_pipeline.consumption import (
    daily_consumption,
    derive_daily_consumption,
    failed_blocking_checks,
)
from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, EmulatorConfig
from kraken_pipeline.emulator.dataset import Dataset, synthetic_dataset, write_supply_points_csv
from kraken_pipeline.emulator.loadshapes import KWH_PER_M3, mean_powers
from kraken_pipeline.kraken import KrakenClient, KrakenSettings, Secret
from kraken_pipeline.landing import land_days
from kraken_pipeline.local_days import day_bounds, days_between, expected_interval_count
from kraken_pipeline.runner import run_range
from kraken_pipeline.schema import FETCH_LOG_SCHEMA, MEASUREMENTS_SCHEMA, VALUE_TYPE
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline.supply_points import SupplyPoint, load_supply_points
from kraken_pipeline.warehouse import MONTHLY_DIRECTORY, VIEWS_DIRECTORY, first_open_month

TIMEZONE = "Europe/London"
CLOCK = datetime(2026, 11, 20, 12, tzinfo=UTC)  # the emulator's fixed "now"
LAST_DAY = CLOCK.date() - timedelta(days=3)  # published by then; the day that is re-run
SMALL_STORES = (1, 30)  # re-run with these many days stored, and with --days
QUERY_TARGET = 3.0
RERUN_TARGET = 1.5
BUILD_THREADS = 4
COMPLETENESS_FLOOR = quality.QualityConfig().completeness_floor
_MICRO = 1_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_INSTANT = MEASUREMENTS_SCHEMA.field("interval_start").type
# Every daily file of a data root, by storage's path functions (what the views read).
DAY_FILES = (
    storage.measurements_path,
    storage.fetch_log_path,
    storage.quality_results_path,
    storage.daily_consumption_path,
)


@dataclass
class Samples:
    """Wall and CPU seconds of one thing measured over several rounds."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)

    def ratio_to(self, base: Samples) -> float:
        """Median over rounds of this / base within the round (drift cancels out)."""
        return statistics.median(
            ours / theirs for ours, theirs in zip(self.wall, base.wall, strict=True)
        )

    def cpu_ratio_to(self, base: Samples) -> float:
        return statistics.median(
            ours / theirs for ours, theirs in zip(self.cpu, base.cpu, strict=True)
        )


@contextmanager
def measured(samples: Samples) -> Iterator[None]:
    """Add the block's wall and process CPU time (every thread of this process) to samples."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    samples.add(time.perf_counter() - wall, time.process_time() - cpu)


def local(location: object) -> Path:
    """A storage location of a local data root as a Path (storage also knows S3 locations)."""
    return Path(str(location))


def rotated(items: Sequence[Any], round_number: int) -> list[Any]:
    """The items starting at a different one each round, so no side always goes first."""
    shift = round_number % len(items)
    return [*items[shift:], *items[:shift]]


# --- synthetic stored data ---------------------------------------------------------------------


@dataclass(frozen=True)
class Fleet:
    """The supply points of the benchmark and, per supply point, its load profile and unit."""

    points: tuple[SupplyPoint, ...]
    profiles: tuple[str, ...]
    units: tuple[str, ...]
    dataset: Dataset
    csv: Path
    attributes: pa.Table  # the columns that depend only on the supply point, one row each


def make_fleet(count: int, directory: Path) -> Fleet:
    """The emulator's synthetic series as a supply points CSV (so the emulator serves them)."""
    dataset = synthetic_dataset(count)
    csv = write_supply_points_csv(dataset, directory / "supply_points.csv")
    points = load_supply_points(csv)
    profiles = tuple(spec.profile for spec in dataset.series)
    units = tuple(spec.unit for spec in dataset.series)
    return Fleet(points, profiles, units, dataset, csv, _attributes(points, units))


def _decimal_values(micro_units: np.ndarray) -> pa.Array:
    """Exact decimal128(38, 18) values from non-negative integers of millionths."""
    # decimal128 is a 16-byte little-endian integer: the low word, then its sign extension.
    words = np.column_stack((micro_units, micro_units >> 63)).astype("<i8")
    scaled = pa.Array.from_buffers(
        pa.decimal128(38, 6), len(micro_units), [None, pa.py_buffer(words.tobytes())]
    )
    return scaled.cast(VALUE_TYPE)


def _day_values(fleet: Fleet, day: date, counts: np.ndarray, rng: np.random.Generator) -> Any:
    """Energy per interval (millionths of the unit) from the emulator's shapes, with noise."""
    shapes: dict[tuple[str, int], np.ndarray] = {}
    blocks = []
    for point, profile, unit, count in zip(
        fleet.points, fleet.profiles, fleet.units, counts, strict=True
    ):
        hours = point.interval_seconds / 3600
        key = (profile, point.interval_seconds)
        if key not in shapes:
            shapes[key] = np.asarray(mean_powers(profile, day, TIMEZONE, point.interval_seconds))
        shape = shapes[key]
        level = rng.uniform(0.7, 1.3)
        energy = shape * hours * level * rng.uniform(0.55, 1.45, size=count)
        if unit == "m3":
            energy /= KWH_PER_M3
        blocks.append(energy)
    return np.rint(np.concatenate(blocks) * _MICRO).astype(np.int64)


def _attributes(points: Sequence[SupplyPoint], units: Sequence[str]) -> pa.Table:
    """The columns of a measurement row that only depend on its supply point, one row each."""
    return pa.table(
        {
            "supply_point_id": [p.supply_point_id for p in points],
            "property_id": [p.property_id for p in points],
            "utility": [p.utility.value for p in points],
            "market_supply_point_id": [p.market_supply_point_id for p in points],
            "device_id": [p.device_id for p in points],
            "reading_direction": [
                p.reading_direction.value if p.reading_direction else None for p in points
            ],
            "unit": list(units),
            "source": ["SMART_METER"] * len(points),
        },
    )


def _reading_quality(fleet: Fleet, day: date) -> pa.Array:
    """ACTUAL, null for gas, and an estimated day now and then for each electricity series."""
    return pa.array(
        [
            None
            if p.utility == "gas"
            else ("ESTIMATE" if (day.toordinal() + index) % 17 == 0 else "ACTUAL")
            for index, p in enumerate(fleet.points)
        ],
        pa.string(),
    )


def day_tables(
    fleet: Fleet, day: date, rng: np.random.Generator, fetched_at: datetime
) -> tuple[pa.Table, pa.Table]:
    """One local day of every supply point: (measurements, fetch log), as a run would land."""
    points = fleet.points
    counts = np.array([expected_interval_count(day, TIMEZONE, p.interval_seconds) for p in points])
    step_us = np.array([p.interval_seconds * _MICRO for p in points], dtype=np.int64)
    owner = np.repeat(np.arange(len(points)), counts)
    position = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
    starts = int(day_bounds(day, TIMEZONE)[0].timestamp()) * _MICRO + position * step_us[owner]
    rows_of = pa.array(owner)
    repeated = fleet.attributes.take(rows_of)
    columns = {
        **{name: repeated[name] for name in repeated.column_names},
        "interval_start": pa.array(starts, _INSTANT),
        "interval_end": pa.array(starts + step_us[owner], _INSTANT),
        "local_date": pa.array(
            np.full(owner.size, day.toordinal() - _EPOCH_ORDINAL, np.int32), pa.date32()
        ),
        "value": _decimal_values(_day_values(fleet, day, counts, rng)),
        "reading_quality": _reading_quality(fleet, day).take(rows_of),
        "fetched_at": pa.array(np.full(owner.size, int(fetched_at.timestamp()) * _MICRO), _INSTANT),
    }
    measurements = pa.table({name: columns[name] for name in MEASUREMENTS_SCHEMA.names})
    measurements = measurements.cast(MEASUREMENTS_SCHEMA)
    fetch_log = pa.Table.from_pylist(
        [
            {
                "supply_point_id": p.supply_point_id,
                "local_date": day,
                "status": "ok",
                "rows": int(count),
                "intervals_expected": int(count),
                "requests": 1,
                "fetched_at": fetched_at,
            }
            for p, count in zip(points, counts, strict=True)
        ],
        schema=FETCH_LOG_SCHEMA,
    )
    return measurements, fetch_log


def store_day(root: Path, fleet: Fleet, day: date) -> int:
    """Write one day as the job would: measurements, fetch log, quality results, consumption."""
    rng = np.random.default_rng(day.toordinal())  # the same values whichever thread writes it
    fetched_at = datetime.combine(day + timedelta(days=2), datetime.min.time(), UTC)
    measurements, fetch_log = day_tables(fleet, day, rng, fetched_at)
    written = storage.write_day(root, day, measurements, fetch_log)
    outcomes = quality.evaluate_day(
        day, measurements, fetch_log, fleet.points, TIMEZONE, fetched_at
    )
    storage.write_quality_results(root, day, quality.outcomes_to_table(outcomes, fetched_at))
    storage.write_daily_consumption(root, day, daily_consumption(measurements, fetch_log))
    return written.rows


def link_newest_days(source: Path, target: Path, days: Sequence[date]) -> None:
    """A store holding some of source's days: hard links, as the warehouse mirror does."""
    for day in days:
        for path_of_day in DAY_FILES:
            linked = local(path_of_day(target, day))
            linked.parent.mkdir(parents=True, exist_ok=True)
            os.link(local(path_of_day(source, day)), linked)
    os.link(local(storage.supply_points_path(source)), local(storage.supply_points_path(target)))


@dataclass(frozen=True)
class Store:
    """A data root holding the newest `days` days, with its warehouse."""

    days: int
    root: Path
    first_publish: float  # seconds of its first ensure_warehouse: links, compaction, views


def build_stores(
    fleet: Fleet, directory: Path, sizes: Sequence[int]
) -> tuple[list[Store], int, float]:
    """Every store (largest written, smaller ones linked); returns rows and seconds taken."""
    largest = max(sizes)
    days = days_between(LAST_DAY - timedelta(days=largest - 1), LAST_DAY)
    began = time.perf_counter()
    full = directory / f"store-{largest}"
    # Threads overlap the fsyncs and Parquet encoding (both release the GIL); days are disjoint.
    with ThreadPoolExecutor(max_workers=BUILD_THREADS) as pool:
        rows = sum(pool.map(lambda day: store_day(full, fleet, day), days))
    storage.write_supply_points(full, fleet.points)
    stores = []
    for size in sorted(set(sizes)):
        root = full if size == largest else directory / f"store-{size}"
        if size != largest:
            link_newest_days(full, root, days[-size:])
        publishing = time.perf_counter()
        storage.ensure_warehouse(root, TIMEZONE)
        stores.append(Store(size, root, time.perf_counter() - publishing))
    return stores, rows, time.perf_counter() - began


# --- item 7: analyst queries, views against native tables ------------------------------------


@dataclass(frozen=True)
class Query:
    """An analyst's question, as SQL over the warehouse's names, with its parameters."""

    label: str
    sql: str
    parameters: Mapping[str, object]


def analyst_queries(days: Sequence[date], supply_point_id: str) -> list[Query]:
    """The issue's three questions, plus the README's daily_totals view for the same month."""
    middle = days[len(days) // 2]
    first = middle.replace(day=1)
    month = {"first": first, "next": (first + timedelta(days=32)).replace(day=1)}
    return [
        Query(
            f"daily totals per supply point, {middle:%b %Y}",
            "SELECT supply_point_id, local_date, unit, sum(value) AS total, count(*) AS n "
            "FROM measurements WHERE local_date >= $first AND local_date < $next "
            "GROUP BY ALL ORDER BY ALL",
            month,
        ),
        Query(
            "  the same from the daily_totals view",
            "SELECT * FROM daily_totals WHERE local_date >= $first AND local_date < $next "
            "ORDER BY supply_point_id, local_date, unit",
            month,
        ),
        Query(
            f"half-hourly profile of {supply_point_id}, all days",
            "SELECT interval_start, value, reading_quality FROM measurements "
            "WHERE supply_point_id = $point ORDER BY interval_start",
            {"point": supply_point_id},
        ),
        Query(
            "monthly totals of every supply point",
            "SELECT supply_point_id, unit, date_trunc('month', local_date) AS month, "
            "sum(value) AS total, count(*) AS n FROM measurements GROUP BY ALL ORDER BY ALL",
            {},
        ),
    ]


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _daily_glob(root: Path, path_of_day: Callable[[Path, date], Any]) -> str:
    """root's glob of one daily file on every day, from storage's path function."""
    one_day = local(path_of_day(root, date(2000, 1, 1)))
    return str(one_day.parent.with_name("date=*") / one_day.name)


def shipped_statement(root: Path, view: str) -> str:
    """The warehouse's own definition of a view (daily_totals reads the others by name)."""
    for sql in kraken_pipeline.warehouse.view_statements(root, TIMEZONE):
        if f" VIEW {view} " in sql or f' VIEW "{view}" ' in sql:
            return sql
    raise SystemExit(f"warehouse.view_statements defines no view {view!r}: update this script")


def build_native(root: Path, database: Path) -> float:
    """Native tables loaded from root's Parquet files; returns seconds taken."""
    began = time.perf_counter()
    sources = {
        "measurements": _daily_glob(root, storage.measurements_path),
        "fetch_log": _daily_glob(root, storage.fetch_log_path),
        "supply_points": str(storage.supply_points_path(root)),
    }
    with duckdb.connect(str(database)) as connection:
        connection.execute("SET enable_progress_bar = false")
        for table, files in sources.items():
            # Names and paths are this script's own; DDL takes no parameters.
            connection.execute(
                f"CREATE TABLE {table} AS SELECT * FROM read_parquet({_quoted(files)})"  # noqa: S608
            )
        connection.execute(shipped_statement(root, "daily_totals"))
    return time.perf_counter() - began


@dataclass
class QueryFigures:
    """Samples per query and per side."""

    samples: dict[tuple[str, str], Samples] = field(default_factory=dict)

    def of(self, query: Query, side: str) -> Samples:
        return self.samples.setdefault((query.label, side), Samples())


def time_queries(
    connections: dict[str, duckdb.DuckDBPyConnection], queries: Sequence[Query], rounds: int
) -> QueryFigures:
    """Interleaved rounds (the first one untimed); every side must match the native rows."""
    figures = QueryFigures()
    for round_number in range(rounds + 1):
        for query in queries:
            answers = {}
            for side in rotated(list(connections), round_number):
                samples = figures.of(query, side) if round_number else Samples()
                with measured(samples):
                    result = connections[side].execute(query.sql, query.parameters)
                    answers[side] = result.fetchall()
            wrong = [side for side, rows in answers.items() if rows != answers["native"]]
            if wrong:
                raise SystemExit(f"{wrong} answered {query.label!r} unlike the native tables")
    return figures


# --- item 6: re-running one day when 1, 30 and N days are stored -------------------------------

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


@contextmanager
def emulator_for(fleet: Fleet) -> Iterator[Emulator]:
    """An in-process emulator serving the fleet: the fetch is the same in every store."""
    config = EmulatorConfig(
        dataset=fleet.dataset,
        clock=lambda: CLOCK,
        cache_answers=True,  # its rendering is not what is measured here
        points_allowance_per_hour=10**12,  # the clock stands still, so nothing would refill
    )
    with Emulator(config) as emulator:
        yield emulator


@dataclass
class RerunTarget:
    """One store wired to the job: its settings and its own persistent Dagster instance."""

    store: Store
    settings: PipelineSettings
    instance: DagsterInstance
    points: tuple[SupplyPoint, ...]

    def rerun(self) -> None:
        """Re-run LAST_DAY through the job, as `kraken-pipeline run` does."""
        config = {"ops": {"measurements_quality": {"config": {"as_of": CLOCK.isoformat()}}}}
        outcome = run_range(
            self.instance, self.settings, LAST_DAY, LAST_DAY, run_config={**config, **QUIET}
        )
        if not outcome.success:
            raise SystemExit(f"the re-run failed with {self.store.days} days stored: {outcome}")

    def client(self) -> KrakenClient:
        settings = self.settings
        return KrakenClient(
            KrakenSettings(
                client_id=DEMO_CLIENT_ID,
                client_secret=Secret(DEMO_CLIENT_SECRET),
                auth_url=settings.auth_url,
                api_url=settings.api_url,
                timezone=TIMEZONE,
            )
        )


def rerun_targets(
    stores: Sequence[Store], fleet: Fleet, emulator: Emulator, directory: Path
) -> list[RerunTarget]:
    """Every store with its settings and a fresh persistent Dagster instance."""
    first_stored = LAST_DAY - timedelta(days=max(store.days for store in stores))
    start = min(PipelineSettings().partitions_start, first_stored)  # the same in every store
    targets = []
    for store in stores:
        settings = PipelineSettings(
            auth_url=emulator.token_url,
            api_url=emulator.graphql_url,
            data_root=store.root,
            supply_points_path=fleet.csv,
            partitions_start=start,
        )
        home = directory / f"dagster_home-{store.days}"
        home.mkdir()
        instance = DagsterInstance.local_temp(str(home), {"telemetry": {"enabled": False}})
        targets.append(RerunTarget(store, settings, instance, fleet.points))
    return targets


def job_steps(target: RerunTarget) -> dict[str, Callable[[], object]]:
    """The job's work for one day, step by step, without Dagster (see assets.py, checks.py)."""
    root, points = target.store.root, target.points

    def land() -> object:
        with target.client() as client:
            return list(land_days(client, root, [LAST_DAY], points, TIMEZONE))

    def derive() -> object:
        return failed_blocking_checks(root, LAST_DAY) or derive_daily_consumption(root, LAST_DAY)

    def publish() -> object:
        return storage.ensure_warehouse(root, TIMEZONE)

    return {
        "fetch and write_day (land_days)": land,
        "write_supply_points": lambda: storage.write_supply_points(root, points),
        "ensure_warehouse, publishing the day": publish,
        "judge_day (7 rules, quality results)": lambda: judge_day(
            root, LAST_DAY, points, TIMEZONE, CLOCK
        ),
        "newest_complete_day (the freshness check)": lambda: newest_complete_day(
            root, COMPLETENESS_FLOOR
        ),
        "ensure_warehouse, publishing results": publish,
        "derive_daily_consumption": derive,
        "ensure_warehouse, publishing consumption": publish,
        "ensure_warehouse with nothing new": publish,
    }


def check_published(target: RerunTarget) -> None:
    """The views show the re-run day's files (no analyst held the warehouse open)."""
    root = target.store.root
    mirror = root / VIEWS_DIRECTORY
    for source in (
        storage.measurements_path(root, LAST_DAY),
        storage.fetch_log_path(root, LAST_DAY),
    ):
        linked = mirror / local(source).relative_to(root)
        if not os.path.samefile(str(source), linked):
            raise SystemExit(f"{linked} is not the stored {source}: the views were not refreshed")


# --- profiling: which functions grow with the stored days -------------------------------------


def cumulative_by_function(target: RerunTarget) -> dict[str, float]:
    """CPU seconds per function of kraken_pipeline, callees included, in one profiled re-run.

    CPU time, not wall time: other processes on a shared machine disturb it less.
    """
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    target.rerun()
    profile.disable()
    package = Path(kraken_pipeline.checks.__file__).parent
    totals: dict[str, float] = {}
    for (path, line, name), row in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
        if path.startswith(str(package)):
            key = f"{Path(path).relative_to(package.parent)}:{line} {name}"
            totals[key] = totals.get(key, 0.0) + row[3]
    return totals


def profile_growth(
    small: RerunTarget, large: RerunTarget, repeats: int = 3, shown: int = 10
) -> list[tuple[str, float, float]]:
    """(function, seconds with few days, with many) for the functions that grow most.

    Each figure is the least of `repeats` interleaved profiled re-runs, to shed interference.
    """
    least: dict[int, dict[str, float]] = {small.store.days: {}, large.store.days: {}}
    for _ in range(repeats):
        for target in (small, large):
            seen = least[target.store.days]
            for name, seconds in cumulative_by_function(target).items():
                seen[name] = min(seconds, seen.get(name, seconds))
    before, after = least[small.store.days], least[large.store.days]
    names = {name for name in {*before, *after} if not name.endswith(" run_range")}
    rows = [(name, before.get(name, 0.0), after.get(name, 0.0)) for name in names]
    rows.sort(key=lambda row: row[2] - row[1], reverse=True)
    return rows[:shown]


# --- reports -----------------------------------------------------------------------------------


def _met(value: float, target: float) -> str:
    return "met" if value <= target else "MISSED"


def profile_point(fleet: Fleet) -> str:
    """A half-hourly household import from the middle of the fleet (not the first in a file)."""
    households = [
        point.supply_point_id
        for point, profile in zip(fleet.points, fleet.profiles, strict=True)
        if profile == "household" and point.interval_seconds == 1800
    ]
    return households[len(households) // 2]


def report_queries(store: Store, fleet: Fleet, rows: int, scratch: Path, rounds: int) -> None:
    """Item 7: the analyst queries through the shipped views and on native tables."""
    root = store.root
    days = days_between(LAST_DAY - timedelta(days=store.days - 1), LAST_DAY)
    native_seconds = build_native(root, scratch / "native.duckdb")
    databases = {
        "native": scratch / "native.duckdb",
        "views": local(storage.warehouse_path(root)),
    }
    connections = {
        side: duckdb.connect(str(path), read_only=True) for side, path in databases.items()
    }
    try:
        queries = analyst_queries(days, profile_point(fleet))
        figures = time_queries(connections, queries, rounds)
    finally:
        for connection in connections.values():  # the re-runs below must find nobody connected
            connection.close()
    boundary = first_open_month(LAST_DAY)
    monthly = sorted(
        (root / VIEWS_DIRECTORY).glob(f"{MONTHLY_DIRECTORY}/month=*/measurements.parquet")
    )
    print(
        f"\nItem 7: analyst queries over {store.days} days x {len(fleet.points)} supply points "
        f"({rows:,} rows), medians of {rounds} interleaved rounds after one untimed; the views "
        "returned exactly the native tables' rows"
    )
    print(
        f"native tables loaded in {native_seconds:.1f} s; views: warehouse.duckdb as shipped, "
        f"{len(monthly)} closed months compacted (days before {boundary}), later days daily; "
        f"first publication of the store, compaction included: {store.first_publish:.1f} s"
    )
    print_query_table(figures, queries, ["views"])


def measure_recompaction(store: Store, rounds: int) -> Samples | None:
    """The refresh after a day of a closed month is written again: that month is compacted
    again (the day is rewritten with its own rows, outside the timing: new inodes).
    None when the store holds no closed month."""
    root = store.root
    closed = [day for day in storage.stored_days(root) if day < first_open_month(LAST_DAY)]
    if not closed:
        return None
    day = closed[len(closed) // 2]
    rows, fetch_log = storage.read_day(root, day), storage.read_fetch_log(root, day)
    if rows is None or fetch_log is None:
        raise SystemExit(f"{day} could not be read back from {root}")
    samples = Samples()
    for round_number in range(rounds + 1):
        storage.write_day(root, day, rows, fetch_log)
        with measured(samples if round_number else Samples()):
            storage.ensure_warehouse(root, TIMEZONE)
    return samples


def print_query_table(figures: QueryFigures, queries: Sequence[Query], sides: list[str]) -> None:
    print(
        f"{'query: ms, and ratio to native':<42}{'native':>7}"
        + "".join(f"{side:>14}" for side in sides)
    )
    worst = dict.fromkeys(sides, 0.0)
    for query in queries:
        native = figures.of(query, "native")
        cells = []
        for side in sides:
            ratio = figures.of(query, side).ratio_to(native)
            worst[side] = max(worst[side], ratio)
            cells.append(f"{figures.of(query, side).median * 1000:7.0f} {ratio:5.2f}x")
        print(f"{query.label:<42}{native.median * 1000:7.0f}" + "".join(cells))
    print(
        f"{'worst ratio (target <= ' + format(QUERY_TARGET, '.0f') + 'x)':<49}"
        + "".join(f"{worst[side]:13.2f}x" for side in sides)
    )
    print(f"{'':<49}" + "".join(f"{_met(worst[side], QUERY_TARGET):>14}" for side in sides))


@dataclass
class RerunFigures:
    """Samples per store: the job as shipped, and its steps one by one."""

    shipped: dict[int, Samples] = field(default_factory=dict)
    steps: dict[tuple[str, int], Samples] = field(default_factory=dict)


def measure_reruns(targets: Sequence[RerunTarget], rounds: int) -> RerunFigures:
    """Interleaved rounds (the first untimed) of the job, stores in rotating order."""
    figures = RerunFigures()
    for round_number in range(rounds + 1):
        for target in rotated(targets, round_number):
            chosen = figures.shipped
            samples = chosen.setdefault(target.store.days, Samples()) if round_number else Samples()
            with measured(samples):
                target.rerun()
            check_published(target)
    return figures


def measure_steps(targets: Sequence[RerunTarget], figures: RerunFigures, rounds: int) -> None:
    """The job's steps without Dagster, in the job's order, stores interleaved."""
    for round_number in range(rounds + 1):
        for target in rotated(targets, round_number):
            for label, step in job_steps(target).items():
                key = (label, target.store.days)
                samples = figures.steps.setdefault(key, Samples()) if round_number else Samples()
                with measured(samples):
                    step()


def report_reruns(stores: Sequence[Store], fleet: Fleet, scratch: Path, rounds: int) -> None:
    """Item 6: the re-run of one day with 1, 30 and N days stored."""
    with emulator_for(fleet) as emulator:
        targets = rerun_targets(stores, fleet, emulator, scratch)
        figures = measure_reruns(targets, rounds)
        measure_steps(targets, figures, rounds)
        growth = profile_growth(targets[0], targets[-1])
    recompaction = measure_recompaction(stores[-1], rounds)
    sizes = [store.days for store in stores]
    smallest, largest = sizes[0], sizes[-1]
    print(
        f"\nItem 6: re-running {LAST_DAY} ({len(fleet.points)} supply points) through the job "
        f"with {', '.join(map(str, sizes))} days stored; medians of {rounds} interleaved rounds "
        "after one untimed"
    )
    print(
        f"{'':<46}"
        + "".join(f"{f'{size} days':>10}" for size in sizes)
        + f"{f'{largest}/{smallest}':>10}"
    )
    chosen = figures.shipped
    base = chosen[smallest]
    ratio = chosen[largest].ratio_to(base)
    print(
        f"{'job run (s)':<46}"
        + "".join(f"{chosen[size].median:10.2f}" for size in sizes)
        + f"{ratio:9.2f}x  (target <= {RERUN_TARGET}: {_met(ratio, RERUN_TARGET)})"
    )
    cpu_ratio = chosen[largest].cpu_ratio_to(base)
    print(
        f"{'  process CPU (s)':<46}"
        + "".join(f"{chosen[size].median_cpu:10.2f}" for size in sizes)
        + f"{cpu_ratio:9.2f}x  (target <= {RERUN_TARGET}: {_met(cpu_ratio, RERUN_TARGET)})"
    )
    print("the job's steps without Dagster (ms):")
    for label in job_steps(targets[0]):
        row = [figures.steps[(label, size)].median * 1000 for size in sizes]
        print(
            f"  {label:<44}"
            + "".join(f"{value:10.1f}" for value in row)
            + f"{row[-1] - row[0]:+10.1f}"
        )
    if recompaction is not None:
        print(
            f"a day of a closed month written again ({largest} days stored): the refresh that "
            f"compacts its month again takes {recompaction.median * 1000:.0f} ms "
            f"(median of {rounds}, {recompaction.median_cpu * 1000:.0f} ms CPU)"
        )
    print(
        f"functions of kraken_pipeline growing most from {smallest} to {largest} days stored\n"
        "(cProfile, CPU s with callees, least of 3 re-runs each; it inflates Python-heavy code):"
    )
    for name, small, large in growth:
        print(f"  {large - small:+7.3f}  ({small:.3f} -> {large:.3f})  {name}")
    print("  (runner.run_range, the whole run, and Dagster's own frames are left out)")


def print_machine(options: argparse.Namespace) -> None:
    command = " ".join([os.path.relpath(sys.executable), *sys.argv])
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"command: {command}")
    print(
        f"machine: {cores} cores usable ({os.cpu_count()} online), {platform.machine()}, "
        f"load average {load}; Python {platform.python_version()}, duckdb {duckdb.__version__}, "
        f"pyarrow {pa.__version__}, dagster {dagster.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--days", type=int, default=365, help="days in the largest store")
    parser.add_argument("--supply-points", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds of the queries")
    parser.add_argument("--rerun-rounds", type=int, default=7, help="timed rounds of re-runs")
    options = parser.parse_args()
    if options.days < 2 or options.supply_points < 10:
        parser.error("use at least 2 days and 10 supply points")
    warnings.filterwarnings("ignore", category=BetaWarning)
    warnings.filterwarnings("ignore", category=PreviewWarning)
    # The emulator's published demo credentials, read by the job's resources as EnvVars.
    os.environ["KRAKEN_CLIENT_ID"] = DEMO_CLIENT_ID
    os.environ["KRAKEN_CLIENT_SECRET"] = DEMO_CLIENT_SECRET
    print_machine(options)
    sizes = sorted({*(size for size in SMALL_STORES if size < options.days), options.days})
    with tempfile.TemporaryDirectory(prefix="bench_warehouse-") as directory:
        scratch = Path(directory)
        fleet = make_fleet(options.supply_points, scratch)
        stores, rows, seconds = build_stores(fleet, scratch, sizes)
        print(
            f"stored {options.days} days x {options.supply_points} supply points ({rows:,} rows) "
            f"through storage.write_day etc. in {seconds:.1f} s, {BUILD_THREADS} threads; "
            f"stores of {', '.join(map(str, sizes))} days"
        )
        report_queries(stores[-1], fleet, rows, scratch, options.rounds)
        report_reruns(stores, fleet, scratch, options.rerun_rounds)
    print(f"load average at the end: {', '.join(f'{value:.1f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
