"""GraphQL error bodies are read whatever the HTTP status: Kraken answers 400 for pathless errors.

graphene-django (and so Kraken) answers HTTP 400 when an error has no `path`, with the usual JSON
body. Such a body is classified by its error codes exactly like a 200 one; only bodies that are
not GraphQL JSON (an HTML page, nothing) are judged by their status.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import pytest

from kraken_pipeline.emulator import Emulator, Fault
from kraken_pipeline.kraken import (
    FatalError,
    KrakenClient,
    RetriesExhaustedError,
    ShrinkRequestError,
)
from kraken_pipeline.kraken.errors import PAGE_SIZE_CODES
from kraken_pipeline_tests.support.callers import demo_caller
from kraken_pipeline_tests.support.kraken_client import (
    DEMO_POINTS,
    FakeClock,
    assert_matches_emulator,
    window,
)
from kraken_pipeline_tests.support.loopback import Scripted, recording_server

StartEmulator = Callable[..., Emulator]
ONE_DAY = window(date(2026, 11, 1))
EMPTY_DATA = json.dumps({"data": {}}).encode()


def errors_body(*errors: dict[str, object]) -> bytes:
    return json.dumps({"errors": list(errors)}).encode()


def test_a_too_complex_query_answered_as_http_400_asks_for_fewer_properties(
    start_emulator: StartEmulator, clock: FakeClock
) -> None:
    kraken = start_emulator(max_complexity=0, pathless_error_status=400)
    with pytest.raises(ShrinkRequestError) as refused:
        demo_caller(kraken, clock).ask()
    assert (refused.value.code, refused.value.dimension) == ("KT-CT-1188", "aliases")
    assert kraken.stats.requests["graphql"] == 1, "a refused size is not retried as it was"


def test_a_node_count_refusal_answered_as_http_400_asks_for_fewer_nodes(
    start_emulator: StartEmulator, clock: FakeClock
) -> None:
    kraken = start_emulator(pathless_error_status=400)
    kraken.faults.add(Fault("kraken_error", code="KT-CT-1189"))
    with pytest.raises(ShrinkRequestError) as refused:
        demo_caller(kraken, clock).ask()
    assert refused.value.dimension == "nodes"


@pytest.mark.parametrize("code", sorted(PAGE_SIZE_CODES))
def test_a_page_size_refusal_answered_as_http_400_asks_for_a_smaller_page(
    start_emulator: StartEmulator, clock: FakeClock, code: str
) -> None:
    kraken = start_emulator(pathless_error_status=400)
    kraken.faults.add(Fault("kraken_error", code=code))
    with pytest.raises(ShrinkRequestError) as refused:
        demo_caller(kraken, clock).ask()
    assert (refused.value.code, refused.value.dimension) == (code, "page_size")


def test_an_invalid_document_answered_as_http_400_fails_at_once_naming_the_error(
    start_emulator: StartEmulator, clock: FakeClock
) -> None:
    kraken = start_emulator(pathless_error_status=400)
    with pytest.raises(FatalError) as refused:
        demo_caller(kraken, clock).ask("{ noSuchField }")
    assert "noSuchField" in refused.value.message
    assert kraken.stats.requests["graphql"] == 1


def test_an_html_400_stays_a_transport_error(emulator: Emulator, clock: FakeClock) -> None:
    emulator.faults.add(Fault("http_status", status=400))
    with pytest.raises(FatalError) as refused:
        demo_caller(emulator, clock).ask()
    assert refused.value.code == "HTTP 400"


def test_an_empty_400_stays_a_transport_error(emulator: Emulator, clock: FakeClock) -> None:
    with recording_server(Scripted(400)) as api, pytest.raises(FatalError) as refused:
        demo_caller(emulator, clock, api_url=api.url).ask()
    assert refused.value.code == "HTTP 400"


def test_a_400_saying_the_token_is_no_longer_valid_mints_again_and_replays(
    emulator: Emulator, clock: FakeClock
) -> None:
    stale = {
        "message": "Authentication token is no longer valid.",
        "extensions": {"errorType": "AUTHORIZATION", "errorCode": "KT-CT-1162"},
    }
    with recording_server(Scripted(400, errors_body(stale)), Scripted(200, EMPTY_DATA)) as api:
        answer = demo_caller(emulator, clock, api_url=api.url).ask()
    assert answer.data == {}
    assert emulator.stats.requests["token"] == 2
    assert clock.sleeps == [], "a replay with a new token does not wait"


def test_a_503_with_codeless_json_errors_is_retried_by_its_status(
    emulator: Emulator, clock: FakeClock
) -> None:
    busy = {"message": "Service busy"}
    with recording_server(Scripted(503, errors_body(busy)), Scripted(200, EMPTY_DATA)) as api:
        answer = demo_caller(emulator, clock, api_url=api.url).ask()
    assert answer.data == {}
    assert len(clock.sleeps) == 1


def test_a_503_with_codeless_json_errors_that_persists_runs_out_of_attempts(
    emulator: Emulator, clock: FakeClock
) -> None:
    busy = Scripted(503, errors_body({"message": "Service busy"}))
    with recording_server(*[busy] * 3) as api, pytest.raises(RetriesExhaustedError) as exhausted:
        demo_caller(emulator, clock, api_url=api.url, max_attempts=3).ask()
    assert exhausted.value.code == "HTTP 503"


def test_a_fetch_from_a_strict_kraken_lands_every_row_after_the_token_is_no_longer_valid(
    start_emulator: StartEmulator, make_client: Callable[..., KrakenClient]
) -> None:
    kraken = start_emulator(pathless_error_status=400)
    kraken.faults.add(Fault("kraken_error", code="KT-CT-1162"))
    result = make_client(kraken).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert_matches_emulator(kraken, result, *ONE_DAY)
    assert kraken.stats.requests == {"token": 2, "graphql": 2}
