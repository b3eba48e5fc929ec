"""Helpers of the Kraken client tests: a fake clock, planned requests, ground truth.

The `clock` fixture (kraken_pipeline_tests/conftest.py) is a FakeClock standing where the
`emulator` fixture's clock stands, 2026-11-20T12:00Z; its sleeps are instant and recorded.
`make_client` (integration/kraken/conftest.py) hands out clients of an emulator on that clock.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow.compute as pc

from kraken_pipeline.emulator import Emulator
from kraken_pipeline.kraken import KrakenClient, MeasurementsResult
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
