"""The emulator's data generator: local-day grids, determinism, late and restated data, wire forms.

Kraken quirks guarded here: days of 46/50 half-hours at the clock changes, values as decimal
strings including "0E-18", `unit` in varying case, data published hours after the day ends, and
estimates later restated as actuals with different values.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kraken_pipeline.emulator.dataset import (
    Dataset,
    DatasetConfig,
    Reading,
    SeriesSpec,
    demo_dataset,
    synthetic_dataset,
    write_supply_points_csv,
)
from kraken_pipeline.local_days import day_bounds, days_between, range_bounds
from kraken_pipeline.supply_points import load_supply_points, mpan_check_digit_is_valid

EXAMPLE_CSV = Path(__file__).parents[3] / "data" / "supply_points.example.csv"
LONG_AFTER = datetime(2030, 1, 1, tzinfo=UTC)  # every day of 2026 is published and restated
WIRE_VALUE = re.compile(r"\d+\.\d{6}|0E-18")
DEMO = demo_dataset()


def series(supply_point_id: str, dataset: Dataset = DEMO) -> SeriesSpec:
    return next(spec for spec in dataset.series if spec.supply_point_id == supply_point_id)


def day_readings(
    spec: SeriesSpec, day: date, dataset: Dataset = DEMO, now: datetime = LONG_AFTER
) -> list[Reading]:
    start, end = day_bounds(day, dataset.config.timezone)
    return dataset.readings(spec, start, end, now)


def days_readings(spec: SeriesSpec, first: date, last: date) -> list[Reading]:
    start, end = range_bounds(first, last, DEMO.config.timezone)
    return DEMO.readings(spec, start, end, LONG_AFTER)


@pytest.mark.parametrize(
    ("supply_point_id", "day", "timezone", "expected"),
    [
        ("house-import", date(2026, 5, 7), "Europe/London", 48),
        ("house-import", date(2026, 3, 29), "Europe/London", 46),
        ("house-import", date(2026, 10, 25), "Europe/London", 50),
        ("flat-import-15min", date(2026, 5, 7), "Europe/London", 96),
        ("flat-import-15min", date(2026, 3, 29), "Europe/London", 92),
        ("flat-import-15min", date(2026, 10, 25), "Europe/London", 100),
        ("flat-import-15min", date(2026, 3, 29), "Europe/Berlin", 92),
    ],
)
def test_a_local_day_holds_as_many_intervals_as_the_clock_gives_it(
    supply_point_id: str, day: date, timezone: str, expected: int
) -> None:
    dataset = demo_dataset(DatasetConfig(timezone=timezone))
    readings = day_readings(series(supply_point_id, dataset), day, dataset)
    day_start, day_end = day_bounds(day, timezone)
    assert len(readings) == expected
    assert readings[0].start == day_start
    assert readings[-1].end == day_end
    assert all(a.end == b.start for a, b in pairwise(readings))
    assert all(r.start.tzinfo is not None and r.start.utcoffset() == timedelta(0) for r in readings)


def test_the_same_seed_gives_the_same_data_and_another_seed_different_data() -> None:
    first, again = demo_dataset(DatasetConfig(seed=7)), demo_dataset(DatasetConfig(seed=7))
    other = demo_dataset(DatasetConfig(seed=8))
    spec = series("house-import")
    day = date(2026, 2, 10)
    assert day_readings(spec, day, first) == day_readings(spec, day, again)
    assert [r.value for r in day_readings(spec, day, first)] != [
        r.value for r in day_readings(spec, day, other)
    ]


def test_a_day_is_absent_before_its_publication_lag_and_present_after() -> None:
    spec = series("office-import")
    day = date(2026, 11, 18)
    published = DEMO.publication_time(day)
    assert published == datetime(2026, 11, 19, 6, tzinfo=UTC)  # midnight GMT + 6 h
    assert day_readings(spec, day, now=published - timedelta(seconds=1)) == []
    assert len(day_readings(spec, day, now=published)) == 48


def test_a_window_stops_at_the_last_published_day() -> None:
    spec = series("house-import")
    start, end = range_bounds(date(2026, 11, 10), date(2026, 11, 30), "Europe/London")
    readings = DEMO.readings(spec, start, end, datetime(2026, 11, 20, 12, tzinfo=UTC))
    assert readings[0].start == start
    assert readings[-1].end == datetime(2026, 11, 20, tzinfo=UTC)  # the 19th is the last day out


def estimated_day(spec: SeriesSpec, first: date, last: date) -> date:
    return next(day for day in days_between(first, last) if DEMO.is_estimated(spec, day))


def test_an_estimated_day_is_restated_as_actuals_with_different_values() -> None:
    spec = series("house-import")
    day = estimated_day(spec, date(2026, 11, 1), date(2026, 11, 14))
    first = day_readings(spec, day, now=DEMO.publication_time(day))
    before = day_readings(spec, day, now=DEMO.restatement_time(day) - timedelta(seconds=1))
    restated = day_readings(spec, day, now=DEMO.restatement_time(day))
    assert {r.quality for r in first} == {r.quality for r in before} == {"ESTIMATE"}
    assert first == before
    assert {r.quality for r in restated} == {"ACTUAL"}
    assert [r.start for r in restated] == [r.start for r in first]
    assert all(a.value != e.value for a, e in zip(restated, first, strict=True))


def test_a_day_that_is_not_estimated_is_actual_from_the_start_and_never_changes() -> None:
    spec = series("house-import")
    day = next(
        d
        for d in days_between(date(2026, 11, 1), date(2026, 11, 14))
        if not DEMO.is_estimated(spec, d)
    )
    first = day_readings(spec, day, now=DEMO.publication_time(day))
    assert {r.quality for r in first} == {"ACTUAL"}
    assert first == day_readings(spec, day)


def test_every_two_week_window_of_the_demo_holds_an_estimated_day() -> None:
    for first in days_between(date(2026, 1, 1), date(2026, 12, 31)):
        window = days_between(first, first + timedelta(days=13))
        assert any(DEMO.is_estimated(s, d) for s in DEMO.series for d in window), first


def test_estimated_days_are_about_the_configured_share() -> None:
    spec = series("office-import")
    year = days_between(date(2026, 1, 1), date(2026, 12, 31))
    estimated = sum(DEMO.is_estimated(spec, day) for day in year)
    assert 10 <= estimated <= 30  # 5 % of 365
    no_estimates = demo_dataset(DatasetConfig(estimate_share=0))
    assert not any(no_estimates.is_estimated(spec, day) for day in year)


def test_the_gappy_series_misses_the_same_intervals_for_good_and_others_miss_none() -> None:
    first, last = date(2026, 6, 1), date(2026, 6, 7)
    gappy = days_readings(series("shop-import-gappy"), first, last)
    later = demo_dataset().readings(
        series("shop-import-gappy"),
        *range_bounds(first, last, "Europe/London"),
        LONG_AFTER + timedelta(days=400),
    )
    assert 7 * 48 * 0.9 < len(gappy) < 7 * 48
    assert [r.start for r in later] == [r.start for r in gappy]
    for spec in DEMO.series:
        if spec.gap_share == 0:
            expected = 7 * 24 * 3600 // spec.interval_seconds
            assert len(days_readings(spec, first, last)) == expected, spec.supply_point_id


def test_values_are_exact_decimals_in_their_wire_form_and_never_negative() -> None:
    for spec in DEMO.series:
        for reading in days_readings(spec, date(2026, 1, 5), date(2026, 1, 11)):
            assert WIRE_VALUE.fullmatch(reading.value_text), reading.value_text
            assert reading.value == Decimal(reading.value_text)
            assert reading.value >= 0
            assert reading.source == "SMART_METER"


def test_solar_export_is_generation_and_zero_at_night_sometimes_as_0e_minus_18() -> None:
    spec = series("house-export")
    readings = days_readings(spec, date(2026, 6, 1), date(2026, 6, 14))
    london = ZoneInfo("Europe/London")
    night = [r for r in readings if r.start.astimezone(london).hour in (0, 1, 2, 23)]
    noon = [r for r in readings if r.start.astimezone(london).hour == 13]
    assert spec.reading_direction == "GENERATION"
    assert all(r.value == 0 for r in night)
    assert "0E-18" in {r.value_text for r in night}
    assert all(r.value > 0 for r in noon)


def test_units_vary_in_case_for_kwh_and_gas_comes_in_m3_or_kwh() -> None:
    week = (date(2026, 1, 5), date(2026, 1, 11))
    assert {r.unit for r in days_readings(series("house-import"), *week)} == {"kWh", "kwh"}
    assert {r.unit for r in days_readings(series("house-gas"), *week)} == {"m3"}
    assert {r.unit.lower() for r in days_readings(series("flat-gas"), *week)} == {"kwh"}


def daily_mean(spec: SeriesSpec, first: date, last: date) -> Decimal:
    readings = days_readings(spec, first, last)
    return sum((r.value for r in readings), Decimal(0)) / len(days_between(first, last))


def hour_total(readings: list[Reading], hour: int) -> Decimal:
    london = ZoneInfo("Europe/London")
    return sum((r.value for r in readings if r.start.astimezone(london).hour == hour), Decimal(0))


def test_a_household_uses_8_to_12_kwh_a_day_with_an_evening_peak() -> None:
    spec = series("house-import")
    march = (date(2026, 3, 2), date(2026, 3, 29))
    assert 8 <= daily_mean(spec, *march) <= 12
    readings = days_readings(spec, *march)
    assert hour_total(readings, 19) > 3 * hour_total(readings, 3)


def test_a_business_draws_most_on_weekday_working_hours() -> None:
    spec = series("office-import")
    monday, sunday = day_readings(spec, date(2026, 5, 4)), day_readings(spec, date(2026, 5, 3))
    assert hour_total(monday, 11) > 2 * hour_total(sunday, 11)
    assert hour_total(monday, 11) > 2 * hour_total(monday, 3)


def test_solar_peaks_in_summer_and_gas_in_winter() -> None:
    solar, gas = series("house-export"), series("flat-gas")
    june, december = (date(2026, 6, 1), date(2026, 6, 28)), (date(2026, 12, 1), date(2026, 12, 28))
    assert daily_mean(solar, *june) > 3 * daily_mean(solar, *december)
    assert daily_mean(gas, *december) > 3 * daily_mean(gas, *june)


def test_a_window_keeps_only_whole_intervals_inside_it_in_time_order_in_any_time_zone() -> None:
    spec = series("flat-import-15min")
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 7, 1, 10, 7, tzinfo=berlin)  # 09:07 in London: mid-interval
    end = datetime(2026, 7, 3, 1, 0, tzinfo=berlin)
    readings = DEMO.readings(spec, start, end, LONG_AFTER)
    as_utc = DEMO.readings(spec, start.astimezone(UTC), end.astimezone(UTC), LONG_AFTER)
    assert readings == as_utc
    assert readings[0].start == datetime(2026, 7, 1, 8, 15, tzinfo=UTC)
    assert readings[-1].end == end
    assert [r.start for r in readings] == sorted(r.start for r in readings)
    assert DEMO.readings(spec, end, start, LONG_AFTER) == []


def test_a_window_without_a_time_zone_is_refused() -> None:
    naive = datetime(2026, 7, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="aware"):
        DEMO.readings(series("house-import"), naive, naive + timedelta(days=1), naive)


def test_the_demo_dataset_is_exactly_the_example_supply_points_csv(tmp_path: Path) -> None:
    written = write_supply_points_csv(DEMO, tmp_path / "demo.csv")
    assert load_supply_points(written) == load_supply_points(EXAMPLE_CSV)


def test_find_names_a_series_by_its_filter_and_nothing_else() -> None:
    house_import, house_gas = series("house-import"), series("house-gas")
    assert DEMO.find("1000001", "electricity", "1200012345679", None, "THIRTY_MIN_INTERVAL") == (
        house_import
    )
    assert DEMO.find("1000001", "gas", "7654321", None, "THIRTY_MIN_INTERVAL") == house_gas
    assert DEMO.find("1000002", "electricity", "1200012345679", None, "THIRTY_MIN_INTERVAL") is None
    assert (
        DEMO.find("1000001", "electricity", "1200012345679", "GENERATION", "THIRTY_MIN_INTERVAL")
        is None
    )
    assert (
        DEMO.find("1000001", "electricity", "1200012345679", "CONSUMPTION", "FIFTEEN_MIN_INTERVAL")
        is None
    )


def test_a_dataset_refuses_a_series_listed_twice_and_an_unknown_time_zone() -> None:
    spec = series("house-import")
    with pytest.raises(ValueError, match="twice"):
        Dataset([spec, replace(spec, supply_point_id="again")])
    with pytest.raises(ValueError, match="Mars/Olympus"):
        Dataset([spec], DatasetConfig(timezone="Mars/Olympus"))


def test_a_synthetic_dataset_has_valid_meter_ids_ten_series_a_property_and_a_mix() -> None:
    dataset = synthetic_dataset(200)
    electricity = [s for s in dataset.series if s.utility == "electricity"]
    assert len(dataset.series) == 200
    assert len({s.property_id for s in dataset.series}) == 20
    assert all(mpan_check_digit_is_valid(s.market_supply_point_id) for s in electricity)
    assert {s.profile for s in dataset.series} == {"household", "business", "solar", "gas"}
    assert {s.reading_frequency for s in dataset.series} == {
        "THIRTY_MIN_INTERVAL",
        "FIFTEEN_MIN_INTERVAL",
    }


def test_a_synthetic_dataset_writes_a_supply_points_csv_the_pipeline_loads(tmp_path: Path) -> None:
    dataset = synthetic_dataset(25)
    points = load_supply_points(write_supply_points_csv(dataset, tmp_path / "points.csv"))
    assert [p.supply_point_id for p in points] == [f"sp-{i:05d}" for i in range(25)]
    for point, spec in zip(points, dataset.series, strict=True):
        found = dataset.find(
            point.property_id,
            point.utility.value,
            point.market_supply_point_id,
            point.reading_direction,
            point.reading_frequency,
        )
        assert found == spec
