"""Fetching measurements from the emulator: exact values, few requests, partial failures.

Values are compared with the emulator's ground truth (expected_readings) to the last decimal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pyarrow.compute as pc
import pytest

from kraken_pipeline.emulator import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    ClientGrant,
    Emulator,
    Fault,
)
from kraken_pipeline.kraken import KrakenClient
from kraken_pipeline.schema import MEASUREMENTS_SCHEMA
from kraken_pipeline_tests.support.kraken_client import (
    DEMO_POINTS,
    FakeClock,
    assert_matches_emulator,
    fetched_rows,
    planned_requests,
    window,
)

MakeClient = Callable[..., KrakenClient]
OCTOBER = window(date(2026, 10, 1), date(2026, 10, 31))
BY_ID = {point.supply_point_id: point for point in DEMO_POINTS}


def test_a_month_of_every_demo_series_equals_the_emulator_to_the_last_decimal(
    emulator: Emulator, make_client: MakeClient
) -> None:
    result = make_client(emulator).fetch_measurements(DEMO_POINTS, *OCTOBER)
    assert result.table.schema.equals(MEASUREMENTS_SCHEMA)
    assert_matches_emulator(emulator, result, *OCTOBER)
    assert [o.supply_point_id for o in result.outcomes] == [p.supply_point_id for p in DEMO_POINTS]
    assert all(o.ok and o.rows > 0 for o in result.outcomes)
    assert sum(o.rows for o in result.outcomes) == result.table.num_rows


def test_a_month_takes_a_handful_of_requests_not_one_per_day(
    emulator: Emulator, make_client: MakeClient
) -> None:
    client = make_client(emulator)
    result = client.fetch_measurements(DEMO_POINTS, *OCTOBER)
    planned = planned_requests(client, DEMO_POINTS, *OCTOBER)
    assert emulator.stats.requests["graphql"] == len(planned) <= 3
    assert result.requests == len(planned) + 1  # and one token
    assert emulator.stats.nodes_served == result.table.num_rows


def test_rows_are_sorted_unique_and_inside_the_window(
    emulator: Emulator, make_client: MakeClient
) -> None:
    start, end = OCTOBER
    table = make_client(emulator).fetch_measurements(DEMO_POINTS, start, end).table
    keys = list(
        zip(table["supply_point_id"].to_pylist(), table["interval_start"].to_pylist(), strict=True)
    )
    assert keys == sorted(set(keys))
    assert pc.min(table["interval_start"]).as_py() == start
    assert pc.max(table["interval_end"]).as_py() == end


@pytest.mark.parametrize(
    ("day", "half_hours"),
    [(date(2026, 3, 29), 46), (date(2026, 10, 25), 50), (date(2026, 11, 1), 48)],
)
def test_clock_change_days_have_46_or_50_half_hours_and_92_or_100_quarter_hours(
    emulator: Emulator, make_client: MakeClient, day: date, half_hours: int
) -> None:
    result = make_client(emulator).fetch_measurements(DEMO_POINTS, *window(day))
    rows = {o.supply_point_id: o.rows for o in result.outcomes}
    assert rows["house-import"] == half_hours
    assert rows["flat-import-15min"] == 2 * half_hours
    assert set(result.table["local_date"].to_pylist()) == {day}
    assert_matches_emulator(emulator, result, *window(day))


def test_a_15_minute_series_has_quarter_hour_intervals(
    emulator: Emulator, make_client: MakeClient
) -> None:
    result = make_client(emulator).fetch_measurements([BY_ID["flat-import-15min"]], *OCTOBER)
    rows = fetched_rows(result, BY_ID["flat-import-15min"])
    assert {end - start for start, end, *_ in rows} == {timedelta(minutes=15)}


def test_gas_in_m3_keeps_its_unit_and_has_no_direction(
    emulator: Emulator, make_client: MakeClient
) -> None:
    result = make_client(emulator).fetch_measurements(DEMO_POINTS, *OCTOBER)
    table = result.table.filter(pc.equal(result.table["utility"], "gas"))
    units = dict(zip(table["supply_point_id"].to_pylist(), table["unit"].to_pylist(), strict=True))
    assert "m3" in units.values()
    assert set(table["reading_direction"].to_pylist()) == {None}


def test_a_property_that_is_not_granted_fails_alone_with_an_actionable_message(
    start_emulator: Callable[..., Emulator], make_client: MakeClient
) -> None:
    grant = ClientGrant(
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        "partial",
        property_ids=frozenset({"1000001", "1000002", "1000003"}),
    )
    emulator = start_emulator(clients=(grant,))
    result = make_client(emulator).fetch_measurements(DEMO_POINTS, *OCTOBER)
    failed = [o for o in result.outcomes if not o.ok]
    assert [o.supply_point_id for o in failed] == ["shop-import-gappy"]
    assert failed[0].error_code == "KT-CT-1111"
    message = failed[0].error_message or ""
    assert "property 1000004" in message
    assert "CAN_VIEW_DETAILED_USAGE" in message
    assert "CAN_QUERY_PROPERTY" in message
    assert failed[0].rows == 0
    assert "shop-import-gappy" not in result.table["supply_point_id"].to_pylist()
    assert_matches_emulator(emulator, result, *OCTOBER, points=DEMO_POINTS[:-1])
    assert emulator.stats.errors == {"KT-CT-1111": failed[0].requests}  # never retried


def test_an_error_on_one_property_of_a_batched_answer_keeps_the_others(
    emulator: Emulator, make_client: MakeClient
) -> None:
    emulator.faults.add(Fault("kraken_error", code="KT-CT-4177", property_id="1000002"))
    result = make_client(emulator).fetch_measurements(DEMO_POINTS, *window(date(2026, 11, 1)))
    assert [(o.supply_point_id, o.error_code) for o in result.outcomes if not o.ok] == [
        ("office-import", "KT-CT-4177")
    ]
    assert emulator.stats.requests["graphql"] == 1
    others = [p for p in DEMO_POINTS if p.property_id != "1000002"]
    assert_matches_emulator(emulator, result, *window(date(2026, 11, 1)), points=others)


def test_a_value_sent_as_a_number_fails_its_property_by_name_and_keeps_the_others(
    emulator: Emulator, make_client: MakeClient
) -> None:
    day = window(date(2026, 11, 1))
    emulator.faults.add(Fault("odd_payload", oddity="value_number"))
    result = make_client(emulator).fetch_measurements(DEMO_POINTS, *day)
    failed = [o for o in result.outcomes if not o.ok]
    assert failed, "the number was accepted"
    refused = {BY_ID[o.supply_point_id].property_id for o in failed}
    assert len(refused) == 1
    for outcome in failed:
        assert outcome.error_code == "BAD_PAYLOAD"
        assert f"property {BY_ID[outcome.supply_point_id].property_id}" in (
            outcome.error_message or ""
        )
        assert ".node.value does not fit the schema" in (outcome.error_message or "")
    others = [p for p in DEMO_POINTS if p.property_id not in refused]
    assert_matches_emulator(emulator, result, *day, points=others)


def test_a_refused_page_size_becomes_the_limit_the_refusal_names_and_duplicates_are_dropped(
    start_emulator: Callable[..., Emulator], make_client: MakeClient
) -> None:
    emulator = start_emulator(max_page_size=300)
    emulator.faults.add(Fault("duplicate_nodes", times=None))
    client = make_client(emulator, page_size=1000, concurrency=1)
    result = client.fetch_measurements(DEMO_POINTS, *OCTOBER)
    assert emulator.stats.errors["VALIDATION"] == 1  # 1000 refused, the limit of 300 accepted
    assert emulator.stats.faults["duplicate_nodes"] > 0  # cursors were followed
    assert_matches_emulator(emulator, result, *OCTOBER)
    assert max(o.pages for o in result.outcomes) > max(o.requests for o in result.outcomes) / 2


def test_a_request_over_the_node_limit_is_shrunk_until_it_fits(
    start_emulator: Callable[..., Emulator], make_client: MakeClient
) -> None:
    emulator = start_emulator(max_nodes=2000)
    result = make_client(emulator).fetch_measurements(DEMO_POINTS, *OCTOBER)
    assert emulator.stats.errors["KT-CT-1189"] >= 1
    assert_matches_emulator(emulator, result, *OCTOBER)


def test_nodes_outside_the_window_are_dropped(emulator: Emulator, make_client: MakeClient) -> None:
    emulator.faults.add(Fault("outside_window", times=None))
    result = make_client(emulator).fetch_measurements(DEMO_POINTS, *OCTOBER)
    assert emulator.stats.faults["outside_window"] > 0
    assert emulator.stats.nodes_served > result.table.num_rows
    assert_matches_emulator(emulator, result, *OCTOBER)


def test_the_allowance_rides_along_and_a_first_fetch_costs_no_reading_of_its_own(
    emulator: Emulator, make_client: MakeClient
) -> None:
    client = make_client(emulator, points_per_hour=None)
    first = client.fetch_measurements(DEMO_POINTS, *OCTOBER)
    client.fetch_measurements(DEMO_POINTS, *OCTOBER)
    planned = planned_requests(client, DEMO_POINTS, *OCTOBER)
    # rateLimitInfo rides in the first request; a fetch this short is not measured (points.py).
    assert emulator.stats.requests["graphql"] == 2 * len(planned)
    assert first.requests == len(planned) + 1  # and one token
    assert_matches_emulator(emulator, first, *OCTOBER)


def test_the_points_budget_waits_for_the_refill_instead_of_hitting_kt_ct_1199(
    start_emulator: Callable[..., Emulator], make_client: MakeClient, clock: FakeClock
) -> None:
    emulator = start_emulator(clock=clock.now, points_allowance_per_hour=400)
    # One worker: the fake clock jumps an hour at once, which parallel requests would not survive.
    client = make_client(emulator, points_per_hour=None, deadline_seconds=4 * 3600, concurrency=1)
    two_months = window(date(2026, 9, 1), date(2026, 10, 31))
    result = client.fetch_measurements(DEMO_POINTS, *two_months)
    assert "KT-CT-1199" not in emulator.stats.errors
    assert all(o.ok for o in result.outcomes)
    assert any(pause > 3000 for pause in clock.sleeps)  # waited for the hourly refill
    assert_matches_emulator(emulator, result, *two_months)


def test_an_allowance_spent_by_another_process_costs_one_refusal_then_the_refill_is_awaited(
    start_emulator: Callable[..., Emulator], make_client: MakeClient, clock: FakeClock
) -> None:
    emulator = start_emulator(clock=clock.now, points_allowance_per_hour=200)
    one_day = window(date(2026, 11, 1))
    # Another process with the same OAuth application spends 112 of the 200 points.
    make_client(emulator).fetch_measurements(DEMO_POINTS, *one_day)
    client = make_client(emulator, points_per_hour=None, deadline_seconds=2 * 3600)
    result = client.fetch_measurements(DEMO_POINTS, *one_day)
    assert all(o.ok for o in result.outcomes)
    # No reading precedes the first request (it would cost every run a round trip), so the
    # provisional budget sends it and Kraken refuses it, uncharged; the rateLimitInfo asked
    # then tells the budget what is left, and nothing is sent again before the refill.
    assert emulator.stats.errors["KT-CT-1199"] == 1
    assert any(pause > 3000 for pause in clock.sleeps)  # waited for the refill it was told of
    assert_matches_emulator(emulator, result, *one_day)
