"""Relay pagination of the emulator's measurement connection (kraken_api.md §4).

Cursors are opaque and stable; following `endCursor` while `hasNextPage` returns every interval
of the window exactly once, whatever the page size, even when data is published between pages.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from kraken_pipeline.emulator import Emulator
from kraken_pipeline.local_days import day_bounds, range_bounds
from kraken_pipeline_tests.support.emulator_http import GraphQLCall

HOUSE = "1000001"
HOUSE_IMPORT = "1200012345679"
HOUSE_EXPORT = "1200012345688"
SHOP = "1000004"
SHOP_GAPPY = "1600077788897"
QUERY = """
query Page($property: ID!, $first: Int, $after: String, $last: Int, $before: String,
           $start: DateTime!, $end: DateTime!, $filters: [UtilityFiltersInput]) {
  property(id: $property) {
    measurements(first: $first, after: $after, last: $last, before: $before,
                 startAt: $start, endAt: $end, utilityFilters: $filters) {
      totalCount
      edgeCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges {
        cursor
        node {
          value
          ... on IntervalMeasurementType { startAt }
          metaData { utilityFilters { ... on ElectricityFiltersOutput { marketSupplyPointId } } }
        }
      }
    }
  }
}
"""
IMPORT_AND_EXPORT = [
    {"electricityFilters": {"marketSupplyPointId": HOUSE_IMPORT}},
    {"electricityFilters": {"marketSupplyPointId": HOUSE_EXPORT, "readingDirection": "GENERATION"}},
]


def window(first_day: date, last_day: date) -> dict[str, str]:
    start, end = range_bounds(first_day, last_day, "Europe/London")
    return {"start": start.isoformat(), "end": end.isoformat()}


def fetch_page(graphql: GraphQLCall, variables: dict[str, Any]) -> dict[str, Any]:
    body = graphql(QUERY, variables).json()
    assert "errors" not in body, body["errors"]
    connection: dict[str, Any] = body["data"]["property"]["measurements"]
    return connection


def key_of(edge: dict[str, Any]) -> tuple[str, datetime, str]:
    node = edge["node"]
    market_id = node["metaData"]["utilityFilters"]["marketSupplyPointId"]
    return market_id, datetime.fromisoformat(node["startAt"]), node["value"]


def page_forward(graphql: GraphQLCall, variables: dict[str, Any], size: int) -> list[Any]:
    """Every edge, following endCursor while hasNextPage; checks the page bookkeeping."""
    edges: list[Any] = []
    after = None
    while True:
        page = fetch_page(graphql, {**variables, "first": size, "after": after})
        assert page["edgeCount"] == len(page["edges"]) <= size
        edges.extend(page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            assert len(edges) == page["totalCount"]
            return edges
        assert page["edgeCount"] == size
        after = page["pageInfo"]["endCursor"]


def expected(
    emulator: Emulator, market_ids: list[str], first_day: date, last_day: date
) -> list[Any]:
    start, end = range_bounds(first_day, last_day, "Europe/London")
    keys: list[Any] = []
    for market_id in market_ids:
        direction = "GENERATION" if market_id == HOUSE_EXPORT else "CONSUMPTION"
        property_id = SHOP if market_id == SHOP_GAPPY else HOUSE
        readings = emulator.expected_readings(
            property_id, market_id, direction, "THIRTY_MIN_INTERVAL", start, end
        )
        keys.extend((market_id, reading.start, reading.value_text) for reading in readings)
    return keys


@pytest.mark.parametrize("size", [1, 7, 100, 1000])
def test_any_page_size_returns_every_interval_exactly_once(
    emulator: Emulator, graphql: GraphQLCall, size: int
) -> None:
    variables = {
        "property": HOUSE,
        "filters": IMPORT_AND_EXPORT,
        **window(date(2026, 10, 24), date(2026, 10, 25)),
    }

    edges = page_forward(graphql, variables, size)

    assert [key_of(edge) for edge in edges] == expected(
        emulator, [HOUSE_IMPORT, HOUSE_EXPORT], date(2026, 10, 24), date(2026, 10, 25)
    )
    assert len(edges) == 2 * (48 + 50)


def test_paging_a_gappy_series_returns_exactly_the_intervals_it_has(
    emulator: Emulator, graphql: GraphQLCall
) -> None:
    filters = [{"electricityFilters": {"marketSupplyPointId": SHOP_GAPPY}}]
    variables = {
        "property": SHOP,
        "filters": filters,
        **window(date(2026, 11, 1), date(2026, 11, 7)),
    }

    edges = page_forward(graphql, variables, 100)

    keys = [key_of(edge) for edge in edges]
    assert keys == expected(emulator, [SHOP_GAPPY], date(2026, 11, 1), date(2026, 11, 7))
    assert len(keys) < 7 * 48  # some intervals are missing for good


def test_cursors_are_opaque_strings_and_stable_across_identical_requests(
    graphql: GraphQLCall,
) -> None:
    variables = {
        "property": HOUSE,
        "filters": IMPORT_AND_EXPORT,
        "first": 5,
        "after": None,
        **window(date(2026, 5, 7), date(2026, 5, 7)),
    }

    first, again = fetch_page(graphql, variables), fetch_page(graphql, variables)

    assert first == again
    cursors = [edge["cursor"] for edge in first["edges"]]
    assert len(set(cursors)) == 5
    assert first["pageInfo"]["endCursor"] == cursors[-1]
    assert first["pageInfo"]["startCursor"] == cursors[0]


def test_a_day_published_between_pages_causes_no_overlap_and_no_gap(
    emulator: Emulator, graphql: GraphQLCall
) -> None:
    published = day_bounds(date(2026, 11, 19), "Europe/London")[1] + timedelta(hours=6)
    emulator.set_clock(published - timedelta(hours=1))
    variables = {
        "property": HOUSE,
        "filters": IMPORT_AND_EXPORT,
        **window(date(2026, 11, 18), date(2026, 11, 19)),
    }
    first = fetch_page(graphql, {**variables, "first": 40, "after": None})
    assert first["totalCount"] == 2 * 48  # only the 18th so far

    emulator.set_clock(published)  # the 19th appears while the client is paging
    rest = page_forward_from(graphql, variables, first["pageInfo"]["endCursor"])

    keys = [key_of(edge) for edge in first["edges"] + rest]
    assert len(keys) == len(set(keys)) == 4 * 48
    assert keys == expected(
        emulator, [HOUSE_IMPORT, HOUSE_EXPORT], date(2026, 11, 18), date(2026, 11, 19)
    )


def page_forward_from(graphql: GraphQLCall, variables: dict[str, Any], after: str) -> list[Any]:
    edges: list[Any] = []
    while True:
        page = fetch_page(graphql, {**variables, "first": 40, "after": after})
        edges.extend(page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return edges
        after = page["pageInfo"]["endCursor"]


def test_last_and_before_page_backwards_over_every_interval_once(
    emulator: Emulator, graphql: GraphQLCall
) -> None:
    variables = {
        "property": HOUSE,
        "filters": IMPORT_AND_EXPORT,
        **window(date(2026, 3, 29), date(2026, 3, 29)),
    }
    edges: list[Any] = []
    before = None
    while True:
        page = fetch_page(graphql, {**variables, "last": 7, "before": before})
        edges[:0] = page["edges"]
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]

    assert [key_of(edge) for edge in edges] == expected(
        emulator, [HOUSE_IMPORT, HOUSE_EXPORT], date(2026, 3, 29), date(2026, 3, 29)
    )


def test_a_cursor_that_was_not_issued_is_a_validation_error(graphql: GraphQLCall) -> None:
    variables = {
        "property": HOUSE,
        "first": 5,
        "after": "bm90LWEtY3Vyc29y",
        **window(date(2026, 5, 7), date(2026, 5, 7)),
    }

    body = graphql(QUERY, variables).json()

    (error,) = body["errors"]
    assert error["extensions"]["errorType"] == "VALIDATION"
    assert error["extensions"]["validationErrors"][0]["inputPath"] == ["after"]
