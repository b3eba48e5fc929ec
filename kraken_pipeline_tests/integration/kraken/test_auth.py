"""Client-credentials tokens against the emulator's auth server, over real HTTP.

Guards the Kraken quirks of kraken_api.md section 2: a regenerated secret kills the old one at
once (invalid_client must say so), the token endpoint's CDN throttles with an HTML 403, and
clients that re-mint on every failure make outages worse.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from pydantic import SecretStr

from kraken_pipeline.emulator import DEMO_CLIENT_ID, Emulator, Fault
from kraken_pipeline.kraken import (
    AuthenticationError,
    InvalidClientError,
    KrakenClient,
    RetriesExhaustedError,
)
from kraken_pipeline_tests.support.kraken_client import (
    DEMO_POINTS,
    FakeClock,
    assert_matches_emulator,
    planned_requests,
    window,
)

ONE_DAY = window(date(2026, 11, 1))
TWO_MONTHS = window(date(2026, 9, 1), date(2026, 10, 31))
MakeClient = Callable[..., KrakenClient]


def test_one_token_serves_every_request_of_several_fetches(
    emulator: Emulator, make_client: MakeClient
) -> None:
    client = make_client(emulator)
    client.fetch_measurements(DEMO_POINTS, *ONE_DAY)
    client.fetch_measurements(DEMO_POINTS, *TWO_MONTHS)
    assert emulator.stats.requests["token"] == 1
    assert emulator.stats.requests["graphql"] > 2


def test_the_token_lives_as_long_as_expires_in_says(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    client = make_client(emulator)
    assert client.token_expires_at() == clock.now() + timedelta(hours=1)


def test_http_basic_client_authentication_works_too(
    emulator: Emulator, make_client: MakeClient
) -> None:
    viewer = make_client(emulator, use_basic_auth=True).third_party_viewer()
    assert viewer.name == "kraken-pipeline demo"
    assert set(viewer.permissions) == {"CAN_VIEW_DETAILED_USAGE", "CAN_QUERY_PROPERTY"}


def test_the_token_is_refreshed_five_minutes_before_it_expires(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    client = make_client(emulator)
    client.token_expires_at()
    clock.advance(54 * 60)
    client.fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert emulator.stats.tokens_minted == 1
    clock.advance(2 * 60)
    client.fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert emulator.stats.tokens_minted == 2


def test_an_invalid_client_fails_at_once_naming_the_client_but_never_the_secret(
    emulator: Emulator,
    make_client: MakeClient,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(emulator, client_secret=SecretStr("rotated-away-secret-0042"))
    with pytest.raises(InvalidClientError) as caught:
        client.fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert emulator.stats.requests == {"token": 1}
    assert clock.sleeps == []
    message = str(caught.value)
    assert DEMO_CLIENT_ID in message
    assert "regenerated" in message
    for text in (message, repr(caught.value), caplog.text, repr(client), repr(client.settings)):
        assert "rotated-away-secret-0042" not in text


def test_an_invalid_client_asks_the_token_endpoint_once_however_many_workers_need_a_token(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    client = make_client(
        emulator, client_secret=SecretStr("rotated-away-secret-0042"), page_size=100
    )
    with pytest.raises(InvalidClientError):
        client.fetch_measurements(DEMO_POINTS, *TWO_MONTHS)
    with pytest.raises(InvalidClientError):
        client.token_expires_at()
    assert emulator.stats.requests == {"token": 1}
    assert clock.sleeps == []


def test_an_html_403_from_the_token_endpoint_cools_down_then_mints(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    emulator.faults.add(Fault("http_status", endpoint="token", status=403))
    result = make_client(emulator).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert all(outcome.ok for outcome in result.outcomes)
    assert emulator.stats.requests["token"] == 2
    assert clock.sleeps == [60.0]


def test_a_throttled_refresh_keeps_using_the_unexpired_token_and_does_not_hammer(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    client = make_client(emulator)
    client.token_expires_at()
    clock.advance(56 * 60)  # due for refresh, not yet expired
    emulator.faults.add(Fault("http_status", endpoint="token", status=429, times=None))
    first = client.fetch_measurements(DEMO_POINTS, *ONE_DAY)
    second = client.fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert all(o.ok for o in first.outcomes + second.outcomes)
    assert emulator.stats.requests["token"] == 2  # the mint and one refused refresh
    assert clock.sleeps == []


def test_a_token_refused_mid_stream_is_replaced_once_without_a_gap(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("kraken_error", code="KT-CT-1124", skip=1))
    client = make_client(emulator, concurrency=1, page_size=500)
    result = client.fetch_measurements(DEMO_POINTS, *TWO_MONTHS)
    assert emulator.stats.tokens_minted == 2
    assert emulator.stats.errors == {"KT-CT-1124": 1}
    planned = planned_requests(client, DEMO_POINTS, *TWO_MONTHS)
    assert len(planned) >= 3  # the refusal came mid-stream
    assert emulator.stats.requests["graphql"] == len(planned) + 1
    assert_matches_emulator(emulator, result, *TWO_MONTHS)


def test_a_fresh_token_refused_again_is_fatal(emulator: Emulator, make_client: MakeClient) -> None:
    emulator.faults.add(Fault("kraken_error", code="KT-CT-1124", times=2))
    with pytest.raises(AuthenticationError, match="freshly minted token"):
        make_client(emulator).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert emulator.stats.tokens_minted == 2
    assert emulator.stats.requests["graphql"] == 2


def test_four_threads_that_see_the_token_expire_cause_one_mint(
    start_emulator: Callable[..., Emulator], make_client: MakeClient
) -> None:
    emulator = start_emulator(latency=timedelta(milliseconds=20))
    client = make_client(emulator, concurrency=4, page_size=100)
    results = []
    fetch = threading.Thread(
        target=lambda: results.append(client.fetch_measurements(DEMO_POINTS, *TWO_MONTHS))
    )
    fetch.start()
    while fetch.is_alive() and emulator.stats.requests.get("graphql", 0) < 8:
        time.sleep(0.001)
    assert fetch.is_alive(), "the fetch ended before the tokens could expire mid-stream"
    emulator.expire_tokens()
    fetch.join(timeout=60)
    assert emulator.stats.errors.get("KT-CT-1124", 0) >= 1
    assert emulator.stats.tokens_minted == 2
    assert all(outcome.ok for outcome in results[0].outcomes)
    assert_matches_emulator(emulator, results[0], *TWO_MONTHS)


def closed_port() -> int:
    """A loopback port nothing listens on: connections to it are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_token_endpoint_that_refuses_connections_fails_fast_naming_the_url_and_variable(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/token/"
    client = make_client(emulator, auth_url=url, client_secret=SecretStr("never-shown-7781"))
    with pytest.raises(RetriesExhaustedError) as caught:
        client.token_expires_at()
    message = str(caught.value)
    assert f"could not connect to the token endpoint {url} (KRAKEN_AUTH_URL)" in message
    assert "connection refused" in message
    assert "after 2 attempts" in message
    assert len(clock.sleeps) == 1  # one short wait before the second attempt, not minutes
    assert clock.sleeps[0] < 1
    assert "never-shown-7781" not in message + repr(caught.value)


def test_a_fetch_stops_at_once_when_the_token_endpoint_refuses_connections(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/token/"
    with pytest.raises(RetriesExhaustedError, match="KRAKEN_AUTH_URL"):
        make_client(emulator, auth_url=url).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert "graphql" not in emulator.stats.requests
    assert len(clock.sleeps) == 1


def test_an_api_that_refuses_connections_is_named_with_its_variable(
    emulator: Emulator, make_client: MakeClient
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1/graphql/"
    result = make_client(emulator, api_url=url, max_attempts=2).fetch_measurements(
        DEMO_POINTS, *ONE_DAY
    )
    message = result.outcomes[0].error_message or ""
    assert f"could not connect to the API {url} (KRAKEN_API_URL): connection refused" in message
