"""Benchmark: raw GraphQL answers to Parquet files, against the bare json.loads baseline.

    .venv/bin/python benchmarks/bench_parse_write.py [--supply-points 200] [--days 28] [--repeat 3]

First the real client fetches the window from the emulator (in 7-day chunks,
as the pipeline does) and the exact bodies of its measurement answers are kept. Then, with no
network involved, the same bytes go to Parquet two ways, interleaved, best of `--repeat`:

(a) ours: the client's decoder (msgspec into typed Structs), `parse_page` for
    every alias (exact decimals, UTC instants, window and series filters), `fold_pages`
    (de-duplication) and `landing.land_days`, which joins each day's rows to their supply points'
    columns and writes the day's measurements and fetch log through `storage.write_day` (merge
    rules, atomic replace, fsync);
(b) the baseline: `json.loads`, a Python loop over the nodes that builds the same columns
    (Decimal values, UTC datetimes, the supply point's attributes), `pa.Table.from_pydict` with
    the same schema, and one `pyarrow.parquet.write_table` per day. It validates nothing,
    de-duplicates nothing and does not make its files durable.

Both produce the same rows (checked). Target: (a) within 1.5x of (b)'s time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator_process import CLOCK, emulator_process
from pydantic import SecretStr

from kraken_pipeline import landing
from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from kraken_pipeline.emulator.dataset import synthetic_dataset, write_supply_points_csv
from kraken_pipeline.kraken import KrakenClient, KrakenSettings, MeasurementsResult
from kraken_pipeline.kraken import measurements as fetching
from kraken_pipeline.kraken.parsing import fold_pages
from kraken_pipeline.kraken.planning import Target
from kraken_pipeline.kraken.queries import alias
from kraken_pipeline.kraken.wire import Node
from kraken_pipeline.local_days import days_between, local_date_of, range_bounds
from kraken_pipeline.schema import MEASUREMENTS_SCHEMA
from kraken_pipeline.supply_points import SupplyPoint, load_supply_points

TIMEZONE = "Europe/London"
CHUNK_DAYS = 7
LAST_DAY = CLOCK.date() - timedelta(days=2)


@dataclass
class Answer:
    """One measurement answer as received, and what the client parsed from each alias."""

    aliases: int
    body: bytes
    pages: list[tuple[Target, datetime, int]] = field(default_factory=list)


@dataclass
class Chunk:
    """One chunk's fetch: its answers, and the client's result (outcomes, requests)."""

    start: datetime
    end: datetime
    answers: list[Answer]
    result: MeasurementsResult


def capture(
    settings: KrakenSettings, points: Sequence[SupplyPoint], days: list[date]
) -> list[Chunk]:
    """Fetch the days in 7-day chunks with the real client, keeping every answer's bytes."""
    current = threading.local()
    real_decoder, real_parse = fetching.measurement_decoder, fetching.parse_page

    def keeping_decoder(count: int) -> Callable[[bytes], Any]:
        decode = real_decoder(count)

        def keep(body: bytes) -> Any:
            current.answer = Answer(count, body)
            answers.append(current.answer)
            return decode(body)

        return keep

    def noting_parse(
        nodes: Sequence[Node],
        target: Target,
        index: Any,
        fetched_at: datetime,
        arrival: int,
        *,
        timezone: str,
    ) -> Any:
        current.answer.pages.append((target, fetched_at, arrival))
        return real_parse(nodes, target, index, fetched_at, arrival, timezone=timezone)

    fetching.measurement_decoder, fetching.parse_page = keeping_decoder, noting_parse  # type: ignore[assignment]
    chunks: list[Chunk] = []
    try:
        with KrakenClient(settings) as client:
            for offset in range(0, len(days), CHUNK_DAYS):
                chunk = days[offset : offset + CHUNK_DAYS]
                start, end = range_bounds(chunk[0], chunk[-1], TIMEZONE)
                answers: list[Answer] = []
                result = client.fetch_measurements(points, start, end)
                chunks.append(Chunk(start, end, answers, result))
    finally:
        fetching.measurement_decoder, fetching.parse_page = real_decoder, real_parse
    return chunks


class ReplayClient:
    """Stands in for KrakenClient in `land_days`: decodes and parses the kept answers again."""

    def __init__(self, chunks: list[Chunk], points: Sequence[SupplyPoint]) -> None:
        self._chunks = {(chunk.start, chunk.end): chunk for chunk in chunks}
        self._index = {point.supply_point_id: i for i, point in enumerate(points)}

    def fetch_measurements(
        self, points: Sequence[SupplyPoint], start: datetime, end: datetime
    ) -> MeasurementsResult:
        chunk = self._chunks[(start, end)]
        tables = []
        for answer in chunk.answers:
            _errors, data = fetching.measurement_decoder(answer.aliases)(answer.body)
            for number, (target, fetched_at, arrival) in enumerate(answer.pages):
                page = data[alias(number)]
                rows = fetching.parse_page(
                    page.nodes, target, self._index, fetched_at, arrival, timezone=TIMEZONE
                )
                tables.append(rows.table)
        rows = fold_pages(tables, points).rows
        return MeasurementsResult(
            rows, chunk.result.outcomes, chunk.result.requests, chunk.result.fetched_at
        )


def ours(chunks: list[Chunk], points: Sequence[SupplyPoint], days: list[date], root: Path) -> int:
    """Answers to Parquet through the client's parser and the pipeline's landing."""
    reports = landing.land_days(ReplayClient(chunks, points), root, days, points, TIMEZONE)  # type: ignore[arg-type]
    return sum(report.rows for report in reports)


def baseline(chunks: list[Chunk], points: Sequence[SupplyPoint], root: Path) -> int:
    """json.loads, a loop over the nodes, from_pydict with the same schema, write_table per day."""
    by_series = {
        (p.market_supply_point_id, p.reading_direction.value if p.reading_direction else None): p
        for p in points
    }
    columns: dict[date, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for chunk in chunks:
        fetched_at = chunk.result.fetched_at
        for answer in chunk.answers:
            data = json.loads(answer.body)["data"]
            for number in range(answer.aliases):
                for edge in data[alias(number)]["measurements"]["edges"]:
                    node = edge["node"]
                    filters = node["metaData"]["utilityFilters"]
                    direction = filters.get("readingDirection")
                    point = by_series[(filters["marketSupplyPointId"], direction)]
                    start = datetime.fromisoformat(node["startAt"])
                    day = local_date_of(start, TIMEZONE)
                    row = columns[day]
                    row["supply_point_id"].append(point.supply_point_id)
                    row["property_id"].append(point.property_id)
                    row["utility"].append(point.utility.value)
                    row["market_supply_point_id"].append(point.market_supply_point_id)
                    row["device_id"].append(point.device_id)
                    row["reading_direction"].append(direction)
                    row["interval_start"].append(start)
                    row["interval_end"].append(datetime.fromisoformat(node["endAt"]))
                    row["local_date"].append(day)
                    row["value"].append(Decimal(node["value"]))
                    row["unit"].append(node["unit"])
                    row["reading_quality"].append(filters.get("readingQuality"))
                    row["source"].append(node["source"])
                    row["fetched_at"].append(fetched_at)
    rows = 0
    for day, values in sorted(columns.items()):
        table = pa.Table.from_pydict(values, schema=MEASUREMENTS_SCHEMA)
        pq.write_table(table, root / f"{day.isoformat()}.parquet")
        rows += table.num_rows
    return rows


def timed(run: Callable[[Path], int]) -> tuple[float, int]:
    """Seconds one run takes into a fresh directory, and the rows it wrote."""
    with tempfile.TemporaryDirectory() as root:
        began = time.perf_counter()
        rows = run(Path(root))
        return time.perf_counter() - began, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--supply-points", type=int, default=200)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    days = days_between(LAST_DAY - timedelta(days=options.days - 1), LAST_DAY)
    with tempfile.TemporaryDirectory() as scratch:
        csv = write_supply_points_csv(
            synthetic_dataset(options.supply_points), Path(scratch) / "sp.csv"
        )
        points = load_supply_points(csv)
    with emulator_process(options.supply_points, 0) as server:
        settings = KrakenSettings(
            client_id=DEMO_CLIENT_ID,
            client_secret=SecretStr(DEMO_CLIENT_SECRET),
            auth_url=server.urls.token,
            api_url=server.urls.graphql,
            timezone=TIMEZONE,
        )
        chunks = capture(settings, points, days)
    answers = [answer for chunk in chunks for answer in chunk.answers]
    megabytes = sum(len(answer.body) for answer in answers) / 1e6
    print(
        f"{os.cpu_count()} CPU(s); {len(points)} supply points x {len(days)} days: "
        f"{len(answers)} answers, {megabytes:.0f} MB of JSON; best of {options.repeat}"
    )
    timings: dict[str, list[tuple[float, int]]] = {"ours": [], "baseline": []}
    for _ in range(options.repeat):  # interleaved, so that both see the same machine
        timings["ours"].append(timed(lambda root: ours(chunks, points, days, root)))
        timings["baseline"].append(timed(lambda root: baseline(chunks, points, root)))
    (our_time, our_rows), (base_time, base_rows) = (min(timings[k]) for k in ("ours", "baseline"))
    print(
        f"(a) ours: decode, parse, de-duplicate, land_days  {our_time:6.2f} s  "
        f"{our_rows / our_time:10,.0f} rows/s  ({our_rows:,} rows)"
    )
    print(
        f"(b) baseline: json.loads, loop, from_pydict, write  {base_time:6.2f} s  "
        f"{base_rows / base_time:10,.0f} rows/s  ({base_rows:,} rows)"
    )
    if our_rows != base_rows:
        print(f"note: row counts differ ({our_rows} vs {base_rows}): the baseline keeps duplicates")
    print(f"ours / baseline time: {our_time / base_time:.2f}  (target <= 1.5)")


if __name__ == "__main__":
    main()
