"""Transport trouble against the emulator over real HTTP, with the exact number of calls made.

One London day of the demo supply points is one GraphQL request, so every count below is that
request plus its retries. Sleeps are faked: the waits are asserted, not waited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from kraken_pipeline.emulator import Emulator, Fault
from kraken_pipeline.kraken import DeadlineExceededError, KrakenClient
from kraken_pipeline_tests.support.kraken_client import (
    DEMO_POINTS,
    FakeClock,
    assert_matches_emulator,
    window,
)

ONE_DAY = window(date(2026, 11, 1))
MakeClient = Callable[..., KrakenClient]


def fetch_one_day(emulator: Emulator, make_client: MakeClient, **settings: object) -> object:
    result = make_client(emulator, **settings).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert_matches_emulator(emulator, result, *ONE_DAY)
    return result


def test_a_healthy_day_takes_one_request_for_all_seven_supply_points(
    emulator: Emulator, make_client: MakeClient
) -> None:
    fetch_one_day(emulator, make_client)
    assert emulator.stats.requests == {"token": 1, "graphql": 1}


def test_429_waits_exactly_as_long_as_retry_after_says(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    emulator.faults.add(Fault("http_status", status=429, retry_after=7))
    fetch_one_day(emulator, make_client)
    assert emulator.stats.requests["graphql"] == 2
    assert clock.sleeps == [7.0]


def test_a_5xx_burst_shorter_than_the_retry_limit_is_ridden_out(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    emulator.faults.add(Fault("http_status", status=502, times=3))
    fetch_one_day(emulator, make_client, max_attempts=4)
    assert emulator.stats.requests["graphql"] == 4
    assert len(clock.sleeps) == 3
    assert clock.sleeps[0] < clock.sleeps[2]  # backing off


def test_a_5xx_burst_longer_than_the_retry_limit_fails_the_supply_points_not_the_run(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("http_status", status=503, times=None))
    result = make_client(emulator, max_attempts=3).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert emulator.stats.requests["graphql"] == 3
    assert result.table.num_rows == 0
    for outcome in result.outcomes:
        assert (outcome.ok, outcome.error_code, outcome.requests) == (False, "HTTP 503", 3)
        assert "after 3 attempts" in (outcome.error_message or "")


def test_a_read_timeout_is_retried(emulator: Emulator, make_client: MakeClient) -> None:
    emulator.faults.add(Fault("delay", delay_seconds=1.0))
    fetch_one_day(emulator, make_client, read_timeout=0.2)
    assert emulator.stats.requests["graphql"] == 2


def test_a_connection_cut_mid_body_is_retried(emulator: Emulator, make_client: MakeClient) -> None:
    emulator.faults.add(Fault("cut_body"))
    fetch_one_day(emulator, make_client)
    assert emulator.stats.requests["graphql"] == 2


def test_truncated_json_is_retried(emulator: Emulator, make_client: MakeClient) -> None:
    emulator.faults.add(Fault("truncated_json"))
    fetch_one_day(emulator, make_client)
    assert emulator.stats.requests["graphql"] == 2


def test_an_html_403_from_a_cdn_in_front_of_the_api_is_retried(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("http_status", status=403))
    fetch_one_day(emulator, make_client)
    assert emulator.stats.requests["graphql"] == 2


@pytest.mark.parametrize("code", ["KT-CT-1199", "KT-CT-7899"])
def test_rate_limited_and_internal_errors_are_retried_once_then_succeed(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock, code: str
) -> None:
    emulator.faults.add(Fault("kraken_error", code=code))
    fetch_one_day(emulator, make_client)
    assert emulator.stats.requests["graphql"] == 2
    assert emulator.stats.errors == {code: 1}
    assert len(clock.sleeps) == 1


def test_kt_ct_1199_backs_off_hard_because_kraken_sends_no_retry_after(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    emulator.faults.add(Fault("kraken_error", code="KT-CT-1199"))
    fetch_one_day(emulator, make_client)
    assert clock.sleeps[0] >= 10


def test_an_overall_deadline_stops_the_retries(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    emulator.faults.add(Fault("http_status", status=503, times=None))
    client = make_client(emulator, max_attempts=100, deadline_seconds=30)
    with pytest.raises(DeadlineExceededError, match="deadline of 30 s"):
        client.fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert sum(clock.sleeps) < 30
    assert 3 < emulator.stats.requests["graphql"] < 100
