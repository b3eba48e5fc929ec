"""Redirects are never followed: a re-sent POST would carry the secret or the token elsewhere.

A second loopback server stands for the other origin and records anything it receives.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from kraken_pipeline.emulator import DEMO_CLIENT_SECRET, Emulator, Fault
from kraken_pipeline.kraken import AuthenticationError, FatalError, KrakenClient
from kraken_pipeline.kraken.errors import stops_everything
from kraken_pipeline_tests.support.callers import demo_caller
from kraken_pipeline_tests.support.kraken_client import (
    DEMO_POINTS,
    FakeClock,
    assert_matches_emulator,
    window,
)
from kraken_pipeline_tests.support.loopback import recording_server

MakeClient = Callable[..., KrakenClient]
ONE_DAY = window(date(2026, 11, 1))


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize("basic", [False, True])
def test_a_token_endpoint_redirect_is_refused_and_the_secret_stays_here(
    emulator: Emulator, clock: FakeClock, status: int, basic: bool
) -> None:
    with recording_server() as elsewhere:
        location = elsewhere.url.replace("http://", "http://thief:hunter2-pass@") + "t?sig=abc123"
        emulator.faults.add(Fault("redirect", endpoint="token", status=status, location=location))
        caller = demo_caller(emulator, clock, use_basic_auth=basic)
        with pytest.raises(FatalError) as refused:
            caller.tokens.token()
        received = elsewhere.everything_received()
    message = refused.value.message
    assert received == "", "nothing may reach the other origin"
    assert elsewhere.url.rstrip("/") in message, "the message says where it was sent"
    assert "KRAKEN_AUTH_URL" in message
    assert "hunter2-pass" not in message
    assert "abc123" not in message
    assert DEMO_CLIENT_SECRET not in message


def test_a_token_endpoint_redirect_stops_the_fetch_after_one_request(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("redirect", endpoint="token", status=307, times=None))
    with pytest.raises(AuthenticationError) as refused:
        make_client(emulator).fetch_measurements(
            DEMO_POINTS, *window(date(2026, 11, 1), date(2026, 11, 3))
        )
    assert stops_everything(refused.value)
    assert emulator.stats.requests["token"] == 1, "the other workers are told, not re-sent"


def test_an_api_redirect_is_refused_and_the_token_stays_here(
    emulator: Emulator, make_client: MakeClient
) -> None:
    with recording_server() as elsewhere:
        emulator.faults.add(Fault("redirect", status=307, location=elsewhere.url))
        result = make_client(emulator).fetch_measurements(DEMO_POINTS, *ONE_DAY)
        received = elsewhere.everything_received()
    assert received == ""
    assert emulator.stats.requests["graphql"] == 1, "a redirect is not retried"
    for outcome in result.outcomes:
        assert not outcome.ok
        assert "KRAKEN_API_URL" in (outcome.error_message or "")
        assert elsewhere.url.rstrip("/") in (outcome.error_message or "")


def test_a_redirect_fails_the_supply_points_of_its_request_not_the_next_fetch(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("redirect", status=308))
    client = make_client(emulator)
    failed = client.fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert not any(outcome.ok for outcome in failed.outcomes)
    result = client.fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert_matches_emulator(emulator, result, *ONE_DAY)


def test_a_redirect_error_is_fatal_for_its_request_only(
    emulator: Emulator, clock: FakeClock
) -> None:
    emulator.faults.add(Fault("redirect", status=307))
    with pytest.raises(FatalError) as refused:
        demo_caller(emulator, clock).ask()
    assert refused.value.code == "HTTP 307"
    assert not stops_everything(refused.value)
