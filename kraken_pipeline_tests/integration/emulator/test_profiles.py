"""The emulator's limit profiles refuse what their reading of Kraken refuses, and no more."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import requests

from kraken_pipeline.emulator import Emulator, EmulatorConfig
from kraken_pipeline.emulator.profiles import PROFILES, profile_overrides, with_profile
from kraken_pipeline.kraken.queries import measurements_document
from kraken_pipeline.local_days import day_bounds

HTTP_TIMEOUT = 10
OFFICE = "1000002"
OFFICE_IMPORT = "2200098765436"


def variables(count: int, first: int) -> dict[str, Any]:
    start, end = day_bounds(date(2026, 11, 1), "Europe/London")
    values: dict[str, Any] = {"first": first, "timezone": "Europe/London"}
    for index in range(count):
        values |= {
            f"propertyId{index}": OFFICE,
            f"after{index}": None,
            f"startAt{index}": start.isoformat(),
            f"endAt{index}": end.isoformat(),
            f"filters{index}": [
                {
                    "electricityFilters": {
                        "marketSupplyPointId": OFFICE_IMPORT,
                        "readingDirection": "CONSUMPTION",
                    }
                }
            ],
        }
    return values


def ask(
    emulator: Emulator, mint_token: Callable[[Emulator], str], count: int, first: int
) -> dict[str, Any]:
    body = {"query": measurements_document(count), "variables": variables(count, first)}
    answer = requests.post(
        emulator.graphql_url,
        json=body,
        headers={"Authorization": mint_token(emulator)},
        timeout=HTTP_TIMEOUT,
    )
    payload: dict[str, Any] = answer.json()
    return payload


def error_of(payload: dict[str, Any]) -> dict[str, Any]:
    errors = payload.get("errors") or [{}]
    extensions: dict[str, Any] = errors[0].get("extensions") or {}
    return extensions


def test_strict_pages_refuses_a_first_of_100_with_kt_ct_1203_naming_first(
    start_emulator: Callable[..., Emulator], mint_token: Callable[[Emulator], str]
) -> None:
    emulator = start_emulator(**profile_overrides("strict-pages"))
    refused = error_of(ask(emulator, mint_token, 1, 100))
    assert (refused["errorCode"], refused["errorType"]) == ("KT-CT-1203", "VALIDATION")
    assert refused["validationErrors"][0]["inputPath"] == ["first"]
    assert "less than 100" in refused["validationErrors"][0]["message"]
    assert "errors" not in ask(emulator, mint_token, 1, 99)


def test_strict_complexity_lets_pagination_weigh_so_two_full_pages_are_too_complex(
    start_emulator: Callable[..., Emulator], mint_token: Callable[[Emulator], str]
) -> None:
    emulator = start_emulator(**profile_overrides("strict-complexity"))
    assert error_of(ask(emulator, mint_token, 2, 1000))["errorCode"] == "KT-CT-1188"
    assert "errors" not in ask(emulator, mint_token, 1, 1000)
    assert "errors" not in ask(emulator, mint_token, 5, 99)


def test_small_nodes_refuses_more_than_2000_nodes_per_request(
    start_emulator: Callable[..., Emulator], mint_token: Callable[[Emulator], str]
) -> None:
    emulator = start_emulator(**profile_overrides("small-nodes"))
    assert error_of(ask(emulator, mint_token, 3, 1000))["errorCode"] == "KT-CT-1189"
    assert "errors" not in ask(emulator, mint_token, 2, 1000)


@pytest.mark.parametrize(
    ("count", "first", "code"), [(1, 100, "KT-CT-1203"), (8, 99, "KT-CT-1188")]
)
def test_graphene_400_answers_refusals_found_before_execution_as_400_without_a_path(
    start_emulator: Callable[..., Emulator],
    mint_token: Callable[[Emulator], str],
    count: int,
    first: int,
    code: str,
) -> None:
    emulator = start_emulator(**profile_overrides("graphene-400"))
    body = {"query": measurements_document(count), "variables": variables(count, first)}
    headers = {"Authorization": mint_token(emulator)}

    refused = requests.post(emulator.graphql_url, json=body, headers=headers, timeout=HTTP_TIMEOUT)
    body = {"query": measurements_document(1), "variables": variables(1, 99)}
    served = requests.post(emulator.graphql_url, json=body, headers=headers, timeout=HTTP_TIMEOUT)

    assert refused.status_code == 400
    (error,) = refused.json()["errors"]
    assert error["extensions"]["errorCode"] == code
    assert "path" not in error
    assert served.status_code == 200
    assert "errors" not in served.json()


def test_the_lenient_profile_is_the_default_config() -> None:
    config = EmulatorConfig()
    assert with_profile(config, "lenient") == config
    assert with_profile(config, None) is config


def test_the_strictest_profile_holds_every_other_strict_limit() -> None:
    strictest = profile_overrides("strictest")
    for name in ("strict-pages", "strict-complexity", "small-nodes"):
        assert PROFILES[name].items() <= strictest.items()


def test_an_unknown_profile_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown emulator profile 'tight'.*strictest"):
        profile_overrides("tight")
