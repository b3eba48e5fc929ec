"""Answer bodies become Arrow pages the same way whether or not they carry errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kraken_pipeline.kraken.errors import RetryableError
from kraken_pipeline.kraken.wire import BadPage, ConnectionPage, decode_json, measurement_decoder

NODE = {
    "value": "0.201000",
    "unit": "kwh",
    "source": "SMART_METER",
    "readAt": "2026-05-07T00:30:00+01:00",
    "startAt": "2026-05-07T00:00:00+01:00",
    "endAt": "2026-05-07T00:30:00+01:00",
    "metaData": {
        "utilityFilters": {
            "__typename": "ElectricityFiltersOutput",
            "marketSupplyPointId": "1200012345679",
            "readingDirection": "CONSUMPTION",
            "readingQuality": "ACTUAL",
        }
    },
}


def body(data: dict[str, Any], errors: list[Any] | None = None) -> bytes:
    payload: dict[str, Any] = {"data": data}
    if errors is not None:
        payload["errors"] = errors
    return json.dumps(payload).encode()


def connection(*nodes: Any, has_next: bool = False) -> dict[str, Any]:
    return {
        "measurements": {
            "pageInfo": {"hasNextPage": has_next, "endCursor": "abc"},
            "edges": [{"node": node} for node in nodes],
        }
    }


def test_the_arrow_path_and_the_json_path_read_the_same_page() -> None:
    data = {"p0": connection(NODE, None, NODE, has_next=True), "p1": connection()}
    decode = measurement_decoder(2)
    fast_errors, fast = decode(body(data))
    slow_errors, slow = decode(body(data, errors=[]))
    assert fast_errors == slow_errors == []
    for name in ("p0", "p1"):
        assert fast[name].nodes.to_pylist() == slow[name].nodes.to_pylist()
        assert (fast[name].has_next_page, fast[name].end_cursor) == (
            slow[name].has_next_page,
            slow[name].end_cursor,
        )
    assert fast["p0"].has_next_page is True
    assert fast["p0"].nodes.to_pylist()[1] is None
    assert (
        fast["p0"].nodes.to_pylist()[0]["metaData"]["utilityFilters"]["readingQuality"] == "ACTUAL"
    )


def test_a_null_property_is_a_missing_page_and_its_errors_are_kept() -> None:
    error = {"message": "Unauthorized.", "path": ["p1"], "extensions": {"errorCode": "KT-CT-1111"}}
    errors, pages = measurement_decoder(2)(body({"p0": connection(NODE), "p1": None}, [error]))
    assert errors == [error]
    assert pages["p1"] is None
    assert len(pages["p0"].nodes) == 1


def test_an_answer_without_data_has_no_pages() -> None:
    errors, pages = measurement_decoder(1)(b'{"errors": [{"message": "x"}]}')
    assert pages["p0"] is None
    assert pages.get("rateLimitInfo") is None
    assert len(errors) == 1


def test_the_rate_limit_asked_beside_the_measurements_is_read_on_both_paths() -> None:
    allowance = {
        "limit": 300000,
        "remainingPoints": 299825,
        "usedPoints": 175,
        "ttl": 1795179600,
        "isBlocked": False,
    }
    data = {"p0": connection(NODE), "rateLimitInfo": {"pointsAllowanceRateLimit": allowance}}
    decode = measurement_decoder(1)
    for raw in (body(data), body(data, errors=[])):
        _errors, pages = decode(raw)
        assert pages["rateLimitInfo"] == {"pointsAllowanceRateLimit": allowance}
        assert len(pages["p0"].nodes) == 1
    _errors, without = decode(body({"p0": connection(NODE)}))
    assert without["rateLimitInfo"] is None


@pytest.mark.parametrize("cut", [10, 100, -3])
def test_a_truncated_body_is_retryable(cut: int) -> None:
    raw = body({"p0": connection(NODE, NODE)})
    with pytest.raises(RetryableError, match="truncated or non-JSON"):
        measurement_decoder(1)(raw[:cut])


def test_an_html_page_with_status_200_is_retryable() -> None:
    with pytest.raises(RetryableError):
        decode_json(b"<html><body>maintenance</body></html>")


def test_a_wrongly_typed_value_fails_only_its_own_alias_naming_the_field() -> None:
    odd = dict(NODE, value=0.2)  # a number where Kraken sends a decimal string
    _errors, pages = measurement_decoder(2)(body({"p0": connection(odd), "p1": connection(NODE)}))
    assert isinstance(pages["p0"], BadPage)
    assert pages["p0"].field == "measurements.edges[0].node.value"
    assert "the number 0.2" in pages["p0"].describe()
    assert "a string" in pages["p0"].describe()
    assert isinstance(pages["p1"], ConnectionPage)
    assert len(pages["p1"].nodes) == 1


@pytest.mark.parametrize(
    ("connection_value", "field"),
    [
        ({"pageInfo": {"hasNextPage": "false"}, "edges": []}, "measurements.pageInfo.hasNextPage"),
        ({"pageInfo": {}, "edges": {"node": NODE}}, "measurements.edges"),
        ("not a connection", "measurements"),
    ],
)
def test_a_wrongly_shaped_page_is_a_bad_page_naming_the_field(
    connection_value: Any, field: str
) -> None:
    _errors, pages = measurement_decoder(1)(body({"p0": {"measurements": connection_value}}))
    assert isinstance(pages["p0"], BadPage)
    assert pages["p0"].field == field


def test_a_well_typed_page_with_an_error_beside_it_is_no_bad_page() -> None:
    error = {"message": "x", "path": ["p1"]}
    _errors, pages = measurement_decoder(1)(body({"p0": connection(NODE)}, [error]))
    assert isinstance(pages["p0"], ConnectionPage)
