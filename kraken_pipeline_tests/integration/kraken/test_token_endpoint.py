"""The token endpoint: Retry-After honoured within the deadline, and short tokens used well.

A throttled first mint costs what the endpoint asked, not the long cool-down, which is for
repeated failures and answers without advice. A token living less than the five-minute refresh
margin, or whose `exp` already passed, serves a share of its own lifetime, not one request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from email.utils import formatdate

import pytest

from kraken_pipeline.emulator import Emulator, Fault
from kraken_pipeline.kraken import DeadlineExceededError, KrakenClient
from kraken_pipeline.kraken.errors import TokenEndpointThrottledError
from kraken_pipeline_tests.support.callers import demo_caller
from kraken_pipeline_tests.support.kraken_client import (
    DEMO_POINTS,
    FakeClock,
    assert_matches_emulator,
    window,
)
from kraken_pipeline_tests.support.loopback import Scripted, recording_server

MakeClient = Callable[..., KrakenClient]
StartEmulator = Callable[..., Emulator]
ONE_DAY = window(date(2026, 11, 1))


def test_a_first_mint_throttled_with_retry_after_1_costs_one_second(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    emulator.faults.add(Fault("http_status", endpoint="token", status=429, retry_after=1))
    result = make_client(emulator).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert_matches_emulator(emulator, result, *ONE_DAY)
    assert sum(clock.sleeps) == pytest.approx(1.0)
    assert emulator.stats.requests["token"] == 2


def test_a_503_from_the_token_endpoint_with_retry_after_waits_that_long(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    emulator.faults.add(Fault("http_status", endpoint="token", status=503, retry_after=4))
    make_client(emulator).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert clock.sleeps == [4.0]


def test_a_throttled_mint_without_retry_after_cools_down_a_minute(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    emulator.faults.add(Fault("http_status", endpoint="token", status=429))
    make_client(emulator).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert clock.sleeps == [60.0]


def test_a_mint_throttled_again_after_its_retry_after_cools_down_the_long_way(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    emulator.faults.add(Fault("http_status", endpoint="token", status=429, retry_after=1, times=2))
    result = make_client(emulator).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert_matches_emulator(emulator, result, *ONE_DAY)
    assert clock.sleeps == [1.0, 60.0]


def test_a_retry_after_beyond_the_deadline_fails_at_once_instead_of_sleeping(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    emulator.faults.add(Fault("http_status", endpoint="token", status=429, retry_after=3600))
    client = make_client(emulator, deadline_seconds=120)
    with pytest.raises(DeadlineExceededError):
        client.fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert clock.sleeps == []


def test_a_retry_after_given_as_an_http_date_is_understood(
    emulator: Emulator, clock: FakeClock
) -> None:
    now = formatdate(timeval=None, usegmt=True)
    throttled = Scripted(429, b"slow down", (("Retry-After", now),))
    with recording_server(throttled) as auth:
        caller = demo_caller(emulator, clock, auth_url=auth.url)
        with pytest.raises(TokenEndpointThrottledError) as refused:
            caller.tokens.token()
    assert refused.value.retry_after is not None
    assert refused.value.retry_after <= 1.0, "a date of now means no wait, not a minute"


def test_tokens_living_two_minutes_are_minted_once_per_share_of_their_life(
    start_emulator: StartEmulator, make_client: MakeClient, clock: FakeClock
) -> None:
    kraken = start_emulator(token_lifetime=timedelta(seconds=120))
    client = make_client(kraken)
    for _ in range(6):
        client.fetch_measurements(DEMO_POINTS, *ONE_DAY)
        clock.advance(20)
    assert kraken.stats.requests == {"token": 2, "graphql": 6}


def test_tokens_whose_exp_already_passed_are_used_until_the_floor_then_replaced(
    start_emulator: StartEmulator, make_client: MakeClient, clock: FakeClock
) -> None:
    kraken = start_emulator(token_expiry_skew=-timedelta(hours=2))
    client = make_client(kraken)
    for _ in range(6):
        result = client.fetch_measurements(DEMO_POINTS, *ONE_DAY)
        clock.advance(5)
    assert_matches_emulator(kraken, result, *ONE_DAY)
    assert kraken.stats.requests == {"token": 1, "graphql": 6}
    clock.advance(30)
    client.fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert kraken.stats.requests["token"] == 2, "a past exp is not trusted for ever"


def test_an_hour_long_token_is_still_refreshed_five_minutes_before_it_expires(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    client = make_client(emulator)
    client.fetch_measurements(DEMO_POINTS, *ONE_DAY)
    clock.advance(54 * 60)
    client.fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert emulator.stats.requests["token"] == 1
    clock.advance(2 * 60)
    client.fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert emulator.stats.requests["token"] == 2
