"""The emulator's opt-in answer cache (EmulatorConfig.cache_answers), seen over real HTTP.

A repeated request must get the bytes a fresh rendering would give, and still be authenticated,
charged and spoiled by faults exactly as without the cache; moving the clock must show the data
the new time makes visible.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
import requests

from kraken_pipeline.emulator import Emulator, Fault
from kraken_pipeline.local_days import day_bounds

DAY = date(2026, 11, 19)  # published at the test clock (2026-11-20T12:00Z), 6 h after it ends
DAY_QUERY = """
query Day($startAt: DateTime!, $endAt: DateTime!) {
  property(id: "1000001") {
    measurements(first: 100, startAt: $startAt, endAt: $endAt,
                 utilityFilters: [{electricityFilters: {marketSupplyPointId: "1200012345679"}}]) {
      pageInfo { hasNextPage endCursor }
      edges { node { value unit readAt ... on IntervalMeasurementType { startAt endAt } } }
    }
  }
}
"""
DAY_COMPLEXITY_BUDGET = 1000  # a few requests' worth of points (see the allowance test)

StartEmulator = Callable[..., Emulator]
Mint = Callable[[Emulator], str]


def day_variables() -> dict[str, str]:
    start, end = day_bounds(DAY, "Europe/London")
    return {"startAt": start.isoformat(), "endAt": end.isoformat()}


def post(emulator: Emulator, token: str) -> requests.Response:
    body = {"query": DAY_QUERY, "variables": day_variables()}
    headers = {"Authorization": token}
    return requests.post(emulator.graphql_url, json=body, headers=headers, timeout=10)


def error_code(answer: requests.Response) -> str:
    payload: dict[str, Any] = answer.json()
    return str(payload["errors"][0]["extensions"].get("errorCode"))


@pytest.fixture
def cached(start_emulator: StartEmulator) -> Emulator:
    return start_emulator(cache_answers=True)


def test_a_repeated_answer_is_the_one_an_emulator_without_the_cache_renders(
    cached: Emulator, start_emulator: StartEmulator, mint_token: Mint
) -> None:
    uncached = start_emulator()
    token = mint_token(cached)

    first, second = post(cached, token), post(cached, token)
    reference = post(uncached, mint_token(uncached))

    assert len(first.json()["data"]["property"]["measurements"]["edges"]) == 48
    assert first.content == second.content == reference.content
    # Nodes served from the cache are still counted, as a client test asserting them expects.
    assert cached.stats.nodes_served == 2 * uncached.stats.nodes_served == 96


def test_a_cached_request_still_needs_a_valid_unexpired_token(
    cached: Emulator, mint_token: Mint
) -> None:
    token = mint_token(cached)
    assert "errors" not in post(cached, token).json()

    assert error_code(post(cached, "not-a-token")) == "KT-CT-1143"
    cached.expire_tokens()
    assert error_code(post(cached, token)) == "KT-CT-1124"
    assert "errors" not in post(cached, mint_token(cached)).json()


def test_a_cached_request_is_still_charged_against_the_points_allowance(
    start_emulator: StartEmulator, mint_token: Mint
) -> None:
    emulator = start_emulator(cache_answers=True, points_allowance_per_hour=DAY_COMPLEXITY_BUDGET)
    token = mint_token(emulator)

    answers = [post(emulator, token).json() for _ in range(200)]

    served = [answer for answer in answers if "errors" not in answer]
    refused = answers[len(served) :]
    assert 2 <= len(served) < len(answers)
    assert all(answer["errors"][0]["extensions"]["errorCode"] == "KT-CT-1199" for answer in refused)
    assert emulator.stats.requests["graphql"] == 200


@pytest.mark.parametrize(
    ("fault", "spoiled"),
    [
        (Fault(kind="data_and_errors", code="KT-CT-7899"), "errors"),
        (Fault(kind="kraken_error", code="KT-CT-7899"), "request-wide errors"),
        (Fault(kind="kraken_error", code="KT-CT-7899", property_id="1000001"), "field error"),
        (Fault(kind="outside_window"), "node before the window"),
        (Fault(kind="odd_payload", oddity="value_null"), "null value"),
        (Fault(kind="http_status", status=502), "HTTP 502"),
    ],
)
def test_a_fault_armed_after_an_answer_was_cached_still_spoils_the_next_answer_once(
    cached: Emulator, mint_token: Mint, fault: Fault, spoiled: str
) -> None:
    token = mint_token(cached)
    clean = post(cached, token).content
    cached.faults.add(fault)

    faulty, after = post(cached, token), post(cached, token)

    assert faulty.content != clean, spoiled
    assert cached.stats.faults == {fault.kind: 1}
    assert after.status_code == 200
    assert after.content == clean


def test_moving_the_clock_shows_the_data_the_new_time_makes_visible(
    cached: Emulator, mint_token: Mint
) -> None:
    token = mint_token(cached)
    published = post(cached, token).content
    publication = day_bounds(DAY, "Europe/London")[1] + timedelta(hours=6)

    cached.set_clock(publication - timedelta(minutes=1))
    before_publication = post(cached, token).json()
    cached.set_clock(publication)
    at_publication = post(cached, token).content

    assert before_publication["data"]["property"]["measurements"]["edges"] == []
    assert at_publication == published
