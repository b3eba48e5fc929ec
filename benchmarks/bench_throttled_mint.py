"""Benchmark: what a first token mint throttled with `Retry-After: 1` costs a whole run.

    .venv/bin/python benchmarks/bench_throttled_mint.py [--days 7] [--rounds 3]

`kraken-pipeline run`'s path without Dagster (`landing.land_days` into a temporary directory,
one KrakenClient with its default settings and real sleeps) against the embedded emulator's
demo data, side by side in one run: a clean run, and a run whose first request to the token
endpoint is answered 429 with `Retry-After: 1`. The difference should be about one second (the
wait Kraken asked for), not the 60 s cool-down kept for repeated throttling.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from pydantic import SecretStr

from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, Fault
from kraken_pipeline.kraken import KrakenClient, KrakenSettings
from kraken_pipeline.landing import land_days
from kraken_pipeline.local_days import days_between
from kraken_pipeline.settings import EXAMPLE_SUPPLY_POINTS
from kraken_pipeline.supply_points import load_supply_points

TIMEZONE = "Europe/London"


def one_run(emulator: Emulator, days: list[date], throttled: bool) -> float:
    """Seconds to land `days`, the first mint throttled or not."""
    emulator.reset()
    if throttled:
        emulator.faults.add(Fault("http_status", endpoint="token", status=429, retry_after=1))
    settings = KrakenSettings(
        client_id=DEMO_CLIENT_ID,
        client_secret=SecretStr(DEMO_CLIENT_SECRET),
        auth_url=emulator.token_url,
        api_url=emulator.graphql_url,
    )
    points = load_supply_points(EXAMPLE_SUPPLY_POINTS)
    with tempfile.TemporaryDirectory() as root, KrakenClient(settings) as client:
        started = time.monotonic()
        reports = list(land_days(client, Path(root), days, points, TIMEZONE))
        elapsed = time.monotonic() - started
    assert all(not report.failures for report in reports), "a supply point failed"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    with Emulator() as emulator:
        last = emulator.now().date() - timedelta(days=2)
        days = days_between(last - timedelta(days=arguments.days - 1), last)
        clean, throttled = [], []
        for _ in range(arguments.rounds):  # interleaved, so drift affects both alike
            clean.append(one_run(emulator, days, throttled=False))
            throttled.append(one_run(emulator, days, throttled=True))
    base, slow = statistics.median(clean), statistics.median(throttled)
    print(f"{arguments.days} days of the demo supply points, median of {arguments.rounds} rounds")
    print(f"  clean run:                        {base:6.2f} s")
    print(f"  first mint 429, Retry-After: 1:   {slow:6.2f} s")
    print(f"  cost of the throttled mint:       {slow - base:6.2f} s (Kraken asked for 1 s)")


if __name__ == "__main__":
    main()
