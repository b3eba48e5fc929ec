"""The supply points CSV is validated whole, and every problem names its line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from kraken_pipeline.supply_points import (
    CSV_COLUMNS,
    ReadingDirection,
    SupplyPointsError,
    Utility,
    load_supply_points,
    mpan_check_digit_is_valid,
)

HEADER = ",".join(CSV_COLUMNS)
GOOD_ROW = "house,1000001,electricity,1200012345679,12-AB-34-CD-56-EF-78-01,CONSUMPTION,"


def write_csv(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "supply_points.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_example_file_loads_with_every_kind_of_series() -> None:
    points = load_supply_points("data/supply_points.example.csv")

    assert {p.utility for p in points} == {Utility.ELECTRICITY, Utility.GAS}
    assert ReadingDirection.GENERATION in {p.reading_direction for p in points}
    assert {p.interval_seconds for p in points} == {900, 1800}
    assert all(p.reading_direction is None for p in points if p.utility is Utility.GAS)


def test_a_valid_row_becomes_a_typed_supply_point_with_defaults(tmp_path: Path) -> None:
    path = write_csv(tmp_path, HEADER, GOOD_ROW)

    (point,) = load_supply_points(path)

    assert point.supply_point_id == "house"
    assert point.utility is Utility.ELECTRICITY
    assert point.reading_direction is ReadingDirection.CONSUMPTION
    assert point.reading_frequency == "THIRTY_MIN_INTERVAL"


def test_mpan_check_digit_accepts_correct_and_rejects_altered_cores() -> None:
    assert mpan_check_digit_is_valid("1200012345679")
    assert not mpan_check_digit_is_valid("1200012345670")
    assert not mpan_check_digit_is_valid("120001234567")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("house,1000001,water,1200012345679,,,", "utility 'water' is unknown"),
        ("house,1000001,electricity,1200012345670,,,", "not a valid MPAN core"),
        ("house,1000001,gas,12345,,,", "not an MPRN"),
        ("house,1000001,gas,7654321,,CONSUMPTION,", "is given for gas"),
        ("house,1000001,electricity,1200012345679,,SIDEWAYS,", "reading_direction 'SIDEWAYS'"),
        ("house,1000001,electricity,1200012345679,,,DAILY", "reading_frequency 'DAILY'"),
        ("../../etc,1000001,electricity,1200012345679,,,", "supply_point_id '../../etc'"),
        ("x'; DROP TABLE m;--,1,electricity,1200012345679,,,", "is not valid"),
        (",1000001,electricity,1200012345679,,,", "supply_point_id is empty"),
    ],
)
def test_a_bad_row_is_refused_with_its_line_and_reason(
    tmp_path: Path, row: str, message: str
) -> None:
    path = write_csv(tmp_path, HEADER, GOOD_ROW.replace("house", "other"), row)

    with pytest.raises(SupplyPointsError, match="line 3") as raised:
        load_supply_points(path)

    assert message in str(raised.value)


def test_a_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    path = write_csv(tmp_path, HEADER, GOOD_ROW, GOOD_ROW)

    with pytest.raises(SupplyPointsError, match=r"line 3: .*'house' repeats line 2"):
        load_supply_points(path)


def test_a_missing_column_is_named_with_the_expected_header(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "supply_point_id,property_id,utility", "a,1,gas")

    with pytest.raises(SupplyPointsError, match=r"missing column.*market_supply_point_id"):
        load_supply_points(path)


def test_every_bad_line_is_reported_not_only_the_first(tmp_path: Path) -> None:
    bad = "x,1,water,1,,,"
    path = write_csv(tmp_path, HEADER, bad, bad.replace("x", "y"))

    with pytest.raises(SupplyPointsError) as raised:
        load_supply_points(path)

    assert "line 2" in str(raised.value)
    assert "line 3" in str(raised.value)


def test_a_missing_file_says_which_variable_to_set(tmp_path: Path) -> None:
    with pytest.raises(SupplyPointsError, match="KRAKEN_SUPPLY_POINTS"):
        load_supply_points(tmp_path / "nope.csv")


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SupplyPointsError, match="lists no supply points"):
        load_supply_points(write_csv(tmp_path, HEADER))


def test_thirty_thousand_rows_load(tmp_path: Path) -> None:
    rows = [f"sp-{n},{n % 3000},gas,{1000000 + n},,," for n in range(30_000)]

    points = load_supply_points(write_csv(tmp_path, HEADER, *rows))

    assert len(points) == 30_000
