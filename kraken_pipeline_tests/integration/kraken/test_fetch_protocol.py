"""Answers that break the connection protocol or bend the data: failures or exact rows, never
"no data". Every spoiled answer comes from the emulator's payload faults over loopback HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest

from kraken_pipeline.emulator import Emulator, Fault
from kraken_pipeline.kraken import KrakenClient
from kraken_pipeline_tests.support.kraken_client import (
    DEMO_POINTS,
    assert_matches_emulator,
    expected_rows,
    fetched_rows,
    window,
)

MakeClient = Callable[..., KrakenClient]
DAY = window(date(2026, 11, 1))
WEEK = window(date(2026, 11, 1), date(2026, 11, 7))
BY_ID = {point.supply_point_id: point for point in DEMO_POINTS}
OFFICE = [BY_ID["office-import"]]  # the one series of property 1000002

# Fault -> the field a persistent fault's failure names.
VIOLATIONS = {
    Fault("page_info_missing", times=None): "field $.data.p0.measurements.pageInfo is missing",
    Fault("page_info_null", times=None): "field $.data.p0.measurements.pageInfo is null",
    Fault("has_next_page_null", times=None): "$.data.p0.measurements.pageInfo.hasNextPage is null",
    Fault("edges_missing", times=None): "field $.data.p0.measurements.edges is missing",
    Fault("edges_null", times=None): "field $.data.p0.measurements.edges is null",
    Fault(
        "node_field_missing", times=None, field_name="startAt"
    ): "edges[0].node.startAt is missing",
    Fault("node_field_missing", times=None, field_name="endAt"): "edges[0].node.endAt is missing",
    Fault("node_field_missing", times=None, field_name="value"): "edges[0].node.value is missing",
    Fault("next_without_cursor", times=None): "measurements.pageInfo.endCursor",
    Fault("too_many_edges", times=None): "edges where first was",
}
IDS = [f"{fault.kind}-{fault.field_name}" for fault in VIOLATIONS]


@pytest.mark.parametrize("fault", list(VIOLATIONS), ids=IDS)
def test_a_protocol_violation_seen_once_is_retried_and_every_row_lands_exactly(
    emulator: Emulator, make_client: MakeClient, fault: Fault
) -> None:
    emulator.faults.add(Fault(fault.kind, times=1, field_name=fault.field_name))
    result = make_client(emulator, page_size=100).fetch_measurements(DEMO_POINTS, *DAY)
    assert emulator.stats.faults[fault.kind] == 1
    assert all(outcome.ok for outcome in result.outcomes)
    assert_matches_emulator(emulator, result, *DAY)


@pytest.mark.parametrize(("fault", "field"), list(VIOLATIONS.items()), ids=IDS)
def test_a_protocol_violation_that_persists_fails_its_supply_points_naming_the_field(
    emulator: Emulator, make_client: MakeClient, fault: Fault, field: str
) -> None:
    emulator.faults.add(fault)
    result = make_client(emulator, page_size=100).fetch_measurements(OFFICE, *DAY)
    (outcome,) = result.outcomes
    assert not outcome.ok
    assert outcome.rows == 0
    assert field in (outcome.error_message or "")
    assert result.table.num_rows == 0


def test_a_cursor_that_leads_back_to_the_first_page_fails_the_alias_at_once(
    start_emulator: Callable[..., Emulator], make_client: MakeClient
) -> None:
    emulator = start_emulator(max_page_size=60)  # 100 is halved: slices of two pages
    emulator.faults.add(Fault("cursor_loop"))
    result = make_client(emulator, page_size=100).fetch_measurements(OFFICE, *WEEK)
    (outcome,) = result.outcomes
    assert emulator.stats.faults["cursor_loop"] == 1
    assert (outcome.ok, outcome.error_code) == (False, "pagination")
    assert "already followed" in (outcome.error_message or "")
    assert outcome.rows == 0


def test_pages_that_follow_each_other_are_not_mistaken_for_a_loop(
    start_emulator: Callable[..., Emulator], make_client: MakeClient
) -> None:
    emulator = start_emulator(max_page_size=60)
    result = make_client(emulator, page_size=100).fetch_measurements(OFFICE, *WEEK)
    (outcome,) = result.outcomes
    assert outcome.ok
    assert outcome.pages > 3
    assert_matches_emulator(emulator, result, *WEEK, points=OFFICE)


def test_duplicates_that_disagree_fail_their_supply_point_naming_the_interval(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("conflicting_duplicate"))
    result = make_client(emulator).fetch_measurements(OFFICE, *DAY)
    (outcome,) = result.outcomes
    assert (outcome.ok, outcome.error_code, outcome.rows) == (False, "conflicting duplicates", 0)
    assert "999.5" in (outcome.error_message or "")
    assert DAY[0].isoformat() in (outcome.error_message or "")


def test_identical_duplicates_are_folded_counted_and_land_once(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("identical_duplicate"))
    result = make_client(emulator).fetch_measurements(OFFICE, *DAY)
    (outcome,) = result.outcomes
    assert (outcome.ok, outcome.duplicates_folded) == (True, 1)
    assert_matches_emulator(emulator, result, *DAY, points=OFFICE)


def test_nodes_outside_the_window_are_counted_in_the_outcome(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("outside_window"))
    result = make_client(emulator).fetch_measurements(OFFICE, *DAY)
    (outcome,) = result.outcomes
    assert (outcome.ok, outcome.nodes_outside_window) == (True, 1)
    assert_matches_emulator(emulator, result, *DAY, points=OFFICE)


def test_a_supply_point_whose_every_node_lies_outside_the_window_fails(
    emulator: Emulator, make_client: MakeClient
) -> None:
    start = DAY[0]
    hour = (start, start + timedelta(hours=1))
    emulator.faults.add(Fault("nodes_shifted", times=None))  # both half hours move out
    result = make_client(emulator).fetch_measurements(OFFICE, *hour)
    (outcome,) = result.outcomes
    assert not outcome.ok
    assert outcome.error_code == "unmatched nodes"
    assert outcome.nodes_outside_window >= 2


def test_filters_echoed_as_an_unknown_type_still_match_a_connection_of_one_series(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("embedded_filters", times=None))
    result = make_client(emulator).fetch_measurements(OFFICE, *DAY)
    assert result.outcomes[0].ok
    # Without an echo there is no readingQuality either; interval and value land exactly.
    expected = [(r[0], r[1], r[2]) for r in expected_rows(emulator, OFFICE[0], *DAY)]
    assert [r[:3] for r in fetched_rows(result, OFFICE[0])] == expected
    assert set(result.table["reading_quality"].to_pylist()) == {None}


def test_filters_echoed_as_an_unknown_type_fail_a_connection_of_several_series_loudly(
    emulator: Emulator, make_client: MakeClient
) -> None:
    house = [p for p in DEMO_POINTS if p.property_id == "1000001"]
    emulator.faults.add(Fault("embedded_filters", times=None))
    result = make_client(emulator).fetch_measurements(house, *DAY)
    assert all(not outcome.ok for outcome in result.outcomes)
    assert all(o.nodes_unmatched > 0 for o in result.outcomes)
    assert "echoes no series in metaData.utilityFilters" in (result.outcomes[0].error_message or "")


def test_reading_quality_echoed_as_combined_lands_as_null(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("quality_combined", times=None))
    result = make_client(emulator).fetch_measurements(OFFICE, *DAY)
    assert result.outcomes[0].ok
    assert set(result.table["reading_quality"].to_pylist()) == {None}
    assert result.table["value"].to_pylist() == [
        r[2] for r in expected_rows(emulator, OFFICE[0], *DAY)
    ]


def test_values_with_30_decimal_places_are_rounded_counted_and_land_exactly(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("long_decimals"))
    result = make_client(emulator).fetch_measurements(OFFICE, *DAY)
    (outcome,) = result.outcomes
    assert outcome.ok
    assert outcome.values_rounded == 1  # the one value whose 30th decimal is not zero
    assert fetched_rows(result, OFFICE[0]) == expected_rows(emulator, OFFICE[0], *DAY)
    assert all(isinstance(v, Decimal) for v in result.table["value"].to_pylist())
