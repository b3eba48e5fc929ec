"""Every request has one wall-clock bound: a body trickling in byte by byte times out.

The socket's read timeout restarts with every byte, so only a bound on the whole request stops
a slow drip. These tests use a real drip over loopback with a short read_timeout (the bound).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from kraken_pipeline.emulator import Emulator, Fault
from kraken_pipeline.kraken import KrakenClient
from kraken_pipeline_tests.support.kraken_client import DEMO_POINTS, assert_matches_emulator, window

MakeClient = Callable[..., KrakenClient]
ONE_DAY = window(date(2026, 11, 1))
DRIP = 0.05  # seconds per byte: each read well inside the timeout, the whole body far beyond


def test_an_api_answer_dripping_slower_than_the_bound_times_out_and_is_retried(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("slow_drip", delay_seconds=DRIP))
    result = make_client(emulator, read_timeout=0.5).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert_matches_emulator(emulator, result, *ONE_DAY)
    assert emulator.stats.requests["graphql"] == 2


def test_an_api_answer_that_always_drips_fails_its_supply_points_as_timeouts(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("slow_drip", delay_seconds=DRIP, times=None))
    client = make_client(emulator, read_timeout=0.3, max_attempts=2)
    result = client.fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert emulator.stats.requests["graphql"] == 2
    for outcome in result.outcomes:
        assert (outcome.ok, outcome.error_code) == (False, "timeout")
        assert "whole answer" in (outcome.error_message or "")


def test_a_token_answer_dripping_slower_than_the_bound_times_out_and_is_retried(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("slow_drip", endpoint="token", delay_seconds=DRIP))
    result = make_client(emulator, read_timeout=0.5).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert_matches_emulator(emulator, result, *ONE_DAY)
    assert emulator.stats.requests["token"] == 2


def test_an_answer_that_arrives_slowly_but_within_the_bound_is_read_whole(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("delay", delay_seconds=0.2))
    result = make_client(emulator, read_timeout=2.0).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert_matches_emulator(emulator, result, *ONE_DAY)
    assert emulator.stats.requests["graphql"] == 1
