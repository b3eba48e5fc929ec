"""Rules on the values themselves: impossible or implausible numbers, unknown reading qualities,
and how much is estimated."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_FLOOR, Context, Decimal

import pyarrow as pa
import pyarrow.compute as pc

from kraken_pipeline.quality.records import (
    CHECK_ESTIMATES,
    CHECK_VALID_VALUES,
    CheckOutcome,
    QualityConfig,
    Severity,
    build_outcome,
)
from kraken_pipeline.quality.tables import (
    MICROS_PER_SECOND,
    describe_instant,
    epoch_micros,
    rows_of,
)

_IMPOSSIBLE = {"negative": "negative", "not_finite": "not a finite number", "sentinel": "sentinel"}
_LABELS = {
    **_IMPOSSIBLE,
    "above_ceiling": "above the ceiling",
    "unknown_quality": "unknown reading quality",
}
_KINDS = list(_LABELS)
_SECONDS_PER_HOUR = 3600
# Enough digits that thresholds are computed exactly before being cut to the column's scale.
_WIDE = Context(prec=80)


def _not_finite(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Missing values, and NaN or infinity where the column is floating point."""
    # A decimal column holds no NaN, so there this catches nulls: an unparsed value is not a 0.
    if pa.types.is_floating(values.type):
        return pc.fill_null(pc.invert(pc.is_finite(values)), True)
    return pc.is_null(values)


def _typed_scalar(number: Decimal, type_: pa.DataType, rounding: str = ROUND_FLOOR) -> pa.Scalar:
    """A number in the value column's type; decimals are cut to its scale, never floated."""
    # Rounding down keeps `value > threshold` exact: a stored value has the column's scale.
    if pa.types.is_decimal(type_):
        exponent = Decimal(1).scaleb(-type_.scale)
        cut = number.quantize(exponent, rounding=rounding, context=_WIDE)
        return pa.scalar(cut, type_)
    return pa.scalar(float(number), type_)


def _sentinel_set(sentinels: frozenset[Decimal], type_: pa.DataType) -> pa.Array:
    """The sentinels that a column of this type can hold exactly; others can never match."""
    typed = [_typed_scalar(value, type_) for value in sentinels]
    exact = [
        scalar for scalar, value in zip(typed, sentinels, strict=True) if scalar.as_py() == value
    ]
    return pa.array([scalar.as_py() for scalar in exact], type_)


def _above_ceiling(measurements: pa.Table, config: QualityConfig) -> pa.ChunkedArray:
    """Rows above their utility and unit's hourly ceiling scaled to the row's own length.

    One exact threshold per distinct (utility, unit, length): a vectorised decimal comparison.
    """
    values = measurements["value"]
    seconds = pc.divide(
        pc.subtract(
            epoch_micros(measurements["interval_end"]),
            epoch_micros(measurements["interval_start"]),
        ),
        MICROS_PER_SECOND,
    )
    over = pc.fill_null(pa.nulls(measurements.num_rows, pa.bool_()), False)
    for length in pc.unique(seconds).to_pylist():
        if length is None or length <= 0:
            continue  # nonsense lengths are intervals_aligned's to report
        for (utility, unit), per_hour in config.ceilings_per_hour.items():
            ceiling = _typed_scalar(_WIDE.divide(per_hour * length, _SECONDS_PER_HOUR), values.type)
            scope = pc.and_(
                pc.and_(
                    pc.equal(measurements["utility"], utility), pc.equal(measurements["unit"], unit)
                ),
                pc.equal(seconds, length),
            )
            over = pc.or_(over, pc.fill_null(pc.and_(scope, pc.greater(values, ceiling)), False))
    return over


def _unknown_quality(reading_quality: pa.ChunkedArray, config: QualityConfig) -> pa.ChunkedArray:
    """Rows whose reading quality is stated but outside the contract (null means not stated)."""
    # A value rule, not the estimate rule's: the estimate share would count such rows as actual.
    known = pa.array(sorted(config.known_reading_qualities), pa.string())
    return pc.and_(pc.is_valid(reading_quality), pc.invert(pc.is_in(reading_quality, known)))


def value_flags(measurements: pa.Table, config: QualityConfig) -> pa.Table:
    """Per row: negative, not finite, a sentinel, above the ceiling, of unknown reading quality."""
    values = measurements["value"]
    sentinels = _sentinel_set(config.sentinel_values, values.type)
    negative = pc.fill_null(pc.less(values, _typed_scalar(Decimal(0), values.type)), False)
    sentinel = pc.is_in(values, value_set=sentinels)
    not_finite = _not_finite(values)
    impossible = pc.or_(pc.or_(negative, sentinel), not_finite)
    return pa.table(
        {
            "supply_point_id": measurements["supply_point_id"],
            "interval_start": measurements["interval_start"],
            "value": values,
            "unit": measurements["unit"],
            "reading_quality": measurements["reading_quality"],
            "negative": negative,
            "not_finite": not_finite,
            "sentinel": sentinel,
            "impossible": impossible,
            "above_ceiling": pc.and_(_above_ceiling(measurements, config), pc.invert(impossible)),
            "unknown_quality": _unknown_quality(measurements["reading_quality"], config),
        }
    )


def check_valid_values(
    local_date: date, measurements: pa.Table, timezone: str, config: QualityConfig
) -> CheckOutcome:
    """Fails on impossible values (ERROR) or, failing that, on implausible ones (WARN).

    Impossible: negative, not a finite number, or a known meter sentinel. Implausible: above the
    hourly ceiling scaled to the interval, or a reading quality outside the known ones. Supply
    points with impossible values rank first, then by bad-row count.
    """
    flags = value_flags(measurements, config)
    bad = flags.filter(
        pc.or_(pc.or_(flags["impossible"], flags["above_ceiling"]), flags["unknown_quality"])
    )
    per_point = bad.group_by("supply_point_id").aggregate(
        [([], "count_all")] + [(kind, "sum") for kind in [*_KINDS, "impossible"]]
    )
    by_point = {row["supply_point_id"]: row for row in per_point.to_pylist()}
    ranked = sorted(
        ((point, row["count_all"]) for point, row in by_point.items()),
        key=lambda item: (-by_point[item[0]]["impossible_sum"], -item[1], item[0]),
    )

    def describe(supply_point_id: str, count: int) -> str:
        return _describe_point(by_point[supply_point_id], rows_of(bad, supply_point_id), timezone)

    totals = {f"{kind}_rows": pc.sum(flags[kind]).as_py() or 0 for kind in _KINDS}
    impossible = sum(totals[f"{kind}_rows"] for kind in _IMPOSSIBLE)
    severity = Severity.ERROR if impossible else Severity.WARN
    summary = (
        f"{bad.num_rows} bad value(s) in {len(ranked)} supply point(s): {impossible} impossible, "
        f"{totals['above_ceiling_rows']} above the plausible ceiling, "
        f"{totals['unknown_quality_rows']} with an unknown reading quality"
        if ranked
        else f"all {measurements.num_rows} values are plausible"
    )
    metrics = {**totals, "rows": measurements.num_rows}
    return build_outcome(
        CHECK_VALID_VALUES, local_date, ranked, describe, severity, summary, metrics, config
    )


def _describe_point(counts: dict[str, int], bad_rows: pa.Table, timezone: str) -> str:
    """What is wrong with one supply point: counts per kind, an example value, qualities seen."""
    kinds_text = ", ".join(
        f"{counts[f'{kind}_sum']} {_LABELS[kind]}" for kind in _KINDS if counts[f"{kind}_sum"]
    )
    parts = [kinds_text]
    value_rows = bad_rows.filter(pc.or_(bad_rows["impossible"], bad_rows["above_ceiling"]))
    if value_rows.num_rows:
        parts.append(_example(value_rows, timezone))
    if counts["unknown_quality_sum"]:
        parts.append(_qualities_seen(bad_rows.filter(bad_rows["unknown_quality"])))
    return "; ".join(parts)


def _qualities_seen(unknown_rows: pa.Table) -> str:
    """The unknown reading qualities of a supply point with their counts, most frequent first."""
    seen = pc.value_counts(unknown_rows["reading_quality"]).to_pylist()
    ranked = sorted(seen, key=lambda item: (-item["counts"], item["values"]))
    return "seen " + ", ".join(f"{item['values']!r} x{item['counts']}" for item in ranked)


def _example(bad_rows: pa.Table, timezone: str) -> str:
    """The first impossible row of a supply point, or else its largest value."""
    impossible = bad_rows.filter(bad_rows["impossible"])
    if impossible.num_rows:
        row = impossible.sort_by("interval_start").slice(0, 1).to_pylist()[0]
        label = "first impossible"
    else:
        row = bad_rows.sort_by([("value", "descending")]).slice(0, 1).to_pylist()[0]
        label = "largest"
    at = describe_instant(row["interval_start"], timezone)
    return f"{label}: {_format_value(row['value'])} {row['unit']} at {at}"


def _format_value(value: Decimal | float | None) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return "null" if value is None else repr(value)


def check_estimate_share(
    local_date: date, measurements: pa.Table, config: QualityConfig
) -> CheckOutcome:
    """Fails (WARN) when a supply point's share of ESTIMATE intervals is above the threshold.

    The share is over the supply point's stored rows of the day; highest share ranks first.
    """
    estimated = pc.fill_null(pc.equal(measurements["reading_quality"], "ESTIMATE"), False)
    per_point = (
        pa.table({"supply_point_id": measurements["supply_point_id"], "estimated": estimated})
        .group_by("supply_point_id")
        .aggregate([([], "count_all"), ("estimated", "sum")])
    )
    counts = {
        row["supply_point_id"]: (row["estimated_sum"] or 0, row["count_all"])
        for row in per_point.to_pylist()
    }
    over = {
        point: estimates / total
        for point, (estimates, total) in counts.items()
        if estimates / total > config.estimate_share_threshold
    }
    ranked = sorted(
        ((point, counts[point][0]) for point in over),
        key=lambda item: (-over[item[0]], -item[1], item[0]),
    )

    def describe(supply_point_id: str, count: int) -> str:
        total = counts[supply_point_id][1]
        return f"{count} of {total} intervals estimated ({over[supply_point_id]:.1%})"

    estimate_rows = pc.sum(estimated).as_py() or 0
    share = estimate_rows / measurements.num_rows if measurements.num_rows else 0.0
    summary = (
        f"{len(over)} supply point(s) above {config.estimate_share_threshold:.0%} estimated; "
        f"{share:.1%} of all intervals are estimates"
    )
    metrics = {
        "estimate_share": round(share, 6),
        "estimate_rows": estimate_rows,
        "rows": measurements.num_rows,
    }
    return build_outcome(
        CHECK_ESTIMATES, local_date, ranked, describe, Severity.WARN, summary, metrics, config
    )
