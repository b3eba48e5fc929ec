"""Request planning: which supply points, properties and time slices go into which request.

The plan keeps every request inside Kraken's limits by construction (DESIGN.md), and
makes as few requests as those limits allow:

- the supply points of a property share one connection (several utilityFilters), told apart by
  metaData.utilityFilters, so two supply points that a node could not tell apart never share one;
  series of another frequency get a connection of their own when that needs fewer slices;
- the window is cut into the fewest slices of at most one page each, of (nearly) equal length,
  on whole intervals of every series of the slice. Every slice is an independent alias: requests
  need no cursor from an earlier answer and run in parallel, instead of a chain of pages that
  concurrency cannot speed up. Cursors are still followed when a slice holds more than a page
  (after a page-size halving, or when Kraken sends more than the intervals of the slice);
- the slices go into the fewest requests that hold them with as many aliases as the node limit
  (aliases x first <= 10,000), the complexity limit and properties_per_request allow, spread so
  that the requests carry about the same number of nodes, the lightest last.
"""

from __future__ import annotations

import heapq
import math
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


def aliases_per_request(page_size: int, properties_per_request: int, reserved: int = 0) -> int:
    """How many aliases one request may carry within the node and complexity limits, when
    `reserved` complexity points go to other root fields of the same request."""
    by_nodes = MAX_NODES_PER_REQUEST // page_size
    by_complexity = (MAX_COMPLEXITY - reserved) // ALIAS_COMPLEXITY
    return max(1, min(properties_per_request, by_nodes, by_complexity))


def plan_requests(
    points: Sequence[SupplyPoint],
    start: datetime,
    end: datetime,
    *,
    page_size: int,
    properties_per_request: int,
    reserve_in_first: int = 0,
) -> list[list[Target]]:
    """Targets covering every supply point over [start, end), batched into as few requests as
    the limits allow, with the nodes spread evenly over them; the first request leaves
    `reserve_in_first` complexity points for another root field (rateLimitInfo)."""
    if end <= start:
        raise ValueError(f"the window end {end.isoformat()} is not after {start.isoformat()}")
    seconds = (end - start).total_seconds()
    targets = [
        target
        for group in _connection_groups(points, seconds, page_size)
        for target in _slices(group, start, end, page_size)
    ]
    size = aliases_per_request(page_size, properties_per_request)
    first = min(size, aliases_per_request(page_size, properties_per_request, reserve_in_first))
    count = 1 + max(0, math.ceil((len(targets) - first) / size))
    return _balanced(targets, [first] + [size] * (count - 1))


def _balanced(targets: list[Target], capacities: list[int]) -> list[list[Target]]:
    """Targets spread over requests of the given alias capacities, largest first, each to the
    request with the fewest nodes so far: requests of equal weight finish together, so no
    round of the worker pool waits for one heavy request."""
    batches: list[list[Target]] = [[] for _ in capacities]
    loads = [0] * len(capacities)
    lightest_first = [(0, index) for index in range(len(capacities))]  # requests with room
    for target in sorted(targets, key=lambda t: -t.expected_nodes()):
        load, index = heapq.heappop(lightest_first)
        batches[index].append(target)
        loads[index] = load + target.expected_nodes()
        if len(batches[index]) < capacities[index]:
            heapq.heappush(lightest_first, (loads[index], index))
    for batch in batches:
        batch.sort(key=lambda t: (t.property_id, t.start))
    # The first request keeps its place (it may carry rateLimitInfo); the others go heaviest
    # first, so the last round of the pool has the least to serve and to parse.
    rest = sorted(range(1, len(batches)), key=lambda i: -loads[i])
    return [batches[i] for i in [0, *rest] if batches[i]]


def _connection_groups(
    points: Sequence[SupplyPoint], window_seconds: float, page_size: int
) -> Iterator[list[SupplyPoint]]:
    """Supply points of one property that share a connection, per property in input order.

    All series of a property in one connection is usually fewest aliases, but a slice holds a
    whole number of steps, so a page of 1,000 fits 90 steps of 11 nodes (nine half-hourly series
    and a quarter-hourly one: 990) and a month needs 17 slices; the half-hourly series alone fit
    111 steps of 9 (999) and, with the quarter-hourly one apart, 16. Both ways are counted.
    """
    by_property: dict[str, list[SupplyPoint]] = {}
    for point in points:
        by_property.setdefault(point.property_id, []).append(point)
    for members in by_property.values():
        together = _pack(members, page_size)
        apart = [group for same in _by_interval(members) for group in _pack(same, page_size)]
        yield from min(
            (together, apart),
            key=lambda groups: (_slice_total(groups, window_seconds, page_size), len(groups)),
        )


def _pack(points: Sequence[SupplyPoint], page_size: int) -> list[list[SupplyPoint]]:
    """Points in as few connections as the rules allow, first fit in input order."""
    groups: list[list[SupplyPoint]] = []
    for point in points:
        fitting = next((g for g in groups if _fits(g, point, page_size)), None)
        if fitting is None:
            groups.append([point])
        else:
            fitting.append(point)
    return groups


def _by_interval(points: Sequence[SupplyPoint]) -> list[list[SupplyPoint]]:
    same: dict[int, list[SupplyPoint]] = {}
    for point in points:
        same.setdefault(point.interval_seconds, []).append(point)
    return list(same.values())


def _fits(group: list[SupplyPoint], point: SupplyPoint, page_size: int) -> bool:
    if len(group) >= MAX_FILTERS_PER_ALIAS:
        return False
    if any(point_key(member) == point_key(point) for member in group):
        return False
    return _nodes_per_step([*group, point]) <= page_size


def _step_seconds(points: Sequence[SupplyPoint]) -> int:
    """The shortest span that holds whole intervals of every series: slices are cut on it."""
    return math.lcm(*(point.interval_seconds for point in points))


def _nodes_per_step(points: Sequence[SupplyPoint]) -> int:
    step = _step_seconds(points)
    return sum(step // point.interval_seconds for point in points)


def _slice_count(group: Sequence[SupplyPoint], window_seconds: float, page_size: int) -> int:
    steps = math.ceil(window_seconds / _step_seconds(group))
    return math.ceil(steps / max(1, page_size // _nodes_per_step(group)))


def _slice_total(
    groups: Sequence[Sequence[SupplyPoint]], window_seconds: float, page_size: int
) -> int:
    return sum(_slice_count(group, window_seconds, page_size) for group in groups)


def _slices(
    group: list[SupplyPoint], start: datetime, end: datetime, page_size: int
) -> Iterator[Target]:
    """The fewest slices of at most one page each, cut on whole steps and of (nearly) equal
    length, so that no slice is a small remainder that needs an alias of its own."""
    step = _step_seconds(group)
    steps = math.ceil((end - start).total_seconds() / step)
    count = _slice_count(group, (end - start).total_seconds(), page_size)
    for index in range(count):
        slice_start = start + timedelta(seconds=step * (steps * index // count))
        slice_end = min(end, start + timedelta(seconds=step * (steps * (index + 1) // count)))
        yield Target(group[0].property_id, tuple(group), slice_start, slice_end)
