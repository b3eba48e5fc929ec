"""Scripted faults, in Python and through the JSON control API, each seen over real HTTP.

Client tests rely on these to reproduce what kraken_api.md §2-§4 says happens in the field:
CDN 403/429, 5xx bursts, slow or cut answers, expiring tokens, odd pages, partial errors.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests

from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, Fault
from kraken_pipeline_tests.support.emulator_http import EMULATOR_NOW, GraphQLCall

PROPERTY_QUERY = 'query { property(id: "1000001") { id } }'
TWO_PROPERTIES = 'query { a: property(id: "1000001") { id } b: property(id: "1000002") { id } }'
PAGE_QUERY = """
query Page($after: String, $first: Int!) {
  property(id: "1000001") {
    measurements(first: $first, after: $after, startAt: "2026-05-07T00:00:00+01:00",
                 endAt: "2026-05-08T00:00:00+01:00",
                 utilityFilters: [{electricityFilters: {marketSupplyPointId: "1200012345679"}}]) {
      pageInfo { hasNextPage endCursor }
      edges { node { ... on IntervalMeasurementType { startAt endAt } } }
    }
  }
}
"""
TOKEN_FORM = {
    "grant_type": "client_credentials",
    "client_id": DEMO_CLIENT_ID,
    "client_secret": DEMO_CLIENT_SECRET,
}


def statuses(graphql: GraphQLCall, count: int) -> list[int]:
    return [graphql(PROPERTY_QUERY).status_code for _ in range(count)]


def page(graphql: GraphQLCall, after: str | None = None, first: int = 10) -> dict[str, Any]:
    body = graphql(PAGE_QUERY, {"after": after, "first": first}).json()
    return dict(body["data"]["property"]["measurements"])


def test_http_429_carries_retry_after_and_then_the_api_answers_again(
    emulator: Emulator, graphql: GraphQLCall
) -> None:
    emulator.faults.add(Fault(kind="http_status", status=429, retry_after=7))

    throttled = graphql(PROPERTY_QUERY)
    recovered = graphql(PROPERTY_QUERY)

    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "7"
    assert recovered.json() == {"data": {"property": {"id": "1000001"}}}
    assert emulator.stats.errors == {"HTTP 429": 1}


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_burst_of_server_errors_fails_exactly_that_many_requests(
    emulator: Emulator, graphql: GraphQLCall, status: int
) -> None:
    emulator.faults.add(Fault(kind="http_status", status=status, times=3))

    assert statuses(graphql, 5) == [status] * 3 + [200] * 2
    assert emulator.stats.requests["graphql"] == 5
    assert emulator.stats.faults == {"http_status": 3}


def test_skip_lets_requests_through_before_the_fault_starts(
    emulator: Emulator, graphql: GraphQLCall
) -> None:
    emulator.faults.add(Fault(kind="http_status", status=502, times=1, skip=2))

    assert statuses(graphql, 4) == [200, 200, 502, 200]


def test_probabilistic_faults_hit_a_share_of_calls_reproducibly_from_the_seed(
    start_emulator: Callable[..., Emulator], mint_token: Callable[[Emulator], str]
) -> None:
    def pattern(emulator: Emulator) -> list[int]:
        emulator.faults.add(Fault(kind="http_status", status=502, times=None, probability=0.1))
        session = requests.Session()
        session.headers["Authorization"] = mint_token(emulator)
        body = {"query": PROPERTY_QUERY}
        return [
            session.post(emulator.graphql_url, json=body, timeout=10).status_code
            for _ in range(100)
        ]

    first = pattern(start_emulator(fault_seed=5))
    again = pattern(start_emulator(fault_seed=5))

    assert first == again
    assert 3 <= first.count(502) <= 25
    assert set(first) == {200, 502}


def test_a_slow_answer_outlasts_a_client_timeout(emulator: Emulator, graphql: GraphQLCall) -> None:
    emulator.faults.add(Fault(kind="delay", delay_seconds=0.5))

    with pytest.raises(requests.Timeout):
        graphql(PROPERTY_QUERY, timeout=0.1)
    assert graphql(PROPERTY_QUERY).status_code == 200


def test_a_connection_cut_mid_body_fails_the_read(emulator: Emulator, graphql: GraphQLCall) -> None:
    emulator.faults.add(Fault(kind="cut_body"))

    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        graphql(PAGE_QUERY, {"first": 48})
    assert graphql(PROPERTY_QUERY).status_code == 200


def test_truncated_json_is_a_complete_http_answer_that_does_not_parse(
    emulator: Emulator, graphql: GraphQLCall
) -> None:
    emulator.faults.add(Fault(kind="truncated_json"))

    answer = graphql(PAGE_QUERY, {"first": 48})

    assert answer.status_code == 200
    with pytest.raises(ValueError, match=r"Expecting|Unterminated"):
        answer.json()


def test_the_token_endpoint_can_answer_an_html_403_like_a_throttling_cdn(
    emulator: Emulator,
) -> None:
    emulator.faults.add(Fault(kind="http_status", status=403, endpoint="token"))

    blocked = requests.post(emulator.token_url, data=TOKEN_FORM, timeout=10)
    granted = requests.post(emulator.token_url, data=TOKEN_FORM, timeout=10)

    assert blocked.status_code == 403
    assert blocked.headers["Content-Type"].startswith("text/html")
    assert "<html>" in blocked.text
    assert granted.status_code == 200
    assert emulator.stats.tokens_minted == 1


def test_tokens_expire_mid_run(emulator: Emulator, graphql: GraphQLCall) -> None:
    first = page(graphql)

    emulator.expire_tokens()
    answer = graphql(PAGE_QUERY, {"after": first["pageInfo"]["endCursor"], "first": 10})

    assert answer.json()["errors"][0]["extensions"]["errorCode"] == "KT-CT-1124"


def test_duplicate_nodes_repeat_the_previous_pages_last_node_within_first(
    emulator: Emulator, graphql: GraphQLCall
) -> None:
    first = page(graphql)
    emulator.faults.add(Fault(kind="duplicate_nodes"))

    second = page(graphql, first["pageInfo"]["endCursor"])
    third = page(graphql, second["pageInfo"]["endCursor"])

    assert second["edges"][0] == first["edges"][-1]
    assert len(second["edges"]) == 10  # a full page gives its last node to the next page
    assert third["edges"][0]["node"]["startAt"] == second["edges"][-1]["node"]["endAt"]


def test_nodes_outside_the_window_can_be_served(emulator: Emulator, graphql: GraphQLCall) -> None:
    emulator.faults.add(Fault(kind="outside_window"))

    edges = page(graphql)["edges"]

    assert edges[0]["node"]["endAt"] == "2026-05-07T00:00:00+01:00"  # ends where the window starts
    assert edges[1]["node"]["startAt"] == "2026-05-07T00:00:00+01:00"


def test_data_and_errors_come_together(emulator: Emulator, graphql: GraphQLCall) -> None:
    emulator.faults.add(Fault(kind="data_and_errors", code="KT-CT-7899"))

    body = graphql(PAGE_QUERY, {"first": 10}).json()

    assert body["data"] == {"property": {"measurements": None}}
    assert body["errors"][0]["path"] == ["property", "measurements"]
    assert body["errors"][0]["extensions"]["errorCode"] == "KT-CT-7899"


@pytest.mark.parametrize("code", ["KT-CT-1199", "KT-CT-7899", "KT-CT-1120"])
def test_a_chosen_kraken_error_is_answered_n_times(
    emulator: Emulator, graphql: GraphQLCall, code: str
) -> None:
    emulator.faults.add(Fault(kind="kraken_error", code=code, times=2))

    answers = [graphql(PROPERTY_QUERY).json() for _ in range(3)]

    assert [a.get("errors", [{}])[0].get("extensions", {}).get("errorCode") for a in answers] == [
        code,
        code,
        None,
    ]
    assert answers[0]["data"] == {"property": None}
    assert emulator.stats.errors == {code: 2}


def test_kt_ct_1111_can_be_scripted_for_one_property_only(
    emulator: Emulator, graphql: GraphQLCall
) -> None:
    emulator.faults.add(
        Fault(kind="kraken_error", code="KT-CT-1111", property_id="1000002", times=None)
    )

    body = graphql(TWO_PROPERTIES).json()

    assert body["data"] == {"a": {"id": "1000001"}, "b": None}
    assert [error["path"] for error in body["errors"]] == [["b"]]


def test_latency_delays_answers_without_serialising_them(
    start_emulator: Callable[..., Emulator], mint_token: Callable[[Emulator], str]
) -> None:
    emulator = start_emulator(latency=timedelta(milliseconds=300))
    headers = {"Authorization": mint_token(emulator)}
    durations: list[float] = []

    def call() -> None:
        started = time.perf_counter()
        requests.post(
            emulator.graphql_url, json={"query": PROPERTY_QUERY}, headers=headers, timeout=10
        )
        durations.append(time.perf_counter() - started)

    started = time.perf_counter()
    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert min(durations) >= 0.3
    assert time.perf_counter() - started < 0.9  # four 0.3 s answers overlapped


def control(emulator: Emulator, method: str, route: str, payload: Any = None) -> requests.Response:
    url = f"{emulator.base_url}/_emulator/{route}"
    return requests.request(method, url, json=payload, timeout=10)


def test_the_control_api_arms_faults_with_the_same_shape_as_python(
    emulator: Emulator, graphql: GraphQLCall
) -> None:
    added = control(emulator, "POST", "faults", {"kind": "http_status", "status": 502, "times": 2})

    assert added.status_code == 201
    assert control(emulator, "GET", "faults").json()["faults"][0]["status"] == 502
    assert statuses(graphql, 3) == [502, 502, 200]
    assert control(emulator, "GET", "faults").json() == {"faults": []}


def test_the_control_api_refuses_a_malformed_fault(emulator: Emulator) -> None:
    unknown_field = control(emulator, "POST", "faults", {"kind": "http_status", "colour": "red"})
    unknown_kind = control(emulator, "POST", "faults", {"kind": "meteor"})

    assert unknown_field.status_code == 400
    assert "colour" in unknown_field.json()["error"]
    assert unknown_kind.status_code == 400


def test_the_control_api_sets_and_advances_the_clock(emulator: Emulator) -> None:
    assert control(emulator, "GET", "clock").json() == {"now": EMULATOR_NOW.isoformat()}

    control(emulator, "POST", "clock", {"now": "2026-12-01T00:00:00+00:00"})
    moved = control(emulator, "POST", "clock", {"advance_seconds": 90})

    assert moved.json() == {"now": "2026-12-01T00:01:30+00:00"}
    assert emulator.now().isoformat() == "2026-12-01T00:01:30+00:00"


def test_the_control_api_expires_tokens_reports_stats_and_resets(
    emulator: Emulator, graphql: GraphQLCall
) -> None:
    emulator.faults.add(Fault(kind="delay", times=None))
    graphql(PROPERTY_QUERY)
    control(emulator, "POST", "expire-tokens")

    expired = graphql(PROPERTY_QUERY).json()
    stats = control(emulator, "GET", "stats").json()
    control(emulator, "POST", "reset")

    assert expired["errors"][0]["extensions"]["errorCode"] == "KT-CT-1124"
    assert stats["requests"] == {"token": 1, "graphql": 2}
    assert stats["tokens_minted"] == 1
    assert stats["errors"] == {"KT-CT-1124": 1}
    assert control(emulator, "GET", "stats").json()["requests"] == {}
    assert emulator.faults.pending() == []
    assert control(emulator, "GET", "no-such-route").status_code == 404
