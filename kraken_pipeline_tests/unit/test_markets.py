"""Supply point ids of every Kraken market: each market's rules, and the market a deployment is in.

Check digits are tested against worked examples published with their algorithms (BDEW for the
MaLo-ID, AEMO for the NMI), not only against this code's own arithmetic.
"""

from __future__ import annotations

import pytest

from kraken_pipeline.market_ids import (
    Market,
    cups_control_letters,
    malo_check_digit,
    market_id_problem,
    market_of,
    nmi_checksum,
)
from kraken_pipeline.settings import PipelineSettings, SettingsError
from kraken_pipeline.supply_points import CSV_COLUMNS, SupplyPointsError, parse_supply_points

HEADER = ",".join(CSV_COLUMNS)
MELO = "DE00014545768S0000000000000003054"
CUPS = f"ES0021000000000001{cups_control_letters('0021000000000001')}"

VALID = [
    (Market.GB, "electricity", "1200012345679"),
    (Market.GB, "gas", "7654321"),
    (Market.DE, "electricity", "41373559241"),
    (Market.DE, "gas", "41373559241"),
    (Market.DE, "electricity", MELO),
    (Market.JP, "electricity", "0300111234567890123456"),
    (Market.JP, "gas", "G12345"),
    (Market.ES, "electricity", CUPS),
    (Market.ES, "gas", CUPS + "0F"),
    (Market.FR, "electricity", "12345678901234"),
    (Market.FR, "gas", "GI123456"),
    (Market.FR, "gas", "21451234567890"),
    (Market.NZ, "electricity", "0000012345NV4F2"),
    (Market.AU, "electricity", "2001985732"),
    (Market.AU, "electricity", "20019857328"),
    (Market.AU, "gas", "5310000000"),
    (Market.US, "electricity", "10443720000000001"),
    (Market.US, "electricity", "1008901023800000000000"),
    (Market.OTHER, "electricity", "IT001E12345678"),
]

INVALID = [
    (Market.GB, "electricity", "1200012345670", "not a valid MPAN core"),
    (Market.GB, "electricity", "41373559241", "not a valid MPAN core"),
    (Market.GB, "gas", "12345", "not an MPRN (6 to 10 digits)"),
    (Market.DE, "electricity", "41373559242", "not a valid MaLo-ID"),
    (Market.DE, "electricity", "1200012345679", "not a MaLo-ID (11 digits) or a MeLo-ID"),
    (Market.DE, "electricity", MELO[:-1], "not a MaLo-ID (11 digits) or a MeLo-ID"),
    (Market.JP, "electricity", "030011123456789012345", "not a SPIN (22 digits)"),
    (Market.ES, "electricity", CUPS[:-2] + "AA", "its control letters should be"),
    (Market.ES, "electricity", "ES00210000000000", "not a CUPS"),
    (Market.FR, "electricity", "1234567890123", "not a PRM (14 digits)"),
    (Market.FR, "gas", "GI12345", "not a PCE"),
    (Market.NZ, "electricity", "000001234NV4F2", "not an ICP"),
    (Market.AU, "electricity", "20019857327", "the 11th digit should be 8"),
    (Market.AU, "electricity", "200198573O", "not an NMI"),
    (Market.US, "electricity", "1044372000000000", "not an ESI ID (17 to 22 digits)"),
    (Market.OTHER, "electricity", "IT-001", "letters and digits only"),
]


@pytest.mark.parametrize(("market", "utility", "market_id"), VALID)
def test_each_market_accepts_its_own_documented_ids(
    market: Market, utility: str, market_id: str
) -> None:
    assert market_id_problem(market, utility, market_id) is None


@pytest.mark.parametrize(("market", "utility", "market_id", "named"), INVALID)
def test_each_market_refuses_ids_outside_its_rules_saying_what_is_expected(
    market: Market, utility: str, market_id: str, named: str
) -> None:
    problem = market_id_problem(market, utility, market_id)

    assert problem is not None
    assert named in problem
    assert repr(market_id) in problem


def test_check_digits_match_the_worked_examples_published_with_their_algorithms() -> None:
    assert malo_check_digit("4137355924") == 1  # BDEW, Anwendungshilfe MaLo-ID
    assert nmi_checksum("2001985732") == 8  # AEMO, NMI procedure
    assert nmi_checksum("QAAAVZZZZZ") == 3
    # 0021000000000001 mod 529 = 44 = 1 * 23 + 21: letters 1 and 21 of TRWAG...CKE.
    assert cups_control_letters("0021000000000001") == "RK"


def test_a_german_csv_loads_under_the_german_market_and_is_refused_under_gb() -> None:
    rows = [HEADER, "berlin-1,P1,electricity,41373559241,,,FIFTEEN_MIN_INTERVAL"]

    (point,) = parse_supply_points(rows, market=Market.DE)

    assert point.market_supply_point_id == "41373559241"
    with pytest.raises(SupplyPointsError, match=r"line 2: .*not a valid MPAN core.*KRAKEN_MARKET"):
        parse_supply_points(rows)


def test_every_bad_line_of_a_foreign_market_csv_is_named_with_what_to_fix() -> None:
    rows = [
        HEADER,
        f"madrid-ok,P1,electricity,{CUPS},,,",
        f"madrid-bad,P2,electricity,{CUPS[:-2]}AA,,,",
        "madrid-short,P3,gas,ES0021,,,",
    ]

    with pytest.raises(SupplyPointsError) as refused:
        parse_supply_points(rows, source="es.csv", market=Market.ES)

    lines = str(refused.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("es.csv line 3: ")
    assert "control letters should be" in lines[0]
    assert lines[1].startswith("es.csv line 4: ")
    assert "not a CUPS" in lines[1]


@pytest.mark.parametrize(
    ("timezone", "market"),
    [
        ("Europe/London", Market.GB),
        ("Europe/Berlin", Market.DE),
        ("Asia/Tokyo", Market.JP),
        ("Europe/Madrid", Market.ES),
        ("Europe/Paris", Market.FR),
        ("Pacific/Auckland", Market.NZ),
        ("Australia/Sydney", Market.AU),
        ("Australia/Perth", Market.AU),
        ("America/Chicago", Market.US),
        ("Europe/Rome", Market.OTHER),
    ],
)
def test_without_kraken_market_the_tenant_time_zone_decides_the_market(
    timezone: str, market: Market
) -> None:
    settings = PipelineSettings.from_environ({"KRAKEN_TIMEZONE": timezone})

    assert settings.market is market


def test_kraken_market_overrides_the_time_zone_and_defaults_to_gb() -> None:
    assert PipelineSettings.from_environ({}).market is Market.GB
    chosen = {"KRAKEN_TIMEZONE": "Europe/Berlin", "KRAKEN_MARKET": "es"}
    assert PipelineSettings.from_environ(chosen).market is Market.ES
    assert market_of(" other ", "Europe/London") is Market.OTHER


def test_an_unknown_kraken_market_is_refused_naming_the_value_and_the_choices() -> None:
    with pytest.raises(SettingsError, match=r"KRAKEN_MARKET='XX' is not a market: use one of GB"):
        PipelineSettings.from_environ({"KRAKEN_MARKET": "XX"})
