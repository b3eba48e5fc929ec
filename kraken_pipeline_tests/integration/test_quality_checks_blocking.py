"""Stored days made bad on purpose: each check fails naming its offender, a failing blocking check
stops daily_consumption for that day only, and `quality_results` agrees with what Dagster shows.

The client cleans duplicates, stray units and impossible values on the way in, so they are written
into a landed day here and the check step is run again over the stored days.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    AssetPartitionStatus,
    AssetSelection,
)
from dagster._core.event_api import PartitionKeyFilter

from kraken_pipeline import quality, storage, warehouse
from kraken_pipeline.defs.checks import DAY_CHECKS
from kraken_pipeline.defs.location import build_definitions
from kraken_pipeline_tests.support.lake import Analyst, lake_rows
from kraken_pipeline_tests.support.pipeline import (
    Landed,
    PipelineHarness,
    demo_harness,
    landed_root,
)
from kraken_pipeline_tests.support.quality_runs import (
    CHECKS_ONLY,
    DAY,
    LAND_ONLY,
    MEASUREMENTS,
    Evaluations,
    Row,
    evaluations,
    key,
    metadata,
    offender_row,
    offenders,
    rejudge,
    run_selection,
    spoil_stored_day,
    supply_points_without_gaps,
    use_supply_points_without_gaps,
)

DAILY_CONSUMPTION = AssetKey("daily_consumption")
CHECKS_AND_DAILY_CONSUMPTION = CHECKS_ONLY | AssetSelection.assets(DAILY_CONSUMPTION)
FIRST, BAD, LAST = DAY - timedelta(days=1), DAY, DAY + timedelta(days=1)


# --- failing on stored days made bad on purpose -------------------------------------------------


def shifted(minutes: int, *, end_only: bool = False) -> Callable[[Row], list[Row]]:
    """Move a row's end (and, unless end_only, its start) by some minutes."""
    step = timedelta(minutes=minutes)

    def change(row: Row) -> list[Row]:
        start = row["interval_start"] if end_only else row["interval_start"] + step
        return [{**row, "interval_start": start, "interval_end": row["interval_end"] + step}]

    return change


def with_value(value: str) -> Callable[[Row], list[Row]]:
    return lambda row: [{**row, "value": Decimal(value)}]


@dataclass(frozen=True)
class Spoil:
    """One row of one supply point made bad, and how the check must report it (`detail` names
    the spoiled day as {day})."""

    supply_point_id: str
    change: Callable[[Row], list[Row]]
    check_name: str
    severity: AssetCheckSeverity
    detail: str


SPOILS = {
    "duplicate": Spoil(
        "house-import",
        lambda row: [row, row],
        quality.CHECK_UNIQUE_INTERVALS,
        AssetCheckSeverity.ERROR,
        "1 interval(s) stored more than once (1 surplus rows), first at {day} 00:00 GMT",
    ),
    "off the grid": Spoil(
        "house-import",
        shifted(10),
        quality.CHECK_ALIGNED_INTERVALS,
        AssetCheckSeverity.ERROR,
        "1 misaligned: 1 off the grid; first at {day} 00:10 GMT",
    ),
    "half an hour in a 15-minute series": Spoil(
        "flat-import-15min",
        shifted(15, end_only=True),
        quality.CHECK_ALIGNED_INTERVALS,
        AssetCheckSeverity.ERROR,
        "1 misaligned: 1 of the wrong length",
    ),
    "mixed units": Spoil(
        "house-gas",
        lambda row: [{**row, "unit": "kWh"}],
        quality.CHECK_ONE_UNIT,
        AssetCheckSeverity.ERROR,
        "units 'm3' x47, 'kWh' x1",
    ),
    "unknown unit": Spoil(
        "flat-gas",
        lambda row: [{**row, "unit": "therm"}],
        quality.CHECK_ONE_UNIT,
        AssetCheckSeverity.ERROR,
        "'therm' x1 (unknown unit)",
    ),
    "negative value": Spoil(
        "house-export",
        with_value("-0.5"),
        quality.CHECK_VALID_VALUES,
        AssetCheckSeverity.ERROR,
        "1 negative; first impossible: -0.5 kWh at {day} 00:00 GMT",
    ),
    "sentinel": Spoil(
        "office-import",
        with_value("65535"),
        quality.CHECK_VALID_VALUES,
        AssetCheckSeverity.ERROR,
        "1 sentinel; first impossible: 65535 kWh",
    ),
    "implausibly large": Spoil(
        "house-import",
        with_value("60"),
        quality.CHECK_VALID_VALUES,
        AssetCheckSeverity.WARN,
        "1 above the ceiling; largest: 60 kWh",
    ),
}


@pytest.fixture(scope="module")
def clean_day(tmp_path_factory: pytest.TempPathFactory) -> Landed:
    """DAY landed clean (no gappy meter) by one run; each test spoils its own copy."""
    directory = tmp_path_factory.mktemp("clean")
    csv = supply_points_without_gaps(directory)
    return landed_root(directory / "data", DAY, DAY, supply_points_csv=csv)


# A day of its own for each spoil, so that one check-only run judges them all: DAY, and days
# before it holding DAY's rows moved to them (days of 48 half-hours in GMT, like DAY).
SPOILED_DAYS = {name: DAY - timedelta(days=n) for n, name in enumerate(SPOILS)}


def moved_to(table: pa.Table, day: date) -> pa.Table:
    """A stored day's rows (measurements or fetch log) moved to another day of the same length."""
    step = pa.scalar(day - DAY, pa.duration("us"))
    moved = table.set_column(
        table.schema.get_field_index("local_date"),
        "local_date",
        pa.array([day] * table.num_rows, pa.date32()),
    )
    for column in ("interval_start", "interval_end"):
        if column in moved.column_names:
            index = moved.schema.get_field_index(column)
            moved = moved.set_column(index, column, pc.add(moved[column], step))
    return moved


@dataclass(frozen=True)
class Judged:
    """The clean run's evaluations (of DAY), and the check-only run's after the spoils."""

    clean: Evaluations
    spoiled: Evaluations


@pytest.fixture(scope="module")
def judged(clean_day: Landed, tmp_path_factory: pytest.TempPathFactory) -> Judged:
    """Each spoil made on its own day of a copy of the clean day, then one check-only run."""
    directory = tmp_path_factory.mktemp("spoiled")
    csv = supply_points_without_gaps(directory)
    with demo_harness(directory / "data", supply_points_csv=csv) as harness:
        harness.copy_of(clean_day.root)
        measurements, fetch_log = harness.day(DAY), harness.fetch_log(DAY)
        for name, spoil in SPOILS.items():
            day = SPOILED_DAYS[name]
            if day != DAY:
                storage.write_day(
                    harness.root, day, moved_to(measurements, day), moved_to(fetch_log, day)
                )
            spoil_stored_day(harness, day, spoil.supply_point_id, 0, spoil.change)
        spoiled = rejudge(harness, min(SPOILED_DAYS.values()), DAY)
    return Judged(
        evaluations(clean_day.harness, clean_day.outcome.run_id),
        evaluations(harness, spoiled.run_id),
    )


@pytest.mark.parametrize("name", SPOILS)
def test_a_check_that_passed_fails_once_the_stored_day_is_spoiled_naming_the_offender(
    name: str, judged: Judged
) -> None:
    spoil, day = SPOILS[name], SPOILED_DAYS[name]

    assert judged.clean[(key(DAY), spoil.check_name)].passed
    failed = judged.spoiled[(key(day), spoil.check_name)]
    assert (failed.passed, failed.severity) == (False, spoil.severity)
    assert offenders(failed) == [spoil.supply_point_id]
    worst = str(metadata(failed, "worst_offenders"))
    assert offender_row(spoil.supply_point_id, day, 1) in worst
    assert spoil.detail.format(day=day) in worst
    assert metadata(failed, "blocking") is (spoil.check_name in quality.BLOCKING_CHECKS)


# --- a failing blocking check stops daily_consumption for that day only ------------------------


def ui_statuses(
    harness: PipelineHarness, days: list[date]
) -> dict[str, AssetPartitionStatus | None]:
    """What the UI's partition bar shows for daily_consumption on each day."""
    assets = build_definitions(harness.settings).resolve_assets_def(DAILY_CONSUMPTION)
    assert assets.partitions_def is not None
    keys = [key(day) for day in days]
    statuses = harness.instance.get_status_by_partition(
        DAILY_CONSUMPTION, keys, assets.partitions_def
    )
    assert statuses is not None
    return dict(statuses)


@pytest.fixture(scope="module")
def landed_unjudged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """FIRST..LAST (no gappy meter) landed by the measurements asset alone, never judged nor
    derived: each test copies it."""
    directory = tmp_path_factory.mktemp("unjudged")
    csv = supply_points_without_gaps(directory)
    with demo_harness(directory / "data", supply_points_csv=csv) as harness:
        outcome = run_selection(harness, LAND_ONLY, FIRST, LAST)
    assert outcome.success, outcome.failure
    return harness.root


@pytest.mark.parametrize(
    "spoil", [SPOILS["duplicate"], SPOILS["mixed units"]], ids=["duplicate", "mixed units"]
)
def test_a_failing_blocking_check_stops_daily_consumption_for_that_day_only(
    harness: PipelineHarness,
    tmp_path: Path,
    spoil: Spoil,
    landed_unjudged: Path,
    analyst: Analyst,
) -> None:
    use_supply_points_without_gaps(harness, tmp_path)
    harness.copy_of(landed_unjudged)
    spoil_stored_day(harness, BAD, spoil.supply_point_id, 0, spoil.change)

    outcome = run_selection(harness, CHECKS_AND_DAILY_CONSUMPTION, FIRST, LAST)

    assert not outcome.success
    assert f"{key(BAD)}: {spoil.check_name}" in (outcome.failure or "")
    assert key(FIRST) not in (outcome.failure or "")
    materialized = harness.instance.get_materialized_partitions(DAILY_CONSUMPTION)
    assert materialized == {key(FIRST), key(LAST)}
    assert ui_statuses(harness, [FIRST, BAD, LAST]) == {
        key(FIRST): AssetPartitionStatus.MATERIALIZED,
        key(BAD): AssetPartitionStatus.FAILED,
        key(LAST): AssetPartitionStatus.MATERIALIZED,
    }
    every_point = {point.supply_point_id for point in harness.supply_points()}
    for good in (FIRST, LAST):
        derived = lake_rows(harness.root, "daily_consumption", good, analyst=analyst)
        assert {row["supply_point_id"] for row in derived} == every_point
    assert not lake_rows(harness.root, "daily_consumption", BAD, analyst=analyst)


def test_re_running_a_blocked_day_through_the_job_repairs_it_and_derives_its_consumption(
    harness: PipelineHarness, tmp_path: Path, landed_unjudged: Path
) -> None:
    use_supply_points_without_gaps(harness, tmp_path)
    harness.copy_of(landed_unjudged)
    spoil = SPOILS["duplicate"]
    spoil_stored_day(harness, BAD, spoil.supply_point_id, 0, spoil.change)
    blocked = run_selection(harness, CHECKS_AND_DAILY_CONSUMPTION, BAD, BAD)
    status_when_blocked = ui_statuses(harness, [BAD])

    repaired = harness.run(BAD, BAD)

    assert not blocked.success
    assert status_when_blocked == {key(BAD): AssetPartitionStatus.FAILED}
    assert repaired.success, repaired.failure
    assert evaluations(harness, repaired.run_id)[(key(BAD), spoil.check_name)].passed
    assert ui_statuses(harness, [BAD]) == {key(BAD): AssetPartitionStatus.MATERIALIZED}
    assert lake_rows(harness.root, "daily_consumption", BAD)


# --- quality_results agrees with Dagster ---------------------------------------------------------


def latest_shown(harness: PipelineHarness, days: list[date]) -> Evaluations:
    """The newest evaluation Dagster holds for each day's partition of each per-day check."""
    check_keys = [AssetCheckKey(MEASUREMENTS, name) for name in DAY_CHECKS]
    shown: Evaluations = {}
    for day in days:
        latest = harness.instance.event_log_storage.get_latest_asset_check_execution_by_key(
            check_keys, partition_filter=PartitionKeyFilter(key=key(day))
        )
        for check_key, record in latest.items():
            assert record.partition == key(day)
            event = record.event.dagster_event if record.event else None
            assert event is not None
            shown[(key(day), check_key.name)] = event.asset_check_evaluation_data
    return shown


def test_quality_results_in_duckdb_agree_with_the_latest_evaluation_dagster_shows_per_day(
    harness: PipelineHarness,
) -> None:
    days = [FIRST, BAD, LAST]
    harness.run(FIRST, LAST)  # the demo's gappy meter makes completeness warn every day
    spoil_stored_day(harness, BAD, "house-gas", 0, SPOILS["mixed units"].change)
    spoil_stored_day(harness, BAD, "office-import", 0, SPOILS["sentinel"].change)
    rejudge(harness, BAD, BAD)

    shown = latest_shown(harness, days)

    with warehouse.connect(harness.root) as db:
        verdicts = db.sql(
            "SELECT local_date, check_name, passed, severity, detail FROM quality_results "
            "WHERE supply_point_id IS NULL"
        ).fetchall()
        offending = db.sql(
            "SELECT local_date, check_name, list(supply_point_id ORDER BY supply_point_id) "
            "FROM quality_results WHERE supply_point_id IS NOT NULL GROUP BY ALL"
        ).fetchall()
    assert {(key(d), c): (p, s, t) for d, c, p, s, t in verdicts} == {
        pair: (e.passed, e.severity.value, e.description) for pair, e in shown.items()
    }
    assert {(key(d), c): ids for d, c, ids in offending} == {
        pair: offenders(e) for pair, e in shown.items() if not e.passed
    }
    failed_on_bad_day = {c for (d, c), e in shown.items() if d == key(BAD) and not e.passed}
    assert failed_on_bad_day == {
        quality.CHECK_COMPLETENESS,
        quality.CHECK_ONE_UNIT,
        quality.CHECK_VALID_VALUES,
    }
