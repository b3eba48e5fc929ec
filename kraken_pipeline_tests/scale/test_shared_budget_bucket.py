"""The points budget in Redis: every bucket below stands for a process of its own (its own
connections), all spending one OAuth application's allowance on the machine's real Redis.

Time is a fake clock handed to the buckets (Redis's own clock otherwise), so waiting for an
hourly refill is instant and recorded.
"""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest
import redis
from pydantic import SecretStr

from kraken_pipeline.cli.runner import run_range
from kraken_pipeline.kraken import DeadlineExceededError, KrakenSettings, RetryableError
from kraken_pipeline.kraken.ratelimit import DEFAULT_POINTS_PER_HOUR, BudgetStart
from kraken_pipeline.kraken.retry import Deadline
from kraken_pipeline.kraken.shared_budget import (
    RateBudgetUnavailableError,
    SharedPointsBucket,
    open_shared_bucket,
)
from kraken_pipeline_tests.support.kraken_client import FakeClock, reading
from kraken_pipeline_tests.support.pipeline import PipelineHarness

API_URL = "https://api.example-kraken.energy/v1/graphql/"
PASSWORD = "redis-pa55-9f1c"  # made up; must never be shown


@pytest.fixture
def clock() -> FakeClock:
    """Shared by every bucket of a test, as the machines' clocks would be."""
    return FakeClock(datetime(2026, 11, 20, 12, tzinfo=UTC))


def configured(per_hour: int) -> BudgetStart:
    return BudgetStart(per_hour, per_hour, 3600, follows_readings=False)


def provisional(points: int) -> BudgetStart:
    return BudgetStart(DEFAULT_POINTS_PER_HOUR, points, 3600, follows_readings=True)


def open_bucket(
    url: str,
    clock: FakeClock,
    start: BudgetStart,
    *,
    client_id: str = "app-1",
    read_timeout: float = 60.0,
) -> SharedPointsBucket:
    """A bucket as one process opens it: own connections, the shared keys."""
    kraken = KrakenSettings(
        client_id=client_id,
        client_secret=SecretStr("client-secret"),
        api_url=API_URL,
        read_timeout=read_timeout,
        connect_timeout=1.0,
        rate_budget_url=SecretStr(url),
    )
    return open_shared_bucket(
        kraken, start, clock.sleep, clock.now, lambda: clock.now().timestamp()
    )


def deadline(clock: FakeClock, seconds: float) -> Deadline:
    return Deadline(seconds, clock.monotonic, "fetching")


def test_processes_spend_one_allowance_and_the_last_waits_for_the_refill(
    redis_url: str, clock: FakeClock
) -> None:
    first = open_bucket(redis_url, clock, configured(1000))
    second = open_bucket(redis_url, clock, configured(1000))

    first.take(600, deadline(clock, 60))
    second.take(300, deadline(clock, 60))
    assert clock.sleeps == []
    second.take(200, deadline(clock, 7200))

    assert clock.sleeps == [pytest.approx(3600)]  # what the first left was too little
    assert first.available() == 800


def test_concurrent_reservations_never_hand_out_more_than_the_allowance(
    redis_url: str, clock: FakeClock
) -> None:
    buckets = [open_bucket(redis_url, clock, configured(1000)) for _ in range(3)]
    granted: list[int] = []
    refused: list[int] = []

    def spend(bucket: SharedPointsBucket) -> None:
        for _ in range(60):
            try:
                bucket.take(10, deadline(clock, 60))  # the refill is an hour away
                granted.append(10)
            except DeadlineExceededError:
                refused.append(10)

    workers = [threading.Thread(target=spend, args=(b,)) for b in buckets for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert sum(granted) == 1000
    assert len(refused) == 6 * 60 - 100
    assert buckets[0].available() == 0


def test_a_wait_for_the_refill_that_would_outlast_the_deadline_fails_at_once(
    redis_url: str, clock: FakeClock
) -> None:
    spent = open_bucket(redis_url, clock, configured(1000))
    spent.take(1000, deadline(clock, 60))
    other = open_bucket(redis_url, clock, configured(1000))

    with pytest.raises(DeadlineExceededError, match="KRAKEN_RATE_BUDGET_URL is used up"):
        other.take(10, deadline(clock, 3599))
    assert clock.sleeps == []
    other.take(10, deadline(clock, 3601))
    assert clock.sleeps == [pytest.approx(3600)]


def test_the_provisional_points_are_shared_not_granted_to_each_process(
    redis_url: str, clock: FakeClock
) -> None:
    first, second, third = (open_bucket(redis_url, clock, provisional(200)) for _ in range(3))
    first.take(100, deadline(clock, 60))
    second.take(100, deadline(clock, 60))

    with pytest.raises(DeadlineExceededError, match="first answer"):
        third.take(100, deadline(clock, 1))  # nobody has said yet what is left
    first.settle(100, reading(clock, 700), clock.now())
    third.take(100, deadline(clock, 1))

    assert third.available() == 700 - 100 - 100  # the second and the third are in flight


def test_a_reading_is_adopted_for_every_process_and_a_later_lower_one_wins(
    redis_url: str, clock: FakeClock
) -> None:
    first = open_bucket(redis_url, clock, provisional(400))
    second = open_bucket(redis_url, clock, provisional(400))

    first.observe(reading(clock, 500), clock.now())
    second.observe(reading(clock, 900), clock.now())  # older: it left Kraken before

    assert second.available() == 500
    clock.advance(1802)
    assert first.available() == 1000  # the next window refills whole, at Kraken's limit


def test_a_blocked_reading_makes_every_process_wait_for_the_refill_it_reports(
    redis_url: str, clock: FakeClock
) -> None:
    first = open_bucket(redis_url, clock, provisional(400))
    second = open_bucket(redis_url, clock, provisional(400))
    first.take(100, deadline(clock, 60))

    first.settle(100, reading(clock, 400, refill_in=600, blocked=True), clock.now())
    second.take(50, deadline(clock, 3600))

    assert clock.sleeps == [pytest.approx(601)]  # the reported refill and a second of margin
    assert first.available() == 950


def test_points_spent_around_the_refill_come_off_the_next_window_too(
    redis_url: str, clock: FakeClock
) -> None:
    """A request that leaves in the last second of a window may be charged to the next one."""
    bucket = open_bucket(redis_url, clock, configured(1000))
    clock.advance(3590)
    bucket.take(200, deadline(clock, 60))  # still in flight at the refill
    clock.advance(9.5)
    bucket.take(300, deadline(clock, 60))  # just before the refill
    bucket.settle(300, None, None)

    clock.advance(1)

    assert bucket.available() == 1000 - 200 - 300


def test_a_reading_of_a_window_already_over_changes_nothing(
    redis_url: str, clock: FakeClock
) -> None:
    first = open_bucket(redis_url, clock, provisional(400))
    second = open_bucket(redis_url, clock, provisional(400))
    first.observe(reading(clock, 900), clock.now())
    clock.advance(1802)
    assert first.available() == 1000

    second.observe(reading(clock, 50, refill_in=-1), clock.now())  # it waited past the refill

    assert first.available() == 1000


def test_without_any_reading_the_published_allowance_is_assumed(
    redis_url: str, clock: FakeClock
) -> None:
    bucket = open_bucket(redis_url, clock, provisional(100))
    bucket.take(100, deadline(clock, 60))
    bucket.settle(100, None, None)

    bucket.take(100, deadline(clock, 60))

    assert bucket.available() == DEFAULT_POINTS_PER_HOUR - 100


def test_a_reservation_of_a_process_that_died_is_released_when_its_lease_ends(
    redis_url: str, clock: FakeClock
) -> None:
    # Timeouts of 1 + 4 s: a lease of 2 x 5 + 30 s.
    crashed = open_bucket(redis_url, clock, provisional(400), read_timeout=4.0)
    survivor = open_bucket(redis_url, clock, provisional(400), read_timeout=4.0)
    crashed.take(100, deadline(clock, 60))  # and never settles

    survivor.observe(reading(clock, 900), clock.now())
    assert survivor.available() == 800  # still counted as in flight
    clock.advance(41)
    survivor.observe(reading(clock, 900, refill_in=1759), clock.now())
    assert survivor.available() == 800  # the same window: never higher than known
    clock.advance(1800)
    survivor.observe(reading(clock, 900), clock.now())
    assert survivor.available() == 900


def test_applications_sharing_one_redis_keep_separate_budgets_under_hashed_keys(
    redis_url: str, clock: FakeClock
) -> None:
    spent = open_bucket(redis_url, clock, configured(1000), client_id="app-1")
    spent.take(1000, deadline(clock, 1))

    other = open_bucket(redis_url, clock, configured(1000), client_id="app-2")

    assert other.available() == 1000
    keys = redis.Redis.from_url(redis_url, decode_responses=True).keys("*")
    assert keys
    assert not [key for key in keys if "app-1" in key or "secret" in key or "example" in key]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_redis_is_named_by_its_variable_and_address_without_the_password(
    clock: FakeClock,
) -> None:
    port = closed_port()
    url = f"redis://:{PASSWORD}@127.0.0.1:{port}/0"

    with pytest.raises(RateBudgetUnavailableError) as caught:
        open_bucket(url, clock, configured(1000))

    message = str(caught.value)
    assert "KRAKEN_RATE_BUDGET_URL" in message
    assert f"127.0.0.1:{port}" in message
    assert PASSWORD not in message


def test_redis_lost_mid_run_makes_a_reservation_retryable_and_a_settlement_harmless(
    redis_url: str, clock: FakeClock
) -> None:
    bucket = open_bucket(redis_url, clock, configured(1000))
    bucket.take(10, deadline(clock, 60))
    port = closed_port()
    lost = SharedPointsBucket(
        redis.Redis.from_url(f"redis://:{PASSWORD}@127.0.0.1:{port}/0"),
        "lost",
        configured(1000),
        address=f"127.0.0.1:{port}",
        lease_seconds=60,
        sleep=clock.sleep,
        now=clock.now,
    )

    with pytest.raises(RetryableError, match=f"KRAKEN_RATE_BUDGET_URL.*127.0.0.1:{port}") as caught:
        lost.take(10, deadline(clock, 60))
    lost.settle(10, reading(clock, 900), clock.now())

    assert PASSWORD not in str(caught.value)


@pytest.mark.slow
def test_a_run_whose_budget_redis_is_down_fails_saying_which_variable_to_fix(
    harness: PipelineHarness, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port()
    monkeypatch.setenv("KRAKEN_RATE_BUDGET_URL", f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
    settings = harness.settings.model_copy(
        update={"rate_budget_url": SecretStr(f"redis://127.0.0.1:{port}/0")}
    )
    day = clock.now().date() - timedelta(days=5)

    outcome = run_range(harness.instance, settings, day, day)

    assert not outcome.success
    assert outcome.failure is not None
    assert f"at 127.0.0.1:{port} (KRAKEN_RATE_BUDGET_URL) does not answer" in outcome.failure
    assert PASSWORD not in outcome.failure
