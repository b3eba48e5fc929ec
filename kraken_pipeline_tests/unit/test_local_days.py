"""Day lengths come from the time zone: 46/48/50 half-hours in London, 92/96/100 quarter-hours."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kraken_pipeline.local_days import (
    day_bounds,
    days_between,
    expected_interval_count,
    interval_starts,
    local_date_of,
    zone,
)


@pytest.mark.parametrize(
    ("day", "tz", "seconds", "expected"),
    [
        (date(2026, 5, 7), "Europe/London", 1800, 48),
        (date(2026, 3, 29), "Europe/London", 1800, 46),
        (date(2026, 10, 25), "Europe/London", 1800, 50),
        (date(2026, 3, 29), "Europe/Berlin", 900, 92),
        (date(2026, 10, 25), "Europe/Berlin", 900, 100),
        (date(2026, 5, 7), "Europe/Berlin", 900, 96),
        (date(2026, 3, 8), "America/Chicago", 900, 92),
        (date(2026, 11, 1), "America/Chicago", 900, 100),
        (date(2026, 3, 29), "Asia/Tokyo", 1800, 48),
        (date(2026, 10, 25), "Asia/Tokyo", 1800, 48),
    ],
)
def test_expected_intervals_follow_the_clock_changes(
    day: date, tz: str, seconds: int, expected: int
) -> None:
    assert expected_interval_count(day, tz, seconds) == expected
    assert len(list(interval_starts(day, tz, seconds))) == expected


def test_a_summer_day_in_london_starts_at_23_utc_the_evening_before() -> None:
    start, end = day_bounds(date(2026, 5, 7), "Europe/London")

    assert start == datetime(2026, 5, 6, 23, tzinfo=UTC)
    assert end == datetime(2026, 5, 7, 23, tzinfo=UTC)


def test_local_date_of_an_instant_uses_the_zone() -> None:
    instant = datetime(2026, 5, 6, 23, 30, tzinfo=UTC)

    assert local_date_of(instant, "Europe/London") == date(2026, 5, 7)
    assert local_date_of(instant, "UTC") == date(2026, 5, 6)


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        local_date_of(datetime(2026, 5, 7), "Europe/London")  # noqa: DTZ001


def test_an_unknown_zone_is_named() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        zone("Mars/Olympus")


def test_days_between_is_inclusive_and_refuses_a_reversed_range() -> None:
    assert days_between(date(2026, 1, 30), date(2026, 2, 1)) == [
        date(2026, 1, 30),
        date(2026, 1, 31),
        date(2026, 2, 1),
    ]
    with pytest.raises(ValueError, match="before the start"):
        days_between(date(2026, 2, 1), date(2026, 1, 30))
