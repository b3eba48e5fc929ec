"""Measurement nodes to Arrow: exact decimals, UTC instants, normalised units, one row per interval.

Speed matters (pages are parsed while other requests are in flight), so the decoded nodes
(wire.py) become Arrow string columns once and everything after is an Arrow compute kernel: a
string -> decimal128(38,18) cast is exact (Arrow refuses any value that would lose a digit;
"0E-18" is zero) and about four times faster than building Decimal objects; a string ->
timestamp cast reads "+01:00" and "Z" offsets and refuses offset-less text, which Kraken must
never send.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from kraken_pipeline.kraken.errors import TargetError
from kraken_pipeline.kraken.planning import Target, point_key
from kraken_pipeline.kraken.wire import Filters, Node
from kraken_pipeline.schema import MEASUREMENTS_SCHEMA, UTC_TIMESTAMP, VALUE_TYPE
from kraken_pipeline.supply_points import SupplyPoint

# Values are kept to 18 decimal places (VALUE_TYPE); a longer one is rounded half-even there and
# counted, so that one tenant's over-long decimals never fail a property.
_DECIMAL_PLACES = Decimal(1).scaleb(-18)
# The contract's reading qualities are ACTUAL, ESTIMATE or null; a tenant that echoes the
# filter's COMBINED says nothing about the reading, so it lands as null.
_NO_QUALITY = "COMBINED"
_UNITS = {"kwh": "kWh", "m3": "m3", "m³": "m3", "wh": "Wh", "mwh": "MWh"}

# A column of a few distinct words (unit, quality, source): 4 bytes a row instead of the word,
# which takes a quarter off what a fetch holds until its days are landed.
_LABEL = pa.dictionary(pa.int32(), pa.string())

# Columns of a parsed page; `point` indexes the run's supply points, `arrival` orders pages so
# that de-duplication keeps the last one seen. Every per-row column is computed here, in the
# worker that received the page while others wait on the network, not after the last answer.
PAGE_SCHEMA = pa.schema(
    [
        ("point", pa.int32()),
        ("interval_start", UTC_TIMESTAMP),
        ("interval_end", UTC_TIMESTAMP),
        ("local_date", pa.date32()),
        ("value", VALUE_TYPE),
        ("unit", _LABEL),
        ("reading_quality", _LABEL),
        ("source", _LABEL),
        ("fetched_at", UTC_TIMESTAMP),
        ("arrival", pa.int32()),  # a fetch's pages in the order they came
    ]
)


@dataclass(frozen=True)
class PageRows:
    """A parsed page of one target: the rows kept, and the nodes dropped.

    `unmatched` nodes belong to no supply point of the target (`unechoed` of them name no series
    at all); `outside_window` nodes lie (partly) outside its slice of the window, or lack a unit.
    `rounded` counts, per run-wide point index, values rounded to 18 decimal places.
    """

    table: pa.Table
    outside_window: int
    unmatched: int
    unechoed: int = 0
    rounded: dict[int, int] = field(default_factory=dict)


def parse_page(
    nodes: Sequence[Node],
    target: Target,
    point_index: Mapping[str, int],
    fetched_at: datetime,
    arrival: int,
    *,
    timezone: str,
) -> PageRows:
    """Turn one connection page of a target into rows; keep only its series and its slice.
    `timezone` is the tenant's, which gives each interval its local date."""
    filters = [_echo(node) for node in nodes]
    market_ids = _strings([echo.market_supply_point_id for echo in filters])
    points = _points(
        market_ids, _strings([echo.reading_direction for echo in filters]), target, point_index
    )
    starts = _instants(_strings([node.start_at for node in nodes]), target)
    ends = _instants(_strings([node.end_at for node in nodes]), target)
    values, rounded = _values(_strings([node.value for node in nodes]), target)
    units = _strings([node.unit for node in nodes])
    inside = pc.and_(
        pc.greater_equal(starts, pa.scalar(target.start, UTC_TIMESTAMP)),
        pc.less_equal(ends, pa.scalar(target.end, UTC_TIMESTAMP)),
    )
    matched = pc.is_valid(points)
    # A node without a unit (a point-in-time reading) is not a row.
    keep = pc.fill_null(pc.and_(pc.and_(inside, matched), pc.is_valid(units)), False)
    count = len(nodes)
    table = pa.table(
        [
            points,
            starts,
            ends,
            starts.cast(pa.timestamp("us", tz=timezone)).cast(pa.date32()),
            values,
            pc.dictionary_encode(normalise_units(units)),
            pc.dictionary_encode(_qualities(_strings([e.reading_quality for e in filters]))),
            pc.dictionary_encode(_strings([node.source for node in nodes])),
            pa.repeat(pa.scalar(fetched_at, UTC_TIMESTAMP), count),
            pa.repeat(pa.scalar(arrival, pa.int32()), count),
        ],
        schema=PAGE_SCHEMA,
    ).filter(keep)
    unmatched = count - matched.true_count
    unechoed = market_ids.null_count if unmatched else 0
    by_point = _rounded_by_point(rounded, points)
    return PageRows(table, count - table.num_rows - unmatched, unmatched, unechoed, by_point)


_NO_ECHO = Filters()


def _echo(node: Node) -> Filters:
    """The series a node echoes in metaData.utilityFilters (all null when it echoes none)."""
    meta = node.meta_data
    return (meta.utility_filters if meta is not None else None) or _NO_ECHO


def _strings(values: list[str | None]) -> pa.StringArray:
    return pa.array(values, pa.string())


def _qualities(qualities: pa.Array) -> pa.Array:
    combined = pc.equal(qualities, pa.scalar(_NO_QUALITY))
    return pc.if_else(pc.fill_null(combined, False), pa.scalar(None, pa.string()), qualities)


def _rounded_by_point(rounded: pa.Array | None, points: pa.Array) -> dict[int, int]:
    if rounded is None:
        return {}
    counts: dict[int, int] = {}
    for point in points.filter(rounded).to_pylist():
        key = -1 if point is None else point
        counts[key] = counts.get(key, 0) + 1
    return counts


def _points(
    market_ids: pa.Array, directions: pa.Array, target: Target, point_index: Mapping[str, int]
) -> pa.Array:
    """The run-wide index of the supply point each node belongs to (null: none of ours)."""
    keys = pc.binary_join_element_wise(market_ids, pc.fill_null(directions, ""), "|")
    wanted = [point_key(point) for point in target.supply_points]
    position = pc.index_in(keys, value_set=pa.array(wanted, pa.string()))
    if len(wanted) == 1:
        # A connection of exactly one series: a node that echoes no series can only be its own.
        position = pc.if_else(pc.is_null(market_ids), pa.scalar(0, position.type), position)
    indices = [point_index[point.supply_point_id] for point in target.supply_points]
    return pc.take(pa.array(indices, pa.int32()), position)


# A fetch's rows as they are held until each day is landed: PAGE_SCHEMA without `arrival`. The
# supply points' own columns (ids, utility, device...) are attached only to the table of a day
# being landed: repeated on every row of a chunk of days, they would cost more than the rest.
ROWS_SCHEMA = pa.schema([column for column in PAGE_SCHEMA if column.name != "arrival"])


@dataclass(frozen=True)
class FetchedRows:
    """A fetch's rows, one per (supply point, interval), sorted by supply_point_id then
    interval_start; `point` in `indexed` (ROWS_SCHEMA) indexes `points`."""

    indexed: pa.Table
    points: tuple[SupplyPoint, ...]

    @property
    def num_rows(self) -> int:
        return int(self.indexed.num_rows)

    def table(self) -> pa.Table:
        """Every row as the contract table (MEASUREMENTS_SCHEMA), built on each call."""
        return _contract_columns(self.indexed, self.points)

    def day_table(self, local_date: date) -> pa.Table:
        """The contract table of the rows of one local day."""
        day = pa.scalar(local_date, pa.date32())
        return _contract_columns(
            self.indexed.filter(pc.equal(self.indexed["local_date"], day)), self.points
        )

    def without(self, indices: Collection[int]) -> FetchedRows:
        """These rows without those of the supply points at `indices`."""
        if not indices:
            return self
        dropped = pa.array(sorted(indices), pa.int32())
        kept = self.indexed.filter(pc.invert(pc.is_in(self.indexed["point"], value_set=dropped)))
        return FetchedRows(kept, self.points)

    def rows_per_supply_point(self) -> dict[str, int]:
        """How many rows each supply point has (none: left out)."""
        if not self.num_rows:
            return {}
        counts = pc.value_counts(self.indexed["point"]).to_pylist()
        return {self.points[item["values"]].supply_point_id: item["counts"] for item in counts}


@dataclass(frozen=True)
class FoldedRows:
    """Page rows made one per interval: the rows, identical duplicates folded (count per point
    index), and the points whose duplicates disagree (point index -> message)."""

    rows: FetchedRows
    folded: dict[int, int]
    conflicts: dict[int, str]

    @property
    def table(self) -> pa.Table:
        """The rows as the contract table (MEASUREMENTS_SCHEMA)."""
        return self.rows.table()


def measurements_table(pages: Sequence[pa.Table], points: Sequence[SupplyPoint]) -> pa.Table:
    """Join page rows to their supply points: the MEASUREMENTS_SCHEMA table, sorted and unique."""
    return fold_pages(list(pages), points).table


def fold_pages(pages: list[pa.Table], points: Sequence[SupplyPoint]) -> FoldedRows:
    """The page rows, one per (supply point, interval): an identical duplicate is folded into
    one, two that differ in value or quality are a conflict.

    Empties `pages`: each column of the pages is freed as soon as it is taken in order, so that
    the fetch's rows are never held twice.
    """
    rows = pa.concat_tables([PAGE_SCHEMA.empty_table(), *pages])  # no copy
    pages.clear()
    columns = dict(zip(rows.column_names, rows.columns, strict=True))
    del rows
    # What the fetch's worker threads parsed and dropped is still held by Arrow's pool (it gives
    # memory back only when asked), and so is each column of the pages once it is taken.
    release = pa.default_memory_pool().release_unused
    release()
    # One array per column, its pages' chunks freed as it is made: a take from a column of many
    # chunks concatenates them first, which held the column three times (chunks, concatenation,
    # result) instead of twice, and took twice as long.
    for name in PAGE_SCHEMA.names:
        columns[name] = columns[name].combine_chunks()
        release()
    keys = pa.table(
        {
            "rank": pc.take(_rank_by_id(points), columns["point"]),
            "start": columns["interval_start"],
            "arrival": columns.pop("arrival"),
        }
    )
    order = pc.sort_indices(
        keys, [("rank", "ascending"), ("start", "ascending"), ("arrival", "ascending")]
    )
    # Only the keys are sorted whole; every column is then taken once, duplicates left out.
    keys = keys.select(["rank", "start"]).take(order)
    last = _last_of_each_interval(keys["rank"], keys["start"])
    del keys
    folded, conflicts = _duplicates(columns, order, last)
    order = order.filter(last)
    taken = []
    for name in ROWS_SCHEMA.names:
        taken.append(columns.pop(name).take(order))
        release()
    rows = FetchedRows(pa.table(taken, schema=ROWS_SCHEMA), tuple(points))
    return FoldedRows(rows, folded, conflicts)


def _duplicates(
    columns: dict[str, pa.ChunkedArray], order: pa.Array, last: pa.Array
) -> tuple[dict[int, int], dict[int, str]]:
    """Count the folded rows per point; name the first disagreeing pair of each point."""
    folded: dict[int, int] = {}
    conflicts: dict[int, str] = {}
    positions = pc.indices_nonzero(pc.invert(last)).to_pylist()
    if not positions:
        return folded, conflicts
    names = ["point", "interval_start", "value", "reading_quality"]
    sorted_rows = pa.table([columns[name] for name in names], names=names).take(order)
    for position in positions:
        this, following = sorted_rows.slice(position, 2).to_pylist()
        point = this["point"]
        folded[point] = folded.get(point, 0) + 1
        same = (this["value"], this["reading_quality"]) == (
            following["value"],
            following["reading_quality"],
        )
        if not same and point not in conflicts:
            conflicts[point] = (
                f"two nodes for the interval starting {this['interval_start'].isoformat()} "
                f"disagree: value {this['value']} ({this['reading_quality']}) and "
                f"{following['value']} ({following['reading_quality']})"
            )
    return folded, conflicts


def _contract_columns(rows: pa.Table, points: Sequence[SupplyPoint]) -> pa.Table:
    index = rows["point"]

    def attribute(values: list[str | None]) -> pa.ChunkedArray:
        return pc.take(pa.array(values, pa.string()), index)

    columns = {
        "supply_point_id": attribute([p.supply_point_id for p in points]),
        "property_id": attribute([p.property_id for p in points]),
        "utility": attribute([p.utility.value for p in points]),
        "market_supply_point_id": attribute([p.market_supply_point_id for p in points]),
        "device_id": attribute([p.device_id for p in points]),
        "reading_direction": attribute(
            [p.reading_direction.value if p.reading_direction else None for p in points]
        ),
        "interval_start": rows["interval_start"],
        "interval_end": rows["interval_end"],
        "local_date": rows["local_date"],
        "value": rows["value"],
        "unit": rows["unit"].cast(pa.string()),
        "reading_quality": rows["reading_quality"].cast(pa.string()),
        "source": rows["source"].cast(pa.string()),
        "fetched_at": rows["fetched_at"],
    }
    return pa.table(list(columns.values()), schema=MEASUREMENTS_SCHEMA)


def normalise_units(units: pa.ChunkedArray | pa.Array) -> pa.Array:
    """kwh/KWH -> kWh, m3/M3/m³ -> m3; unknown units are kept as sent for the checks to flag."""
    array = units.combine_chunks() if isinstance(units, pa.ChunkedArray) else units
    encoded = pc.dictionary_encode(array)
    names = [
        _UNITS.get(name.strip().lower(), name) if name is not None else None
        for name in encoded.dictionary.to_pylist()
    ]
    return pc.take(pa.array(names, pa.string()), encoded.indices)


def _rank_by_id(points: Sequence[SupplyPoint]) -> pa.Array:
    order = sorted(range(len(points)), key=lambda i: points[i].supply_point_id)
    rank = [0] * len(points)
    for position, index in enumerate(order):
        rank[index] = position
    return pa.array(rank, pa.int32())


def _last_of_each_interval(rank: pa.ChunkedArray, start: pa.ChunkedArray) -> pa.Array:
    """True for the last row of every (supply point, interval_start) run of a sorted table."""
    count = len(rank)
    if count < 2:
        return pa.array([True] * count, pa.bool_())
    rank_array, start_array = rank.combine_chunks(), start.combine_chunks()
    same_as_next = pc.and_(
        pc.equal(rank_array[:-1], rank_array[1:]), pc.equal(start_array[:-1], start_array[1:])
    )
    return pa.concat_arrays([pc.invert(same_as_next), pa.array([True])])


def _values(strings: pa.Array, target: Target) -> tuple[pa.Array, pa.Array | None]:
    """The values as decimals, and which of them were rounded (None: none was)."""
    try:
        return strings.cast(VALUE_TYPE), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values: list[Decimal | None] = []
    rounded: list[bool] = []
    for text in strings.to_pylist():
        value, was_rounded = _to_18_places(text, target)
        values.append(value)
        rounded.append(was_rounded)
    return pa.array(values, VALUE_TYPE), pa.array(rounded, pa.bool_())


def _to_18_places(text: Any, target: Target) -> tuple[Decimal | None, bool]:
    if text is None:
        return None, False
    try:
        exact = Decimal(text)
        value = exact.quantize(_DECIMAL_PLACES, rounding=ROUND_HALF_EVEN)
        pa.array([value], VALUE_TYPE)
    except (InvalidOperation, ValueError, pa.ArrowInvalid):
        raise TargetError(
            f"property {target.property_id} sent the value {str(text)[:60]!r}, which is not a "
            "decimal of at most 20 digits before the point",
            code="bad value",
            property_id=target.property_id,
        ) from None
    return value, value != exact


def _instants(texts: pa.Array, target: Target) -> pa.Array:
    try:
        return texts.cast(UTC_TIMESTAMP)
    except pa.ArrowInvalid as exc:
        raise TargetError(
            f"property {target.property_id} sent an interval time that is not an ISO 8601 "
            f"instant with a UTC offset ({str(exc)[:120]})",
            code="bad timestamp",
            property_id=target.property_id,
        ) from None
