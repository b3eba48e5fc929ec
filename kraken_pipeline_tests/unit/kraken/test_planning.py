"""Request planning keeps every request inside Kraken's limits and needs no cursor chains."""

from __future__ import annotations

import itertools
import math
import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from kraken_pipeline.emulator.dataset import synthetic_dataset, write_supply_points_csv
from kraken_pipeline.kraken.planning import (
    MAX_COMPLEXITY,
    MAX_NODES_PER_REQUEST,
    Target,
    aliases_per_request,
    plan_requests,
    point_key,
    utility_filter,
)
from kraken_pipeline.kraken.queries import ALIAS_COMPLEXITY
from kraken_pipeline.local_days import range_bounds
from kraken_pipeline.supply_points import (
    ReadingDirection,
    SupplyPoint,
    Utility,
    load_supply_points,
)

DEMO = load_supply_points("data/supply_points.example.csv")


def electricity(
    sp_id: str, property_id: str, mpan: str = "1200012345679", **extra: object
) -> SupplyPoint:
    return SupplyPoint(sp_id, property_id, Utility.ELECTRICITY, mpan, **extra)  # type: ignore[arg-type]


def covered(targets: list[Target], point: SupplyPoint) -> list[tuple[datetime, datetime]]:
    return sorted((t.start, t.end) for t in targets if point in t.supply_points)


def synthetic_points(count: int) -> Sequence[SupplyPoint]:
    """The benchmark's supply points: the emulator's synthetic dataset, through its CSV."""
    with tempfile.TemporaryDirectory() as scratch:
        path = write_supply_points_csv(synthetic_dataset(count), Path(scratch) / "points.csv")
        return load_supply_points(path)


def full_plan(
    points: Sequence[SupplyPoint], start: datetime, end: datetime, *, reserve: int
) -> tuple[list[Target], list[list[Target]]]:
    batches = plan_requests(
        points, start, end, page_size=1000, properties_per_request=7, reserve_in_first=reserve
    )
    return [t for batch in batches for t in batch], batches


def test_all_supply_points_of_a_property_share_one_connection() -> None:
    start, end = range_bounds(date(2026, 11, 1), date(2026, 11, 1), "Europe/London")
    batches = plan_requests(DEMO, start, end, page_size=1000, properties_per_request=5)
    targets = [t for batch in batches for t in batch]
    by_property = {t.property_id: len(t.supply_points) for t in targets}
    assert by_property == {"1000001": 3, "1000002": 1, "1000003": 2, "1000004": 1}
    assert len(batches) == 1


def test_every_supply_point_is_covered_once_over_the_whole_window() -> None:
    start, end = range_bounds(date(2026, 1, 1), date(2026, 12, 31), "Europe/London")
    batches = plan_requests(DEMO, start, end, page_size=1000, properties_per_request=5)
    targets = [t for batch in batches for t in batch]
    for point in DEMO:
        spans = covered(targets, point)
        assert spans[0][0] == start
        assert spans[-1][1] == end
        assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))


def test_a_slice_fills_about_one_page() -> None:
    start, end = range_bounds(date(2026, 1, 1), date(2026, 3, 31), "Europe/London")
    batches = plan_requests(DEMO, start, end, page_size=1000, properties_per_request=5)
    sizes = [t.expected_nodes() for batch in batches for t in batch]
    assert max(sizes) <= 1000
    assert sorted(sizes)[len(sizes) // 2] >= 900  # the median slice is a full page


def test_requests_stay_under_the_node_limit_by_construction() -> None:
    start, end = range_bounds(date(2026, 1, 1), date(2026, 1, 31), "Europe/London")
    for page_size in (1000, 3000, 100):
        for batch in plan_requests(
            DEMO, start, end, page_size=page_size, properties_per_request=50
        ):
            assert len(batch) * page_size <= MAX_NODES_PER_REQUEST
            assert len(batch) <= aliases_per_request(page_size, 50)


def test_the_properties_per_request_setting_is_respected() -> None:
    start, end = range_bounds(date(2026, 1, 1), date(2026, 1, 31), "Europe/London")
    batches = plan_requests(DEMO, start, end, page_size=1000, properties_per_request=2)
    assert max(len(batch) for batch in batches) == 2


def test_two_series_a_node_could_not_tell_apart_never_share_a_connection() -> None:
    half_hourly = electricity("a", "9", reading_frequency="THIRTY_MIN_INTERVAL")
    quarter_hourly = electricity("b", "9", reading_frequency="FIFTEEN_MIN_INTERVAL")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batches = plan_requests(
        [half_hourly, quarter_hourly],
        start,
        start + timedelta(days=1),
        page_size=1000,
        properties_per_request=5,
    )
    assert point_key(half_hourly) == point_key(quarter_hourly)
    assert sorted(len(t.supply_points) for t in batches[0]) == [1, 1]


def test_slices_are_cut_between_intervals_so_no_interval_is_split() -> None:
    start, end = range_bounds(date(2026, 3, 28), date(2026, 3, 30), "Europe/London")
    batches = plan_requests(DEMO, start, end, page_size=100, properties_per_request=5)
    for target in (t for batch in batches for t in batch):
        for point in target.supply_points:
            interval = timedelta(seconds=point.interval_seconds)
            assert (target.start - start) % interval == timedelta(0)
            assert target.end == end or (target.end - start) % interval == timedelta(0)


def test_a_month_of_fifty_supply_points_takes_the_fewest_requests_the_limits_allow() -> None:
    points = synthetic_points(50)
    start, end = range_bounds(date(2026, 10, 20), date(2026, 11, 18), "Europe/London")
    nodes = sum(t.expected_nodes() for t in full_plan(points, start, end, reserve=0)[0])
    batches = plan_requests(
        points, start, end, page_size=1000, properties_per_request=7, reserve_in_first=7
    )
    assert nodes == 79_310
    assert len(batches) == math.ceil(nodes / 7000) == 12
    loads = [sum(t.expected_nodes() for t in batch) for batch in batches]
    assert max(loads) - min(loads) <= 1000  # no half-empty request
    assert loads[1:] == sorted(loads[1:], reverse=True)  # the lightest requests go last


def test_the_first_request_leaves_room_for_another_root_field() -> None:
    start, end = range_bounds(date(2026, 10, 1), date(2026, 10, 31), "Europe/London")
    points = synthetic_points(50)
    for reserve, most in ((0, 7), (7, 6), (60, 5)):
        batches = plan_requests(
            points, start, end, page_size=1000, properties_per_request=7, reserve_in_first=reserve
        )
        assert len(batches[0]) <= most
        assert len(batches[0]) * ALIAS_COMPLEXITY + reserve <= MAX_COMPLEXITY
        assert max(len(batch) for batch in batches) == 7


def test_series_of_other_frequencies_get_a_connection_of_their_own_when_that_saves_aliases() -> (
    None
):
    nine_half_hourly = [electricity(f"h{i}", "9", mpan=f"12000123456{i:02d}") for i in range(9)]
    quarter_hourly = electricity(
        "q", "9", mpan="1400055512348", reading_frequency="FIFTEEN_MIN_INTERVAL"
    )
    start, end = range_bounds(date(2026, 10, 20), date(2026, 11, 18), "Europe/London")
    targets, _ = full_plan([*nine_half_hourly, quarter_hourly], start, end, reserve=0)
    nodes = sum(t.expected_nodes() for t in targets)
    assert len(targets) == math.ceil(nodes / 1000) == 16  # together: 17 slices of 990 nodes
    assert {len(t.supply_points) for t in targets} == {9, 1}


def test_a_day_of_a_mixed_property_stays_in_one_connection() -> None:
    start, end = range_bounds(date(2026, 11, 1), date(2026, 11, 1), "Europe/London")
    targets, _ = full_plan(DEMO, start, end, reserve=0)
    assert {t.property_id: len(t.supply_points) for t in targets}["1000003"] == 2


def test_filters_name_the_series_exactly() -> None:
    export = electricity("x", "1", device_id="12-AB", reading_direction=ReadingDirection.GENERATION)
    gas = SupplyPoint("g", "1", Utility.GAS, "7654321")
    assert utility_filter(export) == {
        "electricityFilters": {
            "marketSupplyPointId": "1200012345679",
            "readingFrequencyType": "THIRTY_MIN_INTERVAL",
            "deviceId": "12-AB",
            "readingDirection": "GENERATION",
        }
    }
    assert utility_filter(gas) == {
        "gasFilters": {
            "marketSupplyPointId": "7654321",
            "readingFrequencyType": "THIRTY_MIN_INTERVAL",
        }
    }
