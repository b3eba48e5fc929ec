"""Arrow and local-time helpers shared by the rules.

The rules work column-wise on a whole day (tens of thousands of supply points) and turn only the
few offenders they show into text, so the helpers here come in those two kinds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from kraken_pipeline.local_days import day_bounds, zone

MICROS_PER_SECOND = 1_000_000


def epoch_micros(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """A UTC timestamp column as integer microseconds since the epoch."""
    return pc.cast(column, pa.int64())


def instant_micros(instant: datetime) -> int:
    """An aware instant as integer microseconds since the epoch, exactly (no float on the way)."""
    delta = instant - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * MICROS_PER_SECOND + delta.microseconds


def day_bounds_micros(local_date: date, tz: str) -> tuple[int, int]:
    """The local day's [start, end) as epoch microseconds."""
    start, end = day_bounds(local_date, tz)
    return instant_micros(start), instant_micros(end)


def worst_first(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """(key, count) pairs with the largest count first; ties in key order, so output is stable."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def rows_of(table: pa.Table, supply_point_id: str) -> pa.Table:
    """The rows of one supply point."""
    return table.filter(pc.equal(table["supply_point_id"], supply_point_id))


def local_clock(instant: datetime, tz: str, with_zone: bool) -> str:
    """HH:MM in the tenant's zone, with the zone abbreviation when the wall clock is ambiguous."""
    local = instant.astimezone(zone(tz))
    return f"{local:%H:%M} {local.tzname()}" if with_zone else f"{local:%H:%M}"


def day_changes_offset(local_date: date, tz: str) -> bool:
    """Whether the UTC offset differs between the start and the end of the local day."""
    start, end = day_bounds(local_date, tz)
    info = zone(tz)
    return start.astimezone(info).utcoffset() != end.astimezone(info).utcoffset()


def slot_runs(slots: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive slot numbers folded into inclusive (first, last) runs."""
    runs: list[tuple[int, int]] = []
    for slot in sorted(set(slots)):
        if runs and slot == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], slot)
        else:
            runs.append((slot, slot))
    return runs


def format_slot_ranges(
    slots: Sequence[int], local_date: date, tz: str, interval_seconds: int, limit: int = 6
) -> str:
    """Missing slots as local-time ranges, e.g. "01:00-02:30 (3 slots), 13:00-13:30 (1 slot)".

    A range runs from the start of its first slot to the end of its last, so the day's last slot
    ends at 24:00. On a clock-change day every time carries its zone abbreviation (01:00 BST and
    01:00 GMT both happen on the autumn day), so the text is never ambiguous.
    """
    day_start, _ = day_bounds(local_date, tz)
    step = timedelta(seconds=interval_seconds)
    with_zone = day_changes_offset(local_date, tz)
    runs = slot_runs(slots)
    parts = []
    for first, last in runs[:limit]:
        begin = local_clock(day_start + first * step, tz, with_zone)
        end_instant = day_start + (last + 1) * step
        end = local_clock(end_instant, tz, with_zone)
        if end_instant.astimezone(zone(tz)).date() != local_date:
            end = end.replace("00:00", "24:00", 1)
        count = last - first + 1
        parts.append(f"{begin}-{end} ({count} slot{'s' if count != 1 else ''})")
    if len(runs) > limit:
        parts.append(f"and {len(runs) - limit} more ranges")
    return ", ".join(parts)


def describe_instant(instant: datetime, tz: str) -> str:
    """A stored interval start as the operator reads it: local date, time and zone."""
    local = instant.astimezone(zone(tz))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
