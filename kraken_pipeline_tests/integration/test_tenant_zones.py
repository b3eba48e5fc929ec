"""Whole local days of Krakens outside GB, clock changes included, landed by the real job.

Berlin and Chicago read quarter-hours (96 a day; 92 and 100 on the clock changes), Tokyo has no
daylight saving (48 half-hours every day). Each tenant's ids are those of its market, which the
time zone chooses. Counts are written out, not derived with the code under test.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.compute as pc
import pytest

from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator
from kraken_pipeline.emulator.dataset import write_supply_points_csv
from kraken_pipeline.emulator.market_dataset import market_dataset
from kraken_pipeline.local_days import day_bounds, local_date_of
from kraken_pipeline.market_ids import Market, market_id_problem
from kraken_pipeline.supply_points import SupplyPointsError, load_supply_points
from kraken_pipeline_tests.support.pipeline import PipelineHarness

# zone, frequency, the market its ids follow, {day: intervals each series must have}
TENANTS = [
    (
        "Europe/Berlin",
        "FIFTEEN_MIN_INTERVAL",
        Market.DE,
        {date(2026, 3, 29): 92, date(2026, 3, 30): 96, date(2026, 10, 25): 100},
    ),
    (
        "Asia/Tokyo",
        "THIRTY_MIN_INTERVAL",
        Market.JP,
        {date(2026, 3, 29): 48, date(2026, 10, 25): 48, date(2026, 11, 1): 48},
    ),
    (
        "America/Chicago",
        "FIFTEEN_MIN_INTERVAL",
        Market.US,
        {date(2026, 3, 8): 92, date(2026, 3, 9): 96, date(2026, 11, 1): 100},
    ),
]


@pytest.fixture
def tenant_harness(
    start_emulator: Callable[..., Emulator], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str, str], PipelineHarness]:
    """tenant_harness(zone, frequency): the job against an emulator of that tenant's data."""
    monkeypatch.setenv("KRAKEN_CLIENT_ID", DEMO_CLIENT_ID)
    monkeypatch.setenv("KRAKEN_CLIENT_SECRET", DEMO_CLIENT_SECRET)

    def make(zone: str, frequency: str) -> PipelineHarness:
        dataset = market_dataset(zone, frequency)
        emulator = start_emulator(dataset=dataset)
        csv = write_supply_points_csv(dataset, tmp_path / "supply_points.csv")
        return PipelineHarness(
            emulator=emulator, root=tmp_path / "data", supply_points_csv=csv, timezone=zone
        )

    return make


@pytest.mark.slow
@pytest.mark.parametrize(("zone", "frequency", "market", "days"), TENANTS)
def test_every_local_day_of_the_tenant_lands_whole_with_its_own_interval_count(
    tenant_harness: Callable[[str, str], PipelineHarness],
    zone: str,
    frequency: str,
    market: Market,
    days: dict[date, int],
) -> None:
    harness = tenant_harness(zone, frequency)
    points = harness.supply_points()
    assert all(
        market_id_problem(market, p.utility.value, p.market_supply_point_id) is None for p in points
    )

    for day in days:
        outcome = harness.run(day, day)
        assert outcome.success, outcome.failure

    for day, intervals in days.items():
        table = harness.day(day)
        log = harness.fetch_log(day)
        assert log["status"].to_pylist() == ["ok"] * len(points)
        assert log["intervals_expected"].to_pylist() == [intervals] * len(points)
        for point in points:
            rows = table.filter(pc.equal(table["supply_point_id"], point.supply_point_id))
            assert rows.num_rows == intervals, (day, point.supply_point_id)
            starts = rows["interval_start"].to_pylist()
            assert len(set(starts)) == intervals
            assert {local_date_of(start, zone) for start in starts} == {day}
        assert pc.sum(log["rows"]).as_py() == pc.sum(log["intervals_expected"]).as_py()


@pytest.mark.parametrize(("zone", "frequency", "market", "days"), TENANTS)
def test_a_tenants_ids_are_refused_under_gb_rules_and_accepted_under_its_market(
    tmp_path: Path, zone: str, frequency: str, market: Market, days: dict[date, int]
) -> None:
    csv = write_supply_points_csv(market_dataset(zone, frequency), tmp_path / "points.csv")

    assert len(load_supply_points(csv, market)) == 4
    with pytest.raises(SupplyPointsError, match="market GB"):
        load_supply_points(csv, Market.GB)


def test_a_tokyo_tenant_serves_48_half_hours_on_every_day_of_a_year() -> None:
    dataset = market_dataset("Asia/Tokyo", "THIRTY_MIN_INTERVAL")
    [house, *_] = dataset.series

    later = datetime(2030, 1, 1, tzinfo=UTC)

    counts = {
        len(dataset.readings(house, *day_bounds(date(2026, month, 1), "Asia/Tokyo"), later))
        for month in range(1, 13)
    }

    assert counts == {48}
