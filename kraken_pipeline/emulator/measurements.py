"""The `measurements` arguments: the window, the time zone and the series the filters select.

An interval is served when it lies wholly inside the window; series come in filter order, each
once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kraken_pipeline.emulator.dataset import Dataset, Reading, SeriesSpec
from kraken_pipeline.emulator.errors import KrakenError, validation_error
from kraken_pipeline.local_days import day_bounds, local_date_of, zone

RAW_INTERVAL = "RAW_INTERVAL"
COMBINED = "COMBINED"
_FILTER_UTILITIES = (("electricityFilters", "electricity"), ("gasFilters", "gas"))


@dataclass(frozen=True)
class Window:
    """The requested window [start, end) in UTC, and the zone timestamps are sent in."""

    start: datetime
    end: datetime
    timezone: ZoneInfo


@dataclass(frozen=True)
class SelectedSeries:
    """A series a filter selected, with what the filter asked for (echoed in metaData)."""

    spec: SeriesSpec
    frequency: str  # the requested readingFrequencyType
    quality: str  # ACTUAL, ESTIMATE or COMBINED


def parse_window(args: Mapping[str, Any], now: datetime) -> Window:
    """The window and time zone of a measurements call; KrakenError when they are invalid."""
    tz_name = args.get("timezone") or "Europe/London"
    try:
        tz = zone(tz_name)
    except ValueError as exc:
        raise validation_error(f"Invalid timezone {tz_name!r}.", "timezone") from exc
    # A date-time wins over a local date on the same side; `endOn` is inclusive.
    start = _instant(args, "startAt") or _local_midnight(args, "startOn", tz_name, 0)
    end = _instant(args, "endAt") or _local_midnight(args, "endOn", tz_name, 1) or now
    if start is None:
        raise validation_error("Give the window a start: startAt or startOn.", "startAt")
    return Window(start, end, tz)


def _instant(args: Mapping[str, Any], name: str) -> datetime | None:
    text = args.get(name)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(str(text))
    except ValueError as exc:
        raise validation_error(f"{name} is not an ISO 8601 date-time.", name) from exc
    if value.tzinfo is None:
        raise KrakenError("KT-CT-4237", f"{name} has no time-zone offset.", (name,))
    return value


def _local_midnight(
    args: Mapping[str, Any], name: str, tz_name: str, days_later: int
) -> datetime | None:
    text = args.get(name)
    if text is None:
        return None
    try:
        local_date = date.fromisoformat(str(text))
    except ValueError as exc:
        raise validation_error(f"{name} is not an ISO 8601 date.", name) from exc
    return day_bounds(local_date + timedelta(days=days_later), tz_name)[0]


def select_series(
    candidates: Sequence[SeriesSpec], filters: Sequence[Mapping[str, Any] | None] | None
) -> list[SelectedSeries]:
    """The series of a property that the utilityFilters select, in filter order, each once."""
    if not filters:
        return [SelectedSeries(spec, RAW_INTERVAL, COMBINED) for spec in candidates]
    selected: dict[SeriesSpec, SelectedSeries] = {}
    for element in filters:
        for key, utility in _FILTER_UTILITIES:
            wanted = (element or {}).get(key)
            if wanted is None:
                continue
            for spec in candidates:
                if spec not in selected and _matches(spec, utility, wanted):
                    frequency = wanted.get("readingFrequencyType") or RAW_INTERVAL
                    quality = wanted.get("readingQuality") or COMBINED
                    selected[spec] = SelectedSeries(spec, frequency, quality)
    return list(selected.values())


def _matches(spec: SeriesSpec, utility: str, wanted: Mapping[str, Any]) -> bool:
    if spec.utility != utility:
        return False
    market_id = wanted.get("marketSupplyPointId")
    device_id = wanted.get("deviceId")
    frequency = wanted.get("readingFrequencyType") or RAW_INTERVAL
    if market_id is not None and market_id != spec.market_supply_point_id:
        return False
    if device_id is not None and device_id != spec.device_id:
        return False
    # RAW_INTERVAL matches the series' own frequency; another value only a series of that one.
    if frequency not in (RAW_INTERVAL, spec.reading_frequency):
        return False
    if utility == "electricity":
        return (wanted.get("readingDirection") or "CONSUMPTION") == spec.reading_direction
    return True


class ReadingsCache:
    """The dataset's visible readings per (series, window, visibility), kept while a client pages.

    Without it every page would rebuild the whole window's list from the dataset's day cache.
    """

    def __init__(self, dataset: Dataset, size: int = 1024) -> None:
        self._dataset = dataset
        self._size = size
        self._entries: OrderedDict[tuple[Any, ...], tuple[Reading, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def readings(
        self, series: SelectedSeries, start: datetime, end: datetime, now: datetime
    ) -> tuple[Reading, ...]:
        """The series' readings inside [start, end) visible at `now`, of the asked quality."""
        # Not `now` but what it decides (days published, restated): a running clock still hits.
        key = (series.spec, series.quality, start, end, *self._visibility(now))
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
                return cached
        found = self._dataset.readings(series.spec, start, end, now)
        if series.quality != COMBINED:
            found = [reading for reading in found if reading.quality == series.quality]
        result = tuple(found)
        with self._lock:
            self._entries[key] = result
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return result

    def _visibility(self, now: datetime) -> tuple[date, date]:
        """The first local day not yet published at `now`, and the first not yet restated."""
        config = self._dataset.config
        published_until = now - config.publication_lag
        restated_until = published_until - config.restatement_lag
        return (
            local_date_of(published_until, config.timezone),
            local_date_of(restated_until, config.timezone),
        )
