"""The measurements job end to end: emulator over HTTP, Dagster, Parquet files, DuckDB views."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow.compute as pc
from dagster import AssetKey

from kraken_pipeline import warehouse
from kraken_pipeline.local_days import expected_interval_count
from kraken_pipeline_tests.support.pipeline import (
    Landed,
    PipelineHarness,
    first_estimated_house_day,
    stored_values,
)

SPRING = date(2026, 3, 29)
AUTUMN = date(2026, 10, 25)


def test_each_supply_point_lands_exactly_the_emulators_values_on_clock_change_days(
    harness: PipelineHarness,
) -> None:
    outcome = harness.run(AUTUMN - timedelta(days=1), AUTUMN)
    spring = harness.run(SPRING, SPRING)

    assert outcome.success, outcome.failure
    assert spring.success, spring.failure
    for day in (SPRING, AUTUMN - timedelta(days=1), AUTUMN):
        table = harness.day(day)
        for point in harness.supply_points():
            assert stored_values(table, point.supply_point_id) == harness.expected_values(
                point, day
            ), f"{point.supply_point_id} on {day}"
    autumn = harness.day(AUTUMN)
    house = autumn.filter(pc.equal(autumn["supply_point_id"], "house-import"))
    assert house.num_rows == 50
    spring_house = harness.day(SPRING).filter(
        pc.equal(harness.day(SPRING)["supply_point_id"], "house-import")
    )
    assert spring_house.num_rows == 46
    quarter = autumn.filter(pc.equal(autumn["supply_point_id"], "flat-import-15min"))
    assert quarter.num_rows == expected_interval_count(AUTUMN, "Europe/London", 900) == 100


def test_running_the_same_days_twice_gives_the_same_rows(
    harness: PipelineHarness, landed_day: Landed
) -> None:
    day = date(2026, 11, 10)
    harness.copy_of(landed_day.root)  # the day as a first run landed it
    first = harness.day(day)

    harness.run(day, day)

    assert harness.day(day).drop(["fetched_at"]).equals(first.drop(["fetched_at"]))


def test_a_run_after_restatement_holds_the_actual_values_without_duplicates(
    harness: PipelineHarness,
) -> None:
    dataset = harness.emulator.config.dataset
    day = first_estimated_house_day(dataset)
    harness.emulator.set_clock(dataset.publication_time(day) + timedelta(hours=1))
    harness.run(day, day)
    estimated = stored_values(harness.day(day), "house-import")

    harness.emulator.set_clock(dataset.restatement_time(day) + timedelta(hours=1))
    harness.run(day, day)
    restated = harness.day(day)

    point = next(p for p in harness.supply_points() if p.supply_point_id == "house-import")
    assert stored_values(restated, "house-import") == harness.expected_values(point, day)
    assert stored_values(restated, "house-import") != estimated
    house_rows = restated.filter(pc.equal(restated["supply_point_id"], "house-import"))
    assert set(house_rows["reading_quality"].to_pylist()) == {"ACTUAL"}
    assert len(set(house_rows["interval_start"].to_pylist())) == house_rows.num_rows


def test_a_repair_run_for_one_supply_point_leaves_the_others_untouched(
    harness: PipelineHarness, landed_day: Landed
) -> None:
    day = date(2026, 11, 10)
    harness.copy_of(landed_day.root)  # the day as a whole run landed it
    before = harness.day(day)
    others_before = before.filter(pc.not_equal(before["supply_point_id"], "house-gas"))

    outcome = harness.run(day, day, supply_point_ids=["house-gas"])

    after = harness.day(day)
    assert outcome.success, outcome.failure
    assert after.filter(pc.not_equal(after["supply_point_id"], "house-gas")).equals(others_before)
    repaired = after.filter(pc.equal(after["supply_point_id"], "house-gas"))
    assert repaired.num_rows == 48
    assert pc.min(repaired["fetched_at"]).as_py() > pc.max(before["fetched_at"]).as_py()


def test_a_property_the_application_may_not_read_fails_only_its_supply_points(
    harness_without_shop: PipelineHarness,
) -> None:
    harness = harness_without_shop
    day = date(2026, 11, 10)

    harness.run(day, day)

    log = harness.fetch_log(day).to_pylist()
    by_point = {row["supply_point_id"]: row for row in log}
    assert by_point["shop-import-gappy"]["status"] == "failed"
    assert by_point["shop-import-gappy"]["error_code"] == "KT-CT-1111"
    assert "CAN_QUERY_PROPERTY" in by_point["shop-import-gappy"]["error_message"]
    assert {row["status"] for pid, row in by_point.items() if pid != "shop-import-gappy"} == {"ok"}
    table = harness.day(day)
    assert set(table["supply_point_id"].to_pylist()) == set(by_point) - {"shop-import-gappy"}
    materialization = harness.instance.fetch_materializations(
        AssetKey("measurements"), limit=1
    ).records[0]
    metadata = materialization.asset_materialization.metadata  # type: ignore[union-attr]
    assert metadata["supply_points_failed"].value == 1
    assert "KT-CT-1111" in str(metadata["failed_supply_points"].value)


def test_daily_totals_in_duckdb_use_each_series_expected_interval_count(
    landed_day: Landed,
) -> None:
    day = date(2026, 11, 10)  # landed by a run of the job

    with warehouse.connect(landed_day.root) as db:
        totals = db.sql(
            "SELECT supply_point_id, intervals_received, intervals_expected FROM daily_totals "
            "WHERE local_date = ? ORDER BY supply_point_id",
            params=[day],
        ).fetchall()

    points = landed_day.harness.supply_points()
    expected = {p.supply_point_id: 96 if p.interval_seconds == 900 else 48 for p in points}
    assert {row[0]: row[2] for row in totals} == expected
    assert all(row[1] == row[2] for row in totals if row[0] != "shop-import-gappy")
