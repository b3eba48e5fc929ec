"""Request costs are measured from rateLimitInfo once per request shape, not taken from a model.

Kraken publishes no complexity formula; a tenant where pagination arguments weigh (the
strict-complexity profile) charges far more per node than the field count suggests.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from kraken_pipeline.emulator import Emulator
from kraken_pipeline.emulator.profiles import profile_overrides
from kraken_pipeline.kraken import KrakenClient
from kraken_pipeline.kraken.limits import describe
from kraken_pipeline.kraken.points import Baseline, points_spent
from kraken_pipeline.kraken.ratelimit import PointsAllowance
from kraken_pipeline_tests.support.kraken_client import DEMO_POINTS, assert_matches_emulator, window

MakeClient = Callable[..., KrakenClient]
ONE_DAY = window(date(2026, 11, 1))
REFILL = datetime(2026, 11, 20, 13, tzinfo=UTC)


def measured(store: Path) -> dict[str, float]:
    (entry,) = json.loads(store.read_text()).values()
    points: dict[str, float] = entry["points_per_node"]
    return points


def fetch_once(emulator: Emulator, make_client: MakeClient, store: Path) -> KrakenClient:
    client = make_client(emulator, points_per_hour=None, learned_limits_path=str(store))
    result = client.fetch_measurements(DEMO_POINTS, *ONE_DAY)
    assert_matches_emulator(emulator, result, *ONE_DAY)
    return client


def test_the_points_a_node_costs_are_measured_and_kept_for_later_runs(
    emulator: Emulator, make_client: MakeClient, tmp_path: Path
) -> None:
    store = tmp_path / "limits.json"

    fetch_once(emulator, make_client, store)
    requests_after_first = emulator.stats.requests["graphql"]
    fetch_once(emulator, make_client, store)

    (cost,) = measured(store).values()
    assert cost > 0
    assert "points per node" in describe(store)[0]
    assert "per alias" in describe(store)[0]
    # The second client reads the cost from the store: no rateLimitInfo readings around its fetch.
    assert emulator.stats.requests["graphql"] - requests_after_first < requests_after_first


def test_a_tenant_where_pagination_weighs_is_measured_as_dearer_per_node(
    emulator: Emulator,
    start_emulator: Callable[..., Emulator],
    make_client: MakeClient,
    tmp_path: Path,
) -> None:
    weighty = start_emulator(**profile_overrides("strict-complexity"))

    fetch_once(emulator, make_client, tmp_path / "lenient.json")
    # The first fetch learns the shape this tenant allows; a fetch of that shape is measured.
    fetch_once(weighty, make_client, tmp_path / "weighty.json")
    fetch_once(weighty, make_client, tmp_path / "weighty.json")

    (lenient,) = measured(tmp_path / "lenient.json").values()
    (dearer,) = measured(tmp_path / "weighty.json").values()
    assert dearer > lenient


def reading(used: int, refill_at: datetime = REFILL) -> Callable[[], PointsAllowance]:
    return lambda: PointsAllowance(300_000, 300_000 - used, used, refill_at, blocked=False)


def test_the_spend_is_the_difference_less_one_readings_own_cost() -> None:
    baseline = Baseline(used=1_000, reading_cost=7, window=REFILL)
    assert points_spent(baseline, reading(1_507)) == 500


def test_readings_across_a_refill_or_that_went_backwards_are_not_taken_for_a_cost() -> None:
    baseline = Baseline(used=1_000, reading_cost=7, window=REFILL)
    later_window = datetime(2026, 11, 20, 14, tzinfo=UTC)
    assert points_spent(baseline, reading(1_507, later_window)) is None
    assert points_spent(baseline, reading(900)) is None
