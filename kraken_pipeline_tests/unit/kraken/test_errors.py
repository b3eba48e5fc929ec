"""Kraken answers are classified once into retryable, re-authenticate, shrink and fatal."""

from __future__ import annotations

from typing import Any

import pytest

from kraken_pipeline.kraken.errors import (
    FatalError,
    InvalidClientError,
    ReauthenticateError,
    RetryableError,
    ShrinkRequestError,
    TargetError,
    TokenEndpointThrottledError,
    graphql_error,
    http_error,
    token_endpoint_error,
)


def kraken(code: str | None, error_type: str = "APPLICATION", **extra: Any) -> dict[str, Any]:
    extensions: dict[str, Any] = {"errorType": error_type, **extra}
    if code:
        extensions["errorCode"] = code
    return {"message": "m", "path": ["p0"], "extensions": extensions}


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("KT-CT-1199", RetryableError),
        ("KT-CT-7899", RetryableError),
        ("KT-CT-1124", ReauthenticateError),
        ("KT-CT-1120", ReauthenticateError),
        ("KT-CT-1143", ReauthenticateError),
        ("KT-CT-1144", ReauthenticateError),
        ("KT-CT-1125", ReauthenticateError),
        ("KT-CT-1127", ReauthenticateError),
        ("KT-CT-1188", ShrinkRequestError),
        ("KT-CT-1189", ShrinkRequestError),
        ("KT-CT-1111", TargetError),
        ("KT-CT-4177", TargetError),
        ("KT-CT-4178", TargetError),
        ("KT-CT-1113", TargetError),
    ],
)
def test_each_kraken_code_has_one_reaction(code: str, kind: type[Exception]) -> None:
    assert type(graphql_error(kraken(code), "1000001")) is kind


def test_a_missing_authorization_header_is_a_bug_not_a_retry() -> None:
    error = graphql_error(kraken("KT-CT-1112"), None)
    assert isinstance(error, FatalError)
    assert not isinstance(error, TargetError)


def test_rate_limiting_waits_at_least_ten_seconds_because_kraken_sends_no_retry_after() -> None:
    error = graphql_error(kraken("KT-CT-1199"), "1")
    assert isinstance(error, RetryableError)
    assert error.min_delay >= 10


def test_a_page_size_validation_error_shrinks_the_request() -> None:
    entry = kraken(None, "VALIDATION", validationErrors=[{"message": "x", "inputPath": ["first"]}])
    assert isinstance(graphql_error(entry, "1"), ShrinkRequestError)


def test_other_validation_errors_are_fatal() -> None:
    assert type(graphql_error(kraken(None, "VALIDATION"), None)) is FatalError


def test_kt_ct_1111_names_the_property_and_the_permissions_to_check() -> None:
    message = graphql_error(kraken("KT-CT-1111"), "1000004").message
    assert "property 1000004" in message
    assert "CAN_VIEW_DETAILED_USAGE" in message
    assert "CAN_QUERY_PROPERTY" in message
    assert "not granted" in message


@pytest.mark.parametrize(
    ("status", "content_type", "retryable"),
    [
        (429, "application/json", True),
        (500, "text/html", True),
        (502, "text/html", True),
        (503, "application/json", True),
        (403, "text/html; charset=utf-8", True),
        (403, "application/json", False),
        (400, "application/json", False),
    ],
)
def test_http_statuses_of_the_api(status: int, content_type: str, retryable: bool) -> None:
    error = http_error(status, content_type, None, "the API")
    assert isinstance(error, RetryableError) is retryable
    assert error.code == f"HTTP {status}"


def test_invalid_client_names_the_client_and_the_secret_rotation() -> None:
    error = token_endpoint_error(401, "application/json", "invalid_client", "my-client")
    assert isinstance(error, InvalidClientError)
    assert "'my-client'" in error.message
    assert "regenerated" in error.message


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_throttled_token_endpoint_is_retryable(status: int) -> None:
    error = token_endpoint_error(status, "application/json", None, "c")
    assert isinstance(error, TokenEndpointThrottledError)


def test_an_html_403_from_the_token_endpoint_is_throttling_not_bad_credentials() -> None:
    error = token_endpoint_error(403, "text/html", None, "c")
    assert isinstance(error, TokenEndpointThrottledError)


def test_an_unsupported_grant_is_fatal_with_its_oauth_code() -> None:
    error = token_endpoint_error(400, "application/json", "unsupported_grant_type", "c")
    assert isinstance(error, FatalError)
    assert error.code == "unsupported_grant_type"
