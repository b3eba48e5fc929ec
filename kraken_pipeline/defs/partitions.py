"""Daily partitions in the tenant's time zone, and the windows the schedule re-pulls."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dagster import DailyPartitionsDefinition, PartitionKeyRange

from kraken_pipeline.local_days import local_date_of

PARTITION_DATE_FORMAT = "%Y-%m-%d"


def daily_partitions(start: date, timezone: str) -> DailyPartitionsDefinition:
    """One partition per local day from `start`; the last one is the last complete day."""
    return DailyPartitionsDefinition(start_date=start.isoformat(), timezone=timezone)


def partition_key(day: date) -> str:
    """The partition key of a local day."""
    return day.isoformat()


def partition_date(key: str) -> date:
    """The local day a partition key names."""
    return date.fromisoformat(key)


def trailing_days(now: datetime, timezone: str, days: int, first_allowed: date) -> list[date]:
    """The `days` complete local days before `now`, oldest first, never before `first_allowed`."""
    # A trailing window, not only yesterday: Kraken publishes a day or two late and restates.
    today = local_date_of(now, timezone)
    window = [today - timedelta(days=n) for n in range(days, 0, -1)]
    return [day for day in window if day >= first_allowed]


def key_range(days: list[date]) -> PartitionKeyRange:
    """The partition key range spanning consecutive days."""
    return PartitionKeyRange(start=partition_key(days[0]), end=partition_key(days[-1]))
