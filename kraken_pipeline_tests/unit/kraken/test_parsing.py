"""Nodes become contract rows: exact decimals, UTC instants, normalised units, no duplicates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import pyarrow as pa
import pytest

from kraken_pipeline.kraken.errors import TargetError
from kraken_pipeline.kraken.parsing import (
    FoldedRows,
    fold_pages,
    measurements_table,
    normalise_units,
    parse_page,
)
from kraken_pipeline.kraken.planning import Target
from kraken_pipeline.kraken.wire import Node
from kraken_pipeline.local_days import range_bounds
from kraken_pipeline.schema import MEASUREMENTS_SCHEMA
from kraken_pipeline.supply_points import ReadingDirection, SupplyPoint, Utility

IMPORT = SupplyPoint(
    "imp", "1", Utility.ELECTRICITY, "1200012345679", "12-AB", ReadingDirection.CONSUMPTION
)
EXPORT = SupplyPoint(
    "exp", "1", Utility.ELECTRICITY, "1200012345679", "12-AB", ReadingDirection.GENERATION
)
GAS = SupplyPoint("gas", "1", Utility.GAS, "7654321")
POINTS = (IMPORT, EXPORT, GAS)
INDEX = {p.supply_point_id: i for i, p in enumerate(POINTS)}
START = datetime(2026, 5, 6, 23, tzinfo=UTC)  # local midnight of 7 May in London
FETCHED = datetime(2026, 5, 9, 6, tzinfo=UTC)


def target(start: datetime = START, hours: int = 24) -> Target:
    return Target("1", POINTS, start, start + timedelta(hours=hours))


def edge(
    start: str,
    end: str,
    value: str = "0.201000",
    unit: str = "kwh",
    point: SupplyPoint = IMPORT,
    quality: str | None = "ACTUAL",
) -> dict[str, Any]:
    if point.utility is Utility.GAS:
        filters: dict[str, Any] = {
            "__typename": "GasFiltersOutput",
            "marketSupplyPointId": point.market_supply_point_id,
        }
    else:
        filters = {
            "__typename": "ElectricityFiltersOutput",
            "marketSupplyPointId": point.market_supply_point_id,
            "readingDirection": point.reading_direction,
            "readingQuality": quality,
        }
    return {
        "node": {
            "value": value,
            "unit": unit,
            "source": "SMART_METER",
            "startAt": start,
            "endAt": end,
            "metaData": {"utilityFilters": filters},
        }
    }


def nodes(page: list[dict[str, Any]]) -> list[Node]:
    """A page of wire edges as the typed nodes wire.py hands to the parser."""
    return msgspec.convert([item["node"] for item in page], list[Node])


def table(*pages: list[dict[str, Any]], window: Target | None = None) -> Any:
    parsed = [
        parse_page(
            nodes(page), window or target(), INDEX, FETCHED, n, timezone="Europe/London"
        ).table
        for n, page in enumerate(pages)
    ]
    return measurements_table(parsed, POINTS)


def test_rows_follow_the_contract_schema_exactly() -> None:
    rows = table([edge("2026-05-07T00:00:00+01:00", "2026-05-07T00:30:00+01:00")])
    assert rows.schema.equals(MEASUREMENTS_SCHEMA)
    row = rows.to_pylist()[0]
    assert row["interval_start"] == START
    assert row["interval_end"] == START + timedelta(minutes=30)
    assert row["local_date"] == date(2026, 5, 7)
    assert row["value"] == Decimal("0.201")
    assert row["unit"] == "kWh"
    assert row["reading_quality"] == "ACTUAL"
    assert row["source"] == "SMART_METER"
    assert row["fetched_at"] == FETCHED
    assert (row["supply_point_id"], row["device_id"], row["reading_direction"]) == (
        "imp",
        "12-AB",
        "CONSUMPTION",
    )


@pytest.mark.parametrize(
    "text",
    ["0E-18", "0.000000000000000001", "12345678901234567890.123456789012345678", "-0.5", "1E+2"],
)
def test_values_are_exact_to_the_last_decimal(text: str) -> None:
    rows = table([edge("2026-05-07T00:00:00+01:00", "2026-05-07T00:30:00+01:00", value=text)])
    assert rows["value"][0].as_py() == Decimal(text)


def test_a_value_longer_than_18_decimals_is_rounded_half_even_and_counted() -> None:
    start, end = "2026-05-07T00:00:00+01:00", "2026-05-07T00:30:00+01:00"
    page = [
        edge(start, end, value="0.1234567890123456785"),
        edge(start, end, value="0.2", point=EXPORT),
    ]
    parsed = parse_page(nodes(page), target(), INDEX, FETCHED, 0, timezone="Europe/London")
    assert parsed.table["value"].to_pylist() == [Decimal("0.123456789012345678"), Decimal("0.2")]
    assert parsed.rounded == {INDEX["imp"]: 1}


def test_a_value_too_large_for_20_integer_digits_is_still_refused() -> None:
    page = [edge("2026-05-07T00:00:00+01:00", "2026-05-07T00:30:00+01:00", value="1" + "0" * 40)]
    with pytest.raises(TargetError, match="at most 20 digits"):
        parse_page(nodes(page), target(), INDEX, FETCHED, 0, timezone="Europe/London")


def test_a_node_without_a_unit_is_dropped_and_counted() -> None:
    page = [edge("2026-05-07T00:00:00+01:00", "2026-05-07T00:30:00+01:00")]
    del page[0]["node"]["unit"]
    parsed = parse_page(nodes(page), target(), INDEX, FETCHED, 0, timezone="Europe/London")
    assert (parsed.table.num_rows, parsed.outside_window) == (0, 1)


def test_reading_quality_combined_lands_as_null_and_actual_is_kept() -> None:
    start, end = "2026-05-07T00:00:00+01:00", "2026-05-07T00:30:00+01:00"
    rows = table([edge(start, end, quality="COMBINED"), edge(start, end, point=EXPORT)])
    qualities = {r["supply_point_id"]: r["reading_quality"] for r in rows.to_pylist()}
    assert qualities == {"imp": None, "exp": "ACTUAL"}


def test_a_node_echoing_no_series_belongs_to_a_connection_of_one_series() -> None:
    page = [edge("2026-05-07T00:00:00+01:00", "2026-05-07T00:30:00+01:00")]
    page[0]["node"]["metaData"]["utilityFilters"] = {}
    alone = Target("1", (IMPORT,), START, START + timedelta(hours=24))
    parsed = parse_page(nodes(page), alone, INDEX, FETCHED, 0, timezone="Europe/London")
    assert (parsed.table.num_rows, parsed.unmatched) == (1, 0)


def test_a_node_echoing_no_series_is_unmatched_when_the_connection_holds_several() -> None:
    page = [edge("2026-05-07T00:00:00+01:00", "2026-05-07T00:30:00+01:00")]
    page[0]["node"]["metaData"]["utilityFilters"] = {}
    parsed = parse_page(nodes(page), target(), INDEX, FETCHED, 0, timezone="Europe/London")
    assert (parsed.table.num_rows, parsed.unmatched, parsed.unechoed) == (0, 1, 1)


def test_offsets_and_z_are_both_read_as_utc() -> None:
    rows = table(
        [
            edge("2026-05-07T00:00:00+01:00", "2026-05-07T00:30:00+01:00"),
            edge("2026-05-06T23:30:00Z", "2026-05-07T00:00:00Z"),
        ]
    )
    assert rows["interval_start"].to_pylist() == [START, START + timedelta(minutes=30)]


def test_a_time_without_an_offset_is_refused() -> None:
    with pytest.raises(TargetError, match="UTC offset"):
        parse_page(
            nodes([edge("2026-05-07T00:00:00", "2026-05-07T00:30:00")]),
            target(),
            INDEX,
            FETCHED,
            0,
            timezone="Europe/London",
        )


def test_units_are_normalised_and_unknown_units_kept() -> None:
    units = normalise_units(pa.array(["kwh", "KWH", "kWh", "m³", "M3", "litres"]))
    assert units.to_pylist() == ["kWh", "kWh", "kWh", "m3", "m3", "litres"]


def test_nodes_are_matched_to_their_supply_point_by_metadata() -> None:
    start, end = "2026-05-07T00:00:00+01:00", "2026-05-07T00:30:00+01:00"
    rows = table(
        [
            edge(start, end, point=IMPORT),
            edge(start, end, "1.5", point=EXPORT),
            edge(start, end, "2.25", "m3", point=GAS, quality=None),
        ]
    )
    got = {
        r["supply_point_id"]: (r["value"], r["unit"], r["reading_quality"])
        for r in rows.to_pylist()
    }
    assert got == {
        "imp": (Decimal("0.201"), "kWh", "ACTUAL"),
        "exp": (Decimal("1.5"), "kWh", "ACTUAL"),
        "gas": (Decimal("2.25"), "m3", None),
    }


def test_nodes_of_a_series_nobody_asked_for_are_dropped_and_counted() -> None:
    stranger = SupplyPoint("x", "1", Utility.ELECTRICITY, "1400055512348")
    page = [edge("2026-05-07T00:00:00+01:00", "2026-05-07T00:30:00+01:00", point=stranger)]
    parsed = parse_page(nodes(page), target(), INDEX, FETCHED, 0, timezone="Europe/London")
    assert (parsed.table.num_rows, parsed.unmatched) == (0, 1)


def test_only_intervals_inside_the_window_are_kept() -> None:
    page = [
        edge("2026-05-06T23:30:00+01:00", "2026-05-07T00:00:00+01:00"),  # ends where it starts
        edge("2026-05-07T00:00:00+01:00", "2026-05-07T00:30:00+01:00"),
        edge("2026-05-07T23:30:00+01:00", "2026-05-08T00:00:00+01:00"),  # the last one inside
        edge("2026-05-08T00:00:00+01:00", "2026-05-08T00:30:00+01:00"),  # after the end
    ]
    parsed = parse_page(nodes(page), target(), INDEX, FETCHED, 0, timezone="Europe/London")
    assert parsed.table.num_rows == 2
    assert parsed.outside_window == 2


def folded(*pages: list[dict[str, Any]]) -> FoldedRows:
    parsed = [
        parse_page(nodes(page), target(), INDEX, FETCHED, n, timezone="Europe/London").table
        for n, page in enumerate(pages)
    ]
    return fold_pages(parsed, POINTS)


def test_identical_duplicates_are_folded_into_one_row_and_counted() -> None:
    start, end = "2026-05-07T00:00:00+01:00", "2026-05-07T00:30:00+01:00"
    rows = folded([edge(start, end, "1.0")], [edge(start, end, "1.00")])
    assert rows.table.num_rows == 1
    assert rows.table["value"][0].as_py() == Decimal("1.0")
    assert (rows.folded, rows.conflicts) == ({INDEX["imp"]: 1}, {})


def test_duplicates_that_disagree_are_a_conflict_naming_the_interval_and_both_values() -> None:
    start, end = "2026-05-07T00:00:00+01:00", "2026-05-07T00:30:00+01:00"
    rows = folded(
        [edge(start, end, "1.0"), edge(start, end, point=EXPORT)], [edge(start, end, "2.0")]
    )
    assert set(rows.conflicts) == {INDEX["imp"]}
    message = rows.conflicts[INDEX["imp"]]
    assert "2026-05-06T23:00:00+00:00" in message
    assert "1.000000000000000000" in message
    assert "2.000000000000000000" in message


def test_duplicates_that_differ_in_quality_only_are_a_conflict() -> None:
    start, end = "2026-05-07T00:00:00+01:00", "2026-05-07T00:30:00+01:00"
    rows = folded([edge(start, end, quality="ACTUAL")], [edge(start, end, quality="ESTIMATE")])
    assert set(rows.conflicts) == {INDEX["imp"]}


def test_pages_of_different_labels_fold_into_every_row_with_its_own_labels() -> None:
    pages = []  # one row a page, each page a dictionary of its own unit and source
    for n, (point, step) in enumerate((p, s) for p in (EXPORT, GAS, IMPORT) for s in range(48)):
        start = START + timedelta(minutes=30 * step)
        item = edge(start.isoformat(), (start + timedelta(minutes=30)).isoformat(), point=point)
        item["node"] |= {"unit": f"unit {n}", "source": f"source {n}"}
        pages.append([item])
    rows = folded(*reversed(pages)).table
    assert rows.num_rows == 144
    assert rows["unit"].to_pylist() == [f"unit {n}" for n in range(144)]
    assert rows["source"].to_pylist() == [f"source {n}" for n in range(144)]


def test_rows_are_sorted_by_supply_point_id_then_interval() -> None:
    pairs = [
        ("2026-05-07T01:00:00+01:00", "2026-05-07T01:30:00+01:00"),
        ("2026-05-07T00:00:00+01:00", "2026-05-07T00:30:00+01:00"),
    ]
    rows = table([edge(s, e, point=p) for p in (IMPORT, EXPORT) for s, e in pairs])
    keys = [(r["supply_point_id"], r["interval_start"]) for r in rows.to_pylist()]
    assert keys == sorted(keys)
    assert [k[0] for k in keys] == ["exp", "exp", "imp", "imp"]


@pytest.mark.parametrize(("day", "count"), [(date(2026, 3, 29), 46), (date(2026, 10, 25), 50)])
def test_clock_change_days_keep_their_local_date(day: date, count: int) -> None:
    start, end = range_bounds(day, day, "Europe/London")
    steps = [start + timedelta(minutes=30 * n) for n in range(count)]
    page = [edge(s.isoformat(), (s + timedelta(minutes=30)).isoformat()) for s in steps]
    window = Target("1", POINTS, start, end)
    rows = table(page, window=window)
    assert rows.num_rows == count
    assert set(rows["local_date"].to_pylist()) == {day}


def test_an_empty_fetch_is_an_empty_table_of_the_contract_schema() -> None:
    rows = measurements_table([], POINTS)
    assert rows.num_rows == 0
    assert rows.schema.equals(MEASUREMENTS_SCHEMA)
