"""Backoff is bounded by attempts and a deadline; the points bucket keeps inside the allowance."""

from __future__ import annotations

import random
import threading

import pytest

from kraken_pipeline.kraken.errors import (
    DeadlineExceededError,
    RetriesExhaustedError,
    RetryableError,
)
from kraken_pipeline.kraken.ratelimit import (
    DEFAULT_POINTS_PER_HOUR,
    PointsBucket,
    provisional_bucket,
)
from kraken_pipeline.kraken.retry import Deadline, RetryPolicy, call_with_retries
from kraken_pipeline_tests.support.kraken_client import FakeClock, reading


def policy(clock: FakeClock, attempts: int = 6) -> RetryPolicy:
    return RetryPolicy(attempts, clock.sleep, rng=random.Random(7))


def test_backoff_doubles_with_jitter_and_is_capped(clock: FakeClock) -> None:
    retry = policy(clock)
    error = RetryableError("x")
    delays = [retry.delay(attempt, error) for attempt in range(1, 12)]
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(retry.max_delay, retry.base_delay * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= retry.max_delay


def test_retry_after_is_honoured_exactly(clock: FakeClock) -> None:
    assert policy(clock).delay(1, RetryableError("x", retry_after=7)) == 7


def test_a_floor_raises_short_delays(clock: FakeClock) -> None:
    assert policy(clock).delay(1, RetryableError("x", min_delay=10)) == 10


def test_calls_are_retried_until_they_succeed(clock: FakeClock) -> None:
    outcomes: list[object] = [RetryableError("a"), RetryableError("b"), "done"]

    def call() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return str(outcome)

    deadline = Deadline(60, clock.monotonic, "test")
    assert call_with_retries(call, policy(clock), deadline, "op") == "done"
    assert len(clock.sleeps) == 2


def test_attempts_are_bounded(clock: FakeClock) -> None:
    calls = 0

    def call() -> str:
        nonlocal calls
        calls += 1
        raise RetryableError("down", code="HTTP 503")

    deadline = Deadline(3600, clock.monotonic, "test")
    with pytest.raises(RetriesExhaustedError, match="after 3 attempts") as caught:
        call_with_retries(call, policy(clock, attempts=3), deadline, "op")
    assert calls == 3
    assert caught.value.code == "HTTP 503"


def test_a_wait_that_would_outlast_the_deadline_gives_up_at_once(clock: FakeClock) -> None:
    def call() -> str:
        raise RetryableError("slow down", retry_after=120)

    deadline = Deadline(60, clock.monotonic, "fetching")
    with pytest.raises(DeadlineExceededError, match="deadline of 60 s"):
        call_with_retries(call, policy(clock), deadline, "op")
    assert clock.sleeps == []


def test_the_bucket_lets_requests_through_while_points_remain(clock: FakeClock) -> None:
    bucket = PointsBucket(3600, 100, 3600, clock.monotonic, clock.sleep)
    deadline = Deadline(60, clock.monotonic, "test")
    for _ in range(4):
        bucket.take(25, deadline)
    assert clock.sleeps == []
    assert bucket.available() == 0


def test_the_bucket_sleeps_until_the_refill_when_it_cannot_cover_a_request(
    clock: FakeClock,
) -> None:
    bucket = PointsBucket(1000, 10, 250, clock.monotonic, clock.sleep)
    deadline = Deadline(600, clock.monotonic, "test")
    bucket.take(10, deadline)
    bucket.take(30, deadline)
    assert clock.sleeps == [pytest.approx(250)]
    assert bucket.available() == 970


def test_the_allowance_refills_every_hour_after_the_first_refill(clock: FakeClock) -> None:
    bucket = PointsBucket(1000, 0, 100, clock.monotonic, clock.sleep)
    clock.advance(100 + 3600 * 2 + 5)
    assert bucket.available() == 1000


def test_the_bucket_refuses_to_wait_past_the_deadline(clock: FakeClock) -> None:
    bucket = PointsBucket(3600, 0, 3600, clock.monotonic, clock.sleep)
    with pytest.raises(DeadlineExceededError, match="allowance of 3600 is used up"):
        bucket.take(100, Deadline(10, clock.monotonic, "test"))
    assert clock.sleeps == []


def test_a_budget_that_knows_nothing_yet_lets_two_rounds_through_then_waits_for_a_reading(
    clock: FakeClock,
) -> None:
    bucket = provisional_bucket(2, 100, clock.monotonic, clock.sleep)
    deadline = Deadline(60, clock.monotonic, "test")
    for _ in range(4):
        bucket.take(100, deadline)  # two rounds of two workers, at most 100 points each
    fifth = threading.Thread(target=bucket.take, args=(100, deadline))
    fifth.start()
    fifth.join(timeout=0.2)
    assert fifth.is_alive()  # waits: the provisional points are spent
    bucket.settle(100, reading(clock, 900), clock.now())
    fifth.join(timeout=5)
    assert not fifth.is_alive()
    assert bucket.available() == 900 - 300 - 100  # three still in flight, and the fifth
    assert clock.sleeps == []


def test_without_any_reading_the_published_allowance_is_assumed(clock: FakeClock) -> None:
    bucket = provisional_bucket(1, 100, clock.monotonic, clock.sleep)
    deadline = Deadline(60, clock.monotonic, "test")
    for _ in range(2):
        bucket.take(100, deadline)
        bucket.settle(100, None, None)
    bucket.take(100, deadline)
    assert bucket.available() == DEFAULT_POINTS_PER_HOUR - 100


def test_a_blocked_reading_makes_the_budget_wait_for_the_refill_it_reports(
    clock: FakeClock,
) -> None:
    bucket = provisional_bucket(1, 100, clock.monotonic, clock.sleep)
    deadline = Deadline(3600, clock.monotonic, "test")
    bucket.take(100, deadline)
    bucket.settle(100, reading(clock, 400, refill_in=600, blocked=True), clock.now())
    bucket.take(50, deadline)
    assert clock.sleeps == [601.0]  # the reported refill and a second of margin
    assert bucket.available() == 950


def test_an_older_reading_arriving_late_never_raises_the_balance(clock: FakeClock) -> None:
    bucket = provisional_bucket(1, 200, clock.monotonic, clock.sleep)
    bucket.observe(reading(clock, 500), clock.now())
    bucket.observe(reading(clock, 900), clock.now())
    assert bucket.available() == 500
    clock.advance(1802)
    assert bucket.available() == 1000  # the next window refills whole
