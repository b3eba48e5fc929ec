"""The points budget follows the allowance's window as readings report it, not a fixed hour.

Kraken's allowance is hourly and `ttl` says when it refills. A refill that no reading has
reported yet (the allowance ran out again before a reading of the new window came) is expected
one window after the last refill; an emulator with a short window (a benchmark's) must not make
the budget wait an hour for it, and a real hourly window must not make it expect one sooner.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta

import pytest

from kraken_pipeline.emulator import Emulator
from kraken_pipeline.kraken import KrakenClient
from kraken_pipeline.kraken.ratelimit import PointsAllowance, PointsBucket, provisional_bucket
from kraken_pipeline.kraken.retry import Deadline
from kraken_pipeline_tests.support.kraken_client import (
    DEMO_POINTS,
    FakeClock,
    assert_matches_emulator,
    window,
)

LIMIT = 1000
REQUEST = 100


def reading(clock: FakeClock, used: int, refill_in: float) -> PointsAllowance:
    """What rateLimitInfo would say now: `used` of LIMIT spent, the refill `refill_in` away."""
    return PointsAllowance(
        limit=LIMIT,
        remaining=LIMIT - used,
        used=used,
        refill_at=clock.now() + timedelta(seconds=refill_in),
        blocked=False,
    )


def spend_with_reading(bucket: PointsBucket, clock: FakeClock, refill_in: float) -> None:
    """One request whose answer opens a window (it is the first charged in it) and reports it."""
    bucket.take(REQUEST, Deadline(7200, clock.monotonic, "test"))
    bucket.settle(REQUEST, reading(clock, REQUEST, refill_in), clock.now())


def spend_without_reading(bucket: PointsBucket, clock: FakeClock) -> None:
    """One request whose answer says nothing of the allowance (no rateLimitInfo in it)."""
    bucket.take(REQUEST, Deadline(7200, clock.monotonic, "test"))
    bucket.settle(REQUEST, None, None)


def spend_the_rest(bucket: PointsBucket, clock: FakeClock) -> None:
    """Requests without a reading until the window's allowance is gone."""
    while bucket.available() >= REQUEST:
        spend_without_reading(bucket, clock)


def test_once_two_windows_were_reported_an_unreported_refill_comes_one_short_window_later(
    clock: FakeClock,
) -> None:
    bucket = provisional_bucket(1, REQUEST, clock.monotonic, clock.sleep)
    spend_with_reading(bucket, clock, refill_in=60)  # window 1
    spend_the_rest(bucket, clock)
    spend_with_reading(bucket, clock, refill_in=60)  # waits for window 2, which it opens
    spend_the_rest(bucket, clock)
    spend_without_reading(bucket, clock)  # waits for window 3, of which no reading comes
    spend_the_rest(bucket, clock)
    bucket.take(REQUEST, Deadline(7200, clock.monotonic, "test"))  # window 4

    # The refills reported lay 61 s apart: within a second of rounding, windows last at most
    # 62 s; each wait ends a second after the refill, as for every refill.
    assert clock.sleeps == [pytest.approx(61), pytest.approx(61), pytest.approx(63)]
    assert bucket.available() == LIMIT - REQUEST


def test_one_reading_cannot_tell_a_short_window_so_an_unreported_refill_is_an_hour_later(
    clock: FakeClock,
) -> None:
    bucket = provisional_bucket(1, REQUEST, clock.monotonic, clock.sleep)
    spend_with_reading(bucket, clock, refill_in=60)  # the end of a 60 s window, or of an hour
    spend_the_rest(bucket, clock)
    spend_without_reading(bucket, clock)  # waits for window 2, of which no reading comes
    spend_the_rest(bucket, clock)
    bucket.take(REQUEST, Deadline(7200, clock.monotonic, "test"))

    assert clock.sleeps == [pytest.approx(61), pytest.approx(3601)]


def test_hourly_windows_reported_an_hour_apart_keep_the_hour(clock: FakeClock) -> None:
    bucket = provisional_bucket(1, REQUEST, clock.monotonic, clock.sleep)
    spend_with_reading(bucket, clock, refill_in=3600)
    spend_the_rest(bucket, clock)
    spend_with_reading(bucket, clock, refill_in=3600)
    spend_the_rest(bucket, clock)
    spend_without_reading(bucket, clock)
    spend_the_rest(bucket, clock)
    bucket.take(REQUEST, Deadline(7200, clock.monotonic, "test"))

    assert clock.sleeps == [pytest.approx(3601), pytest.approx(3601), pytest.approx(3601)]


def test_a_reading_of_a_window_already_over_does_not_bring_back_its_balance(
    clock: FakeClock,
) -> None:
    bucket = provisional_bucket(1, REQUEST, clock.monotonic, clock.sleep)
    spend_with_reading(bucket, clock, refill_in=60)
    late = reading(clock, 500, refill_in=60)  # an answer of window 1, held up on its way
    spend_the_rest(bucket, clock)
    bucket.take(REQUEST, Deadline(7200, clock.monotonic, "test"))  # waits for window 2
    clock.advance(5)
    bucket.observe(late, clock.now())

    assert bucket.available() == LIMIT - REQUEST


@pytest.mark.slow
def test_a_backfill_through_an_emulator_with_a_one_minute_window_waits_minutes_not_hours(
    start_emulator: Callable[..., Emulator],
    make_client: Callable[..., KrakenClient],
    clock: FakeClock,
) -> None:
    emulator = start_emulator(
        clock=clock.now, points_allowance_per_hour=400, rate_limit_window=timedelta(seconds=60)
    )
    # One worker: the fake clock jumps at once, which parallel requests would not survive.
    client = make_client(emulator, points_per_hour=None, concurrency=1)
    # Four days one by one (119 points each, rateLimitInfo riding along): the fourth waits for
    # the refill and its reading, of the second window, says the window is short.
    for day in range(1, 5):
        client.fetch_measurements(DEMO_POINTS, *window(date(2026, 11, day)))
    # Then five months: 9 requests, and a reading only in the first.
    five_months = window(date(2026, 6, 1), date(2026, 10, 31))
    result = client.fetch_measurements(DEMO_POINTS, *five_months)

    assert "KT-CT-1199" not in emulator.stats.errors
    assert all(outcome.ok for outcome in result.outcomes)
    assert len(clock.sleeps) >= 5  # the allowance refilled again and again
    assert max(clock.sleeps) < 65
    assert_matches_emulator(emulator, result, *five_months)


def test_a_reading_from_a_kraken_whose_clock_is_days_behind_ours_is_still_followed(
    clock: FakeClock,
) -> None:
    # An emulator on a fixed clock, or a machine whose clock is off: every refill it reports
    # lies in our past. The budget must still learn from it instead of waiting for a reading.
    bucket = provisional_bucket(1, REQUEST, clock.monotonic, clock.sleep)
    deadline = Deadline(7200, clock.monotonic, "test")
    bucket.take(REQUEST, deadline)
    bucket.take(REQUEST, deadline)  # the provisional points are spent; one request in flight
    behind = reading(clock, 2 * REQUEST, refill_in=-8 * 24 * 3600.0)
    bucket.settle(REQUEST, behind, clock.now())

    # Ignoring the reading would leave the budget waiting for one: this would time out.
    bucket.take(REQUEST, Deadline(1, time.monotonic, "test"))

    assert bucket.available() == LIMIT - REQUEST  # the reading's limit, not the default
