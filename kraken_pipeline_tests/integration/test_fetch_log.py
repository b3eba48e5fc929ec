"""The day's fetch log: what each supply point's fetch dropped, folded or rounded, run by run.

Payload faults of the emulator bend one answer the way a tenant or gateway might; the counts the
client keeps of what it did about them must reach the fetch log, where an operator can see them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kraken_pipeline import storage
from kraken_pipeline.emulator import Fault
from kraken_pipeline.schema import FETCH_LOG_SCHEMA
from kraken_pipeline_tests.support.pipeline import Landed, PipelineHarness

DAY = date(2026, 11, 10)  # the `landed_day` fixture's day
COUNTERS = ("nodes_outside_window", "nodes_unmatched", "duplicates_folded", "values_rounded")
SINCE_VERSION_2 = (*COUNTERS, "intervals_removed")
OLD_COLUMNS = [name for name in FETCH_LOG_SCHEMA.names if name not in SINCE_VERSION_2]


def counters_by_supply_point(harness: PipelineHarness) -> dict[str, dict[str, int]]:
    return {
        row["supply_point_id"]: {name: row[name] for name in COUNTERS}
        for row in harness.fetch_log(DAY).to_pylist()
    }


def test_a_clean_run_records_zero_of_every_counter(landed_day: Landed) -> None:
    harness, outcome = landed_day.harness, landed_day.outcome  # DAY, run once per session

    assert outcome.success, outcome.failure
    counters = counters_by_supply_point(harness)
    assert len(counters) == len(harness.supply_points())
    assert all(counts == dict.fromkeys(COUNTERS, 0) for counts in counters.values()), counters


@pytest.mark.parametrize(
    ("fault", "counter"),
    [
        ("identical_duplicate", "duplicates_folded"),
        ("long_decimals", "values_rounded"),
    ],
)
def test_a_value_the_client_folds_or_rounds_is_counted_against_its_supply_point(
    harness: PipelineHarness, fault: str, counter: str
) -> None:
    harness.emulator.faults.add(Fault(fault))  # type: ignore[arg-type]
    outcome = harness.run(DAY, DAY)

    assert outcome.success, outcome.failure
    counters = counters_by_supply_point(harness)
    counted = {point: counts[counter] for point, counts in counters.items() if counts[counter]}
    assert list(counted.values()) == [1], counters
    others = [name for name in COUNTERS if name != counter]
    assert all(counts[name] == 0 for counts in counters.values() for name in others), counters


def test_a_node_outside_the_window_is_counted_on_each_supply_point_of_its_property(
    harness: PipelineHarness,
) -> None:
    harness.emulator.faults.add(Fault("outside_window"))
    outcome = harness.run(DAY, DAY)

    assert outcome.success, outcome.failure
    counters = counters_by_supply_point(harness)
    counted = {point for point, counts in counters.items() if counts["nodes_outside_window"]}
    properties = {point.supply_point_id: point.property_id for point in harness.supply_points()}
    [property_id] = {properties[point] for point in counted}
    # One request asks for every series of a property: its dropped node is no one series'.
    assert counted == {point for point, owner in properties.items() if owner == property_id}
    assert {counters[point]["nodes_outside_window"] for point in counted} == {1}


def test_nodes_of_no_series_asked_for_are_counted_on_the_supply_points_they_failed(
    harness: PipelineHarness,
) -> None:
    # Filters echoed as a type the query selects nothing of: a property with several series
    # cannot tell its nodes apart, so its supply points fail with every node unmatched.
    harness.emulator.faults.add(Fault("embedded_filters", times=None))
    harness.run(DAY, DAY)

    rows = harness.fetch_log(DAY).to_pylist()
    failed = [row for row in rows if row["status"] != "ok"]
    assert failed, "no supply point failed"
    assert all(row["nodes_unmatched"] > 0 for row in failed), failed
    assert all(row["nodes_unmatched"] == 0 for row in rows if row["status"] == "ok"), rows


def test_a_fetch_log_written_before_the_counters_reads_with_them_null(tmp_path: Path) -> None:
    row = {
        "supply_point_id": "house-import",
        "local_date": DAY,
        "status": "ok",
        "rows": 48,
        "intervals_expected": 48,
        "requests": 1,
        "error_code": None,
        "error_message": None,
        "fetched_at": datetime(2026, 11, 12, 6, 0, tzinfo=UTC),
    }
    old_schema = pa.schema([FETCH_LOG_SCHEMA.field(name) for name in OLD_COLUMNS])
    # Where the Parquet layout keeps a day's fetch log (a lake imports such files once).
    path = tmp_path / "measurements" / f"date={DAY}" / "fetch_log.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([row], schema=old_schema), path)

    stored = storage.read_fetch_log(tmp_path, DAY)

    assert stored is not None
    assert stored.schema == FETCH_LOG_SCHEMA
    [read] = stored.to_pylist()
    assert read == {**row, **dict.fromkeys(SINCE_VERSION_2)}
