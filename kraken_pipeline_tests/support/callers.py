"""One GraphQL caller of the client, wired as KrakenClient wires it, for tests of single calls."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator
from kraken_pipeline.kraken import KrakenSettings
from kraken_pipeline.kraken.auth import TokenProvider
from kraken_pipeline.kraken.graphql import GraphQLAnswer, GraphQLCaller
from kraken_pipeline.kraken.queries import RATE_LIMIT_INFO
from kraken_pipeline.kraken.retry import Deadline, RetryPolicy
from kraken_pipeline.kraken.transport import HttpTransport
from kraken_pipeline_tests.support.kraken_client import FakeClock


@dataclass
class Caller:
    """A caller, its token provider and transport, on the fake clock."""

    caller: GraphQLCaller
    tokens: TokenProvider
    transport: HttpTransport
    clock: FakeClock

    def ask(
        self, document: str = RATE_LIMIT_INFO, aliases: dict[str, str] | None = None
    ) -> GraphQLAnswer:
        """Run one document within a 10-minute deadline."""
        deadline = Deadline(600.0, self.clock.monotonic, "the test's call")
        return self.caller.execute(
            document, {}, operation="the test's call", deadline=deadline, aliases=aliases
        )


def demo_caller(emulator: Emulator, clock: FakeClock, **overrides: Any) -> Caller:
    """A caller with the demo credentials of `emulator`; settings may point elsewhere."""
    values: dict[str, Any] = {
        "client_id": DEMO_CLIENT_ID,
        "client_secret": SecretStr(DEMO_CLIENT_SECRET),
        "auth_url": emulator.token_url,
        "api_url": emulator.graphql_url,
    }
    values.update(overrides)
    settings = KrakenSettings(**values)
    transport = HttpTransport(settings, clock.now)
    tokens = TokenProvider(settings, transport, clock.now, clock.monotonic)
    policy = RetryPolicy(settings.max_attempts, clock.sleep, rng=random.Random(1))
    return Caller(GraphQLCaller(settings, transport, tokens, policy), tokens, transport, clock)
