"""The blocking rules: one row per interval, every interval on its series' grid, one unit a series.

A day that fails one of these cannot be summed honestly (double counts, half-hours mixed with
quarter-hours, kWh added to m3), so whatever reads the day downstream must not run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from kraken_pipeline.quality.records import (
    CHECK_ALIGNED_INTERVALS,
    CHECK_ONE_UNIT,
    CHECK_UNIQUE_INTERVALS,
    CheckOutcome,
    QualityConfig,
    Severity,
    build_outcome,
)
from kraken_pipeline.quality.tables import (
    MICROS_PER_SECOND,
    day_bounds_micros,
    describe_instant,
    epoch_micros,
    rows_of,
    worst_first,
)
from kraken_pipeline.supply_points import SupplyPoint

_KEY = ["supply_point_id", "interval_start"]
_KINDS = {
    "outside": "outside the day",
    "wrong_length": "of the wrong length",
    "off_grid": "off the grid",
}


def check_unique_intervals(
    local_date: date, measurements: pa.Table, timezone: str, config: QualityConfig
) -> CheckOutcome:
    """Fails (ERROR, blocking) when a supply point holds the same interval start more than once.

    An offender's count is its surplus rows: the rows that would go if each interval were kept once.
    """
    grouped = measurements.select(_KEY).group_by(_KEY).aggregate([([], "count_all")])
    repeated = grouped.filter(pc.greater(grouped["count_all"], 1))
    per_point = (
        pa.table(
            {
                "supply_point_id": repeated["supply_point_id"],
                "surplus": pc.subtract(repeated["count_all"], 1),
            }
        )
        .group_by("supply_point_id")
        .aggregate([("surplus", "sum")])
    )
    counts = dict(
        zip(
            per_point["supply_point_id"].to_pylist(),
            per_point["surplus_sum"].to_pylist(),
            strict=True,
        )
    )

    def describe(supply_point_id: str, count: int) -> str:
        starts = rows_of(repeated, supply_point_id)["interval_start"]
        first = describe_instant(pc.min(starts).as_py(), timezone)
        return (
            f"{len(starts)} interval(s) stored more than once ({count} surplus rows), "
            f"first at {first}"
        )

    total = sum(counts.values())
    summary = (
        f"{total} surplus rows in {len(counts)} supply point(s)"
        if counts
        else f"all {measurements.num_rows} rows have a unique (supply point, interval start)"
    )
    metrics = {"surplus_rows": total, "rows": measurements.num_rows}
    return build_outcome(
        CHECK_UNIQUE_INTERVALS,
        local_date,
        worst_first(counts),
        describe,
        Severity.ERROR,
        summary,
        metrics,
        config,
    )


def _interval_micros_per_row(
    measurements: pa.Table, supply_points: Sequence[SupplyPoint]
) -> pa.ChunkedArray | pa.Array:
    """Each row's expected interval length in microseconds; null for an unlisted supply point."""
    ids = pa.array([point.supply_point_id for point in supply_points], pa.string())
    lengths = pa.array(
        [point.interval_seconds * MICROS_PER_SECOND for point in supply_points], pa.int64()
    )
    positions = pc.index_in(measurements["supply_point_id"], value_set=ids)
    return pc.take(lengths, positions)


def misalignment_flags(
    local_date: date,
    measurements: pa.Table,
    supply_points: Sequence[SupplyPoint],
    timezone: str,
) -> pa.Table:
    """Per row: outside the day, wrong length for its series, off its series' grid.

    A supply point missing from the list (removed from the CSV) is held to the day bounds only.
    """
    day_start, day_end = day_bounds_micros(local_date, timezone)
    start = epoch_micros(measurements["interval_start"])
    end = epoch_micros(measurements["interval_end"])
    outside = pc.or_(
        pc.or_(pc.less(start, day_start), pc.greater(end, day_end)),
        pc.not_equal(measurements["local_date"], pa.scalar(local_date, pa.date32())),
    )
    expected = _interval_micros_per_row(measurements, supply_points)
    wrong_length = pc.fill_null(pc.not_equal(pc.subtract(end, start), expected), False)
    offset = pc.subtract(start, day_start)
    # Integer division truncates, so offset - (offset / n) * n is zero exactly when n divides it,
    # whatever the sign; pyarrow.compute's modulo is recent, not in every pyarrow>=17 we allow.
    remainder = pc.subtract(offset, pc.multiply(pc.divide(offset, expected), expected))
    off_grid = pc.fill_null(pc.not_equal(remainder, 0), False)
    return pa.table(
        {
            "supply_point_id": measurements["supply_point_id"],
            "interval_start": measurements["interval_start"],
            "outside": outside,
            "wrong_length": wrong_length,
            "off_grid": off_grid,
            "listed": pc.is_valid(expected),
        }
    )


def check_intervals_aligned(
    local_date: date,
    measurements: pa.Table,
    supply_points: Sequence[SupplyPoint],
    timezone: str,
    config: QualityConfig,
) -> CheckOutcome:
    """Fails (ERROR, blocking) on an interval outside the day, of the wrong length, or off-grid.

    The grid of a series is the local day's start plus whole multiples of its interval length.
    """
    flags = misalignment_flags(local_date, measurements, supply_points, timezone)
    bad_rows = flags.filter(
        pc.or_(pc.or_(flags["outside"], flags["wrong_length"]), flags["off_grid"])
    )
    per_point = bad_rows.group_by("supply_point_id").aggregate(
        [([], "count_all")] + [(kind, "sum") for kind in _KINDS]
    )
    by_point = {row["supply_point_id"]: row for row in per_point.to_pylist()}
    counts = {point: row["count_all"] for point, row in by_point.items()}

    def describe(supply_point_id: str, count: int) -> str:
        row = by_point[supply_point_id]
        kinds = ", ".join(
            f"{row[f'{kind}_sum']} {_KINDS[kind]}" for kind in _KINDS if row[f"{kind}_sum"]
        )
        first = pc.min(rows_of(bad_rows, supply_point_id)["interval_start"]).as_py()
        return f"{count} misaligned: {kinds}; first at {describe_instant(first, timezone)}"

    listed = pc.sum(flags["listed"]).as_py() or 0
    metrics = {
        "misaligned_rows": bad_rows.num_rows,
        "rows_of_unlisted_supply_points": flags.num_rows - listed,
    }
    summary = (
        f"{bad_rows.num_rows} misaligned rows in {len(counts)} supply point(s)"
        if counts
        else f"all {measurements.num_rows} rows lie on their series' grid inside the day"
    )
    return build_outcome(
        CHECK_ALIGNED_INTERVALS,
        local_date,
        worst_first(counts),
        describe,
        Severity.ERROR,
        summary,
        metrics,
        config,
    )


def check_one_unit_per_series(
    local_date: date, measurements: pa.Table, config: QualityConfig
) -> CheckOutcome:
    """Fails (ERROR, blocking) when a series mixes units or uses a unit the pipeline does not know.

    An offender's count is its rows outside the series' main known unit (the most frequent one).
    """
    grouped = measurements.group_by(["supply_point_id", "unit"]).aggregate([([], "count_all")])
    units: dict[str, dict[str, int]] = {}
    for point, unit, rows in zip(
        grouped["supply_point_id"].to_pylist(),
        grouped["unit"].to_pylist(),
        grouped["count_all"].to_pylist(),
        strict=True,
    ):
        units.setdefault(point, {})[unit] = rows
    counts = {
        point: stray
        for point, rows_by_unit in units.items()
        if (stray := _rows_outside_main_unit(rows_by_unit, config.known_units))
    }

    def describe(supply_point_id: str, count: int) -> str:
        rows_by_unit = units[supply_point_id]
        listed = ", ".join(
            f"{unit!r} x{rows}{'' if unit in config.known_units else ' (unknown unit)'}"
            for unit, rows in sorted(rows_by_unit.items(), key=lambda item: (-item[1], item[0]))
        )
        return f"units {listed}" if len(rows_by_unit) > 1 else f"unit {listed}"

    summary = (
        f"{len(counts)} supply point(s) mix units or use an unknown unit"
        if counts
        else f"each of {len(units)} supply point(s) uses one known unit"
    )
    units_seen = ", ".join(sorted(set(grouped["unit"].to_pylist())))
    metrics: dict[str, int | float | str] = {"series": len(units), "units_seen": units_seen}
    return build_outcome(
        CHECK_ONE_UNIT,
        local_date,
        worst_first(counts),
        describe,
        Severity.ERROR,
        summary,
        metrics,
        config,
    )


def _rows_outside_main_unit(rows_by_unit: dict[str, int], known_units: frozenset[str]) -> int:
    """Rows of a series not in its most frequent known unit (all of them if none is known)."""
    known = [rows for unit, rows in rows_by_unit.items() if unit in known_units]
    return sum(rows_by_unit.values()) - max(known, default=0)
