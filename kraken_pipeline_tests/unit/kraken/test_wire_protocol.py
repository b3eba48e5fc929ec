"""A connection without pageInfo, hasNextPage or edges, or a node without startAt, endAt or value,
is a protocol violation naming the field's path, never an empty page; the other aliases are read."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from kraken_pipeline.kraken.wire import BadPage, Connection, measurement_decoder
from kraken_pipeline_tests.support.wire_bodies import NODE, body, connection

_DELETE = object()


def spoiler(*keys: str, to: Any = _DELETE) -> Callable[[dict[str, Any]], None]:
    """Delete the field at the end of `keys`, or set it `to` a value ("edges" steps into the
    first edge's node)."""

    def spoil(page: dict[str, Any]) -> None:
        holder = page["measurements"]
        *path, last = keys
        for key in path:
            holder = holder["edges"][0]["node"] if key == "edges" else holder[key]
        if to is _DELETE:
            del holder[last]
        else:
            holder[last] = to

    return spoil


def without(*keys: str) -> Callable[[dict[str, Any]], None]:
    return spoiler(*keys)


def null(*keys: str) -> Callable[[dict[str, Any]], None]:
    return spoiler(*keys, to=None)


SPOILERS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "pageInfo missing": (without("pageInfo"), "measurements.pageInfo"),
    "pageInfo null": (null("pageInfo"), "measurements.pageInfo"),
    "hasNextPage missing": (
        without("pageInfo", "hasNextPage"),
        "measurements.pageInfo.hasNextPage",
    ),
    "hasNextPage null": (null("pageInfo", "hasNextPage"), "measurements.pageInfo.hasNextPage"),
    "edges missing": (without("edges"), "measurements.edges"),
    "edges null": (null("edges"), "measurements.edges"),
    "value missing": (without("edges", "value"), "measurements.edges[0].node.value"),
    "value null": (null("edges", "value"), "measurements.edges[0].node.value"),
    "startAt missing": (without("edges", "startAt"), "measurements.edges[0].node.startAt"),
    "endAt null": (null("edges", "endAt"), "measurements.edges[0].node.endAt"),
}


@pytest.mark.parametrize("with_errors", [False, True], ids=["clean", "with errors"])
@pytest.mark.parametrize(("spoil", "field"), list(SPOILERS.values()), ids=list(SPOILERS))
def test_a_missing_required_field_fails_its_alias_naming_the_path_and_spares_the_others(
    spoil: Callable[[dict[str, Any]], None], field: str, with_errors: bool
) -> None:
    spoiled = connection(copy.deepcopy(NODE))
    spoil(spoiled)
    data = {"p0": connection(NODE), "p1": spoiled, "p2": connection(NODE)}
    _errors, pages = measurement_decoder(3)(body(data, [] if with_errors else None))
    bad = pages["p1"]
    assert isinstance(bad, BadPage)
    assert (bad.field, bad.protocol) == (f"$.data.p1.{field}", True)
    assert "$.data.p1." + field in bad.describe()
    for name in ("p0", "p2"):
        page = pages[name]
        assert isinstance(page, Connection)
        assert [node.value for node in page.nodes] == ["0.201000"]


def test_the_same_connection_unspoiled_is_a_page() -> None:
    _errors, pages = measurement_decoder(1)(body({"p0": connection(copy.deepcopy(NODE))}))
    assert isinstance(pages["p0"], Connection)


def test_an_empty_last_page_is_still_an_empty_last_page() -> None:
    _errors, pages = measurement_decoder(1)(body({"p0": connection()}))
    page = pages["p0"]
    assert isinstance(page, Connection)
    assert (len(page.nodes), page.page_info.has_next_page) == (0, False)


def test_optional_fields_may_be_missing_or_null() -> None:
    node = {key: NODE[key] for key in ("value", "startAt", "endAt")}
    page = connection(node, dict(node, unit=None, source=None, metaData=None))
    del page["measurements"]["pageInfo"]["endCursor"]
    _errors, pages = measurement_decoder(1)(body({"p0": page}))
    decoded = pages["p0"]
    assert isinstance(decoded, Connection)
    assert decoded.page_info.end_cursor is None
    assert [(n.unit, n.source, n.meta_data) for n in decoded.nodes] == [(None, None, None)] * 2
