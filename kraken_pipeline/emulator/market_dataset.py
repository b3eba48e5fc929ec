"""Synthetic datasets of a tenant outside GB: its time zone, its market's ids, its frequency.

So the pipeline can be run end to end against each market as its operators would.
"""

from __future__ import annotations

from dataclasses import replace

from kraken_pipeline.emulator.dataset import Dataset, DatasetConfig, SeriesSpec
from kraken_pipeline.market_ids import (
    Market,
    cups_control_letters,
    malo_check_digit,
    market_of,
    mpan_check_digit_is_valid,
    nmi_checksum,
)

# (utility, direction, profile, unit) of the series of one synthetic property, in order.
_SITE = (
    ("electricity", "CONSUMPTION", "household", "kWh"),
    ("electricity", "CONSUMPTION", "business", "kWh"),
    ("electricity", "GENERATION", "solar", "kWh"),
    ("gas", None, "gas", "kWh"),
)


def market_dataset(
    timezone: str,
    reading_frequency: str = "FIFTEEN_MIN_INTERVAL",
    *,
    properties: int = 1,
    config: DatasetConfig | None = None,
) -> Dataset:
    """Four series per property (two imports, an export, gas) of the market of `timezone`.

    Ids are valid in that market (Europe/Berlin: MaLo-IDs; Asia/Tokyo: SPINs; America/*:
    ESI IDs; ...); every series reads at `reading_frequency`, without gaps or estimates.
    """
    base = config or DatasetConfig()
    dataset_config = replace(base, timezone=timezone, estimate_share=0.0)
    market = market_of(None, timezone)
    series = [
        _series(market, site, slot, reading_frequency)
        for site in range(properties)
        for slot in range(len(_SITE))
    ]
    return Dataset(series, dataset_config)


def _series(market: Market, site: int, slot: int, reading_frequency: str) -> SeriesSpec:
    utility, direction, profile, unit = _SITE[slot]
    index = site * len(_SITE) + slot
    market_id = market_supply_point_id(market, utility, index)
    device = f"{market}-{site:04d}-{slot:02d}"
    return SeriesSpec(
        property_id=f"{market.lower()}-{4_000_000 + site}",
        utility=utility,  # type: ignore[arg-type]
        market_supply_point_id=market_id,
        device_id=device,
        reading_direction=direction,  # type: ignore[arg-type]
        reading_frequency=reading_frequency,
        profile=profile,
        unit=unit,
        supply_point_id=f"{market.lower()}-{utility[:4]}-{index:04d}",
    )


def market_supply_point_id(market: Market, utility: str, index: int) -> str:
    """The `index`-th made-up id of a market for a utility, valid by that market's rules."""
    serial = f"{index:09d}"
    if market is Market.GB:
        if utility == "gas":
            return f"5{serial}"
        cores = (f"15{serial}0{digit}" for digit in range(10))
        return next(core for core in cores if mpan_check_digit_is_valid(core))
    if market is Market.DE:
        first_ten = f"5{serial}"
        return f"{first_ten}{malo_check_digit(first_ten)}"
    if market is Market.JP:
        return f"0300{serial:0>18}"
    if market is Market.ES:
        digits = f"0021{serial:0>12}"
        return f"ES{digits}{cups_control_letters(digits)}"
    if market is Market.NZ:
        return f"0{serial}NV4F2"
    if market is Market.AU:
        nmi = f"4{serial}"
        return f"{nmi}{nmi_checksum(nmi)}"
    if market is Market.US:
        return f"10443720{serial}"
    return f"1{serial}{'0' * 4}"  # FR: a 14-digit PRM / PCE; OTHER: any id
