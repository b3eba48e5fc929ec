"""The emulator's auth server and how the GraphQL API authenticates and authorises a viewer.

Guards kraken_api.md §2 (client credentials, RFC 6749 errors) and §3 (KT-CT-1112/1143/1124/1111
answered with HTTP 200 in Kraken's envelope, with `data.property` null).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
import requests

from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, ClientGrant, Emulator
from kraken_pipeline_tests.support.emulator_http import EMULATOR_NOW, GraphQLCall

PROPERTY_QUERY = "query P($id: ID!) { property(id: $id) { id } }"
MEASUREMENTS_QUERY = """
query M($id: ID!) {
  property(id: $id) {
    id
    measurements(first: 1, startAt: "2026-11-01T00:00:00Z") { edgeCount }
  }
}
"""
FORM = {
    "grant_type": "client_credentials",
    "client_id": DEMO_CLIENT_ID,
    "client_secret": DEMO_CLIENT_SECRET,
}


def post_token(emulator: Emulator, **kwargs: Any) -> requests.Response:
    return requests.post(emulator.token_url, timeout=10, **kwargs)


def kraken_error(answer: requests.Response) -> tuple[str, list[Any]]:
    """(errorCode, path) of the single error of a GraphQL answer."""
    assert answer.status_code == 200
    (error,) = answer.json()["errors"]
    return error["extensions"]["errorCode"], error["path"]


def test_form_credentials_get_a_signed_jwt_with_expiry_issue_time_and_subject(
    emulator: Emulator,
) -> None:
    answer = post_token(emulator, data=FORM)

    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert set(body["scope"].split()) == {"CAN_VIEW_DETAILED_USAGE", "CAN_QUERY_PROPERTY"}
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == DEMO_CLIENT_ID
    assert claims["iat"] == int(EMULATOR_NOW.timestamp())
    assert claims["exp"] == claims["iat"] + 3600
    assert emulator.stats.tokens_minted == 1


def test_http_basic_client_authentication_is_accepted(emulator: Emulator) -> None:
    answer = post_token(
        emulator,
        data={"grant_type": "client_credentials"},
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
    )

    assert answer.status_code == 200
    assert answer.json()["access_token"].startswith("eyJ")


@pytest.mark.parametrize(
    ("form", "auth"),
    [
        ({**FORM, "client_secret": "rotated-secret"}, None),
        ({**FORM, "client_id": "nobody"}, None),
        ({"grant_type": "client_credentials"}, (DEMO_CLIENT_ID, "wrong")),
    ],
    ids=["wrong-secret", "unknown-client", "wrong-basic-secret"],
)
def test_bad_credentials_answer_401_invalid_client(
    emulator: Emulator, form: dict[str, str], auth: tuple[str, str] | None
) -> None:
    answer = post_token(emulator, data=form, auth=auth)

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert emulator.stats.errors == {"invalid_client": 1}
    assert emulator.stats.tokens_minted == 0


def test_another_grant_type_answers_400_unsupported_grant_type(emulator: Emulator) -> None:
    answer = post_token(emulator, data={**FORM, "grant_type": "password"})

    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("missing", ["grant_type", "client_id", "client_secret"])
def test_a_missing_field_answers_400_invalid_request_naming_it(
    emulator: Emulator, missing: str
) -> None:
    form = {key: value for key, value in FORM.items() if key != missing}

    answer = post_token(emulator, data=form)

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert missing in answer.json()["error_description"]


def test_the_token_endpoint_only_accepts_post(emulator: Emulator) -> None:
    answer = requests.get(emulator.token_url, timeout=10)

    assert answer.status_code == 405


@pytest.mark.parametrize("prefix", ["", "JWT ", "Bearer "])
def test_the_api_accepts_the_bare_token_and_both_prefixes(
    graphql: GraphQLCall, access_token: str, prefix: str
) -> None:
    answer = graphql(
        PROPERTY_QUERY, {"id": "1000001"}, headers={"Authorization": prefix + access_token}
    )

    assert answer.json() == {"data": {"property": {"id": "1000001"}}}


def test_a_request_without_authorization_header_gets_kt_ct_1112_with_http_200(
    graphql: GraphQLCall,
) -> None:
    answer = graphql(PROPERTY_QUERY, {"id": "1000001"}, headers={})

    assert kraken_error(answer) == ("KT-CT-1112", ["property"])
    assert answer.json()["data"] == {"property": None}


@pytest.mark.parametrize("header", ["garbage", "JWT not.a.jwt", "Token abc def"])
def test_a_garbage_token_gets_kt_ct_1143(graphql: GraphQLCall, header: str) -> None:
    answer = graphql(PROPERTY_QUERY, {"id": "1000001"}, headers={"Authorization": header})

    assert kraken_error(answer) == ("KT-CT-1143", ["property"])


def test_a_token_from_another_emulator_is_not_a_valid_credential(
    graphql: GraphQLCall,
    start_emulator: Callable[..., Emulator],
    mint_token: Callable[[Emulator], str],
) -> None:
    foreign = mint_token(start_emulator())

    answer = graphql(PROPERTY_QUERY, {"id": "1000001"}, headers={"Authorization": foreign})

    assert kraken_error(answer)[0] == "KT-CT-1143"


def test_a_token_is_refused_with_kt_ct_1124_once_the_clock_passes_its_expiry(
    emulator: Emulator, graphql: GraphQLCall
) -> None:
    emulator.advance_clock(timedelta(minutes=59))
    assert "errors" not in graphql(PROPERTY_QUERY, {"id": "1000001"}).json()

    emulator.advance_clock(timedelta(minutes=2))
    answer = graphql(PROPERTY_QUERY, {"id": "1000001"})

    assert kraken_error(answer) == ("KT-CT-1124", ["property"])
    error = answer.json()["errors"][0]
    assert error["message"] == "Signature of the JWT has expired."
    assert error["extensions"]["errorType"] == "APPLICATION"


def test_expire_tokens_expires_issued_tokens_but_not_later_ones(
    emulator: Emulator, graphql: GraphQLCall, mint_token: Callable[[Emulator], str]
) -> None:
    emulator.expire_tokens()

    assert kraken_error(graphql(PROPERTY_QUERY, {"id": "1000001"}))[0] == "KT-CT-1124"
    fresh = {"Authorization": mint_token(emulator)}
    assert graphql(PROPERTY_QUERY, {"id": "1000001"}, headers=fresh).json()["data"]["property"]


def test_a_property_outside_the_grant_gets_kt_ct_1111_and_null_data(
    start_emulator: Callable[..., Emulator], mint_token: Callable[[Emulator], str]
) -> None:
    grant = ClientGrant(
        DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, "one property", property_ids=frozenset({"1000001"})
    )
    emulator = start_emulator(clients=(grant,))
    headers = {"Authorization": mint_token(emulator)}
    query = '{ mine: property(id: "1000001") { id } theirs: property(id: "1000002") { id } }'

    answer = requests.post(emulator.graphql_url, json={"query": query}, headers=headers, timeout=10)

    assert kraken_error(answer) == ("KT-CT-1111", ["theirs"])
    assert answer.json()["data"] == {"mine": {"id": "1000001"}, "theirs": None}


def test_an_unknown_property_is_refused_like_a_forbidden_one(graphql: GraphQLCall) -> None:
    answer = graphql(PROPERTY_QUERY, {"id": "9999999"})

    assert kraken_error(answer) == ("KT-CT-1111", ["property"])


def test_without_can_view_detailed_usage_measurements_get_kt_ct_1111(
    start_emulator: Callable[..., Emulator], mint_token: Callable[[Emulator], str]
) -> None:
    grant = ClientGrant(
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        "no usage",
        permissions=frozenset({"CAN_QUERY_PROPERTY"}),
    )
    emulator = start_emulator(clients=(grant,))
    headers = {"Authorization": mint_token(emulator)}
    body = {"query": MEASUREMENTS_QUERY, "variables": {"id": "1000001"}}

    answer = requests.post(emulator.graphql_url, json=body, headers=headers, timeout=10)

    assert kraken_error(answer) == ("KT-CT-1111", ["property", "measurements"])
    assert answer.json()["data"] == {"property": {"id": "1000001", "measurements": None}}


def test_without_can_query_property_the_property_gets_kt_ct_1111(
    start_emulator: Callable[..., Emulator], mint_token: Callable[[Emulator], str]
) -> None:
    grant = ClientGrant(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, "no property", permissions=frozenset())
    emulator = start_emulator(clients=(grant,))
    headers = {"Authorization": mint_token(emulator)}
    body = {"query": PROPERTY_QUERY, "variables": {"id": "1000001"}}

    answer = requests.post(emulator.graphql_url, json=body, headers=headers, timeout=10)

    assert kraken_error(answer) == ("KT-CT-1111", ["property"])


def test_third_party_viewer_tells_who_we_are_and_what_we_may_do(graphql: GraphQLCall) -> None:
    answer = graphql("{ thirdPartyViewer { name permissions { permission } } }")

    viewer = answer.json()["data"]["thirdPartyViewer"]
    assert viewer["name"] == "kraken-pipeline demo"
    assert {p["permission"] for p in viewer["permissions"]} == {
        "CAN_VIEW_DETAILED_USAGE",
        "CAN_QUERY_PROPERTY",
    }


def test_malformed_basic_credentials_answer_401_invalid_client(emulator: Emulator) -> None:
    answer = post_token(
        emulator,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic not-base64!"},
    )

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert answer.headers["WWW-Authenticate"].startswith("Basic")
