"""Supply points, measurement rows and fetch-log rows in memory, for judging a day's quality."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa

from kraken_pipeline.local_days import interval_starts
from kraken_pipeline.quality import (
    CheckOutcome,
    QualityConfig,
    check_completeness,
)
from kraken_pipeline.schema import FETCH_LOG_SCHEMA, MEASUREMENTS_SCHEMA
from kraken_pipeline.supply_points import ReadingDirection, SupplyPoint, Utility

TZ = "Europe/London"
ORDINARY_DAY = date(2026, 3, 10)
LONG_AFTER = datetime(2026, 12, 1, tzinfo=UTC)
CONFIG = QualityConfig()
Row = dict[str, Any]


def electricity(supply_point_id: str = "house-import", minutes: int = 30) -> SupplyPoint:
    frequency = {15: "FIFTEEN_MIN_INTERVAL", 30: "THIRTY_MIN_INTERVAL"}[minutes]
    return SupplyPoint(
        supply_point_id=supply_point_id,
        property_id="1000001",
        utility=Utility.ELECTRICITY,
        market_supply_point_id="1200012345679",
        reading_direction=ReadingDirection.CONSUMPTION,
        reading_frequency=frequency,
    )


def gas(supply_point_id: str = "house-gas") -> SupplyPoint:
    return SupplyPoint(supply_point_id, "1000001", Utility.GAS, "7654321")


def day_rows(
    point: SupplyPoint,
    day: date = ORDINARY_DAY,
    value: Decimal = Decimal("0.25"),
    unit: str | None = None,
    quality: str = "ACTUAL",
) -> list[Row]:
    """One clean row per interval of the point's local day."""
    length = timedelta(seconds=point.interval_seconds)
    return [
        {
            "supply_point_id": point.supply_point_id,
            "property_id": point.property_id,
            "utility": point.utility.value,
            "market_supply_point_id": point.market_supply_point_id,
            "reading_direction": point.reading_direction,
            "interval_start": start,
            "interval_end": start + length,
            "local_date": day,
            "value": value,
            "unit": unit or ("m3" if point.utility is Utility.GAS else "kWh"),
            "reading_quality": quality,
            "fetched_at": LONG_AFTER,
        }
        for start in interval_starts(day, TZ, point.interval_seconds)
    ]


def table(*row_lists: Iterable[Row]) -> pa.Table:
    return pa.Table.from_pylist(
        [row for rows in row_lists for row in rows], schema=MEASUREMENTS_SCHEMA
    )


def log_row(
    point: SupplyPoint,
    day: date = ORDINARY_DAY,
    error_code: str | None = None,
    fetched_at: datetime = LONG_AFTER,
) -> Row:
    return {
        "supply_point_id": point.supply_point_id,
        "local_date": day,
        "status": "failed" if error_code else "ok",
        "rows": 0 if error_code else 48,
        "intervals_expected": 48,
        "requests": 1,
        "error_code": error_code,
        "error_message": "Unauthorized." if error_code else None,
        "fetched_at": fetched_at,
    }


def fetch_log(*rows: Row) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=FETCH_LOG_SCHEMA)


def completeness(
    rows: pa.Table,
    points: list[SupplyPoint],
    day: date = ORDINARY_DAY,
    log: pa.Table | None = None,
    now: datetime = LONG_AFTER,
    config: QualityConfig = CONFIG,
) -> CheckOutcome:
    return check_completeness(day, rows, log or fetch_log(), points, TZ, now, config)
