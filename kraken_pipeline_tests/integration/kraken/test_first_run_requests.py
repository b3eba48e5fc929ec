"""An application's first run sends its measurement requests and the refusals that teach it the
tenant's limits, nothing more: no rateLimitInfo of its own before or after a short fetch. A later
run sends exactly the requests its learned shape plans and meets no refusal, on every profile.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from kraken_pipeline.emulator import Emulator
from kraken_pipeline.emulator.profiles import PROFILES, profile_overrides
from kraken_pipeline.kraken import KrakenClient
from kraken_pipeline.kraken.limits import LimitsStore, application_key
from kraken_pipeline.kraken.planning import plan_requests
from kraken_pipeline.kraken.queries import RATE_LIMIT_COMPLEXITY
from kraken_pipeline_tests.support.kraken_client import DEMO_POINTS, assert_matches_emulator, window

MakeClient = Callable[..., KrakenClient]
WEEK = window(date(2026, 11, 1), date(2026, 11, 7))
LIMIT_CODES = {"KT-CT-1188", "KT-CT-1189", "KT-CT-1203"}
# Refusals a first run may meet: aliases halved 7 -> 3 -> 1, then the page once, then the
# aliases that the smaller page let grow back halved once more.
MOST_REFUSALS = 4


def planned(client: KrakenClient, store: Path) -> int:
    """Requests the client's settings and what its application learned plan for the week."""
    settings = client.settings
    learned = LimitsStore(str(store), application_key(settings.api_url, settings.client_id))
    limits = learned.current()
    return len(
        plan_requests(
            DEMO_POINTS,
            *WEEK,
            page_size=min(settings.page_size, limits.page_size or settings.page_size),
            properties_per_request=min(
                settings.properties_per_request,
                limits.aliases_per_request or settings.properties_per_request,
            ),
            reserve_in_first=RATE_LIMIT_COMPLEXITY,
        )
    )


def fetch(emulator: Emulator, make_client: MakeClient, store: Path) -> tuple[int, int, int]:
    """GraphQL requests, refused answers and the requests planned with what was learned."""
    client = make_client(emulator, points_per_hour=None, learned_limits_path=str(store))
    requests, errors = emulator.stats.requests.get("graphql", 0), emulator.stats.errors
    result = client.fetch_measurements(DEMO_POINTS, *WEEK)
    assert_matches_emulator(emulator, result, *WEEK)
    refused = {code: n - errors.get(code, 0) for code, n in emulator.stats.errors.items()}
    assert {code for code, n in refused.items() if n} <= LIMIT_CODES
    made = emulator.stats.requests["graphql"] - requests
    return made, sum(refused.values()), planned(client, store)


@pytest.mark.parametrize("profile", [name for name in PROFILES if name != "graphene-400"])
def test_a_first_run_sends_its_requests_and_its_refusals_only_and_a_later_run_no_refusal(
    profile: str, start_emulator: Callable[..., Emulator], make_client: MakeClient, tmp_path: Path
) -> None:
    emulator = start_emulator(**profile_overrides(profile))
    store = tmp_path / "limits.json"

    first, refused, shape = fetch(emulator, make_client, store)
    later, refused_later, _ = fetch(emulator, make_client, store)

    assert refused <= MOST_REFUSALS
    assert (refused == 0) == (profile == "lenient")
    # Each refusal shrank the shape; the aliases it refused were then sent again, smaller.
    assert shape <= first - refused <= shape + refused
    assert later == shape
    assert refused_later == 0


def test_a_first_run_on_the_lenient_profile_is_exactly_its_planned_requests(
    emulator: Emulator, make_client: MakeClient, tmp_path: Path
) -> None:
    first, refused, shape = fetch(emulator, make_client, tmp_path / "limits.json")

    assert (first, refused) == (shape, 0)
    assert emulator.stats.tokens_minted == 1
