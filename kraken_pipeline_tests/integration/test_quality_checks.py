"""The data-quality checks through the real job: emulator over HTTP, Dagster, files on disk.

Here: every per-day check passes on clean days and is recorded against its own day's partition,
freshness, the failures the emulator itself serves (gaps, estimates, a property the application
may not read), and completeness on clock-change days and a 15-minute series. Duplicates, stray
units and impossible values cannot come through the client, which cleans them on the way in:
test_quality_checks_blocking.py writes them into landed days and re-runs only the check step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from kraken_pipeline import quality, storage
from kraken_pipeline.defs.checks import DAY_CHECKS, newest_complete_day
from kraken_pipeline.emulator import Dataset, Emulator, demo_dataset
from kraken_pipeline.schema import FETCH_LOG_SCHEMA, MEASUREMENTS_SCHEMA
from kraken_pipeline_tests.support.lake import seed_defined_lake
from kraken_pipeline_tests.support.pipeline import Landed, PipelineHarness, landed_root
from kraken_pipeline_tests.support.quality_runs import (
    DAY,
    GAPPY,
    MEASUREMENTS,
    evaluations,
    key,
    metadata,
    offender_row,
    offenders,
    rejudge,
    spoil_stored_day,
    supply_points_without_gaps,
    use_supply_points_without_gaps,
)

SPRING = date(2026, 3, 29)
AUTUMN = date(2026, 10, 25)
AROUND_AUTUMN = (AUTUMN - timedelta(days=1), AUTUMN + timedelta(days=1))
CleanRun = Callable[[date, date], Landed]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> CleanRun:
    """clean_run(first, last): first..last landed by a clean run without the gappy meter, each
    range once for the module; a test that changes the days works on a copy."""
    directory = tmp_path_factory.mktemp("clean")
    csv = supply_points_without_gaps(directory)
    made: dict[tuple[date, date], Landed] = {}

    def land(first: date, last: date) -> Landed:
        if (first, last) not in made:
            root = directory / f"{first}..{last}"
            made[(first, last)] = landed_root(root, first, last, supply_points_csv=csv)
        return made[(first, last)]

    return land


# --- passing on clean days ----------------------------------------------------------------------


def test_every_day_check_passes_on_clean_days_and_is_recorded_against_that_day(
    clean_run: CleanRun,
) -> None:
    days = [AROUND_AUTUMN[0], AUTUMN, AROUND_AUTUMN[1]]

    landed = clean_run(*AROUND_AUTUMN)

    harness, outcome = landed.harness, landed.outcome
    assert outcome.success, outcome.failure
    recorded = evaluations(harness, outcome.run_id)
    per_day = {(key(day), check) for day in days for check in DAY_CHECKS}
    assert set(recorded) == per_day | {(None, quality.CHECK_FRESHNESS)}
    assert [pair for pair in per_day if not recorded[pair].passed] == []
    # Five half-hourly series and one quarter-hourly: the clock-change day is told apart.
    expected = [
        metadata(recorded[(key(d), quality.CHECK_COMPLETENESS)], "intervals_expected") for d in days
    ]
    assert expected == [5 * 48 + 96, 5 * 50 + 100, 5 * 48 + 96]
    check_keys = [AssetCheckKey(MEASUREMENTS, name) for name in DAY_CHECKS]
    partitions = harness.instance.event_log_storage.get_asset_check_partition_info(check_keys)
    assert {
        (info.partition_key, info.check_key.name): info.latest_execution_status
        for info in partitions
    } == dict.fromkeys(per_day, AssetCheckExecutionRecordStatus.SUCCEEDED)


def test_freshness_passes_for_a_recent_day_and_warns_once_the_newest_day_ages(
    harness: PipelineHarness, tmp_path: Path
) -> None:
    use_supply_points_without_gaps(harness, tmp_path)
    newest = date(2026, 11, 17)  # three days before the emulator's clock
    fresh = harness.run(newest - timedelta(days=1), newest)
    harness.emulator.advance_clock(timedelta(days=2))

    stale = rejudge(harness, newest - timedelta(days=1), newest)

    passed = evaluations(harness, fresh.run_id)[(None, quality.CHECK_FRESHNESS)]
    failed = evaluations(harness, stale.run_id)[(None, quality.CHECK_FRESHNESS)]
    assert passed.passed
    assert metadata(passed, "age_days") == 3
    assert not failed.passed
    assert failed.severity is AssetCheckSeverity.WARN
    assert metadata(failed, "newest_complete_day") == newest.isoformat()
    assert metadata(failed, "age_days") == 5


# --- failing on bad data the emulator serves ------------------------------------------------------


def test_the_gappy_meter_fails_completeness_with_a_warning_that_names_it_and_its_gaps(
    harness: PipelineHarness, landed_day: Landed
) -> None:
    point = next(p for p in harness.supply_points() if p.supply_point_id == GAPPY)
    served = len(harness.expected_values(point, DAY))

    outcome = landed_day.outcome  # DAY, run by the job as the harness would run it

    completeness = evaluations(landed_day.harness, outcome.run_id)[
        (key(DAY), quality.CHECK_COMPLETENESS)
    ]
    assert not completeness.passed
    assert completeness.severity is AssetCheckSeverity.WARN
    assert offenders(completeness) == [GAPPY]
    assert metadata(completeness, "intervals_missing") == 48 - served
    assert metadata(completeness, "supply_points_below_floor") == 0
    worst = str(metadata(completeness, "worst_offenders"))
    assert offender_row(GAPPY, DAY, 48 - served) in worst
    assert f"{served} of 48 present" in worst
    # A warning does not stop what reads the day.
    assert outcome.success, outcome.failure
    materialized = landed_day.harness.instance.get_materialized_partitions(
        AssetKey("daily_consumption")
    )
    assert key(DAY) in materialized


def test_completeness_is_an_error_below_the_floor_only_once_the_day_is_past_the_publication_lag(
    harness: PipelineHarness, start_emulator: Callable[..., Emulator]
) -> None:
    series = [
        replace(spec, gap_share=0.6) if spec.supply_point_id == GAPPY else spec
        for spec in demo_dataset().series
    ]
    harness.emulator = start_emulator(dataset=Dataset(series))
    past_lag, within_lag = date(2026, 11, 17), date(2026, 11, 18)  # the lag is two days

    outcome = harness.run(past_lag, within_lag)

    recorded = evaluations(harness, outcome.run_id)
    old = recorded[(key(past_lag), quality.CHECK_COMPLETENESS)]
    recent = recorded[(key(within_lag), quality.CHECK_COMPLETENESS)]
    assert (old.passed, old.severity) == (False, AssetCheckSeverity.ERROR)
    assert (recent.passed, recent.severity) == (False, AssetCheckSeverity.WARN)
    for evaluation in (old, recent):
        assert offenders(evaluation) == [GAPPY]
        assert metadata(evaluation, "supply_points_below_floor") == 1
    assert "past the publication lag" in str(old.description)
    assert "within the publication lag" in str(recent.description)


def test_a_property_the_application_may_not_read_fails_fetch_failures_naming_the_error_code(
    harness_without_shop: PipelineHarness,
) -> None:
    harness = harness_without_shop

    outcome = harness.run(DAY, DAY)

    recorded = evaluations(harness, outcome.run_id)
    failures = recorded[(key(DAY), quality.CHECK_FETCH_FAILURES)]
    assert (failures.passed, failures.severity) == (False, AssetCheckSeverity.ERROR)
    assert offenders(failures) == [GAPPY]
    assert metadata(failures, "error_codes") == "KT-CT-1111 x1"
    assert offender_row(GAPPY, DAY, 1) + " KT-CT-1111" in str(metadata(failures, "worst_offenders"))
    # The day's completeness counts the unread meter as missing, and says why.
    completeness = recorded[(key(DAY), quality.CHECK_COMPLETENESS)]
    assert (completeness.passed, completeness.severity) == (False, AssetCheckSeverity.ERROR)
    assert metadata(completeness, "supply_points_fetch_failed") == 1
    worst = str(metadata(completeness, "worst_offenders"))
    assert offender_row(GAPPY, DAY, 48) + " fetch failed (KT-CT-1111)" in worst


def test_a_day_served_as_estimates_warns_until_the_emulator_restates_it(
    harness: PipelineHarness,
) -> None:
    dataset = harness.emulator.config.dataset
    house = next(spec for spec in dataset.series if spec.supply_point_id == "house-import")
    day = next(
        d for d in (DAY + timedelta(days=n) for n in range(10)) if dataset.is_estimated(house, d)
    )
    estimated = sorted(s.supply_point_id for s in dataset.series if dataset.is_estimated(s, day))
    harness.emulator.set_clock(dataset.publication_time(day) + timedelta(hours=1))
    first = harness.run(day, day)
    harness.emulator.set_clock(dataset.restatement_time(day) + timedelta(hours=1))

    restated = harness.run(day, day)

    warned = evaluations(harness, first.run_id)[(key(day), quality.CHECK_ESTIMATES)]
    assert (warned.passed, warned.severity) == (False, AssetCheckSeverity.WARN)
    assert offenders(warned) == estimated
    worst = str(metadata(warned, "worst_offenders"))
    assert offender_row("house-import", day, 48) + " 48 of 48 intervals estimated (100.0%)" in worst
    assert evaluations(harness, restated.run_id)[(key(day), quality.CHECK_ESTIMATES)].passed


@pytest.mark.parametrize(
    ("day", "landed_days", "half_hours", "quarter_hours"),
    [
        (SPRING, (SPRING, SPRING), 46, 92),
        (DAY, (DAY, DAY), 48, 96),
        (AUTUMN, AROUND_AUTUMN, 50, 100),
    ],
    ids=["spring clock change", "ordinary day", "autumn clock change"],
)
def test_completeness_expects_every_interval_of_the_local_day_for_each_series_length(
    harness: PipelineHarness,
    tmp_path: Path,
    clean_run: CleanRun,
    day: date,
    landed_days: tuple[date, date],
    half_hours: int,
    quarter_hours: int,
) -> None:
    use_supply_points_without_gaps(harness, tmp_path)
    whole = clean_run(*landed_days)
    harness.copy_of(whole.root)
    spoil_stored_day(harness, day, "flat-import-15min", -1, lambda row: [])

    short = rejudge(harness, day, day)

    judged_whole = evaluations(whole.harness, whole.outcome.run_id)
    complete = judged_whole[(key(day), quality.CHECK_COMPLETENESS)]
    assert complete.passed
    assert metadata(complete, "intervals_expected") == 5 * half_hours + quarter_hours
    assert metadata(complete, "intervals_present") == 5 * half_hours + quarter_hours
    incomplete = evaluations(harness, short.run_id)[(key(day), quality.CHECK_COMPLETENESS)]
    assert (incomplete.passed, incomplete.severity) == (False, AssetCheckSeverity.WARN)
    assert offenders(incomplete) == ["flat-import-15min"]
    assert metadata(incomplete, "intervals_missing") == 1
    worst = str(metadata(incomplete, "worst_offenders"))
    assert offender_row("flat-import-15min", day, 1) in worst
    assert f"{quarter_hours - 1} of {quarter_hours} present" in worst


def _store_day_with_fetch_log(root: Path, day: date, status: str, rows: int) -> None:
    fetch_log = pa.Table.from_pylist(
        [
            {
                "supply_point_id": "sp-1",
                "local_date": day,
                "status": status,
                "rows": rows,
                "intervals_expected": 48,
                "requests": 1,
                "error_code": None if status == "ok" else "KT-CT-1111",
                "error_message": None if status == "ok" else "not granted",
                "fetched_at": datetime(2026, 11, 20, tzinfo=UTC),
            }
        ],
        schema=FETCH_LOG_SCHEMA,
    )
    storage.write_day(root, day, MEASUREMENTS_SCHEMA.empty_table(), fetch_log)


def test_freshness_takes_the_newest_complete_day_walking_past_failed_and_gappy_ones(
    tmp_path: Path,
) -> None:
    seed_defined_lake(tmp_path, "Europe/London")
    oldest, older, newest = date(2026, 11, 14), date(2026, 11, 15), date(2026, 11, 16)
    _store_day_with_fetch_log(tmp_path, oldest, "ok", 48)
    _store_day_with_fetch_log(tmp_path, older, "ok", 10)  # below the 95% floor
    _store_day_with_fetch_log(tmp_path, newest, "failed", 0)

    assert newest_complete_day(tmp_path, 0.95) == oldest
    # With a lower floor the gappy day counts, but a day with a failed fetch never does.
    assert newest_complete_day(tmp_path, 0.2) == older
    _store_day_with_fetch_log(tmp_path, newest, "ok", 48)
    assert newest_complete_day(tmp_path, 0.95) == newest


def test_freshness_finds_no_complete_day_in_an_empty_or_all_failed_store(tmp_path: Path) -> None:
    seed_defined_lake(tmp_path, "Europe/London")
    assert newest_complete_day(tmp_path, 0.95) is None
    _store_day_with_fetch_log(tmp_path, date(2026, 11, 16), "failed", 0)
    assert newest_complete_day(tmp_path, 0.95) is None
