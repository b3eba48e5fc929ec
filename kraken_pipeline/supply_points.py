"""The supply point model and the loader/validator of the supply points CSV.

A supply point is one metered series: a meter point on a Kraken property, read in one direction
at one frequency. The CSV is validated whole before anything runs.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from kraken_pipeline.market_ids import Market, market_id_problem, mpan_check_digit_is_valid

__all__ = ["Market", "mpan_check_digit_is_valid"]  # re-exported: callers validate GB ids too

CSV_COLUMNS = (
    "supply_point_id",
    "property_id",
    "utility",
    "market_supply_point_id",
    "device_id",
    "reading_direction",
    "reading_frequency",
)
REQUIRED_COLUMNS = CSV_COLUMNS[:4]

# Interval lengths of the ReadingFrequencyType values this pipeline can check for completeness.
# RAW_INTERVAL and the aggregate frequencies have no fixed grid, so they are refused up front.
INTERVAL_SECONDS = {
    "FIVE_MIN_INTERVAL": 300,
    "FIFTEEN_MIN_INTERVAL": 900,
    "THIRTY_MIN_INTERVAL": 1800,
    "HOUR_INTERVAL": 3600,
}
DEFAULT_READING_FREQUENCY = "THIRTY_MIN_INTERVAL"

_SUPPLY_POINT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_PROPERTY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DEVICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")


class Utility(StrEnum):
    """The commodity a supply point meters."""

    ELECTRICITY = "electricity"
    GAS = "gas"


class ReadingDirection(StrEnum):
    """Import (consumption) or export (generation) of electricity."""

    CONSUMPTION = "CONSUMPTION"
    GENERATION = "GENERATION"


class SupplyPointsError(ValueError):
    """The supply points file cannot be used; the message names the file, line and fix."""


@dataclass(frozen=True, slots=True)
class SupplyPoint:
    """One series to fetch: a meter point of a property, in one direction, at one frequency."""

    supply_point_id: str
    property_id: str
    utility: Utility
    market_supply_point_id: str
    device_id: str | None = None
    reading_direction: ReadingDirection | None = None
    reading_frequency: str = DEFAULT_READING_FREQUENCY

    @property
    def interval_seconds(self) -> int:
        """Length of one interval of this series, in seconds."""
        return INTERVAL_SECONDS[self.reading_frequency]


def load_supply_points(path: str | Path, market: Market = Market.GB) -> tuple[SupplyPoint, ...]:
    """Read and validate a supply points CSV; raise SupplyPointsError naming every bad line.

    `market` decides which market supply point ids are valid (see market_ids.py).
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return parse_supply_points(handle, source=str(path), market=market)
    except FileNotFoundError:
        raise SupplyPointsError(
            f"supply points file {path} does not exist: set KRAKEN_SUPPLY_POINTS to a CSV with "
            f"columns {','.join(CSV_COLUMNS)}"
        ) from None
    except UnicodeDecodeError as exc:
        raise SupplyPointsError(
            f"{path} is not UTF-8 text ({exc.reason}): save it as UTF-8 CSV"
        ) from None


def parse_supply_points(
    lines: Iterable[str], source: str = "<csv>", market: Market = Market.GB
) -> tuple[SupplyPoint, ...]:
    """Parse CSV text into supply points; every problem is reported, not only the first."""
    reader = csv.DictReader(lines)
    _check_header(reader.fieldnames, source)
    problems: list[str] = []
    points: list[SupplyPoint] = []
    first_line_of: dict[str, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            try:
                point = _parse_row(row, market)
            except ValueError as exc:
                problems.append(f"{source} line {line}: {exc}")
                continue
            if point.supply_point_id in first_line_of:
                problems.append(
                    f"{source} line {line}: supply_point_id {point.supply_point_id!r} repeats "
                    f"line {first_line_of[point.supply_point_id]}; ids must be unique"
                )
                continue
            first_line_of[point.supply_point_id] = line
            points.append(point)
    except csv.Error as exc:
        problems.append(f"{source} line {reader.line_num}: malformed CSV ({exc})")
    if problems:
        shown = problems[:20]
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise SupplyPointsError("\n".join(shown) + more)
    if not points:
        raise SupplyPointsError(f"{source} lists no supply points: add at least one row")
    return tuple(points)


def _check_header(fieldnames: Sequence[str] | None, source: str) -> None:
    names = [name.strip() for name in fieldnames or ()]
    missing = [column for column in REQUIRED_COLUMNS if column not in names]
    unknown = [name for name in names if name not in CSV_COLUMNS]
    if missing or unknown:
        detail = []
        if missing:
            detail.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            detail.append(f"unknown column(s) {', '.join(repr(u) for u in unknown)}")
        raise SupplyPointsError(
            f"{source}: {'; '.join(detail)}. The header must be: {','.join(CSV_COLUMNS)}"
        )


def _field(row: dict[str | None, str | list[str] | None], name: str) -> str:
    value = row.get(name)
    return value.strip() if isinstance(value, str) else ""


def _parse_row(row: dict[str | None, str | list[str] | None], market: Market) -> SupplyPoint:
    if row.get(None):
        raise ValueError("more fields than columns; quote values that contain commas")
    supply_point_id = _field(row, "supply_point_id")
    _require(_SUPPLY_POINT_ID, supply_point_id, "supply_point_id", "letters, digits, . _ : -")
    property_id = _field(row, "property_id")
    _require(_PROPERTY_ID, property_id, "property_id", "the Kraken property id")
    utility_text = _field(row, "utility").lower()
    if utility_text not in {u.value for u in Utility}:
        raise ValueError(f"utility {utility_text!r} is unknown; use electricity or gas")
    utility = Utility(utility_text)
    market_id = _field(row, "market_supply_point_id")
    if not market_id:
        raise ValueError("market_supply_point_id is empty")
    problem = market_id_problem(market, utility.value, market_id)
    if problem is not None:
        raise ValueError(f"{problem} (market {market}; set KRAKEN_MARKET if that is wrong)")
    device_id = _field(row, "device_id") or None
    if device_id is not None:
        _require(_DEVICE_ID, device_id, "device_id", "e.g. 12-AB-34-CD-56-EF-78-GH")
    direction = _parse_direction(utility, _field(row, "reading_direction"))
    frequency = _field(row, "reading_frequency").upper() or DEFAULT_READING_FREQUENCY
    if frequency not in INTERVAL_SECONDS:
        raise ValueError(
            f"reading_frequency {frequency!r} is not supported; use one of "
            f"{', '.join(INTERVAL_SECONDS)}"
        )
    return SupplyPoint(
        supply_point_id=supply_point_id,
        property_id=property_id,
        utility=utility,
        market_supply_point_id=market_id,
        device_id=device_id,
        reading_direction=direction,
        reading_frequency=frequency,
    )


def _require(pattern: re.Pattern[str], value: str, column: str, expected: str) -> None:
    if not value:
        raise ValueError(f"{column} is empty")
    if not pattern.fullmatch(value):
        raise ValueError(f"{column} {value[:80]!r} is not valid ({expected})")


def _parse_direction(utility: Utility, text: str) -> ReadingDirection | None:
    text = text.upper()
    if utility is Utility.GAS:
        if text:
            raise ValueError(f"reading_direction {text!r} is given for gas; leave it empty")
        return None
    if not text:
        return ReadingDirection.CONSUMPTION
    if text not in {d.value for d in ReadingDirection}:
        raise ValueError(f"reading_direction {text!r} is unknown; use CONSUMPTION or GENERATION")
    return ReadingDirection(text)
