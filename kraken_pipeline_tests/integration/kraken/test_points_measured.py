"""Request costs are measured from the rateLimitInfo the measurement answers carry, not taken
from a model, and measuring them never delays a fetch (points.py).

Kraken publishes no complexity formula; a tenant that refuses large pages charges far more per
node than the lenient one. Nor does it say whether a reading inside a request includes that
request's charge: the unit tests below play both orders.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from kraken_pipeline.emulator import Emulator
from kraken_pipeline.emulator.profiles import profile_overrides
from kraken_pipeline.kraken import KrakenClient
from kraken_pipeline.kraken.limits import describe
from kraken_pipeline.kraken.points import MIN_CERTAIN_SHARE, Sent, measurable, measure
from kraken_pipeline.kraken.ratelimit import PointsAllowance
from kraken_pipeline_tests.support.kraken_client import (
    DEMO_POINTS,
    assert_matches_emulator,
    planned_requests,
    window,
)

MakeClient = Callable[..., KrakenClient]
ONE_DAY = window(date(2026, 11, 1))
# One alias of 100 nodes a request, one request at a time: 16 requests, each with a reading.
LONG = window(date(2026, 11, 1), date(2026, 11, 4))
SEQUENTIAL: dict[str, Any] = {"concurrency": 1, "properties_per_request": 1, "page_size": 100}
REFILL = datetime(2026, 11, 20, 13, tzinfo=UTC)


def measured(store: Path) -> dict[str, float]:
    (entry,) = json.loads(store.read_text()).values()
    points: dict[str, float] = entry["points_per_alias"]
    return points


def fetch_once(
    emulator: Emulator,
    make_client: MakeClient,
    store: Path,
    span: tuple[datetime, datetime] = ONE_DAY,
    **settings: Any,
) -> tuple[KrakenClient, int]:
    """A fetch by a new client, and the GraphQL requests it made beyond the ones it planned."""
    client = make_client(emulator, points_per_hour=None, learned_limits_path=str(store), **settings)
    before = emulator.stats.requests.get("graphql", 0)
    result = client.fetch_measurements(DEMO_POINTS, *span)
    assert_matches_emulator(emulator, result, *span)
    made = emulator.stats.requests["graphql"] - before
    return client, made - len(planned_requests(client, DEMO_POINTS, *span))


def true_cost_per_alias(
    emulator: Emulator, make_client: MakeClient, fetch: Callable[[], int]
) -> float:
    """What the aliases of `fetch` (which returns how many it sent) cost, from quiet readings
    by another client of the same application around it."""
    reader = make_client(emulator, points_per_hour=None)
    first, second = reader.points_allowance(), reader.points_allowance()
    aliases = fetch()
    after = reader.points_allowance()
    reading = second.used - first.used
    return (after.used - second.used - reading) / aliases


def test_a_short_first_fetch_sends_only_its_measurement_requests_and_measures_nothing(
    emulator: Emulator, make_client: MakeClient, tmp_path: Path
) -> None:
    store = tmp_path / "limits.json"

    _client, extra = fetch_once(emulator, make_client, store)

    assert extra == 0  # no rateLimitInfo of its own, before or after
    assert emulator.stats.tokens_minted == 1
    assert not store.exists() or not measured(store)


def test_a_long_fetch_is_measured_from_its_own_answers_never_below_the_true_cost(
    emulator: Emulator, make_client: MakeClient, tmp_path: Path
) -> None:
    store = tmp_path / "limits.json"

    def fetch() -> int:
        client, extra = fetch_once(emulator, make_client, store, LONG, **SEQUENTIAL)
        assert extra == 1  # one reading after the last answer, nothing before the first
        return sum(map(len, planned_requests(client, DEMO_POINTS, *LONG)))

    true = true_cost_per_alias(emulator, make_client, fetch)

    ((shape, cost),) = measured(store).items()
    assert shape == "1x100"
    assert true <= cost <= true / MIN_CERTAIN_SHARE
    assert "points per node" in describe(store)[0]
    assert "per alias" in describe(store)[0]


def test_a_later_run_reads_the_measured_cost_and_sends_no_reading(
    emulator: Emulator, make_client: MakeClient, tmp_path: Path
) -> None:
    store = tmp_path / "limits.json"
    fetch_once(emulator, make_client, store, LONG, **SEQUENTIAL)
    learned = measured(store)

    _client, extra = fetch_once(emulator, make_client, store, LONG, **SEQUENTIAL)

    assert extra == 0
    assert measured(store) == learned


def test_a_tenant_that_refuses_large_pages_is_measured_as_dearer_per_node(
    emulator: Emulator,
    start_emulator: Callable[..., Emulator],
    make_client: MakeClient,
    tmp_path: Path,
) -> None:
    strict = start_emulator(**profile_overrides("strict-pages"))
    sixteen_days = window(date(2026, 11, 1), date(2026, 11, 16))
    settings = {**SEQUENTIAL, "page_size": 500}

    fetch_once(emulator, make_client, tmp_path / "lenient.json", sixteen_days, **settings)
    # A fetch that met a refusal is not measured; the next one, of the shape it learned, is.
    fetch_once(strict, make_client, tmp_path / "strict.json", sixteen_days, **settings)
    assert not measured(tmp_path / "strict.json")
    fetch_once(strict, make_client, tmp_path / "strict.json", sixteen_days, **settings)

    def per_node(store: Path) -> float:
        (entry,) = json.loads(store.read_text()).values()
        (points,) = entry["points_per_node"].values()
        return float(points)

    assert per_node(tmp_path / "strict.json") > 2 * per_node(tmp_path / "lenient.json")


# The unit side: sends and readings as a server would order them.


def allowance(used: int, refill_at: datetime = REFILL) -> PointsAllowance:
    return PointsAllowance(300_000, 300_000 - used, used, refill_at, blocked=False)


def played(
    intervals: list[tuple[float, float]], charged_first: bool, cost: int = 30, reading: int = 7
) -> tuple[list[Sent], PointsAllowance]:
    """Requests of one alias each, on the wire over (sent, answered); the server charges and
    reads each at the middle of its interval, the charge first or the reading first. Every
    request carries a reading; the last reading is asked alone after every answer."""
    used = 1_000
    events = sorted((sent + answered) / 2 for sent, answered in intervals)
    readings: dict[float, int] = {}
    for moment in events:
        if charged_first:
            used += cost + reading
        readings[moment] = used
        if not charged_first:
            used += cost + reading
    sends = [
        Sent(sent, answered, 1, 100, allowance(readings[(sent + answered) / 2]))
        for sent, answered in intervals
    ]
    end = used + reading if charged_first else used
    return sends, allowance(end)


def pool(requests: int, concurrency: int) -> list[tuple[float, float]]:
    """Requests `concurrency` at a time, each round answered in order a little apart."""
    return [
        (float(i // concurrency), i // concurrency + 1 - 0.01 * (concurrency - i % concurrency))
        for i in range(requests)
    ]


@pytest.mark.parametrize("charged_first", [True, False], ids=["charge-then-read", "read-first"])
@pytest.mark.parametrize("concurrency", [1, 4])
def test_the_measured_cost_is_never_below_the_true_one_whatever_the_order(
    charged_first: bool, concurrency: int
) -> None:
    sends, end = played(pool(60, concurrency), charged_first)

    cost = measure(sends, concurrency, end)

    assert cost is not None
    assert 37 <= cost.per_alias <= 37 / MIN_CERTAIN_SHARE


def test_requests_that_overlapped_the_first_reading_are_not_counted_as_inside_it() -> None:
    # Four at a time: the first round overlaps the first answer, so only 56 of 60 are certain.
    sends, end = played(pool(60, 4), charged_first=True)

    cost = measure(sends, 4, end)

    assert cost is not None
    assert cost.nodes == 56 * 100


def test_a_fetch_too_short_to_pin_the_cost_down_is_not_measured() -> None:
    # Three rounds of four: a third of the requests overlap the first reading.
    sends, end = played(pool(12, 4), charged_first=True)

    assert not measurable(sends, 4)
    assert measure(sends, 4, end) is None


def test_a_fetch_of_few_rounds_is_not_measured_even_when_its_requests_went_one_by_one() -> None:
    # Twelve requests that happened to go one at a time would pin the cost down, but the
    # reading after them would be a round trip in twelve: not worth it.
    sends, end = played(pool(12, 1), charged_first=True)

    assert measure(sends, 1, end) is not None
    assert not measurable(sends, 4)


def test_readings_across_a_refill_or_that_went_backwards_are_not_taken_for_a_cost() -> None:
    sends, end = played(pool(20, 1), charged_first=True)
    later_window = datetime(2026, 11, 20, 14, tzinfo=UTC)

    assert measure(sends, 1, allowance(end.used, later_window)) is None
    assert measure(sends, 1, allowance(900)) is None


def test_a_fetch_without_any_reading_is_not_measured() -> None:
    sends = [Sent(float(i), i + 0.5, 1, 100, None) for i in range(20)]

    assert not measurable(sends, 1)
