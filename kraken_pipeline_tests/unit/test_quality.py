"""The data-quality rules, each shown to pass on clean data and to fail on data made bad on purpose.

Clean days are generated from local_days.interval_starts, so clock-change days hold 46 or 50
half-hours exactly as a real day does; each test then breaks one thing and looks for the check,
the severity and the offender an operator would see.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from kraken_pipeline.quality import (
    BLOCKING_CHECKS,
    CHECK_ALIGNED_INTERVALS,
    CHECK_COMPLETENESS,
    CHECK_DESCRIPTIONS,
    CHECK_ESTIMATES,
    CHECK_FETCH_FAILURES,
    CHECK_ONE_UNIT,
    CHECK_SEVERITIES,
    CHECK_STORED_INTERVALS_KEPT,
    CHECK_UNIQUE_INTERVALS,
    CHECK_VALID_VALUES,
    CheckOutcome,
    QualityConfig,
    Severity,
    check_estimate_share,
    check_fetch_failures,
    check_freshness,
    check_intervals_aligned,
    check_one_unit_per_series,
    check_unique_intervals,
    check_valid_values,
    evaluate_day,
    outcomes_to_table,
)
from kraken_pipeline.schema import QUALITY_RESULTS_SCHEMA
from kraken_pipeline.supply_points import SupplyPoint
from kraken_pipeline_tests.support.quality_rows import (
    CONFIG,
    LONG_AFTER,
    ORDINARY_DAY,
    TZ,
    Row,
    completeness,
    day_rows,
    electricity,
    fetch_log,
    gas,
    log_row,
    table,
)

SPRING_DAY = date(2026, 3, 29)  # clocks go forward: 46 half-hours
AUTUMN_DAY = date(2026, 10, 25)  # clocks go back: 50 half-hours


def moved(row: Row, by: timedelta) -> Row:
    return {
        **row,
        "interval_start": row["interval_start"] + by,
        "interval_end": row["interval_end"] + by,
    }


def without(rows: list[Row], *slots: int) -> list[Row]:
    return [row for index, row in enumerate(rows) if index not in slots]


def offenders_of(outcome: CheckOutcome) -> list[tuple[str | None, int]]:
    return [(offender.supply_point_id, offender.count) for offender in outcome.offenders]


# --- unique intervals -------------------------------------------------------------------------


def test_a_clean_day_has_unique_intervals() -> None:
    outcome = check_unique_intervals(ORDINARY_DAY, table(day_rows(electricity())), TZ, CONFIG)

    assert outcome.passed
    assert outcome.severity is Severity.ERROR
    assert outcome.offenders == ()
    assert not outcome.blocking


def test_a_duplicated_interval_fails_as_a_blocking_error_naming_the_supply_point() -> None:
    rows = day_rows(electricity())
    duplicated = table(rows, rows[2:4], rows[2:3], day_rows(gas()))

    outcome = check_unique_intervals(ORDINARY_DAY, duplicated, TZ, CONFIG)

    assert not outcome.passed
    assert outcome.severity is Severity.ERROR
    assert outcome.blocking
    assert offenders_of(outcome) == [("house-import", 3)]
    assert outcome.offenders[0].detail == (
        "2 interval(s) stored more than once (3 surplus rows), first at 2026-03-10 01:00 GMT"
    )
    assert outcome.metrics["surplus_rows"] == 3


# --- intervals aligned ------------------------------------------------------------------------


@pytest.mark.parametrize("day", [ORDINARY_DAY, SPRING_DAY, AUTUMN_DAY])
@pytest.mark.parametrize("minutes", [15, 30])
def test_clean_series_lie_on_their_grid_inside_the_day(day: date, minutes: int) -> None:
    point = electricity(minutes=minutes)

    outcome = check_intervals_aligned(day, table(day_rows(point, day)), [point], TZ, CONFIG)

    assert outcome.passed
    assert outcome.metrics["misaligned_rows"] == 0


def test_an_interval_off_the_grid_fails_as_a_blocking_error() -> None:
    point = electricity()
    rows = day_rows(point)
    shifted = moved(rows[5], timedelta(minutes=10))

    outcome = check_intervals_aligned(
        ORDINARY_DAY, table(without(rows, 5), [shifted]), [point], TZ, CONFIG
    )

    assert not outcome.passed
    assert outcome.blocking
    assert offenders_of(outcome) == [("house-import", 1)]
    assert (
        outcome.offenders[0].detail == "1 misaligned: 1 off the grid; first at 2026-03-10 02:40 GMT"
    )


def test_a_half_hour_in_a_quarter_hour_series_has_the_wrong_length() -> None:
    point = electricity("flat-import-15min", minutes=15)
    rows = day_rows(point)
    rows[0] = {**rows[0], "interval_end": rows[0]["interval_start"] + timedelta(minutes=30)}

    outcome = check_intervals_aligned(ORDINARY_DAY, table(rows), [point], TZ, CONFIG)

    assert not outcome.passed
    assert outcome.offenders[0].detail.startswith("1 misaligned: 1 of the wrong length")


def test_a_spring_day_filled_with_48_half_hours_spills_two_outside_the_day() -> None:
    point = electricity()
    spring = day_rows(point, SPRING_DAY)
    spill = [moved(spring[-1], timedelta(minutes=30 * n)) for n in (1, 2)]

    outcome = check_intervals_aligned(SPRING_DAY, table(spring, spill), [point], TZ, CONFIG)

    assert offenders_of(outcome) == [("house-import", 2)]
    assert "2 outside the day" in outcome.offenders[0].detail


def test_rows_of_a_supply_point_no_longer_listed_are_only_checked_against_the_day() -> None:
    listed, dropped = electricity(), electricity("old-meter")

    outcome = check_intervals_aligned(
        ORDINARY_DAY, table(day_rows(listed), day_rows(dropped)), [listed], TZ, CONFIG
    )

    assert outcome.passed
    assert outcome.metrics["rows_of_unlisted_supply_points"] == 48


# --- completeness -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "minutes", "expected"),
    [
        (ORDINARY_DAY, 30, 48),
        (SPRING_DAY, 30, 46),
        (AUTUMN_DAY, 30, 50),
        (ORDINARY_DAY, 15, 96),
        (SPRING_DAY, 15, 92),
        (AUTUMN_DAY, 15, 100),
    ],
)
def test_completeness_expects_the_intervals_the_local_day_really_has(
    day: date, minutes: int, expected: int
) -> None:
    point = electricity(minutes=minutes)
    rows = day_rows(point, day)

    complete = completeness(table(rows), [point], day)
    one_short = completeness(table(rows[1:]), [point], day)

    assert complete.passed
    assert complete.metrics["intervals_expected"] == expected
    assert complete.metrics["share"] == 1.0
    assert not one_short.passed
    assert one_short.metrics["intervals_present"] == expected - 1
    assert offenders_of(one_short) == [("house-import", 1)]


def test_a_small_gap_warns_and_lists_the_missing_slots_as_local_time_ranges() -> None:
    point = electricity()

    outcome = completeness(table(without(day_rows(point), 2, 3, 4, 47)), [point])

    assert not outcome.passed
    assert outcome.severity is Severity.WARN
    assert outcome.offenders[0].count == 4
    assert outcome.offenders[0].detail == (
        "missing 01:00-02:30 (3 slots), 23:30-24:00 (1 slot); 44 of 48 present (91.7%)"
    )


def test_a_quarter_hour_gap_is_listed_in_quarter_hours() -> None:
    point = electricity(minutes=15)

    outcome = completeness(table(without(day_rows(point), 41)), [point])

    assert outcome.offenders[0].detail == "missing 10:15-10:30 (1 slot); 95 of 96 present (99.0%)"


def test_the_repeated_autumn_hour_is_named_by_its_zone() -> None:
    point = electricity()

    # Slots 4 and 5 are the second 01:00 and 01:30 of the day, after the clocks went back.
    outcome = completeness(table(without(day_rows(point, AUTUMN_DAY), 4, 5)), [point], AUTUMN_DAY)

    assert outcome.offenders[0].detail.startswith("missing 01:00 GMT-02:00 GMT (2 slots); 48 of 50")


def test_a_gap_across_the_spring_change_counts_only_slots_that_exist() -> None:
    point = electricity()

    outcome = completeness(table(without(day_rows(point, SPRING_DAY), 1, 2)), [point], SPRING_DAY)

    assert outcome.offenders[0].detail.startswith("missing 00:30 GMT-02:30 BST (2 slots); 44 of 46")


def test_a_day_below_the_floor_is_an_error_once_past_the_publication_lag() -> None:
    point = electricity()
    half_day = table(day_rows(point)[:24])

    outcome = completeness(half_day, [point])

    assert outcome.severity is Severity.ERROR
    assert outcome.metrics["supply_points_below_floor"] == 1
    assert outcome.summary.endswith("1 below the 90% floor (past the publication lag)")


def test_a_day_below_the_floor_only_warns_while_kraken_may_still_publish_it() -> None:
    point = electricity()
    next_morning = datetime(2026, 3, 11, 9, tzinfo=UTC)

    outcome = completeness(table(day_rows(point)[:24]), [point], now=next_morning)

    assert not outcome.passed
    assert outcome.severity is Severity.WARN
    assert outcome.metrics["past_publication_lag"] == "no"


def test_duplicates_and_misaligned_rows_do_not_make_a_day_complete() -> None:
    point = electricity()
    rows = day_rows(point)

    outcome = completeness(
        table(rows[:47], rows[:1], [moved(rows[46], timedelta(minutes=5))]), [point]
    )

    assert offenders_of(outcome) == [("house-import", 1)]


def test_a_supply_point_whose_fetch_failed_is_reported_missing_with_its_cause() -> None:
    fine, denied = electricity(), electricity("shop-import")
    log = fetch_log(log_row(fine), log_row(denied, error_code="KT-CT-4178"))

    outcome = completeness(table(day_rows(fine)), [fine, denied], log=log)

    assert offenders_of(outcome) == [("shop-import", 48)]
    assert outcome.offenders[0].detail == (
        "fetch failed (KT-CT-4178); missing 00:00-24:00 (48 slots); 0 of 48 present (0.0%)"
    )
    assert outcome.metrics["share"] == 0.5
    assert outcome.metrics["supply_points_fetch_failed"] == 1


def test_a_failed_refetch_of_a_complete_day_keeps_it_complete_but_is_still_reported() -> None:
    point = electricity()
    log = fetch_log(log_row(point, error_code="KT-CT-1199"))

    complete = completeness(table(day_rows(point)), [point], log=log)
    failures = check_fetch_failures(ORDINARY_DAY, log, CONFIG)

    assert complete.passed
    assert offenders_of(failures) == [("house-import", 1)]


def test_offenders_come_worst_first_and_are_capped_with_the_total_kept() -> None:
    points = [electricity(f"sp-{n:02d}") for n in range(25)]
    rows = [without(day_rows(point), *range(n)) for n, point in enumerate(points)]

    outcome = completeness(table(*rows), points, config=QualityConfig(max_offenders=20))

    assert [offender.count for offender in outcome.offenders] == list(range(24, 4, -1))
    assert outcome.offenders[0].supply_point_id == "sp-24"
    assert outcome.metrics["offenders_total"] == 24
    assert outcome.metrics["supply_points_incomplete"] == 24


# --- fetch failures ---------------------------------------------------------------------------


def test_a_day_whose_fetches_all_succeeded_has_no_fetch_failures() -> None:
    outcome = check_fetch_failures(ORDINARY_DAY, fetch_log(log_row(electricity())), CONFIG)

    assert outcome.passed
    assert outcome.severity is Severity.ERROR


def test_a_permission_failure_is_an_error_naming_the_supply_point_and_code() -> None:
    log = fetch_log(
        log_row(electricity()),
        log_row(electricity("shop-import"), error_code="KT-CT-4178"),
        log_row(gas(), error_code="KT-CT-4178"),
    )

    outcome = check_fetch_failures(ORDINARY_DAY, log, CONFIG)

    assert not outcome.passed
    assert outcome.severity is Severity.ERROR
    assert offenders_of(outcome) == [("house-gas", 1), ("shop-import", 1)]
    assert outcome.offenders[0].detail == "KT-CT-4178: Unauthorized."
    assert outcome.metrics["error_codes"] == "KT-CT-4178 x2"


def test_a_later_successful_rerun_clears_an_earlier_failure() -> None:
    point = electricity()
    earlier = LONG_AFTER - timedelta(hours=1)
    log = fetch_log(log_row(point, error_code="KT-CT-1111", fetched_at=earlier), log_row(point))

    assert check_fetch_failures(ORDINARY_DAY, log, CONFIG).passed


def test_failures_of_other_days_in_the_log_do_not_count() -> None:
    log = fetch_log(log_row(electricity(), ORDINARY_DAY - timedelta(days=1), "KT-CT-4178"))

    assert check_fetch_failures(ORDINARY_DAY, log, CONFIG).passed


# --- valid values -----------------------------------------------------------------------------


def test_ordinary_values_are_valid() -> None:
    busy_half_hour = day_rows(electricity(), value=Decimal(50))
    busy_gas = day_rows(gas(), value=Decimal("12.5"))

    outcome = check_valid_values(ORDINARY_DAY, table(busy_half_hour, busy_gas), TZ, CONFIG)

    assert outcome.passed
    assert outcome.severity is Severity.WARN  # the least a failure of the check has


def test_a_negative_value_is_an_impossible_error() -> None:
    rows = day_rows(electricity())
    rows[3] = {**rows[3], "value": Decimal("-0.5")}

    outcome = check_valid_values(ORDINARY_DAY, table(rows), TZ, CONFIG)

    assert outcome.severity is Severity.ERROR
    assert offenders_of(outcome) == [("house-import", 1)]
    assert outcome.offenders[0].detail == (
        "1 negative; first impossible: -0.5 kWh at 2026-03-10 01:30 GMT"
    )


@pytest.mark.parametrize("sentinel", ["65535", "16777.215", "4294967.295", "99999999"])
def test_a_meter_sentinel_is_an_impossible_error(sentinel: str) -> None:
    rows = day_rows(electricity())
    rows[0] = {**rows[0], "value": Decimal(sentinel)}

    outcome = check_valid_values(ORDINARY_DAY, table(rows), TZ, CONFIG)

    assert outcome.severity is Severity.ERROR
    assert outcome.offenders[0].detail.startswith("1 sentinel; ")
    assert outcome.metrics["sentinel_rows"] == 1


def test_a_missing_value_is_not_a_finite_number() -> None:
    rows = day_rows(electricity())
    rows[0] = {**rows[0], "value": None}

    outcome = check_valid_values(ORDINARY_DAY, table(rows), TZ, CONFIG)

    assert outcome.severity is Severity.ERROR
    assert outcome.metrics["not_finite_rows"] == 1


@pytest.mark.parametrize(
    ("point", "value", "unit"),
    [
        (electricity(), "50.001", "kWh"),  # ceiling 100 kWh/h: 50 kWh a half-hour
        (electricity(minutes=15), "25.5", "kWh"),  # 25 kWh a quarter-hour
        (gas(), "12.6", "m3"),  # 25 m3/h
        (gas(), "141", "kWh"),  # 280 kWh/h
    ],
)
def test_a_value_above_the_ceiling_for_its_interval_is_an_implausible_warning(
    point: SupplyPoint, value: str, unit: str
) -> None:
    rows = day_rows(point, unit=unit)
    rows[-1] = {**rows[-1], "value": Decimal(value)}

    outcome = check_valid_values(ORDINARY_DAY, table(rows), TZ, CONFIG)

    assert not outcome.passed
    assert outcome.severity is Severity.WARN
    assert outcome.offenders[0].detail.startswith(f"1 above the ceiling; largest: {value} {unit}")


def test_impossible_values_rank_before_more_numerous_implausible_ones() -> None:
    big, broken = electricity("factory"), electricity("house-import")
    broken_rows = day_rows(broken)
    broken_rows[0] = {**broken_rows[0], "value": Decimal(-1)}

    outcome = check_valid_values(
        ORDINARY_DAY, table(day_rows(big, value=Decimal(80)), broken_rows), TZ, CONFIG
    )

    assert outcome.severity is Severity.ERROR
    assert offenders_of(outcome) == [("house-import", 1), ("factory", 48)]


def test_actual_estimate_and_unstated_reading_qualities_are_valid() -> None:
    rows = day_rows(electricity())
    rows[0] = {**rows[0], "reading_quality": "ESTIMATE"}
    rows[1] = {**rows[1], "reading_quality": None}

    outcome = check_valid_values(ORDINARY_DAY, table(rows), TZ, CONFIG)

    assert outcome.passed
    assert outcome.metrics["unknown_quality_rows"] == 0


def test_a_reading_quality_outside_the_contract_warns_naming_the_point_and_the_value() -> None:
    rows = day_rows(electricity())
    odd = [{**row, "reading_quality": "PROVISIONAL"} for row in rows[:3]] + rows[3:]

    outcome = check_valid_values(ORDINARY_DAY, table(odd, day_rows(gas())), TZ, CONFIG)

    assert not outcome.passed
    assert outcome.severity is Severity.WARN
    assert offenders_of(outcome) == [("house-import", 3)]
    assert outcome.offenders[0].local_date == ORDINARY_DAY
    assert outcome.offenders[0].detail == ("3 unknown reading quality; seen 'PROVISIONAL' x3")
    assert outcome.metrics["unknown_quality_rows"] == 3


def test_the_known_reading_qualities_come_from_the_config() -> None:
    rows = table(day_rows(electricity(), quality="PROVISIONAL"))
    config = QualityConfig(known_reading_qualities=frozenset({"ACTUAL", "PROVISIONAL"}))

    assert check_valid_values(ORDINARY_DAY, rows, TZ, config).passed
    assert not check_valid_values(ORDINARY_DAY, rows, TZ, CONFIG).passed


def test_an_impossible_value_stays_an_error_beside_an_unknown_quality() -> None:
    rows = day_rows(electricity())
    rows[0] = {**rows[0], "value": Decimal(-1), "reading_quality": "provisional"}
    rows[1] = {**rows[1], "reading_quality": "X"}

    outcome = check_valid_values(ORDINARY_DAY, table(rows), TZ, CONFIG)

    assert outcome.severity is Severity.ERROR
    assert offenders_of(outcome) == [("house-import", 2)]
    assert outcome.offenders[0].detail == (
        "1 negative, 2 unknown reading quality; first impossible: -1 kWh at 2026-03-10 00:00 GMT; "
        "seen 'X' x1, 'provisional' x1"
    )


# --- one unit per series ----------------------------------------------------------------------


def test_series_each_in_one_known_unit_pass() -> None:
    rows = table(day_rows(electricity()), day_rows(gas()), day_rows(gas("flat-gas"), unit="kWh"))

    outcome = check_one_unit_per_series(ORDINARY_DAY, rows, CONFIG)

    assert outcome.passed
    assert outcome.metrics["units_seen"] == "kWh, m3"


def test_a_series_mixing_units_is_a_blocking_error() -> None:
    rows = day_rows(gas())
    mixed = [{**row, "unit": "kWh"} for row in rows[:8]] + rows[8:]

    outcome = check_one_unit_per_series(ORDINARY_DAY, table(mixed), CONFIG)

    assert outcome.blocking
    assert offenders_of(outcome) == [("house-gas", 8)]
    assert outcome.offenders[0].detail == "units 'm3' x40, 'kWh' x8"


def test_a_unit_the_pipeline_does_not_know_is_a_blocking_error() -> None:
    outcome = check_one_unit_per_series(
        ORDINARY_DAY, table(day_rows(electricity(), unit="kwh")), CONFIG
    )

    assert outcome.blocking
    assert offenders_of(outcome) == [("house-import", 48)]
    assert outcome.offenders[0].detail == "unit 'kwh' x48 (unknown unit)"


# --- estimates --------------------------------------------------------------------------------


def test_a_few_estimates_pass_and_one_more_than_the_threshold_warns() -> None:
    config = QualityConfig(estimate_share_threshold=0.25)
    rows = day_rows(electricity())
    at_threshold = [{**row, "reading_quality": "ESTIMATE"} for row in rows[:12]] + rows[12:]
    above = [{**row, "reading_quality": "ESTIMATE"} for row in rows[:13]] + rows[13:]

    passing = check_estimate_share(ORDINARY_DAY, table(at_threshold), config)
    failing = check_estimate_share(ORDINARY_DAY, table(above), config)

    assert passing.passed
    assert passing.severity is Severity.WARN
    assert not failing.passed
    assert offenders_of(failing) == [("house-import", 13)]


def test_an_all_estimate_day_warns_with_its_share() -> None:
    rows = table(day_rows(electricity(), quality="ESTIMATE"), day_rows(gas()))

    outcome = check_estimate_share(ORDINARY_DAY, rows, CONFIG)

    assert outcome.severity is Severity.WARN
    assert outcome.offenders[0].detail == "48 of 48 intervals estimated (100.0%)"
    assert outcome.metrics["estimate_share"] == 0.5


# --- freshness --------------------------------------------------------------------------------


def test_a_complete_day_within_the_age_limit_is_fresh() -> None:
    outcome = check_freshness([ORDINARY_DAY, ORDINARY_DAY - timedelta(days=1)], date(2026, 3, 13))

    assert outcome.passed
    assert outcome.metrics["age_days"] == 3


def test_an_old_newest_complete_day_is_stale() -> None:
    outcome = check_freshness([ORDINARY_DAY], date(2026, 3, 14))

    assert not outcome.passed
    assert outcome.severity is Severity.WARN
    assert outcome.summary == "newest complete day 2026-03-10 is 4 day(s) old (limit 3)"


def test_no_complete_day_at_all_is_stale() -> None:
    outcome = check_freshness([], date(2026, 3, 14))

    assert not outcome.passed
    assert outcome.metrics["newest_complete_day"] == "none"


# --- the whole day and its results table ------------------------------------------------------


def demo_points() -> list[SupplyPoint]:
    return [electricity(), gas(), electricity("flat-import-15min", minutes=15)]


def test_a_clean_demo_day_passes_every_check_in_a_stable_order() -> None:
    points = demo_points()
    rows = table(*(day_rows(point, AUTUMN_DAY) for point in points))
    log = fetch_log(*(log_row(point, AUTUMN_DAY) for point in points))

    outcomes = evaluate_day(AUTUMN_DAY, rows, log, points, TZ, LONG_AFTER)

    assert [outcome.check_name for outcome in outcomes] == [
        CHECK_UNIQUE_INTERVALS,
        CHECK_ALIGNED_INTERVALS,
        CHECK_COMPLETENESS,
        CHECK_FETCH_FAILURES,
        CHECK_VALID_VALUES,
        CHECK_ONE_UNIT,
        CHECK_ESTIMATES,
        CHECK_STORED_INTERVALS_KEPT,
    ]
    assert all(outcome.passed for outcome in outcomes)


def test_every_check_has_a_one_line_description_and_three_of_them_block() -> None:
    assert all(text and "\n" not in text for text in CHECK_DESCRIPTIONS.values())
    assert set(CHECK_DESCRIPTIONS) == set(CHECK_SEVERITIES)
    assert frozenset({CHECK_UNIQUE_INTERVALS, CHECK_ALIGNED_INTERVALS, CHECK_ONE_UNIT}) == (
        BLOCKING_CHECKS
    )


def test_evaluating_a_day_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        evaluate_day(ORDINARY_DAY, table(), fetch_log(), [], TZ, datetime(2026, 3, 20))  # noqa: DTZ001


def test_the_results_table_has_a_day_row_per_check_and_a_row_per_offender() -> None:
    points = demo_points()
    rows = day_rows(points[0])
    log = fetch_log(log_row(points[0]), log_row(points[1], error_code="KT-CT-4178"))
    outcomes = evaluate_day(ORDINARY_DAY, table(rows, rows[:1]), log, points[:2], TZ, LONG_AFTER)

    results = outcomes_to_table(outcomes, LONG_AFTER)

    assert results.schema.equals(QUALITY_RESULTS_SCHEMA)
    day_rows_only = results.filter(results["supply_point_id"].is_null())
    assert day_rows_only["check_name"].to_pylist() == [o.check_name for o in outcomes]
    failing = results.filter(results["supply_point_id"].is_valid()).to_pylist()
    assert {(row["check_name"], row["supply_point_id"], row["severity"]) for row in failing} == {
        (CHECK_UNIQUE_INTERVALS, "house-import", "ERROR"),
        (CHECK_COMPLETENESS, "house-gas", "ERROR"),
        (CHECK_FETCH_FAILURES, "house-gas", "ERROR"),
    }
