"""The emulator's hostile and strict answers, seen over real HTTP: what the client must survive.

Pathless errors as HTTP 400 (graphene-django's way), redirects to another origin, bodies that
drip, error messages that echo the Authorization header, tokens whose `exp` already passed, and
the codes of kraken_api.md section 7 in the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import jwt
import pytest
import requests

from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, Fault
from kraken_pipeline.emulator.errors import CATALOGUE
from kraken_pipeline_tests.support.emulator_http import GraphQLCall

StartEmulator = Callable[..., Emulator]
PROPERTY_QUERY = 'query { property(id: "1000001") { id } }'
TOKEN_FORM = {
    "grant_type": "client_credentials",
    "client_id": DEMO_CLIENT_ID,
    "client_secret": DEMO_CLIENT_SECRET,
}
TIMEOUT = 10


def post_graphql(kraken: Emulator, token: str, query: str = PROPERTY_QUERY) -> requests.Response:
    return requests.post(
        kraken.graphql_url, json={"query": query}, headers={"Authorization": token}, timeout=TIMEOUT
    )


def test_a_too_complex_query_is_a_pathless_http_400_when_the_switch_is_on(
    start_emulator: StartEmulator, mint_token: Callable[[Emulator], str]
) -> None:
    kraken = start_emulator(max_complexity=0, pathless_error_status=400)
    answer = post_graphql(kraken, mint_token(kraken))
    [error] = answer.json()["errors"]
    assert answer.status_code == 400
    assert "path" not in error
    assert error["extensions"]["errorCode"] == "KT-CT-1188"
    assert "data" not in answer.json()


def test_a_too_complex_query_is_answered_with_200_by_default(
    start_emulator: StartEmulator, mint_token: Callable[[Emulator], str]
) -> None:
    kraken = start_emulator(max_complexity=0)
    answer = post_graphql(kraken, mint_token(kraken))
    assert answer.status_code == 200
    assert answer.json()["errors"][0]["extensions"]["errorCode"] == "KT-CT-1188"


def test_an_invalid_document_is_a_pathless_http_400_when_the_switch_is_on(
    start_emulator: StartEmulator, mint_token: Callable[[Emulator], str]
) -> None:
    kraken = start_emulator(pathless_error_status=400)
    answer = post_graphql(kraken, mint_token(kraken), "{ noSuchField }")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["extensions"]["errorType"] == "VALIDATION"


def test_an_error_with_a_path_still_comes_with_200_and_data(
    start_emulator: StartEmulator, mint_token: Callable[[Emulator], str]
) -> None:
    kraken = start_emulator(pathless_error_status=400)
    kraken.faults.add(Fault("kraken_error", code="KT-CT-4178", property_id="1000001"))
    answer = post_graphql(kraken, mint_token(kraken))
    assert answer.status_code == 200
    assert answer.json()["errors"][0]["path"] == ["property"]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("KT-CT-1147", "Unable to verify token signing keys"),
        ("KT-CT-1162", "no longer valid"),
        ("KT-CT-1163", "Authentication token is invalid"),
        ("KT-CT-1201", "Invalid pagination parameters"),
        ("KT-CT-1202", "maximum limit"),
        ("KT-CT-1203", "maximum limit"),
        ("KT-CT-1188", "too complex"),
        ("KT-CT-1189", "node count"),
    ],
)
def test_the_catalogue_words_section_7_codes_as_kraken_does(
    graphql: GraphQLCall, emulator: Emulator, code: str, words: str
) -> None:
    emulator.faults.add(Fault("kraken_error", code=code))
    [error] = graphql(PROPERTY_QUERY).json()["errors"]
    assert error["extensions"]["errorCode"] == code
    assert words in error["message"]
    assert error["extensions"]["errorType"] == CATALOGUE[code][0]


@pytest.mark.parametrize("endpoint", ["token", "graphql"])
def test_a_redirect_fault_points_to_another_origin_without_serving(
    emulator: Emulator, endpoint: str
) -> None:
    emulator.faults.add(Fault("redirect", endpoint=endpoint, status=308, location="http://x.test/"))
    url = emulator.token_url if endpoint == "token" else emulator.graphql_url
    answer = requests.post(url, data=TOKEN_FORM, allow_redirects=False, timeout=TIMEOUT)
    assert (answer.status_code, answer.headers["Location"]) == (308, "http://x.test/")
    assert emulator.minted_tokens() == (), "nothing was served behind the redirect"


def test_a_redirect_fault_with_an_error_status_redirects_with_307(emulator: Emulator) -> None:
    emulator.faults.add(Fault("redirect", endpoint="token"))
    answer = requests.post(emulator.token_url, data=TOKEN_FORM, allow_redirects=False, timeout=10)
    assert answer.status_code == 307


def test_only_a_redirect_fault_may_have_a_3xx_status() -> None:
    with pytest.raises(ValueError, match="not an HTTP error status"):
        Fault("http_status", status=307)


def test_a_slow_drip_still_delivers_the_whole_body_to_a_patient_client(
    emulator: Emulator,
) -> None:
    emulator.faults.add(Fault("slow_drip", endpoint="token", delay_seconds=0.001))
    answer = requests.post(emulator.token_url, data=TOKEN_FORM, timeout=TIMEOUT)
    assert answer.status_code == 200
    assert answer.json()["token_type"] == "Bearer"


def test_an_echo_fault_repeats_the_authorization_header_in_its_message(
    graphql: GraphQLCall, emulator: Emulator, access_token: str
) -> None:
    emulator.faults.add(Fault("echo_authorization"))
    [error] = graphql(PROPERTY_QUERY).json()["errors"]
    assert access_token in error["message"]
    assert error["extensions"]["errorCode"] == "KT-CT-7899"
    assert "errors" not in graphql(PROPERTY_QUERY).json(), "the fault is consumed"


def test_the_echo_fault_belongs_to_the_graphql_endpoint() -> None:
    with pytest.raises(ValueError, match="graphql endpoint only"):
        Fault("echo_authorization", endpoint="token")


def test_a_skewed_token_shows_a_past_exp_yet_is_accepted_for_its_lifetime(
    start_emulator: StartEmulator,
) -> None:
    kraken = start_emulator(token_expiry_skew=-timedelta(hours=2))
    minted = requests.post(kraken.token_url, data=TOKEN_FORM, timeout=TIMEOUT).json()
    claims = jwt.decode(minted["access_token"], options={"verify_signature": False})
    assert minted["expires_in"] == -3600
    assert claims["exp"] < kraken.now().timestamp()
    assert "errors" not in post_graphql(kraken, minted["access_token"]).json()
    kraken.advance_clock(timedelta(hours=1, seconds=1))
    [error] = post_graphql(kraken, minted["access_token"]).json()["errors"]
    assert error["extensions"]["errorCode"] == "KT-CT-1124", "its real lifetime still ends"
