"""Completeness and fetch failures: is every interval of the day there, and if not, why not."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import pyarrow as pa
import pyarrow.compute as pc

from kraken_pipeline.local_days import day_bounds, expected_interval_count
from kraken_pipeline.quality.records import (
    CHECK_COMPLETENESS,
    CHECK_FETCH_FAILURES,
    CheckOutcome,
    QualityConfig,
    Severity,
    build_outcome,
)
from kraken_pipeline.quality.structure import misalignment_flags
from kraken_pipeline.quality.tables import (
    MICROS_PER_SECOND,
    day_bounds_micros,
    epoch_micros,
    format_slot_ranges,
    rows_of,
    worst_first,
)
from kraken_pipeline.supply_points import SupplyPoint

_MESSAGE_LIMIT = 160


@dataclass(frozen=True)
class FetchFailure:
    """The latest failed fetch of a supply point for a day."""

    error_code: str
    error_message: str

    def describe(self) -> str:
        """The code and the start of the message, kept short for the UI."""
        message = self.error_message[:_MESSAGE_LIMIT]
        return f"{self.error_code}: {message}" if message else self.error_code


def latest_fetch_failures(fetch_log: pa.Table, local_date: date) -> dict[str, FetchFailure]:
    """Supply points whose latest fetch for the day did not end "ok" (an unknown status fails).

    A later successful re-run supersedes an earlier failure: only each point's newest row counts.
    """
    rows = fetch_log.filter(pc.equal(fetch_log["local_date"], pa.scalar(local_date, pa.date32())))
    # Failures are rare: only the supply points with one need their history read row by row.
    failed = pc.unique(rows.filter(pc.not_equal(rows["status"], "ok"))["supply_point_id"])
    rows = rows.filter(pc.is_in(rows["supply_point_id"], value_set=failed))
    rows = rows.select(["supply_point_id", "status", "error_code", "error_message", "fetched_at"])
    latest: dict[str, dict[str, str | None]] = {}
    for row in rows.sort_by("fetched_at").to_pylist():
        latest[row["supply_point_id"]] = row
    return {
        point: FetchFailure(row["error_code"] or "unknown error", row["error_message"] or "")
        for point, row in latest.items()
        if row["status"] != "ok"
    }


def check_fetch_failures(
    local_date: date, fetch_log: pa.Table, config: QualityConfig
) -> CheckOutcome:
    """Fails (ERROR) when any supply point's latest fetch for the day failed, naming error codes."""
    failures = latest_fetch_failures(fetch_log, local_date)
    codes = Counter(failure.error_code for failure in failures.values())
    code_list = ", ".join(f"{code} x{count}" for code, count in codes.most_common())
    summary = (
        f"{len(failures)} supply point(s) failed to fetch: {code_list}"
        if failures
        else "every logged fetch of the day succeeded"
    )
    metrics: dict[str, int | float | str] = {
        "failed_supply_points": len(failures),
        "error_codes": code_list,
    }
    return build_outcome(
        CHECK_FETCH_FAILURES,
        local_date,
        worst_first(dict.fromkeys(failures, 1)),
        lambda point, _count: failures[point].describe(),
        Severity.ERROR,
        summary,
        metrics,
        config,
    )


def present_slots(
    local_date: date,
    measurements: pa.Table,
    supply_points: Sequence[SupplyPoint],
    timezone: str,
) -> pa.Table:
    """(supply_point_id, slot) of every aligned row inside the day; slot 0 starts at midnight."""
    flags = misalignment_flags(local_date, measurements, supply_points, timezone)
    aligned = pc.and_(
        flags["listed"],
        pc.invert(pc.or_(pc.or_(flags["outside"], flags["wrong_length"]), flags["off_grid"])),
    )
    rows = flags.filter(aligned)
    lengths = {point.supply_point_id: point.interval_seconds for point in supply_points}
    ids = pa.array(list(lengths), pa.string())
    micros = pa.array([seconds * MICROS_PER_SECOND for seconds in lengths.values()], pa.int64())
    step = pc.take(micros, pc.index_in(rows["supply_point_id"], value_set=ids))
    day_start, _ = day_bounds_micros(local_date, timezone)
    offset = pc.subtract(epoch_micros(rows["interval_start"]), day_start)
    return pa.table({"supply_point_id": rows["supply_point_id"], "slot": pc.divide(offset, step)})


def day_is_past_publication_lag(
    local_date: date, timezone: str, now: datetime, config: QualityConfig
) -> bool:
    """Whether Kraken should have published the whole day by now (its end plus the lag)."""
    _, day_end = day_bounds(local_date, timezone)
    return now >= day_end + config.publication_lag


@dataclass(frozen=True)
class _Coverage:
    """What a day should hold and what it holds, per supply point, with the means to explain it."""

    local_date: date
    timezone: str
    slots: pa.Table
    interval_seconds: dict[str, int]
    expected: dict[str, int]
    present: dict[str, int]
    failures: dict[str, FetchFailure]

    def share(self, supply_point_id: str) -> float:
        return self.present.get(supply_point_id, 0) / self.expected[supply_point_id]

    def describe(self, supply_point_id: str, missing: int) -> str:
        """The missing slots as local-time ranges, and the failed fetch that explains them."""
        have = set(rows_of(self.slots, supply_point_id)["slot"].to_pylist())
        total = self.expected[supply_point_id]
        gaps = [slot for slot in range(total) if slot not in have]
        seconds = self.interval_seconds[supply_point_id]
        ranges = format_slot_ranges(gaps, self.local_date, self.timezone, seconds)
        failure = self.failures.get(supply_point_id)
        # Also reported by fetch_failures, on purpose: the share present stays honest.
        cause = f"fetch failed ({failure.error_code}); " if failure else ""
        share = self.share(supply_point_id)
        return f"{cause}missing {ranges}; {total - missing} of {total} present ({share:.1%})"


def _coverage(
    local_date: date,
    measurements: pa.Table,
    fetch_log: pa.Table,
    supply_points: Sequence[SupplyPoint],
    timezone: str,
) -> _Coverage:
    slots = present_slots(local_date, measurements, supply_points, timezone)
    grouped = slots.group_by("supply_point_id").aggregate([("slot", "count_distinct")])
    present = dict(
        zip(
            grouped["supply_point_id"].to_pylist(),
            grouped["slot_count_distinct"].to_pylist(),
            strict=True,
        )
    )
    interval_seconds = {point.supply_point_id: point.interval_seconds for point in supply_points}
    per_length = {
        seconds: expected_interval_count(local_date, timezone, seconds)
        for seconds in set(interval_seconds.values())
    }
    expected = {point: per_length[seconds] for point, seconds in interval_seconds.items()}
    failures = latest_fetch_failures(fetch_log, local_date)
    return _Coverage(local_date, timezone, slots, interval_seconds, expected, present, failures)


def check_completeness(
    local_date: date,
    measurements: pa.Table,
    fetch_log: pa.Table,
    supply_points: Sequence[SupplyPoint],
    timezone: str,
    now: datetime,
    config: QualityConfig,
) -> CheckOutcome:
    """Fails when a supply point lacks intervals the day should hold in its time zone.

    Expected counts follow the zone and each series' length (46/48/50 half-hours, 92/96/100
    quarter-hours in London). Only distinct aligned intervals count as present. WARN below 100 %;
    ERROR when a supply point is below the floor and the day is past its publication lag.
    Offenders come lowest share first and list their missing slots as local-time ranges.
    """
    coverage = _coverage(local_date, measurements, fetch_log, supply_points, timezone)
    incomplete = {
        point: coverage.share(point) for point in coverage.expected if coverage.share(point) < 1
    }
    ranked = [
        (point, coverage.expected[point] - coverage.present.get(point, 0))
        for point in sorted(incomplete, key=lambda point: (incomplete[point], point))
    ]
    due = day_is_past_publication_lag(local_date, timezone, now, config)
    below_floor = [
        point for point, share in incomplete.items() if share < config.completeness_floor
    ]
    severity = Severity.ERROR if due and below_floor else Severity.WARN
    metrics = _completeness_metrics(coverage, incomplete, below_floor, due)
    summary = _completeness_summary(metrics, config)
    return build_outcome(
        CHECK_COMPLETENESS,
        local_date,
        ranked,
        coverage.describe,
        severity,
        summary,
        metrics,
        config,
    )


def _completeness_metrics(
    coverage: _Coverage, incomplete: dict[str, float], below_floor: list[str], due: bool
) -> dict[str, int | float | str]:
    intervals_expected = sum(coverage.expected.values())
    intervals_present = sum(coverage.present.get(point, 0) for point in coverage.expected)
    share = intervals_present / intervals_expected if intervals_expected else 1.0
    return {
        "share": round(share, 6),
        "min_share": round(min(incomplete.values(), default=1.0), 6),
        "intervals_expected": intervals_expected,
        "intervals_present": intervals_present,
        "intervals_missing": intervals_expected - intervals_present,
        "supply_points": len(coverage.expected),
        "supply_points_incomplete": len(incomplete),
        "supply_points_below_floor": len(below_floor),
        "supply_points_fetch_failed": len(coverage.failures.keys() & incomplete.keys()),
        "past_publication_lag": "yes" if due else "no",
    }


def _completeness_summary(metrics: dict[str, int | float | str], config: QualityConfig) -> str:
    text = (
        f"{float(metrics['share']):.1%} of {metrics['intervals_expected']} expected intervals "
        f"present; {metrics['supply_points_incomplete']} of {metrics['supply_points']} "
        "supply point(s) incomplete"
    )
    if metrics["supply_points_below_floor"]:
        lag = "past" if metrics["past_publication_lag"] == "yes" else "within"
        text += (
            f", {metrics['supply_points_below_floor']} below the {config.completeness_floor:.0%} "
            f"floor ({lag} the publication lag)"
        )
    return text
