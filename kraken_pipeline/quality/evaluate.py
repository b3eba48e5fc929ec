"""Run every per-day rule on one local day, judge freshness, and flatten outcomes to Arrow."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from types import MappingProxyType

import pyarrow as pa

from kraken_pipeline.quality.completeness import check_completeness, check_fetch_failures
from kraken_pipeline.quality.records import (
    CHECK_FRESHNESS,
    CHECK_SEVERITIES,
    CheckOutcome,
    QualityConfig,
    Severity,
)
from kraken_pipeline.quality.removals import check_stored_intervals_kept
from kraken_pipeline.quality.structure import (
    check_intervals_aligned,
    check_one_unit_per_series,
    check_unique_intervals,
)
from kraken_pipeline.quality.values import check_estimate_share, check_valid_values
from kraken_pipeline.schema import QUALITY_RESULTS_SCHEMA
from kraken_pipeline.supply_points import SupplyPoint

_DEFAULT_CONFIG = QualityConfig()


def evaluate_day(
    local_date: date,
    measurements: pa.Table,
    fetch_log: pa.Table,
    supply_points: Sequence[SupplyPoint],
    timezone: str,
    now: datetime,
    config: QualityConfig = _DEFAULT_CONFIG,
) -> tuple[CheckOutcome, ...]:
    """Every per-day rule on what was stored for one local day, always in the same order.

    `measurements` holds the rows stored for the day (MEASUREMENTS_SCHEMA); `fetch_log` may hold
    other days too (only the day's rows count); `supply_points` are the series expected that day.
    """
    if now.tzinfo is None:
        raise ValueError(f"now {now.isoformat()} has no UTC offset; pass an aware instant")
    return (
        check_unique_intervals(local_date, measurements, timezone, config),
        check_intervals_aligned(local_date, measurements, supply_points, timezone, config),
        check_completeness(
            local_date, measurements, fetch_log, supply_points, timezone, now, config
        ),
        check_fetch_failures(local_date, fetch_log, config),
        check_valid_values(local_date, measurements, timezone, config),
        check_one_unit_per_series(local_date, measurements, config),
        check_estimate_share(local_date, measurements, config),
        check_stored_intervals_kept(local_date, fetch_log, timezone, now, config),
    )


def check_freshness(
    stored_complete_days: Sequence[date], today: date, config: QualityConfig = _DEFAULT_CONFIG
) -> CheckOutcome:
    """Fails (WARN) when the newest complete day is more than N days before today, or none is.

    A dataset-level check: its outcome is dated `today` and names no supply point.
    """
    newest = max(stored_complete_days, default=None)
    age = (today - newest).days if newest else None
    passed = age is not None and age <= config.freshness_max_age_days
    if newest is None:
        summary = "no complete day is stored yet"
    else:
        summary = f"newest complete day {newest.isoformat()} is {age} day(s) old"
    limit = config.freshness_max_age_days
    return CheckOutcome(
        check_name=CHECK_FRESHNESS,
        local_date=today,
        passed=passed,
        severity=CHECK_SEVERITIES[CHECK_FRESHNESS] if passed else Severity.WARN,
        summary=f"{summary} (limit {limit})",
        offenders=(),
        metrics=MappingProxyType(
            {
                "newest_complete_day": newest.isoformat() if newest else "none",
                "age_days": -1 if age is None else age,
                "max_age_days": limit,
            }
        ),
    )


def outcomes_to_table(outcomes: Iterable[CheckOutcome], evaluated_at: datetime) -> pa.Table:
    """QUALITY_RESULTS_SCHEMA rows: one day-level row per outcome, then one per shown offender.

    The day-level row (supply_point_id null) carries the summary; offender rows carry its detail
    and the outcome's severity, so `WHERE supply_point_id IS NULL` gives one verdict per check,
    and `WHERE blocking` the failures that keep the day from daily_consumption.
    """
    rows: list[dict[str, object]] = []
    for outcome in outcomes:
        common = {
            "check_name": outcome.check_name,
            "severity": outcome.severity.value,
            "evaluated_at": evaluated_at,
            "blocking": outcome.blocking,
        }
        rows.append(
            {
                **common,
                "local_date": outcome.local_date,
                "supply_point_id": None,
                "passed": outcome.passed,
                "outcome": "passed" if outcome.passed else "failed",
                "detail": outcome.summary,
            }
        )
        rows.extend(
            {
                **common,
                "local_date": offender.local_date,
                "supply_point_id": offender.supply_point_id,
                "passed": False,
                "outcome": "failed",
                "detail": offender.detail,
            }
            for offender in outcome.offenders
        )
    return pa.Table.from_pylist(rows, schema=QUALITY_RESULTS_SCHEMA)
