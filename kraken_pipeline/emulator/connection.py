"""Relay pagination over the series of one `measurements` connection.

The series come one after the other, each in time order; a cursor names a position by
(series index, interval start), not by offset.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from kraken_pipeline.emulator.dataset import Reading
from kraken_pipeline.emulator.errors import validation_error
from kraken_pipeline.emulator.measurements import SelectedSeries, Window

_CURSOR_PREFIX = "measurement"
_START = attrgetter("start")
Item = tuple[int, Reading]  # (series index, reading)


@dataclass(frozen=True)
class SeriesReadings:
    """One series of a connection with its readings inside the window."""

    series: SelectedSeries
    readings: Sequence[Reading]


@dataclass(frozen=True)
class MeasurementPage:
    """One page of a connection: its items in order, and what the page info reports."""

    series: Sequence[SeriesReadings]
    window: Window
    items: list[Item]
    total_count: int
    has_next_page: bool
    has_previous_page: bool
    follows_cursor: bool  # the page was asked for with `after`
    end_cursor: str | None = None  # set: the endCursor reported instead of the last item's

    def with_previous_node_repeated(self, page_size: int) -> MeasurementPage:
        """The page with the node just before it prepended: a duplicate across pages. A full
        page gives up its last node (the next page starts with it): it stays within `first`."""
        if not self.follows_cursor or not self.items:
            return self
        index, first = self.items[0]
        readings = self.series[index].readings
        position = bisect_left(readings, first.start, key=_START)
        if position > 0:
            previous = (index, readings[position - 1])
        elif index > 0 and self.series[index - 1].readings:
            previous = (index - 1, self.series[index - 1].readings[-1])
        else:
            return self
        kept = self.items if len(self.items) < page_size else self.items[:-1]
        return dataclasses.replace(self, items=[previous, *kept])

    def with_node_before_window(self) -> MeasurementPage:
        """The page with an extra node, first, for the interval that ends at the window start."""
        if not self.items:
            return self
        index, first = self.items[0]
        length = first.end - first.start
        outside = dataclasses.replace(
            first, start=self.window.start - length, end=self.window.start
        )
        return dataclasses.replace(self, items=[(index, outside), *self.items])

    def with_one_edge_too_many(self, first: int) -> MeasurementPage:
        """The page padded with copies of its last item to one edge more than `first`."""
        if not self.items:
            return self
        extra = max(0, first + 1 - len(self.items))
        return dataclasses.replace(self, items=[*self.items, *[self.items[-1]] * extra])

    def with_cursor_back_to_start(self) -> MeasurementPage:
        """The page claiming a next page whose cursor leads back to the first page."""
        start = base64.b64encode(f"{_CURSOR_PREFIX}:0:0".encode()).decode()
        return dataclasses.replace(self, has_next_page=True, end_cursor=start)


def encode_cursor(index: int, reading: Reading) -> str:
    """The opaque cursor of an item."""
    # A position, not an offset: a day published meanwhile cannot make pages overlap or skip.
    text = f"{_CURSOR_PREFIX}:{index}:{int(reading.start.timestamp())}"
    return base64.b64encode(text.encode()).decode()


def paginate(
    series: Sequence[SeriesReadings], window: Window, args: Mapping[str, Any], max_page_size: int
) -> MeasurementPage:
    """The page that `first`/`after`/`last`/`before` select; KrakenError when they are bad."""
    first = _page_size(args, "first", max_page_size)
    last = _page_size(args, "last", max_page_size)
    offsets = [0]
    for entry in series:
        offsets.append(offsets[-1] + len(entry.readings))
    total = offsets[-1]
    low = _position(series, offsets, args.get("after"), "after", bisect_right) or 0
    high = _position(series, offsets, args.get("before"), "before", bisect_left)
    high = total if high is None else high
    if first is None and last is None:
        first = max_page_size
    if first is not None:
        high = min(high, low + first)
    if last is not None:
        low = max(low, high - last)
    items = _items(series, offsets, low, high)
    follows = args.get("after") is not None
    return MeasurementPage(series, window, items, total, high < total, low > 0, follows)


def _page_size(args: Mapping[str, Any], name: str, max_page_size: int) -> int | None:
    size = args.get(name)
    if size is None:
        return None
    if size < 0:
        raise validation_error(f"`{name}` must not be negative.", name)
    if size > max_page_size:
        raise validation_error(
            f"Requesting {size} records on the connection exceeds the `{name}` limit of "
            f"{max_page_size} records.",
            name,
        )
    return int(size)


def _position(
    series: Sequence[SeriesReadings],
    offsets: list[int],
    cursor: str | None,
    name: str,
    bisect: Any,
) -> int | None:
    if cursor is None:
        return None
    index, start = _decode_cursor(cursor, len(series), name)
    return offsets[index] + int(bisect(series[index].readings, start, key=_START))


def _decode_cursor(cursor: str, series_count: int, name: str) -> tuple[int, datetime]:
    invalid = validation_error(f"`{name}` is not a valid cursor of this connection.", name)
    try:
        prefix, index_text, seconds = base64.b64decode(cursor, validate=True).decode().split(":")
        index, start = int(index_text), datetime.fromtimestamp(int(seconds), UTC)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as exc:
        raise invalid from exc
    if prefix != _CURSOR_PREFIX or not 0 <= index < series_count:
        raise invalid
    return index, start


def _items(series: Sequence[SeriesReadings], offsets: list[int], low: int, high: int) -> list[Item]:
    items: list[Item] = []
    for index, entry in enumerate(series):
        begin, end = max(low, offsets[index]), min(high, offsets[index + 1])
        if begin < end:
            base = offsets[index]
            items.extend((index, reading) for reading in entry.readings[begin - base : end - base])
    return items
