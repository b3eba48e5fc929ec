"""Benchmark: the lake's costs, side by side in one run: re-runs, analyst queries, landing.

    .venv/bin/python benchmarks/bench_warehouse.py [--days 365] [--supply-points 200]
                                                   [--rounds 7] [--rerun-rounds 5]

The machines are shared and noisy, so every comparison is interleaved (one sample of each side
per round, in rotating order) and each ratio is the median over rounds of the ratio within a
round; medians of the times are printed beside them, and process CPU time for the re-runs.

Stored data: synthetic but realistic, written through the pipeline's own functions, so the lake
holds exactly what a run commits. The supply points are the emulator's synthetic ones (half-hourly
and 15-minute imports, solar export, gas in m3 and in kWh, businesses), the values follow the
emulator's load shapes with noise, as exact decimals, days have 46/48/50 half-hours as the clocks
say, and some days are estimated. Each day is landed as the job lands it: `storage.write_day`
(measurements and fetch log, one commit), its quality results and its daily consumption (one
commit each). Two data roots are built: one holding only the newest day, one holding --days days.

(a) Re-running the newest day through the real Dagster job (`runner.run_range`, the path of
`kraken-pipeline run` and of the UI) against an in-process emulator (answers cached, an allowance
that never binds), with 1 and with --days days stored, and the day's `write_day` alone.
(b) The four analyst queries through `warehouse.connect()` (the lake attached read-only, as an
analyst opens it) against the same SQL on native DuckDB tables holding the same rows (copied from
the lake, `daily_totals` defined over them by the lake's own statement); every answer must match.
(c) Landing a year: the seconds per day of the three commits, over the first and the last 30 days
written (does a day cost more as the lake grows?), and what the lake holds afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster
import duckdb
import numpy as np
import pyarrow as pa
from dagster import BetaWarning, DagsterInstance, PreviewWarning

from kraken_pipeline import quality, storage, warehouse
from kraken_pipeline.cli.runner import run_range
from kraken_pipeline.consumption import daily_consumption
from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, EmulatorConfig
from kraken_pipeline.emulator.dataset import Dataset, synthetic_dataset, write_supply_points_csv
from kraken_pipeline.emulator.loadshapes import KWH_PER_M3, mean_powers
from kraken_pipeline.local_days import day_bounds, days_between, expected_interval_count
from kraken_pipeline.schema import FETCH_LOG_SCHEMA, MEASUREMENTS_SCHEMA, VALUE_TYPE
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline.supply_points import SupplyPoint, load_supply_points
from kraken_pipeline.warehouse import lake
from kraken_pipeline.warehouse.tables import literal
from kraken_pipeline.warehouse.views import view_statements

TIMEZONE = "Europe/London"
CLOCK = datetime(2026, 11, 20, 12, tzinfo=UTC)  # the emulator's fixed "now"
LAST_DAY = CLOCK.date() - timedelta(days=3)  # published by then; the day that is re-run
QUERY_TARGET = 2.0
RERUN_TARGET = 1.5
LANDING_WINDOW = 30  # days at the start and at the end of the year whose landing is compared
NATIVE_TABLES = ("measurements", "fetch_log", "supply_points")
_MICRO = 1_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_INSTANT = MEASUREMENTS_SCHEMA.field("interval_start").type


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
        return statistics.median(a / b for a, b in zip(self.wall, base.wall, strict=True))

    def cpu_ratio_to(self, base: Samples) -> float:
        return statistics.median(a / b for a, b in zip(self.cpu, base.cpu, strict=True))


@contextmanager
def measured(samples: Samples) -> Iterator[None]:
    """Add the block's wall and process CPU time (every thread of this process) to samples."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    samples.add(time.perf_counter() - wall, time.process_time() - cpu)


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


@dataclass
class LandedDay:
    """Seconds spent landing one day: its write_day, and all three commits."""

    write_day: float
    total: float
    rows: int


def store_day(root: Path, fleet: Fleet, day: date) -> LandedDay:
    """Land one day as the job does: measurements and fetch log, quality results, consumption."""
    rng = np.random.default_rng(day.toordinal())  # the same values in every store
    fetched_at = datetime.combine(day + timedelta(days=2), datetime.min.time(), UTC)
    measurements, fetch_log = day_tables(fleet, day, rng, fetched_at)
    began = time.perf_counter()
    written = storage.write_day(root, day, measurements, fetch_log)
    wrote = time.perf_counter()
    outcomes = quality.evaluate_day(
        day, measurements, fetch_log, fleet.points, TIMEZONE, fetched_at
    )
    storage.write_quality_results(root, day, quality.outcomes_to_table(outcomes, fetched_at))
    storage.write_daily_consumption(root, day, daily_consumption(measurements, fetch_log))
    return LandedDay(wrote - began, time.perf_counter() - began, written.rows)


@dataclass(frozen=True)
class Store:
    """A data root holding the newest `days` days, and what landing each of them cost."""

    days: int
    root: Path
    landed: tuple[LandedDay, ...]


def build_store(fleet: Fleet, root: Path, days: int) -> Store:
    """Land the newest `days` days one after the other, oldest first, as a backfill does."""
    warehouse.ensure_warehouse(root, TIMEZONE)
    storage.write_supply_points(root, fleet.points)
    first = LAST_DAY - timedelta(days=days - 1)
    landed = tuple(store_day(root, fleet, day) for day in days_between(first, LAST_DAY))
    return Store(days, root, landed)


# --- (b) analyst queries: the lake against native tables ---------------------------------------


@dataclass(frozen=True)
class Query:
    """An analyst's question, as SQL over the lake's names, with its parameters."""

    label: str
    sql: str
    parameters: Mapping[str, object]


def analyst_queries(days: Sequence[date], supply_point_id: str) -> list[Query]:
    """Three questions analysts ask, plus the README's daily_totals view for the same month."""
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


def build_native(root: Path, database: Path) -> float:
    """A DuckDB file with the lake's rows as native tables and the same daily_totals; seconds."""
    began = time.perf_counter()
    with closing(warehouse.connect(root)) as source:
        source.execute(f"ATTACH {literal(str(database))} AS native")
        for table in NATIVE_TABLES:
            # Names are this script's own constants; DDL takes no parameters.
            source.execute(f"CREATE TABLE native.{table} AS SELECT * FROM kraken.{table}")  # noqa: S608
        source.execute("DETACH native")
    with closing(duckdb.connect(str(database))) as native:
        native.execute(view_statements(TIMEZONE)[0])  # daily_totals, as the lake defines it
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
    """Interleaved rounds (the first one untimed); the lake must answer as the native tables."""
    figures = QueryFigures()
    for round_number in range(rounds + 1):
        for query in queries:
            answers = {}
            for side in rotated(list(connections), round_number):
                samples = figures.of(query, side) if round_number else Samples()
                with measured(samples):
                    answers[side] = (
                        connections[side].execute(query.sql, query.parameters).fetchall()
                    )
            if answers["lake"] != answers["native"]:
                raise SystemExit(f"the lake answered {query.label!r} unlike the native tables")
    return figures


def profile_point(fleet: Fleet) -> str:
    """A half-hourly household import from the middle of the fleet (not the first in a file)."""
    households = [
        point.supply_point_id
        for point, profile in zip(fleet.points, fleet.profiles, strict=True)
        if profile == "household" and point.interval_seconds == 1800
    ]
    return households[len(households) // 2]


def _met(value: float, target: float) -> str:
    return "met" if value <= target else "MISSED"


def report_queries(store: Store, fleet: Fleet, scratch: Path, rounds: int) -> None:
    """(b): the analyst queries through warehouse.connect() and on native tables."""
    native_seconds = build_native(store.root, scratch / "native.duckdb")
    connections = {
        "lake": warehouse.connect(store.root),
        "native": duckdb.connect(str(scratch / "native.duckdb"), read_only=True),
    }
    days = days_between(LAST_DAY - timedelta(days=store.days - 1), LAST_DAY)
    queries = analyst_queries(days, profile_point(fleet))
    try:
        figures = time_queries(connections, queries, rounds)
    finally:
        for connection in connections.values():
            connection.close()
    rows = sum(day.rows for day in store.landed)
    print(
        f"\n(b) analyst queries over {store.days} days x {len(fleet.points)} supply points "
        f"({rows:,} rows), medians of {rounds} interleaved rounds after one untimed; the lake "
        f"returned exactly the native tables' rows (native tables copied in {native_seconds:.1f} s)"
    )
    print(f"{'query':<46}{'native ms':>10}{'lake ms':>10}{'lake/native':>13}")
    worst = 0.0
    for query in queries:
        native, ours = figures.of(query, "native"), figures.of(query, "lake")
        ratio = ours.ratio_to(native)
        worst = max(worst, ratio)
        print(
            f"{query.label:<46}{native.median * 1000:10.1f}{ours.median * 1000:10.1f}{ratio:12.2f}x"
        )
    print(f"worst ratio {worst:.2f}x (target <= {QUERY_TARGET:.0f}x: {_met(worst, QUERY_TARGET)})")


# --- (a) re-running one day when 1 and N days are stored ---------------------------------------

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
    fleet: Fleet

    def rerun(self) -> None:
        """Re-run LAST_DAY through the job, as `kraken-pipeline run` does."""
        config = {"ops": {"measurements_quality": {"config": {"as_of": CLOCK.isoformat()}}}}
        outcome = run_range(
            self.instance, self.settings, LAST_DAY, LAST_DAY, run_config={**config, **QUIET}
        )
        if not outcome.success:
            raise SystemExit(f"the re-run failed with {self.store.days} days stored: {outcome}")

    def rewrite(self) -> None:
        """The day's measurements and fetch log committed again, without Dagster or a fetch."""
        store_day(self.store.root, self.fleet, LAST_DAY)


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
        targets.append(RerunTarget(store, settings, instance, fleet))
    return targets


def measure(targets: Sequence[RerunTarget], work: str, rounds: int) -> dict[int, Samples]:
    """Interleaved rounds (the first untimed) of one kind of work, stores in rotating order."""
    figures: dict[int, Samples] = {}
    for round_number in range(rounds + 1):
        for target in rotated(targets, round_number):
            samples = (
                figures.setdefault(target.store.days, Samples()) if round_number else Samples()
            )
            with measured(samples):
                getattr(target, work)()
    return figures


def report_reruns(stores: Sequence[Store], fleet: Fleet, scratch: Path, rounds: int) -> None:
    """(a): the re-run of one day with 1 and N days stored."""
    with emulator_for(fleet) as emulator:
        targets = rerun_targets(stores, fleet, emulator, scratch)
        jobs = measure(targets, "rerun", rounds)
        rewrites = measure(targets, "rewrite", rounds)
    small, large = stores[0].days, stores[-1].days
    print(
        f"\n(a) re-running {LAST_DAY} ({len(fleet.points)} supply points) with {small} and "
        f"{large} days stored; medians of {rounds} interleaved rounds after one untimed"
    )
    print(f"{'':<44}{f'{small} day(s)':>12}{f'{large} days':>12}{f'{large}/{small}':>10}")
    for label, figures, cpu in (
        ("job run, wall (s)", jobs, False),
        ("job run, process CPU (s)", jobs, True),
        ("the day landed again without Dagster (s)", rewrites, False),
    ):
        base, grown = figures[small], figures[large]
        ratio = grown.cpu_ratio_to(base) if cpu else grown.ratio_to(base)
        values = (base.median_cpu, grown.median_cpu) if cpu else (base.median, grown.median)
        print(
            f"{label:<44}{values[0]:12.3f}{values[1]:12.3f}{ratio:9.2f}x"
            f"  (target <= {RERUN_TARGET}: {_met(ratio, RERUN_TARGET)})"
        )


# --- (c) what landing a year costs --------------------------------------------------------------


def report_landing(store: Store) -> None:
    """(c): seconds per day landed, early and late in the year, and the lake's size after."""
    window = min(LANDING_WINDOW, len(store.landed) // 2)
    early, late = store.landed[:window], store.landed[-window:]
    files = list((store.root / lake.DATA_DIRECTORY).rglob("*.parquet"))
    catalog = store.root / lake.CATALOG_FILE
    total = sum(day.total for day in store.landed)
    print(
        f"\n(c) landing {store.days} days one after the other: {total:.1f} s in all, "
        f"{total / store.days * 1000:.0f} ms a day (write_day "
        f"{statistics.median(day.write_day for day in store.landed) * 1000:.0f} ms median)"
    )
    for label, days in (("first", early), ("last", late)):
        landing = statistics.median(d.total for d in days) * 1000
        writing = statistics.median(d.write_day for d in days) * 1000
        print(f"  the {label} {window} days: {landing:.0f} ms a day (write_day {writing:.0f} ms)")
    growth = statistics.median(d.total for d in late) / statistics.median(d.total for d in early)
    print(
        f"  last/first: {growth:.2f}x; the lake afterwards: {len(files):,} Parquet files, "
        f"{sum(path.stat().st_size for path in files) / 2**20:.1f} MiB, catalog "
        f"{catalog.stat().st_size / 2**20:.1f} MiB"
    )


def print_machine() -> None:
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
    parser.add_argument("--days", type=int, default=365, help="days in the larger store")
    parser.add_argument("--supply-points", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds of the queries")
    parser.add_argument("--rerun-rounds", type=int, default=5, help="timed rounds of re-runs")
    options = parser.parse_args()
    if options.days < 2 or options.supply_points < 10:
        parser.error("use at least 2 days and 10 supply points")
    warnings.filterwarnings("ignore", category=BetaWarning)
    warnings.filterwarnings("ignore", category=PreviewWarning)
    # The emulator's published demo credentials, read by the job's resources as EnvVars.
    os.environ["KRAKEN_CLIENT_ID"] = DEMO_CLIENT_ID
    os.environ["KRAKEN_CLIENT_SECRET"] = DEMO_CLIENT_SECRET
    os.environ.pop(lake.CATALOG_VARIABLE, None)  # each store's own SQLite catalog
    print_machine()
    with tempfile.TemporaryDirectory(prefix="bench_warehouse-") as directory:
        scratch = Path(directory)
        fleet = make_fleet(options.supply_points, scratch)
        stores = [build_store(fleet, scratch / f"store-{days}", days) for days in (1, options.days)]
        report_landing(stores[-1])
        report_queries(stores[-1], fleet, scratch, options.rounds)
        report_reruns(stores, fleet, scratch, options.rerun_rounds)
    print(f"load average at the end: {', '.join(f'{value:.1f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
