"""Answer bodies become typed pages the same way whether or not they carry errors."""

from __future__ import annotations

from typing import Any

import pytest

from kraken_pipeline.kraken.errors import ResponseFormatError, RetryableError
from kraken_pipeline.kraken.wire import (
    BadPage,
    Connection,
    Filters,
    MetaData,
    decode_json,
    measurement_decoder,
)
from kraken_pipeline_tests.support.wire_bodies import (
    NODE,
    body,
    connection,
)


def test_an_answer_reads_the_same_with_or_without_an_errors_list() -> None:
    data = {"p0": connection(NODE, None, NODE, has_next=True), "p1": connection()}
    decode = measurement_decoder(2)
    plain_errors, plain = decode(body(data))
    listed_errors, listed = decode(body(data, errors=[]))
    assert plain_errors == listed_errors == []
    assert plain == listed
    page = plain["p0"]
    assert (page.page_info.has_next_page, page.page_info.end_cursor) == (True, "abc")
    assert len(page.edges) == 3
    assert len(page.nodes) == 2, "the null node is left out"
    node = page.nodes[0]
    assert (node.value, node.start_at, node.unit, node.source) == (
        "0.201000",
        "2026-05-07T00:00:00+01:00",
        "kwh",
        "SMART_METER",
    )
    assert node.meta_data == MetaData(Filters("1200012345679", "CONSUMPTION", "ACTUAL"))


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


def test_the_rate_limit_asked_beside_the_measurements_is_read_as_plain_json() -> None:
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


@pytest.mark.parametrize("raw", [b"[1, 2]", b'{"errors": "no"}', b'{"data": [1]}'])
def test_json_that_is_no_graphql_answer_is_a_format_error(raw: bytes) -> None:
    with pytest.raises(ResponseFormatError, match="another shape"):
        measurement_decoder(1)(raw)


def test_a_wrongly_typed_value_fails_only_its_own_alias_naming_the_field() -> None:
    odd = dict(NODE, value=0.2)  # a number where Kraken sends a decimal string
    _errors, pages = measurement_decoder(2)(body({"p0": connection(odd), "p1": connection(NODE)}))
    assert isinstance(pages["p0"], BadPage)
    assert pages["p0"].field == "$.data.p0.measurements.edges[0].node.value"
    assert not pages["p0"].protocol, "a wrong type is refused, not asked for again"
    assert "expected `str`, got `float`" in pages["p0"].describe()
    assert isinstance(pages["p1"], Connection)
    assert len(pages["p1"].nodes) == 1


@pytest.mark.parametrize(
    ("connection_value", "field"),
    [
        (
            {"pageInfo": {"hasNextPage": "false"}, "edges": []},
            "$.data.p0.measurements.pageInfo.hasNextPage",
        ),
        (
            {"pageInfo": {"hasNextPage": False}, "edges": {"node": NODE}},
            "$.data.p0.measurements.edges",
        ),
        ({"pageInfo": {"hasNextPage": False}, "edges": [7]}, "$.data.p0.measurements.edges[0]"),
        ("not a connection", "$.data.p0.measurements"),
    ],
)
def test_a_wrongly_shaped_page_is_a_bad_page_naming_the_field(
    connection_value: Any, field: str
) -> None:
    _errors, pages = measurement_decoder(1)(body({"p0": {"measurements": connection_value}}))
    assert isinstance(pages["p0"], BadPage)
    assert (pages["p0"].field, pages["p0"].protocol) == (field, False)


def test_a_property_that_is_no_object_is_a_bad_page_naming_the_alias() -> None:
    _errors, pages = measurement_decoder(1)(body({"p0": ["not", "a", "property"]}))
    assert isinstance(pages["p0"], BadPage)
    assert pages["p0"].field == "$.data.p0"


def test_a_well_typed_page_with_an_error_beside_it_is_no_bad_page() -> None:
    error = {"message": "x", "path": ["p1"]}
    _errors, pages = measurement_decoder(1)(body({"p0": connection(NODE)}, [error]))
    assert isinstance(pages["p0"], Connection)
