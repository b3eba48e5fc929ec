"""A connection without pageInfo, hasNextPage or edges is a protocol violation on both decoding
paths (Arrow for clean answers, json.loads for answers with errors), never an empty last page."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from kraken_pipeline.kraken.wire import BadPage, ConnectionPage, measurement_decoder
from kraken_pipeline_tests.kraken.test_wire import NODE, body, connection


def without_page_info(page: dict[str, Any]) -> None:
    del page["measurements"]["pageInfo"]


def null_page_info(page: dict[str, Any]) -> None:
    page["measurements"]["pageInfo"] = None


def null_has_next_page(page: dict[str, Any]) -> None:
    page["measurements"]["pageInfo"]["hasNextPage"] = None


def without_edges(page: dict[str, Any]) -> None:
    del page["measurements"]["edges"]


def null_edges(page: dict[str, Any]) -> None:
    page["measurements"]["edges"] = None


SPOILERS: dict[Callable[[dict[str, Any]], None], str] = {
    without_page_info: "measurements.pageInfo",
    null_page_info: "measurements.pageInfo",
    null_has_next_page: "measurements.pageInfo.hasNextPage",
    without_edges: "measurements.edges",
    null_edges: "measurements.edges",
}


@pytest.mark.parametrize("with_errors", [False, True], ids=["arrow", "json"])
@pytest.mark.parametrize(("spoil", "field"), list(SPOILERS.items()), ids=lambda v: str(v))
def test_a_connection_missing_a_required_field_is_a_protocol_violation_naming_it(
    spoil: Callable[[dict[str, Any]], None], field: str, with_errors: bool
) -> None:
    spoiled = connection(NODE)
    spoil(spoiled)
    data = {"p0": spoiled, "p1": connection(copy.deepcopy(NODE))}
    _errors, pages = measurement_decoder(2)(body(data, [] if with_errors else None))
    bad = pages["p0"]
    assert isinstance(bad, BadPage)
    assert (bad.field, bad.protocol) == (field, True)
    assert isinstance(pages["p1"], ConnectionPage)


@pytest.mark.parametrize("with_errors", [False, True], ids=["arrow", "json"])
def test_an_empty_last_page_is_still_an_empty_last_page(with_errors: bool) -> None:
    _errors, pages = measurement_decoder(1)(body({"p0": connection()}, [] if with_errors else None))
    page = pages["p0"]
    assert isinstance(page, ConnectionPage)
    assert (len(page.nodes), page.has_next_page) == (0, False)
