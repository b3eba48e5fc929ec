"""The points allowance's window: an hour as on Kraken, or shorter when configured.

A benchmark that must see the allowance refill several times in minutes scales the allowance and
its window down together (EmulatorConfig.rate_limit_window); rateLimitInfo's `ttl` follows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
import requests

from kraken_pipeline.emulator import Emulator
from kraken_pipeline.emulator.ratelimit import PointsAllowance
from kraken_pipeline_tests.support.emulator_http import EMULATOR_NOW
from kraken_pipeline_tests.support.graphql_queries import (
    RATE_LIMIT_QUERY,
    SECTION_5_COMPLEXITY,
    SECTION_5_QUERY,
    day_variables,
)

ONE_DAY = day_variables(date(2026, 5, 7), [], first=1)


def session_of(emulator: Emulator, mint_token: Callable[[Emulator], str]) -> Callable[..., Any]:
    """send(query, variables=None): the JSON answer of one GraphQL request of the demo client."""
    session = requests.Session()
    session.headers["Authorization"] = mint_token(emulator)

    def send(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = {"query": query, "variables": variables or {}}
        return dict(session.post(emulator.graphql_url, json=body, timeout=10).json())

    return send


def allowance_of(send: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    answer = send(RATE_LIMIT_QUERY)
    state: dict[str, Any] = answer["data"]["rateLimitInfo"]["pointsAllowanceRateLimit"]
    return state


def error_codes(answer: dict[str, Any]) -> set[str]:
    return {error["extensions"]["errorCode"] for error in answer.get("errors", ())}


def test_a_short_window_blocks_until_it_rolls_and_then_refills_whole(
    start_emulator: Callable[..., Emulator], mint_token: Callable[[Emulator], str]
) -> None:
    emulator = start_emulator(
        points_allowance_per_hour=100, rate_limit_window=timedelta(seconds=60)
    )
    send = session_of(emulator, mint_token)
    answers = [send(SECTION_5_QUERY, ONE_DAY) for _ in range(4)]

    assert [error_codes(answer) for answer in answers] == [set(), set(), set(), {"KT-CT-1199"}]
    blocked = allowance_of(send)
    assert blocked["isBlocked"] is True
    assert blocked["ttl"] == int((EMULATOR_NOW + timedelta(seconds=60)).timestamp())

    emulator.advance_clock(timedelta(seconds=59))
    assert error_codes(send(SECTION_5_QUERY, ONE_DAY)) == {"KT-CT-1199"}

    emulator.advance_clock(timedelta(seconds=1))
    assert error_codes(send(SECTION_5_QUERY, ONE_DAY)) == set()
    refilled = allowance_of(send)
    assert refilled["isBlocked"] is False
    assert refilled["usedPoints"] == SECTION_5_COMPLEXITY + 7  # this window: the query and this
    assert refilled["ttl"] == int((EMULATOR_NOW + timedelta(seconds=120)).timestamp())


def test_without_a_window_configured_the_allowance_lasts_kraken_s_hour(
    start_emulator: Callable[..., Emulator], mint_token: Callable[[Emulator], str]
) -> None:
    emulator = start_emulator(points_allowance_per_hour=100)
    send = session_of(emulator, mint_token)
    for _ in range(4):
        send(SECTION_5_QUERY, ONE_DAY)

    emulator.advance_clock(timedelta(minutes=59))
    after_59_minutes = allowance_of(send)

    assert after_59_minutes["isBlocked"] is True
    assert after_59_minutes["ttl"] == int((EMULATOR_NOW + timedelta(hours=1)).timestamp())


def test_a_window_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        PointsAllowance(100, timedelta(0))
