"""Plausible energy load shapes for the emulator's metered series, on a local day's grid.

A shape is the mean power (kW) at each interval of a local day, before the per-series noise of
`noisy_powers`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from kraken_pipeline.local_days import interval_starts, zone

PROFILES = ("household", "business", "solar", "gas")

# Energy in one cubic metre of GB natural gas (calorific value ~39.5 MJ/m3, volume correction
# 1.02264, 3.6 MJ per kWh): how the emulator turns a gas profile's kWh into a meter's m3.
KWH_PER_M3 = 11.2


@dataclass(frozen=True)
class DayGrid:
    """The intervals of one local day: UTC bounds, and the wall-clock hour at each midpoint."""

    starts: tuple[datetime, ...]
    ends: tuple[datetime, ...]
    hours: tuple[float, ...]
    dst_hours: float  # the daylight-saving shift of the day, 0 or 1 in London


@lru_cache(maxsize=4096)
def day_grid(local_date: date, tz: str, interval_seconds: int) -> DayGrid:
    """The grid of a local day in a zone: 46/48/50 half-hours in London, as the clocks say."""
    step = timedelta(seconds=interval_seconds)
    starts = tuple(interval_starts(local_date, tz, interval_seconds))
    info = zone(tz)
    # Wall-clock hours, because people live by the clock: on a clock-change day one is skipped
    # or repeated.
    hours = []
    for start in starts:
        local = (start + step / 2).astimezone(info)
        hours.append(local.hour + local.minute / 60 + local.second / 3600)
    dst = info.dst(datetime.combine(local_date, time(12), tzinfo=info)) or timedelta(0)
    return DayGrid(
        starts, tuple(s + step for s in starts), tuple(hours), dst.total_seconds() / 3600
    )


def _bump(hour: float, centre: float, width: float) -> float:
    """A Gaussian bump of height 1 centred on a local hour."""
    return math.exp(-0.5 * ((hour - centre) / width) ** 2)


def _season(local_date: date) -> float:
    """+1 in mid-winter, -1 in mid-summer (northern hemisphere), smooth over the year."""
    return math.cos(2 * math.pi * (local_date.timetuple().tm_yday - 15) / 365.25)


def _household_kw(hour: float, local_date: date) -> float:
    weekend = local_date.weekday() >= 5
    morning = 0.55 * _bump(hour, 9.0 if weekend else 7.5, 1.1)
    evening = 1.0 * _bump(hour, 18.5, 1.6)
    daytime = (0.25 if weekend else 0.1) * _bump(hour, 13.0, 2.5)
    seasonal = 1.0 + 0.15 * _season(local_date)
    return (0.13 + morning + evening + daytime) * seasonal


def _business_kw(hour: float, local_date: date) -> float:
    base = 1.4
    if local_date.weekday() >= 5:
        return base
    # A smooth step up at 08:00 and down at 18:00: lights, computers, HVAC.
    opening = 1 / (1 + math.exp(-(hour - 8.0) * 3)) - 1 / (1 + math.exp(-(hour - 18.0) * 3))
    return base + (6.5 + 1.5 * _season(local_date)) * opening


def _solar_kw(solar_hour: float, local_date: date) -> float:
    season = _season(local_date)
    day_length = 12.2 - 4.3 * season  # London: ~7.9 h at midwinter, ~16.5 h at midsummer
    sunrise = 12.0 - day_length / 2
    if not sunrise < solar_hour < sunrise + day_length:
        return 0.0
    peak = 3.6 * (0.6 - 0.4 * season)  # a 4 kWp roof: ~0.7 kW peak in winter, ~3.6 kW in summer
    elevation = math.sin(math.pi * (solar_hour - sunrise) / day_length)
    return peak * elevation * math.sqrt(elevation)  # sin^1.5: a bell narrower than a sine


def _gas_kw(hour: float, local_date: date) -> float:
    heating = max(0.0, 0.2 + 0.8 * _season(local_date))  # off in high summer
    boiler = 5.0 * heating * (_bump(hour, 7.0, 1.2) + 0.8 * _bump(hour, 19.0, 2.2))
    hot_water = 0.6 * (_bump(hour, 7.5, 0.8) + _bump(hour, 21.0, 1.0))
    return 0.05 + boiler + hot_water


@lru_cache(maxsize=4096)  # every series of a profile shares its shape on a given day
def mean_powers(
    profile: str, local_date: date, tz: str, interval_seconds: int
) -> tuple[float, ...]:
    """Mean power in kW over each interval of a local day (at its midpoint) for a profile."""
    grid = day_grid(local_date, tz, interval_seconds)
    if profile == "solar":
        # The sun ignores clock changes: the bell sits on standard time.
        return tuple(_solar_kw(hour - grid.dst_hours, local_date) for hour in grid.hours)
    shapes = {"household": _household_kw, "business": _business_kw, "gas": _gas_kw}
    try:
        shape = shapes[profile]
    except KeyError:
        raise ValueError(f"unknown load profile {profile!r}; use one of {PROFILES}") from None
    return tuple(shape(hour, local_date) for hour in grid.hours)


def noisy_powers(profile: str, means: Sequence[float], rng: random.Random) -> list[float]:
    """One day's actual mean powers (kW): the shape with per-series, per-interval noise.

    Never negative; exactly zero where the shape is zero (solar at night) and, for gas, where
    the boiler happens to be off for a whole interval.
    """
    if profile == "solar":
        clouds = 0.25 + 0.75 * rng.random()  # one weather draw per day
        return [kw * clouds * (0.75 + 0.25 * rng.random()) for kw in means]
    if profile == "gas":
        level = 0.7 + 0.6 * rng.random()
        return [0.0 if rng.random() < 0.15 else kw * level * (0.5 + rng.random()) for kw in means]
    if profile == "business":
        level = 0.9 + 0.2 * rng.random()
        return [kw * level * (0.85 + 0.3 * rng.random()) for kw in means]
    level = 0.8 + 0.4 * rng.random()
    # Households add appliance spikes (kettle, oven, washing machine) on top of the shape.
    return [
        kw * level * (0.55 + 0.9 * rng.random()) + (1.5 if rng.random() < 0.03 else 0.0)
        for kw in means
    ]
