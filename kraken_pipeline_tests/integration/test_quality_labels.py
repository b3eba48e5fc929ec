"""quality_results says in words whether a check passed and whether its failure blocks the day;
severity never makes a passed row look graver than a failure; the run summary marks blocking
failures apart from warnings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa

from kraken_pipeline import storage
from kraken_pipeline.quality import (
    CHECK_COMPLETENESS,
    CHECK_FETCH_FAILURES,
    CHECK_SEVERITIES,
    CHECK_UNIQUE_INTERVALS,
    CHECK_VALID_VALUES,
    Severity,
    evaluate_day,
    outcomes_to_table,
)
from kraken_pipeline.report import format_summary, summarise
from kraken_pipeline.schema import QUALITY_RESULTS_SCHEMA
from kraken_pipeline_tests.support.lake import plant_measurements, seed_defined_lake
from kraken_pipeline_tests.support.quality_rows import (
    LONG_AFTER,
    ORDINARY_DAY,
    TZ,
    completeness,
    day_rows,
    electricity,
    fetch_log,
    gas,
    log_row,
    table,
)

GRADES = {Severity.WARN: 0, Severity.ERROR: 1}


def _broken_day() -> tuple[pa.Table, pa.Table]:
    """A duplicated interval (blocking) and a gas meter whose fetch failed (not blocking)."""
    rows = day_rows(electricity())
    log = fetch_log(log_row(electricity()), log_row(gas(), error_code="KT-CT-4178"))
    return table(rows, rows[:1]), log


def _results(day: date, measurements: pa.Table, log: pa.Table) -> pa.Table:
    outcomes = evaluate_day(day, measurements, log, [electricity(), gas()], TZ, LONG_AFTER)
    return outcomes_to_table(outcomes, LONG_AFTER)


def _clean_day() -> tuple[pa.Table, pa.Table]:
    points = [electricity(), gas()]
    return table(*(day_rows(point) for point in points)), fetch_log(*map(log_row, points))


def test_a_failed_day_names_its_outcome_and_only_blocking_failures_block() -> None:
    results = _results(ORDINARY_DAY, *_broken_day()).to_pylist()

    assert all(row["outcome"] == ("passed" if row["passed"] else "failed") for row in results)
    blocking = {(row["check_name"], row["supply_point_id"]) for row in results if row["blocking"]}
    assert blocking == {(CHECK_UNIQUE_INTERVALS, None), (CHECK_UNIQUE_INTERVALS, "house-import")}
    failed = {row["check_name"] for row in results if row["outcome"] == "failed"}
    assert {CHECK_COMPLETENESS, CHECK_FETCH_FAILURES} <= failed


def test_a_clean_day_passes_every_row_and_blocks_nothing() -> None:
    results = _results(ORDINARY_DAY, *_clean_day())

    assert set(results["outcome"].to_pylist()) == {"passed"}
    assert not any(results["blocking"].to_pylist())
    assert results.schema.equals(QUALITY_RESULTS_SCHEMA)


def test_a_passed_check_is_never_graver_than_a_failure_of_the_same_check() -> None:
    point = electricity()
    young = datetime(2026, 3, 11, 9, tzinfo=UTC)
    whole = completeness(table(day_rows(point)), [point], now=young)
    half_while_young = completeness(table(day_rows(point)[:24]), [point], now=young)

    assert whole.passed
    assert not half_while_young.passed
    assert half_while_young.severity is Severity.WARN
    assert GRADES[whole.severity] <= GRADES[half_while_young.severity]
    assert CHECK_SEVERITIES[CHECK_COMPLETENESS] is Severity.WARN
    assert CHECK_SEVERITIES[CHECK_VALID_VALUES] is Severity.WARN
    assert CHECK_SEVERITIES[CHECK_UNIQUE_INTERVALS] is Severity.ERROR


def _store(root: Path, day: date, measurements: pa.Table, log: pa.Table, results: pa.Table) -> None:
    """Store a day as judged; its rows as they are (storage itself refuses a broken day)."""
    seed_defined_lake(root, TZ)  # the lake a first run defines
    storage.write_day(root, day, measurements.slice(0, 0), log)
    plant_measurements(root, day, measurements)
    storage.write_quality_results(root, day, results)


def test_the_run_summary_marks_a_blocking_failure_apart_from_warnings(tmp_path: Path) -> None:
    broken = _broken_day()
    _store(tmp_path, ORDINARY_DAY, *broken, _results(ORDINARY_DAY, *broken))

    lines = format_summary(summarise(tmp_path, [ORDINARY_DAY]))

    assert "unique_intervals (ERROR, blocking)" in lines[1]
    assert "fetch_failures (ERROR)" in lines[1]
    assert "fetch_failures (ERROR, blocking)" not in lines[1]
    assert "BLOCKED by unique_intervals: no daily_consumption for this day" in lines[2]


def test_a_day_with_warnings_only_is_not_shown_blocked(tmp_path: Path) -> None:
    measurements, log = _clean_day()
    estimated = measurements.set_column(
        measurements.schema.get_field_index("reading_quality"),
        "reading_quality",
        pa.array(["ESTIMATE"] * measurements.num_rows),
    )
    _store(tmp_path, ORDINARY_DAY, estimated, log, _results(ORDINARY_DAY, estimated, log))

    lines = format_summary(summarise(tmp_path, [ORDINARY_DAY]))

    assert "estimate_share (WARN)" in lines[1]
    assert not any("BLOCKED" in line or "blocking" in line for line in lines)


def test_results_stored_before_the_blocking_column_are_judged_by_the_rule(tmp_path: Path) -> None:
    broken = _broken_day()
    results = _results(ORDINARY_DAY, *broken)
    older = results.drop_columns(["outcome", "blocking"])
    older = older.append_column("outcome", pa.nulls(older.num_rows, pa.string()))
    older = older.append_column("blocking", pa.nulls(older.num_rows, pa.bool_()))
    _store(tmp_path, ORDINARY_DAY, *broken, older)

    lines = format_summary(summarise(tmp_path, [ORDINARY_DAY]))

    assert "BLOCKED by unique_intervals" in lines[2]


def test_the_run_summary_names_the_supply_points_whose_answers_had_nodes_dropped(
    tmp_path: Path,
) -> None:
    measurements, _ = _clean_day()
    rows = [log_row(electricity()), log_row(gas())]
    rows[0] = {**rows[0], "nodes_unmatched": 1}
    log = fetch_log(*rows)
    _store(tmp_path, ORDINARY_DAY, measurements, log, _results(ORDINARY_DAY, measurements, log))

    lines = format_summary(summarise(tmp_path, [ORDINARY_DAY]))

    dropped = [line for line in lines if "nodes dropped" in line]
    assert len(dropped) == 1
    assert dropped[0].endswith(f": {electricity().supply_point_id}")


def test_a_day_whose_answers_dropped_nothing_has_no_dropped_nodes_line(tmp_path: Path) -> None:
    measurements, log = _clean_day()
    _store(tmp_path, ORDINARY_DAY, measurements, log, _results(ORDINARY_DAY, measurements, log))

    lines = format_summary(summarise(tmp_path, [ORDINARY_DAY]))

    assert not any("nodes dropped" in line for line in lines)
