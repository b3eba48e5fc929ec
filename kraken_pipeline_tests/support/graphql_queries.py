"""GraphQL documents and variables a client sends the emulator, as Kraken's docs write them."""

from __future__ import annotations

from datetime import date
from typing import Any

from kraken_pipeline.local_days import day_bounds

# The query of kraken_api.md §5, verbatim.
HOUSE = "1000001"
SECTION_5_QUERY = (
    "query Measurements($propertyId: ID!, $first: Int!, $after: String, $startAt: DateTime!, "
    "$endAt: DateTime!, $timezone: String!, $filters: [UtilityFiltersInput!]) { property(id: "
    "$propertyId) { id measurements(first: $first, after: $after, startAt: $startAt, endAt: "
    "$endAt, timezone: $timezone, utilityFilters: $filters) { pageInfo { hasNextPage endCursor } "
    "edges { node { value unit readAt ... on IntervalMeasurementType { startAt endAt "
    "durationInSeconds } metaData { utilityFilters { __typename ... on ElectricityFiltersOutput "
    "{ marketSupplyPointId deviceId readingDirection readingQuality } ... on GasFiltersOutput { "
    "marketSupplyPointId deviceId } } } } } } } }"
)


SECTION_5_COMPLEXITY = 32
RATE_LIMIT_QUERY = (
    "{ rateLimitInfo { pointsAllowanceRateLimit "
    "{ limit remainingPoints usedPoints ttl isBlocked } } }"
)


def electricity(market_id: str, direction: str = "CONSUMPTION", **more: str) -> dict[str, Any]:
    return {
        "electricityFilters": {
            "marketSupplyPointId": market_id,
            "readingDirection": direction,
            **more,
        }
    }


def day_variables(
    local_date: date, filters: list[dict[str, Any]], property_id: str = HOUSE, first: int = 1000
) -> dict[str, Any]:
    """Variables of the §5 query for one London day."""
    start, end = day_bounds(local_date, "Europe/London")
    return {
        "propertyId": property_id,
        "first": first,
        "after": None,
        "startAt": start.isoformat(),
        "endAt": end.isoformat(),
        "timezone": "Europe/London",
        "filters": filters,
    }
