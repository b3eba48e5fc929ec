"""A stored day's tables (measurements, fetch log) built in memory, as a run would write them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from kraken_pipeline.local_days import interval_starts
from kraken_pipeline.schema import (
    FETCH_LOG_SCHEMA,
    MEASUREMENTS_SCHEMA,
)

TZ = "Europe/London"
DAY = date(2026, 3, 10)
FETCHED_AT = datetime(2026, 3, 12, 7, 0, tzinfo=UTC)
EXAMPLE_CSV = Path(__file__).resolve().parents[2] / "data" / "supply_points.example.csv"


def measurements_table(
    day: date,
    supply_point_ids: Iterable[str],
    *,
    interval_seconds: int = 1800,
    intervals: int | None = None,
    first_value: Decimal = Decimal("0.125"),
    estimates: int = 0,
) -> pa.Table:
    """Rows of the given supply points on a local day; the first `estimates` are ESTIMATEs."""
    rows = []
    starts = list(interval_starts(day, TZ, interval_seconds))[:intervals]
    for supply_point_id in supply_point_ids:
        for number, start in enumerate(starts):
            rows.append(
                {
                    "supply_point_id": supply_point_id,
                    "property_id": "1000001",
                    "utility": "electricity",
                    "market_supply_point_id": "1200012345679",
                    "device_id": "12-AB-34-CD-56-EF-78-01",
                    "reading_direction": "CONSUMPTION",
                    "interval_start": start,
                    "interval_end": start + timedelta(seconds=interval_seconds),
                    "local_date": day,
                    "value": first_value + Decimal(number) / 1000,
                    "unit": "kWh",
                    "reading_quality": "ESTIMATE" if number < estimates else "ACTUAL",
                    "source": "SMART_METER",
                    "fetched_at": FETCHED_AT,
                }
            )
    return pa.Table.from_pylist(rows, schema=MEASUREMENTS_SCHEMA)


def fetch_log_table(
    day: date, rows_by_point: Mapping[str, int], *, expected: int = 48, failed: Iterable[str] = ()
) -> pa.Table:
    """One fetch log row per supply point; the `failed` ones carry KT-CT-1111."""
    failures = set(failed)
    return pa.Table.from_pylist(
        [
            {
                "supply_point_id": supply_point_id,
                "local_date": day,
                "status": "failed" if supply_point_id in failures else "ok",
                "rows": rows,
                "intervals_expected": expected,
                "requests": 1,
                "error_code": "KT-CT-1111" if supply_point_id in failures else None,
                "error_message": "Unauthorized." if supply_point_id in failures else None,
                "fetched_at": FETCHED_AT,
            }
            for supply_point_id, rows in rows_by_point.items()
        ],
        schema=FETCH_LOG_SCHEMA,
    )


def day_tables(
    day: date, supply_point_ids: Iterable[str], first_value: Decimal = Decimal("0.125")
) -> tuple[pa.Table, pa.Table]:
    """A complete day of every supply point listed, and its fetch log."""
    ids = list(supply_point_ids)
    table = measurements_table(day, ids, first_value=first_value)
    intervals = table.num_rows // len(ids) if ids else 0
    return table, fetch_log_table(day, dict.fromkeys(ids, intervals), expected=intervals)
