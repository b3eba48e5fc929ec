"""One redaction step: secrets, tokens, JWTs, URL passwords and credential parameters become ***.

Every error of the client is redacted when it is made, so what reaches a log, the fetch log or a
traceback is already clean; the echoed-token fault proves it over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from pydantic import SecretStr

from kraken_pipeline.cli.demo import kraken_target
from kraken_pipeline.emulator import DEMO_CLIENT_SECRET, Emulator, Fault
from kraken_pipeline.kraken import FatalError, KrakenClient, KrakenSettings
from kraken_pipeline.kraken.redaction import MASK, redact, register_secret
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline_tests.support.kraken_client import DEMO_POINTS, assert_matches_emulator, window

MakeClient = Callable[..., KrakenClient]
ONE_DAY = window(date(2026, 11, 1))
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl-_x"


def test_a_registered_secret_is_masked_wherever_it_appears() -> None:
    register_secret("opaque-token-5521-zz")
    assert redact("refused opaque-token-5521-zz twice") == f"refused {MASK} twice"


def test_anything_shaped_like_a_jwt_is_masked_even_unregistered() -> None:
    assert redact(f"Authorization: JWT {JWT}.") == f"Authorization: JWT {MASK}."


def test_a_url_password_is_masked_and_the_user_and_host_kept() -> None:
    shown = redact("at https://reader:pa55word@kraken.example/v1/graphql/")
    assert shown == f"at https://reader:{MASK}@kraken.example/v1/graphql/"


@pytest.mark.parametrize(
    "name", ["token", "access_token", "secret", "password", "key", "signature", "sig", "code"]
)
def test_credential_looking_query_parameters_are_masked(name: str) -> None:
    shown = redact(f"sent to https://h.example/p?page=2&{name}=abc123xyz&x=1")
    assert shown == f"sent to https://h.example/p?page=2&{name}={MASK}&x=1"


@pytest.mark.parametrize(
    "text",
    [
        "the token endpoint https://auth.example/token/ (KRAKEN_AUTH_URL) timed out",
        "check KRAKEN_CLIENT_ID and KRAKEN_CLIENT_SECRET",
        "page size 1000 refused (KT-CT-1203); using 500",
        "monkey=3 and keyboard=qwerty stay",
    ],
)
def test_ordinary_messages_are_left_alone(text: str) -> None:
    assert redact(text) == text


def test_every_client_error_is_redacted_when_it_is_made() -> None:
    error = FatalError(f"the API said: bad token {JWT} for https://u:pw12345@h.example/")
    assert JWT not in error.message
    assert "pw12345" not in error.message
    assert JWT not in str(error)
    assert JWT not in repr(error)


def test_a_token_echoed_in_an_error_message_never_reaches_the_outcomes(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("echo_authorization", times=None))
    result = make_client(emulator).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    [token] = emulator.minted_tokens()
    messages = [outcome.error_message or "" for outcome in result.outcomes]
    assert all("Authorization" in message for message in messages), "the error is reported"
    assert not any(token in message for message in messages)
    assert all(MASK in message for message in messages)


def test_a_token_echoed_in_an_error_message_never_reaches_the_log(
    emulator: Emulator, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.faults.add(Fault("echo_authorization", times=None))
    make_client(emulator).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    [token] = emulator.minted_tokens()
    assert "Authorization" in caplog.text
    assert token not in caplog.text


def test_settings_and_client_repr_show_neither_the_secret_nor_a_url_password(
    emulator: Emulator, make_client: MakeClient
) -> None:
    settings = KrakenSettings(
        client_id="reader",
        client_secret=SecretStr("repr-secret-90210"),
        api_url="https://reader:url-pass-777@kraken.example/v1/graphql/",
    )
    client = make_client(emulator)
    for shown in (repr(settings), repr(client)):
        assert "repr-secret-90210" not in shown
        assert DEMO_CLIENT_SECRET not in shown
    assert "url-pass-777" not in repr(settings)
    assert "kraken.example" in repr(settings), "the rest of the settings is still shown"


def test_the_kraken_at_line_hides_a_password_in_kraken_api_url() -> None:
    settings = PipelineSettings(
        client_id="reader", api_url="https://reader:line-pass-31@kraken.example/v1/graphql/"
    )
    with kraken_target(settings, {}) as target:
        line = target.description
    assert "line-pass-31" not in line
    assert line == f"Kraken at https://reader:{MASK}@kraken.example/v1/graphql/"


def test_a_password_in_the_api_url_is_never_sent_in_place_of_the_token(
    emulator: Emulator, make_client: MakeClient
) -> None:
    api_url = emulator.graphql_url.replace("http://", "http://reader:url-pass-9931@")
    result = make_client(emulator, api_url=api_url).fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert_matches_emulator(emulator, result, *ONE_DAY)
