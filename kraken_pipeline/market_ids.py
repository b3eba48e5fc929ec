"""Market supply point ids of every Kraken market, and the market a deployment is in.

Where a market publishes its id format (and a check digit) it is validated; where none is
published the id is accepted as given, letters and digits only.
"""

from __future__ import annotations

import re
from enum import StrEnum

MARKET_VARIABLE = "KRAKEN_MARKET"
_OPAQUE_ID = re.compile(r"[A-Za-z0-9]{1,64}")
_MPAN_CHECK_WEIGHTS = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)
_MELO_ID = re.compile(r"DE[0-9]{11}[0-9A-Z]{20}")
_SPIN = re.compile(r"[0-9]{22}")
_CUPS = re.compile(r"ES([0-9]{16})([A-Z]{2})([0-9][A-Z])?")
_CUPS_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_PRM = re.compile(r"[0-9]{14}")
_PCE = re.compile(r"[0-9]{14}|GI[0-9]{6}")
_ICP = re.compile(r"[0-9]{10}[A-Z]{2}[0-9A-Z]{3}")
_NMI = re.compile(r"[0-9A-HJ-NP-Z]{10}([0-9])?")
_ESI_ID = re.compile(r"[0-9]{17,22}")


class Market(StrEnum):
    """A Kraken market, by its country code; it decides which ids are valid."""

    GB = "GB"
    DE = "DE"
    JP = "JP"
    ES = "ES"
    FR = "FR"
    NZ = "NZ"
    AU = "AU"
    US = "US"
    OTHER = "OTHER"


# The tenant time zone tells the market when KRAKEN_MARKET is not set.
_MARKET_OF_ZONE = {
    "Europe/London": Market.GB,
    "Europe/Berlin": Market.DE,
    "Asia/Tokyo": Market.JP,
    "Europe/Madrid": Market.ES,
    "Europe/Paris": Market.FR,
    "Pacific/Auckland": Market.NZ,
}
_MARKET_OF_ZONE_PREFIX = {"Australia/": Market.AU, "America/": Market.US}


def market_of(name: str | None, timezone: str) -> Market:
    """The market named (any case), else the one of the tenant time zone, else OTHER.

    Raises ValueError naming the value and the accepted names when the name is unknown.
    """
    if name and name.strip():
        text = name.strip().upper()
        if text not in Market.__members__:
            raise ValueError(
                f"{MARKET_VARIABLE}={name!r} is not a market: use one of {', '.join(Market)}"
            )
        return Market(text)
    if timezone in _MARKET_OF_ZONE:
        return _MARKET_OF_ZONE[timezone]
    prefix = next((p for p in _MARKET_OF_ZONE_PREFIX if timezone.startswith(p)), None)
    return _MARKET_OF_ZONE_PREFIX[prefix] if prefix else Market.OTHER


def market_id_problem(market: Market, utility: str, market_id: str) -> str | None:
    """Why a market supply point id is not valid in a market for a utility, or None if it is."""
    if not _OPAQUE_ID.fullmatch(market_id):
        return f"market_supply_point_id {market_id[:80]!r} is not valid (letters and digits only)"
    expected = _EXPECTED[market](utility, market_id)
    if expected is None:
        return None
    return f"market_supply_point_id {market_id!r} is not {expected}"


def mpan_check_digit_is_valid(mpan_core: str) -> bool:
    """Whether a 13-digit MPAN core carries the check digit the GB algorithm gives."""
    if len(mpan_core) != 13 or not mpan_core.isdigit():
        return False
    weighted = sum(int(d) * w for d, w in zip(mpan_core[:12], _MPAN_CHECK_WEIGHTS, strict=True))
    return weighted % 11 % 10 == int(mpan_core[12])


def malo_check_digit(first_ten: str) -> int:
    """The BDEW check digit of a MaLo-ID's first ten digits."""
    odd = sum(int(d) for d in first_ten[0::2])
    even = sum(int(d) for d in first_ten[1::2])
    return (10 - (odd + 2 * even) % 10) % 10


def cups_control_letters(sixteen_digits: str) -> str:
    """The two control letters of a CUPS: its 16 digits modulo 529, in base 23 letters."""
    high, low = divmod(int(sixteen_digits) % 529, 23)
    return _CUPS_LETTERS[high] + _CUPS_LETTERS[low]


def nmi_checksum(nmi: str) -> int:
    """AEMO's checksum digit of a 10-character NMI (or MIRN): a Luhn sum over character codes."""
    total = 0
    for position, character in enumerate(reversed(nmi)):
        code = ord(character) * (2 if position % 2 == 0 else 1)
        total += sum(int(digit) for digit in str(code))
    return (10 - total % 10) % 10


def _gb(utility: str, market_id: str) -> str | None:
    if utility == "electricity":
        if mpan_check_digit_is_valid(market_id):
            return None
        return "a valid MPAN core (13 digits with a correct check digit)"
    if market_id.isdigit() and 6 <= len(market_id) <= 10:
        return None
    return "an MPRN (6 to 10 digits)"


def _de(_utility: str, market_id: str) -> str | None:
    if len(market_id) == 11 and market_id.isdigit():
        if malo_check_digit(market_id[:10]) == int(market_id[10]):
            return None
        return "a valid MaLo-ID (its last digit is not the BDEW check digit)"
    if _MELO_ID.fullmatch(market_id):
        return None
    return "a MaLo-ID (11 digits) or a MeLo-ID (DE + 31 digits or capital letters)"


def _jp(utility: str, market_id: str) -> str | None:
    # No check digit is published for a SPIN, and no gas id format: gas ids are taken as given.
    if utility != "electricity" or _SPIN.fullmatch(market_id):
        return None
    return "a SPIN (22 digits)"


def _es(_utility: str, market_id: str) -> str | None:
    match = _CUPS.fullmatch(market_id)
    if match is None:
        return "a CUPS (ES, 16 digits, 2 control letters, optionally 2 more characters)"
    if cups_control_letters(match[1]) != match[2]:
        return f"a valid CUPS (its control letters should be {cups_control_letters(match[1])})"
    return None


def _fr(utility: str, market_id: str) -> str | None:
    if utility == "electricity":
        return None if _PRM.fullmatch(market_id) else "a PRM (14 digits)"
    return None if _PCE.fullmatch(market_id) else "a PCE (14 digits, or GI and 6 digits)"


def _nz(_utility: str, market_id: str) -> str | None:
    # The 3 check characters are the registry's algorithm: not recomputed here.
    if _ICP.fullmatch(market_id):
        return None
    return "an ICP (10 digits, 2 capital letters, 3 check characters)"


def _au(utility: str, market_id: str) -> str | None:
    name = "an NMI" if utility == "electricity" else "a MIRN"
    match = _NMI.fullmatch(market_id)
    if match is None:
        return f"{name} (10 digits or capital letters other than I and O, optional checksum)"
    checksum = nmi_checksum(market_id[:10])
    if match[1] is not None and checksum != int(match[1]):
        return f"{name} with a valid checksum (the 11th digit should be {checksum})"
    return None


def _us(utility: str, market_id: str) -> str | None:
    if utility != "electricity" or _ESI_ID.fullmatch(market_id):
        return None
    return "an ESI ID (17 to 22 digits)"


def _other(_utility: str, _market_id: str) -> str | None:
    return None


_EXPECTED = {
    Market.GB: _gb,
    Market.DE: _de,
    Market.JP: _jp,
    Market.ES: _es,
    Market.FR: _fr,
    Market.NZ: _nz,
    Market.AU: _au,
    Market.US: _us,
    Market.OTHER: _other,
}
