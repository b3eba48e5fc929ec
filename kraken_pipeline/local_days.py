"""Local days in a tenant's time zone: their UTC bounds and how many intervals they hold.

A GB settlement day has 48 half-hours, 46 on the spring clock change and 50 on the autumn one;
every count here comes from the time zone, never from a constant.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; raises ValueError naming the zone when it is unknown."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/London"
        ) from exc


def day_bounds(local_date: date, tz: str) -> tuple[datetime, datetime]:
    """UTC instants of local midnight at the start and at the end of a local day: [start, end)."""
    info = zone(tz)
    start = datetime.combine(local_date, time(), tzinfo=info)
    end = datetime.combine(local_date + timedelta(days=1), time(), tzinfo=info)
    return start.astimezone(UTC), end.astimezone(UTC)


def range_bounds(first_day: date, last_day: date, tz: str) -> tuple[datetime, datetime]:
    """UTC instants bounding the local days first_day..last_day inclusive: [start, end)."""
    return day_bounds(first_day, tz)[0], day_bounds(last_day, tz)[1]


def day_length_seconds(local_date: date, tz: str) -> int:
    """Seconds in a local day: 86,400, or an hour less or more on a clock change."""
    start, end = day_bounds(local_date, tz)
    return int((end - start).total_seconds())


def expected_interval_count(local_date: date, tz: str, interval_seconds: int) -> int:
    """How many intervals of a fixed length fill a local day (46/48/50 half-hours in London)."""
    return day_length_seconds(local_date, tz) // interval_seconds


def interval_starts(local_date: date, tz: str, interval_seconds: int) -> Iterator[datetime]:
    """The UTC start of every interval of a local day, in order."""
    start, end = day_bounds(local_date, tz)
    step = timedelta(seconds=interval_seconds)
    current = start
    while current < end:
        yield current
        current += step


def local_date_of(instant: datetime, tz: str) -> date:
    """The local date on which an aware instant falls in a time zone."""
    if instant.tzinfo is None:
        raise ValueError(f"{instant.isoformat()} has no UTC offset; instants must be aware")
    return instant.astimezone(zone(tz)).date()


def days_between(first_day: date, last_day: date) -> list[date]:
    """Every date from first_day to last_day inclusive."""
    if last_day < first_day:
        raise ValueError(f"the end {last_day} is before the start {first_day}")
    return [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
