"""Odd API payloads through a whole run: refused naming the culprit, or quarantined, never landed.

The emulator's `odd_payload` fault bends the first measurement node of an answer the way field
reports say Kraken (or a gateway in front of it) can: null, missing, numeric, huge or too
precise values, timestamps without an offset, enum values the documentation does not list yet,
unknown `__typename`s. Whatever the oddity, no landed row may hold a value other than the one
Kraken meant, and the supply point concerned must be named: by the fetch log (the fetch was
refused) or by a failed data-quality check (the row was dropped or kept as sent).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from dagster import DagsterInstance

from kraken_pipeline import storage
from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, Fault
from kraken_pipeline.supply_points import SupplyPoint
from kraken_pipeline_tests.support.pipeline import expected_readings
from kraken_pipeline_tests.support.resilience import (
    Pipeline,
    expected_series,
    stored_series,
)

DAY = date(2026, 11, 10)
REFUSED = ["value_huge", "naive_timestamp", "value_number"]
# A node without its value breaks the protocol: the page is asked for again, once.
RETRIED = ["value_null", "value_missing"]
DROPPED = ["unit_missing", "unknown_direction"]
KEPT_AND_FLAGGED = {"unknown_unit": "unit", "unknown_quality": "reading_quality"}
HARMLESS = ["unknown_typename"]


@pytest.fixture(autouse=True)
def demo_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRAKEN_CLIENT_ID", DEMO_CLIENT_ID)
    monkeypatch.setenv("KRAKEN_CLIENT_SECRET", DEMO_CLIENT_SECRET)


@pytest.fixture
def pipeline(emulator: Emulator, tmp_path: Path, module_instance: DagsterInstance) -> Pipeline:
    return Pipeline(emulator, tmp_path / "data", seed_lake=True, instance=module_instance)


def run_with_oddity(pipeline: Pipeline, oddity: str) -> pa.Table:
    """Land DAY with one odd node in the answers; the fetch log of the day."""
    pipeline.emulator.faults.add(Fault(kind="odd_payload", oddity=oddity))
    pipeline.run(DAY, DAY)  # may fail: daily_consumption refuses a day that a check blocked
    assert pipeline.emulator.stats.faults.get("odd_payload") == 1
    fetch_log = storage.read_fetch_log(pipeline.root, DAY)
    assert fetch_log is not None, "the day was not landed"
    return fetch_log


def truth(emulator: Emulator, point: SupplyPoint) -> dict[datetime, tuple[Decimal, str, str]]:
    """interval start -> (value, unit, reading quality) as the emulator means them."""
    readings = expected_readings(emulator, point, DAY)
    return {r.start: (r.value, r.unit.replace("kwh", "kWh"), r.quality) for r in readings}


def assert_no_landed_value_differs(pipeline: Pipeline) -> None:
    table = storage.read_day(pipeline.root, DAY)
    assert table is not None
    for point in pipeline.supply_points():
        meant = {start: value for start, (value, _u, _q) in truth(pipeline.emulator, point).items()}
        for start, value in stored_series(table, point.supply_point_id):
            assert meant.get(start) == value, f"{point.supply_point_id} at {start}: {value}"


def failed_check_offenders(root: Path) -> dict[str, set[str]]:
    """check name -> supply points a failed check of DAY names."""
    results = storage.read_quality_results(root, DAY)
    assert results is not None, "the day was not checked"
    named: dict[str, set[str]] = {}
    for row in results.to_pylist():
        if not row["passed"] and row["supply_point_id"]:
            named.setdefault(row["check_name"], set()).add(row["supply_point_id"])
    return named


def incomplete_points(pipeline: Pipeline) -> set[str]:
    """Supply points whose stored series lacks intervals the emulator serves."""
    table = storage.read_day(pipeline.root, DAY)
    assert table is not None
    return {
        point.supply_point_id
        for point in pipeline.supply_points()
        if len(stored_series(table, point.supply_point_id))
        < len(expected_series(pipeline.emulator, point, DAY))
    }


@pytest.mark.parametrize("oddity", REFUSED)
def test_an_unreadable_value_or_time_fails_its_property_by_name_and_lands_no_guess(
    pipeline: Pipeline, oddity: str
) -> None:
    fetch_log = run_with_oddity(pipeline, oddity)

    failed = [row for row in fetch_log.to_pylist() if row["status"] == "failed"]
    assert failed, "the odd answer was accepted"
    properties = {p.supply_point_id: p.property_id for p in pipeline.supply_points()}
    for row in failed:
        assert row["error_code"], row
        assert properties[row["supply_point_id"]] in row["error_message"], row
    assert {properties[row["supply_point_id"]] for row in failed} != set(properties.values()), (
        "one odd node failed every property of the run"
    )
    assert_no_landed_value_differs(pipeline)
    assert {row["supply_point_id"] for row in failed} <= failed_check_offenders(pipeline.root)[
        "fetch_failures"
    ]


@pytest.mark.parametrize("oddity", RETRIED)
def test_a_node_without_a_value_once_is_asked_for_again_and_every_row_lands(
    pipeline: Pipeline, oddity: str
) -> None:
    fetch_log = run_with_oddity(pipeline, oddity)

    assert set(fetch_log["status"].to_pylist()) == {"ok"}
    table = storage.read_day(pipeline.root, DAY)
    assert table is not None
    for point in pipeline.supply_points():
        assert stored_series(table, point.supply_point_id) == expected_series(
            pipeline.emulator, point, DAY
        )


def test_a_value_of_19_decimal_places_lands_rounded_half_even_to_18(pipeline: Pipeline) -> None:
    fetch_log = run_with_oddity(pipeline, "value_too_precise")

    assert set(fetch_log["status"].to_pylist()) == {"ok"}
    table = storage.read_day(pipeline.root, DAY)
    assert table is not None
    assert Decimal("0.123456789012345679") in table["value"].to_pylist()


@pytest.mark.parametrize("oddity", DROPPED)
def test_a_node_without_a_usable_value_or_series_is_dropped_and_completeness_names_its_point(
    pipeline: Pipeline, oddity: str
) -> None:
    fetch_log = run_with_oddity(pipeline, oddity)

    assert set(fetch_log["status"].to_pylist()) == {"ok"}
    assert_no_landed_value_differs(pipeline)
    missing = incomplete_points(pipeline) - {"shop-import-gappy"}  # gappy in the demo data
    assert len(missing) == 1
    assert missing <= failed_check_offenders(pipeline.root)["completeness"]


@pytest.mark.parametrize("oddity", list(KEPT_AND_FLAGGED))
def test_an_unknown_unit_or_quality_is_kept_as_sent_and_a_check_names_its_point(
    pipeline: Pipeline, oddity: str
) -> None:
    column = KEPT_AND_FLAGGED[oddity]

    run_with_oddity(pipeline, oddity)

    assert_no_landed_value_differs(pipeline)
    table = storage.read_day(pipeline.root, DAY)
    assert table is not None
    odd_points = {
        row["supply_point_id"]
        for row in table.to_pylist()
        if row[column] not in {"kWh", "m3", "ACTUAL", "ESTIMATE", None}
    }
    assert len(odd_points) == 1
    flagged = set().union(*failed_check_offenders(pipeline.root).values())
    assert odd_points <= flagged, f"no failed check names {odd_points}"


@pytest.mark.parametrize("oddity", HARMLESS)
def test_an_unknown_typename_changes_nothing(pipeline: Pipeline, oddity: str) -> None:
    fetch_log = run_with_oddity(pipeline, oddity)

    assert set(fetch_log["status"].to_pylist()) == {"ok"}
    table = storage.read_day(pipeline.root, DAY)
    assert table is not None
    for point in pipeline.supply_points():
        assert stored_series(table, point.supply_point_id) == expected_series(
            pipeline.emulator, point, DAY
        )


def test_a_property_refused_on_a_rerun_keeps_its_earlier_rows_of_the_day(
    pipeline: Pipeline,
) -> None:
    assert pipeline.run(DAY, DAY).success
    before = storage.read_day(pipeline.root, DAY)
    assert before is not None

    fetch_log = run_with_oddity(pipeline, "value_huge")

    failed = {row["supply_point_id"] for row in fetch_log.to_pylist() if row["status"] != "ok"}
    assert failed, "the odd answer was accepted"
    after = storage.read_day(pipeline.root, DAY)
    assert after is not None
    for supply_point_id in failed:
        assert stored_series(after, supply_point_id) == stored_series(before, supply_point_id), (
            f"the earlier rows of {supply_point_id} were lost when its re-fetch failed"
        )


def test_the_emulator_refuses_an_oddity_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="oddity 'nope' is unknown"):
        Fault(kind="odd_payload", oddity="nope")
