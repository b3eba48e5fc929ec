"""The codes of section 7: re-mint, retry, bounded retries, and what an unknown code fails.

Classification is a pure function of the error entry, its alias and the HTTP status; the fetches
below show what a user sees of each rule against the emulator.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from kraken_pipeline.emulator import Emulator, Fault
from kraken_pipeline.kraken import (
    FatalError,
    KrakenClient,
    ReauthenticateError,
    RetryableError,
    ShrinkRequestError,
    TargetError,
)
from kraken_pipeline.kraken.errors import (
    INTERNAL_ERROR_ATTEMPTS,
    NO_CODE,
    graphql_error,
    stops_everything,
)
from kraken_pipeline_tests.support.callers import demo_caller
from kraken_pipeline_tests.support.kraken_client import (
    DEMO_POINTS,
    FakeClock,
    assert_matches_emulator,
    window,
)
from kraken_pipeline_tests.support.loopback import Scripted, recording_server

MakeClient = Callable[..., KrakenClient]
ONE_DAY = window(date(2026, 11, 1))


def entry(code: str | None, *, path: bool = True, **extensions: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"errorType": "APPLICATION", **extensions}
    if code:
        values["errorCode"] = code
    error: dict[str, Any] = {"message": "it went wrong", "extensions": values}
    if path:
        error["path"] = ["p0"]
    return error


@pytest.mark.parametrize("code", ["KT-CT-1162", "KT-CT-1163"])
def test_a_token_no_longer_valid_or_invalid_asks_for_a_new_token(code: str) -> None:
    assert isinstance(graphql_error(entry(code, path=False), None), ReauthenticateError)


def test_unverifiable_signing_keys_are_retried_as_often_as_the_policy_allows() -> None:
    error = graphql_error(entry("KT-CT-1147", path=False), None)
    assert isinstance(error, RetryableError)
    assert error.max_attempts is None


def test_an_internal_error_is_retried_a_bounded_number_of_times() -> None:
    error = graphql_error(entry("KT-CT-7899"), "A-1")
    assert isinstance(error, RetryableError)
    assert error.max_attempts == INTERNAL_ERROR_ATTEMPTS


def test_an_unknown_code_on_an_alias_fails_that_property_naming_the_code() -> None:
    error = graphql_error(entry("KT-CT-9998"), "A-1")
    assert isinstance(error, TargetError)
    assert error.property_id == "A-1"
    assert "KT-CT-9998" in error.message


def test_an_unknown_code_without_a_path_fails_the_request_but_not_the_run() -> None:
    error = graphql_error(entry("KT-CT-9998", path=False), None)
    assert isinstance(error, FatalError)
    assert "KT-CT-9998" in error.message
    assert not stops_everything(error)


def test_a_codeless_error_on_an_alias_is_worth_sending_that_alias_again() -> None:
    error = graphql_error(entry(None), "A-1")
    assert isinstance(error, RetryableError)
    assert error.code == NO_CODE


@pytest.mark.parametrize(
    ("status", "retryable"), [(200, False), (400, False), (429, True), (503, True)]
)
def test_a_codeless_pathless_error_is_judged_by_the_http_status(
    status: int, retryable: bool
) -> None:
    error = graphql_error(entry(None, path=False), None, status)
    assert isinstance(error, RetryableError) is retryable
    assert isinstance(error, FatalError) is not retryable


@pytest.mark.parametrize(
    ("code", "dimension"),
    [
        ("KT-CT-1188", "aliases"),
        ("KT-CT-1189", "nodes"),
        ("KT-CT-1201", "page_size"),
        ("KT-CT-1202", "page_size"),
        ("KT-CT-1203", "page_size"),
    ],
)
def test_each_size_refusal_names_the_dimension_to_shrink(code: str, dimension: str) -> None:
    error = graphql_error(entry(code, path=False), None, 400)
    assert isinstance(error, ShrinkRequestError)
    assert error.dimension == dimension


def test_a_validation_error_naming_first_in_its_input_path_asks_for_a_smaller_page() -> None:
    details = [{"message": "Too many.", "inputPath": ["first"]}]
    error = graphql_error(
        entry(None, path=False, errorType="VALIDATION", validationErrors=details), None, 400
    )
    assert isinstance(error, ShrinkRequestError)
    assert error.dimension == "page_size"


def test_a_validation_error_about_another_argument_is_no_reason_to_shrink() -> None:
    details = [{"message": "Bad date.", "inputPath": ["startAt"]}]
    error = graphql_error(
        entry(None, path=False, errorType="VALIDATION", validationErrors=details), None, 400
    )
    assert not isinstance(error, ShrinkRequestError)
    assert isinstance(error, FatalError)


def test_a_codeless_error_of_one_alias_comes_back_beside_the_others_data(
    emulator: Emulator, clock: FakeClock
) -> None:
    body = {"data": {"p0": None, "p1": {"ok": True}}, "errors": [entry(None)]}
    with recording_server(Scripted(200, json.dumps(body).encode())) as api:
        answer = demo_caller(emulator, clock, api_url=api.url).ask(
            aliases={"p0": "A-1", "p1": "A-2"}
        )
    assert answer.data["p1"] == {"ok": True}
    assert isinstance(answer.alias_errors["p0"], RetryableError)
    assert "p1" not in answer.alias_errors


def test_a_persistent_internal_error_fails_its_supply_points_after_three_requests(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("kraken_error", code="KT-CT-7899", times=None))
    result = make_client(emulator, max_attempts=6).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert emulator.stats.requests["graphql"] == INTERNAL_ERROR_ATTEMPTS
    assert {outcome.error_code for outcome in result.outcomes} == {"KT-CT-7899"}
    assert not any(outcome.ok for outcome in result.outcomes)


def test_an_internal_error_that_passes_within_its_attempts_lands_every_row(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("kraken_error", code="KT-CT-7899", times=2))
    result = make_client(emulator).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert_matches_emulator(emulator, result, *ONE_DAY)


def test_unverifiable_signing_keys_for_a_moment_cost_a_retry_not_the_day(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("kraken_error", code="KT-CT-1147"))
    result = make_client(emulator).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert_matches_emulator(emulator, result, *ONE_DAY)
    assert emulator.stats.requests["graphql"] == 2


@pytest.mark.parametrize("code", ["KT-CT-1162", "KT-CT-1163"])
def test_a_token_refused_once_is_replaced_once_and_the_day_lands(
    emulator: Emulator, make_client: MakeClient, code: str
) -> None:
    emulator.faults.add(Fault("kraken_error", code=code))
    result = make_client(emulator).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert_matches_emulator(emulator, result, *ONE_DAY)
    assert emulator.stats.requests == {"token": 2, "graphql": 2}


def test_a_token_refused_again_after_a_new_mint_fails_naming_the_client(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("kraken_error", code="KT-CT-1162", times=None))
    with pytest.raises(FatalError) as refused:
        make_client(emulator).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert "freshly minted token" in refused.value.message
    assert emulator.stats.requests["token"] == 2


def test_a_field_error_without_a_code_is_sent_again_for_its_property_and_lands(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("data_and_errors", code=""))
    result = make_client(emulator).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert_matches_emulator(emulator, result, *ONE_DAY)


def test_a_field_error_without_a_code_that_persists_fails_its_points_after_three_sends(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("data_and_errors", code="", times=None))
    result = make_client(emulator, max_attempts=6).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert emulator.stats.requests["graphql"] == INTERNAL_ERROR_ATTEMPTS
    assert {outcome.error_code for outcome in result.outcomes} == {NO_CODE}
    assert not any(outcome.ok for outcome in result.outcomes)
