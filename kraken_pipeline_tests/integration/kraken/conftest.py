"""The Kraken client tests' clients: the demo credentials, the fake `clock`, instant sleeps.

The emulators come from kraken_pipeline_tests/conftest.py: `emulator` serves the demo dataset
on a clock fixed at 2026-11-20T12:00Z, `start_emulator` starts others with other limits, grants
or latency. The fake clock starts at the same instant.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator
from kraken_pipeline.kraken import KrakenClient, KrakenSettings
from kraken_pipeline_tests.support.kraken_client import FakeClock


@pytest.fixture
def make_client(clock: FakeClock) -> Iterator[Callable[..., KrakenClient]]:
    """Clients of an emulator with the demo credentials, the fake clock and instant sleeps."""
    clients: list[KrakenClient] = []

    def make(emulator: Emulator, **overrides: Any) -> KrakenClient:
        values: dict[str, Any] = {
            "client_id": DEMO_CLIENT_ID,
            "client_secret": SecretStr(DEMO_CLIENT_SECRET),
            "auth_url": emulator.token_url,
            "api_url": emulator.graphql_url,
            "points_per_hour": 300_000,  # no rateLimitInfo call unless a test asks for it
        }
        values.update(overrides)
        client = KrakenClient(
            KrakenSettings(**values),
            now=clock.now,
            monotonic=clock.monotonic,
            sleep=clock.sleep,
            rng=random.Random(3),
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
