"""The emulator's data: metered series and the interval readings Kraken would serve for them.

Deterministic from a seed; the caller passes `now`, which decides what is published, estimated
or restated.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal, NamedTuple

from kraken_pipeline.emulator.loadshapes import (
    KWH_PER_M3,
    DayGrid,
    day_grid,
    mean_powers,
    noisy_powers,
)
from kraken_pipeline.local_days import day_bounds, days_between, local_date_of, zone
from kraken_pipeline.supply_points import CSV_COLUMNS, INTERVAL_SECONDS, mpan_check_digit_is_valid

SOURCE = "SMART_METER"
# Days kept (~110 MB): a 31-day window of 250 series stays cached while the server pages it.
DAY_CACHE_SIZE = 8_192
_LOWERCASE_UNIT_SHARE = 0.3  # share of kWh nodes sent as "kwh", as some Kraken sources do
_MICRO = 1_000_000
# A series-day as ACTUAL readings, and as ESTIMATE readings (empty unless the day is estimated).
_Day = tuple[tuple["Reading", ...], tuple["Reading", ...]]
# property id, utility, market supply point id, direction (None for gas), reading frequency
_Key = tuple[str, str, str, str | None, str]


@dataclass(frozen=True)
class SeriesSpec:
    """One metered series the emulator knows: a supply point, direction and frequency."""

    property_id: str
    utility: Literal["electricity", "gas"]
    market_supply_point_id: str
    device_id: str | None
    reading_direction: Literal["CONSUMPTION", "GENERATION"] | None  # None for gas
    reading_frequency: str  # a ReadingFrequencyType with a fixed grid, e.g. THIRTY_MIN_INTERVAL
    profile: str  # a load shape of loadshapes.PROFILES
    unit: str  # "kWh" (sent as "kWh" or "kwh" per node) or "m3"
    gap_share: float = 0.0  # share of intervals permanently missing
    supply_point_id: str = ""  # the id a supply points CSV gives this series
    estimate_share: float | None = None  # overrides DatasetConfig.estimate_share for this series

    @property
    def interval_seconds(self) -> int:
        """Length of one interval of the series, in seconds."""
        return INTERVAL_SECONDS[self.reading_frequency]

    @property
    def filter_key(self) -> _Key:
        """What a measurements filter names the series by: see Dataset.find."""
        return _filter_key(
            self.property_id,
            self.utility,
            self.market_supply_point_id,
            self.reading_direction,
            self.reading_frequency,
        )

    @property
    def key(self) -> str:
        """A stable text key of the series; the seed of its data."""
        return "/".join(part or "" for part in self.filter_key)


@dataclass(frozen=True, slots=True)
class Reading:
    """One interval as the emulator serves it."""

    start: datetime  # UTC-aware
    end: datetime  # UTC-aware
    value: Decimal  # exact
    value_text: str  # the wire form, e.g. "0.201000", "0E-18"
    unit: str  # the wire form, e.g. "kWh", "kwh", "m3"
    quality: Literal["ACTUAL", "ESTIMATE"]
    source: str


@dataclass(frozen=True)
class DatasetConfig:
    """How the emulator's data behaves over time."""

    seed: int = 1
    timezone: str = "Europe/London"  # tenant zone: local days, DST
    publication_lag: timedelta = timedelta(hours=6)  # a day is visible this long after it ends
    restatement_lag: timedelta = timedelta(days=2)  # estimates become actuals this long later
    estimate_share: float = 0.05  # share of days served as ESTIMATE before restatement


class Dataset:
    """The series an emulator serves and their readings as visible at any instant."""

    def __init__(
        self, series: Sequence[SeriesSpec], config: DatasetConfig = DatasetConfig()
    ) -> None:
        zone(config.timezone)  # fail now, naming the zone, rather than on the first request
        self.series: tuple[SeriesSpec, ...] = tuple(series)
        self.config = config
        self._by_filter = {spec.filter_key: spec for spec in self.series}
        if len(self._by_filter) < len(self.series):
            raise ValueError("a series is listed twice: filters must name one series each")
        self._day = lru_cache(maxsize=DAY_CACHE_SIZE)(self._generate_day)

    def find(
        self,
        property_id: str,
        utility: str,
        market_supply_point_id: str,
        reading_direction: str | None,
        reading_frequency: str,
    ) -> SeriesSpec | None:
        """The series a filter names; electricity without a direction means CONSUMPTION."""
        key = _filter_key(
            property_id, utility, market_supply_point_id, reading_direction, reading_frequency
        )
        return self._by_filter.get(key)

    def series_of_property(self, property_id: str) -> tuple[SeriesSpec, ...]:
        """Every series on a property, in dataset order."""
        return tuple(spec for spec in self.series if spec.property_id == property_id)

    def publication_time(self, local_date: date) -> datetime:
        """When a local day's data becomes visible: its end plus the publication lag."""
        return day_bounds(local_date, self.config.timezone)[1] + self.config.publication_lag

    def restatement_time(self, local_date: date) -> datetime:
        """When an estimated day's values are replaced by actuals."""
        return self.publication_time(local_date) + self.config.restatement_lag

    def is_estimated(self, spec: SeriesSpec, local_date: date) -> bool:
        """Whether a series-day is first served as ESTIMATE.

        Days are drawn one per block of 1/share consecutive days, at a hashed position, so a
        share of 0.2 puts an estimated day in every 5-day block: windows always contain some.
        """
        share = self.config.estimate_share if spec.estimate_share is None else spec.estimate_share
        if share <= 0:
            return False
        block_days = max(1, round(1 / share))
        block, position = divmod(local_date.toordinal(), block_days)
        return position == _hash_int(self.config.seed, spec.key, "estimate", block) % block_days

    def readings(
        self, spec: SeriesSpec, start: datetime, end: datetime, now: datetime
    ) -> list[Reading]:
        """Every interval of a series inside [start, end) that is published at `now`, in order."""
        if now.tzinfo is None or end.tzinfo is None:
            raise ValueError("now, start and end must be aware datetimes")
        if end <= start:
            return []
        tz = self.config.timezone
        last_day = local_date_of(end - timedelta(microseconds=1), tz)
        result: list[Reading] = []
        for local_date in days_between(local_date_of(start, tz), last_day):
            day_start, day_end = day_bounds(local_date, tz)
            if now < day_end + self.config.publication_lag:
                break  # later days are published later still
            actual, estimate = self._day(spec, local_date)
            restated = now >= day_end + self.config.publication_lag + self.config.restatement_lag
            served = actual if restated or not estimate else estimate
            if start <= day_start and day_end <= end:
                result.extend(served)
            else:
                result.extend(r for r in served if start <= r.start and r.end <= end)
        return result

    def _generate_day(self, spec: SeriesSpec, local_date: date) -> _Day:
        """The day as ACTUAL readings and, if estimated, as its first ESTIMATE readings."""
        grid = day_grid(local_date, self.config.timezone, spec.interval_seconds)
        rng = random.Random(_hash_int(self.config.seed, spec.key, local_date.isoformat()))
        count = len(grid.starts)
        gap_share = spec.gap_share
        kept = [rng.random() >= gap_share for _ in range(count)] if gap_share else [True] * count
        means = mean_powers(spec.profile, local_date, self.config.timezone, spec.interval_seconds)
        to_micros = _MICRO * spec.interval_seconds / 3600 / (KWH_PER_M3 if spec.unit == "m3" else 1)
        actual = [round(kw * to_micros) for kw in noisy_powers(spec.profile, means, rng)]
        units = _node_units(spec.unit, count, rng)
        zero_text = "0E-18" if rng.random() < 0.5 else "0.000000"
        served_actual = _wire_readings(grid, actual, "ACTUAL", units, kept, zero_text)
        if not self.is_estimated(spec, local_date):
            return served_actual, ()
        # An estimate is the smooth shape scaled by a guess; a restatement always changes it.
        guess = (0.85 + 0.3 * rng.random()) * to_micros
        estimate = [round(kw * guess) for kw in means]
        estimate = [e + 1000 if e == a else e for e, a in zip(estimate, actual, strict=True)]
        return served_actual, _wire_readings(grid, estimate, "ESTIMATE", units, kept, zero_text)


_new_object = object.__new__
# The slot setters of Reading, in field order, for building readings in bulk.
_SETTERS = tuple(getattr(Reading, field.name).__set__ for field in fields(Reading))


def _wire_readings(
    grid: DayGrid,
    micros: list[int],
    quality: Literal["ACTUAL", "ESTIMATE"],
    units: list[str],
    kept: list[bool],
    zero_text: str,
) -> tuple[Reading, ...]:
    """One series-day's values in integer micro-units as readings; gaps left out."""
    set_start, set_end, set_value, set_value_text, set_unit, set_quality, set_source = _SETTERS
    out = []
    for start, end, micro, unit, keep in zip(
        grid.starts, grid.ends, micros, units, kept, strict=True
    ):
        if keep:
            text = f"{micro // _MICRO}.{micro % _MICRO:06d}" if micro else zero_text
            # Same object as Reading(...) builds, twice as fast as its frozen __init__ (which
            # calls object.__setattr__ per field): benchmarks generate millions of readings.
            reading = _new_object(Reading)
            set_start(reading, start)
            set_end(reading, end)
            set_value(reading, Decimal(text))
            set_value_text(reading, text)
            set_unit(reading, unit)
            set_quality(reading, quality)
            set_source(reading, SOURCE)
            out.append(reading)
    return tuple(out)


def _node_units(unit: str, count: int, rng: random.Random) -> list[str]:
    if unit.lower() != "kwh":
        return [unit] * count
    return ["kwh" if rng.random() < _LOWERCASE_UNIT_SHARE else "kWh" for _ in range(count)]


def _filter_key(prop: str, utility: str, market: str, direction: str | None, freq: str) -> _Key:
    utility = utility.lower()
    # Gas filters carry no direction; electricity defaults to CONSUMPTION, as Kraken's filter does.
    direction = None if utility == "gas" else (direction or "CONSUMPTION").upper()
    return prop, utility, market, direction, freq.upper()


def _hash_int(*parts: object) -> int:
    """A 64-bit integer from the parts; stable across processes, unlike hash()."""
    text = "|".join(str(part) for part in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class _Kind(NamedTuple):
    """What a meter measures and how it reports: the SeriesSpec fields after the ids."""

    utility: Literal["electricity", "gas"]
    direction: Literal["CONSUMPTION", "GENERATION"] | None
    frequency: str
    profile: str
    unit: str


_HOUSE = _Kind("electricity", "CONSUMPTION", "THIRTY_MIN_INTERVAL", "household", "kWh")
_HOUSE_15 = _HOUSE._replace(frequency="FIFTEEN_MIN_INTERVAL")
_BUSINESS = _HOUSE._replace(profile="business")
_SOLAR = _Kind("electricity", "GENERATION", "THIRTY_MIN_INTERVAL", "solar", "kWh")
_GAS_M3 = _Kind("gas", None, "THIRTY_MIN_INTERVAL", "gas", "m3")
_GAS_KWH = _GAS_M3._replace(unit="kWh")


def _spec(
    ids: str, kind: _Kind, gap_share: float = 0.0, estimate_share: float | None = None
) -> SeriesSpec:
    """A series from "supply_point_id property_id market_supply_point_id device_id" and a kind."""
    spid, prop, market, device = ids.split()
    return SeriesSpec(
        prop, kind.utility, market, device, *kind[1:], gap_share, spid, estimate_share
    )


_DEMO_SERIES = (
    # An estimated day in every 5-day block, so any two-week window shows a restatement.
    _spec("house-import 1000001 1200012345679 12-AB-34-CD-56-EF-78-01", _HOUSE, estimate_share=0.2),
    _spec("house-export 1000001 1200012345688 12-AB-34-CD-56-EF-78-01", _SOLAR),
    _spec("house-gas 1000001 7654321 12-AB-34-CD-56-EF-78-02", _GAS_M3),
    _spec("office-import 1000002 2200098765436 22-CD-56-EF-78-AB-90-01", _BUSINESS),
    _spec("flat-import-15min 1000003 1400055512348 14-EF-78-AB-90-CD-12-01", _HOUSE_15),
    _spec("flat-gas 1000003 1234567890 14-EF-78-AB-90-CD-12-02", _GAS_KWH),
    _spec("shop-import-gappy 1000004 1600077788897 16-AB-12-CD-34-EF-56-01", _BUSINESS, 0.04),
)

# The 10 meters of a synthetic property: a site of flats and shops, with solar panels and boilers.
_SYNTHETIC_SITE = (_HOUSE,) * 4 + (_HOUSE_15, _SOLAR, _GAS_M3, _GAS_KWH, _BUSINESS, _BUSINESS)


def demo_dataset(config: DatasetConfig = DatasetConfig()) -> Dataset:
    """The 7 series of data/supply_points.example.csv: import, export, gas, 15-minute, gaps."""
    return Dataset(_DEMO_SERIES, config)


def synthetic_dataset(n_series: int, config: DatasetConfig = DatasetConfig()) -> Dataset:
    """Many series for benchmarks: 10 per property, a mix of profiles, valid MPANs, no gaps."""
    return Dataset([_synthetic_spec(index) for index in range(n_series)], config)


def _synthetic_spec(index: int) -> SeriesSpec:
    site, slot = divmod(index, len(_SYNTHETIC_SITE))
    kind = _SYNTHETIC_SITE[slot]
    if kind.utility == "gas":
        market = str(5_000_000_000 + index)  # a 10-digit MPRN
    else:
        market = _mpan_core(f"{10 + index % 14}{index:010d}")  # distributor ids 10-23
    return _spec(f"sp-{index:05d} {3_000_000 + site} {market} SY-{site:06d}-{slot:02d}", kind)


def _mpan_core(first_twelve: str) -> str:
    """A 13-digit MPAN core: the 12 digits given plus the one check digit that validates."""
    candidates = (first_twelve + str(digit) for digit in range(10))
    return next(core for core in candidates if mpan_check_digit_is_valid(core))


def write_supply_points_csv(dataset: Dataset, path: str | Path) -> Path:
    """Write the supply points CSV naming every series of a dataset; returns the path."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for index, spec in enumerate(dataset.series):
            prop, utility, market, direction, frequency = spec.filter_key
            supply_point_id = spec.supply_point_id or f"sp-{index:05d}"
            device = spec.device_id or ""
            writer.writerow((supply_point_id, prop, utility, market, device, direction, frequency))
    return path
