"""Fixtures and helpers of the Kraken client tests: a fake clock, clients, ground truth.

The emulators come from kraken_pipeline_tests/conftest.py: `emulator` serves the demo dataset
on a clock fixed at 2026-11-20T12:00Z, `start_emulator` starts others with other limits, grants
or latency. The fake clock starts at the same instant; its sleeps are instant and recorded.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest
from pydantic import SecretStr

from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator
from kraken_pipeline.kraken import KrakenClient, KrakenSettings, MeasurementsResult
from kraken_pipeline.kraken.planning import Target, plan_requests
from kraken_pipeline.kraken.queries import RATE_LIMIT_COMPLEXITY
from kraken_pipeline.kraken.ratelimit import PointsAllowance
from kraken_pipeline.local_days import range_bounds
from kraken_pipeline.supply_points import SupplyPoint, Utility, load_supply_points


class FakeClock:
    """now/monotonic/sleep for a client: sleeping advances time at once and is recorded."""

    def __init__(self, start: datetime) -> None:
        self._lock = threading.Lock()
        self._now = start
        self._monotonic = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._monotonic

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        with self._lock:
            self.sleeps.append(seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._monotonic += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock starting where the emulator fixture's clock stands."""
    return FakeClock(datetime(2026, 11, 20, 12, tzinfo=UTC))


@pytest.fixture
def make_client(clock: FakeClock) -> Iterator[Callable[..., KrakenClient]]:
    """Clients of an emulator with the demo credentials, the fake clock and instant sleeps."""
    clients: list[KrakenClient] = []

    def make(emulator: Emulator, **overrides: Any) -> KrakenClient:
        values: dict[str, Any] = {
            "client_id": DEMO_CLIENT_ID,
            "client_secret": SecretStr(DEMO_CLIENT_SECRET),
            "auth_url": emulator.token_url,
            "api_url": emulator.graphql_url,
            "points_per_hour": 300_000,  # no rateLimitInfo call unless a test asks for it
        }
        values.update(overrides)
        client = KrakenClient(
            KrakenSettings(**values),
            now=clock.now,
            monotonic=clock.monotonic,
            sleep=clock.sleep,
            rng=random.Random(3),
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


DEMO_POINTS = load_supply_points(Path(__file__).parents[2] / "data" / "supply_points.example.csv")
_UNITS = {"kwh": "kWh", "m3": "m3"}

Row = tuple[datetime, datetime, Decimal, str, str | None, str]


def window(first: date, last: date | None = None) -> tuple[datetime, datetime]:
    """UTC bounds of local days first..last in London."""
    return range_bounds(first, last or first, "Europe/London")


def planned_requests(
    client: KrakenClient, points: Sequence[SupplyPoint], start: datetime, end: datetime
) -> list[list[Target]]:
    """The requests a client plans for a fetch with its own settings (no request on the wire)."""
    settings = client.settings
    return plan_requests(
        points,
        start,
        end,
        page_size=settings.page_size,
        properties_per_request=settings.properties_per_request,
        reserve_in_first=RATE_LIMIT_COMPLEXITY if settings.points_per_hour is None else 0,
    )


def expected_rows(
    emulator: Emulator, point: SupplyPoint, start: datetime, end: datetime
) -> list[Row]:
    """What the emulator serves for a supply point, as contract row values."""
    readings = emulator.expected_readings(
        point.property_id,
        point.market_supply_point_id,
        point.reading_direction,
        point.reading_frequency,
        start,
        end,
    )
    is_gas = point.utility is Utility.GAS
    return [
        (
            r.start,
            r.end,
            r.value,
            _UNITS.get(r.unit.lower(), r.unit),
            None if is_gas else r.quality,
            r.source,
        )
        for r in readings
    ]


def fetched_rows(result: MeasurementsResult, point: SupplyPoint) -> list[Row]:
    """The rows a fetch returned for one supply point, as comparable tuples."""
    table = result.table
    mine = table.filter(pc.equal(table["supply_point_id"], point.supply_point_id))
    columns = ["interval_start", "interval_end", "value", "unit", "reading_quality", "source"]
    return list(zip(*(mine[name].to_pylist() for name in columns), strict=True))


def assert_matches_emulator(
    emulator: Emulator,
    result: MeasurementsResult,
    start: datetime,
    end: datetime,
    points: Sequence[SupplyPoint] = DEMO_POINTS,
) -> None:
    """Every row equals the emulator's ground truth, to the last decimal; nothing is missing."""
    for point in points:
        assert fetched_rows(result, point) == expected_rows(emulator, point, start, end), point


def reading(
    clock: FakeClock, remaining: int, *, refill_in: float = 1800, blocked: bool = False
) -> PointsAllowance:
    """What rateLimitInfo would say now of an allowance of 1,000 points an hour."""
    return PointsAllowance(
        limit=1000,
        remaining=remaining,
        used=1000 - remaining,
        refill_at=clock.now() + timedelta(seconds=refill_in),
        blocked=blocked,
    )
