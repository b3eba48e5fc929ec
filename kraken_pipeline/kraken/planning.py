"""Request planning: which supply points, properties and time slices go into which request.

The plan keeps every request inside Kraken's limits by construction (DESIGN.md, issue 3):

- all supply points of a property share one connection (several utilityFilters), told apart by
  metaData.utilityFilters, so two supply points that a node could not tell apart never share one;
- the window is cut into slices of whole hours sized so that a slice of a property fills about
  one page. Every slice is then an independent alias: requests need no cursor from an earlier
  answer and run in parallel, instead of a chain of pages that concurrency cannot speed up.
  Cursors are still followed when a slice holds more than a page (after a page-size halving);
- several slices (of the same or other properties) go into one request with aliases, as many as
  the node limit (aliases x first <= 10,000), the complexity limit and properties_per_request allow.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kraken_pipeline.kraken.queries import ALIAS_COMPLEXITY
from kraken_pipeline.supply_points import SupplyPoint, Utility

MAX_NODES_PER_REQUEST = 10_000
MAX_COMPLEXITY = 200
# Keeps the variables of one alias small; a property rarely has more meter points.
MAX_FILTERS_PER_ALIAS = 50


@dataclass(frozen=True)
class Target:
    """One alias of a request: some supply points of one property over [start, end)."""

    property_id: str
    supply_points: tuple[SupplyPoint, ...]
    start: datetime
    end: datetime

    def filters(self) -> list[dict[str, Any]]:
        """The utilityFilters argument: one element per supply point."""
        return [utility_filter(point) for point in self.supply_points]

    def expected_nodes(self) -> int:
        """Intervals the slice holds when nothing is missing."""
        seconds = int((self.end - self.start).total_seconds())
        return sum(seconds // point.interval_seconds for point in self.supply_points)


def point_key(point: SupplyPoint) -> str:
    """What tells the series of one connection apart in metaData.utilityFilters: the meter
    point and, for electricity, the direction ("MPAN|CONSUMPTION", "MPRN|")."""
    direction = point.reading_direction.value if point.reading_direction else ""
    return f"{point.market_supply_point_id}|{direction}"


def utility_filter(point: SupplyPoint) -> dict[str, Any]:
    """The UtilityFiltersInput element that selects one supply point's series."""
    fields: dict[str, Any] = {
        "marketSupplyPointId": point.market_supply_point_id,
        "readingFrequencyType": point.reading_frequency,
    }
    if point.device_id:
        fields["deviceId"] = point.device_id
    if point.utility is Utility.GAS:
        return {"gasFilters": fields}
    fields["readingDirection"] = point.reading_direction or "CONSUMPTION"
    return {"electricityFilters": fields}


def aliases_per_request(page_size: int, properties_per_request: int) -> int:
    """How many aliases one request may carry within the node and complexity limits."""
    by_nodes = MAX_NODES_PER_REQUEST // page_size
    by_complexity = MAX_COMPLEXITY // ALIAS_COMPLEXITY
    return max(1, min(properties_per_request, by_nodes, by_complexity))


def plan_requests(
    points: Sequence[SupplyPoint],
    start: datetime,
    end: datetime,
    *,
    page_size: int,
    properties_per_request: int,
) -> list[list[Target]]:
    """Targets covering every supply point over [start, end), batched into requests."""
    if end <= start:
        raise ValueError(f"the window end {end.isoformat()} is not after {start.isoformat()}")
    targets = [
        target
        for group in _connection_groups(points, page_size)
        for target in _slices(group, start, end, page_size)
    ]
    size = aliases_per_request(page_size, properties_per_request)
    return [targets[i : i + size] for i in range(0, len(targets), size)]


def _connection_groups(
    points: Sequence[SupplyPoint], page_size: int
) -> Iterator[list[SupplyPoint]]:
    """Supply points of one property that can share a connection, in input order."""
    by_property: dict[str, list[list[SupplyPoint]]] = {}
    for point in points:
        groups = by_property.setdefault(point.property_id, [])
        fitting = next((g for g in groups if _fits(g, point, page_size)), None)
        if fitting is None:
            groups.append([point])
        else:
            fitting.append(point)
    for groups in by_property.values():
        yield from groups


def _fits(group: list[SupplyPoint], point: SupplyPoint, page_size: int) -> bool:
    if len(group) >= MAX_FILTERS_PER_ALIAS:
        return False
    if any(point_key(member) == point_key(point) for member in group):
        return False
    return _nodes_per_hour(group) + _nodes_per_hour([point]) <= page_size


def _nodes_per_hour(points: Sequence[SupplyPoint]) -> int:
    return sum(max(1, 3600 // point.interval_seconds) for point in points)


def _slices(
    group: list[SupplyPoint], start: datetime, end: datetime, page_size: int
) -> Iterator[Target]:
    hours = max(1, page_size // _nodes_per_hour(group))
    step = timedelta(hours=hours)
    slice_start = start
    while slice_start < end:
        slice_end = min(end, slice_start + step)
        yield Target(group[0].property_id, tuple(group), slice_start, slice_end)
        slice_start = slice_end
