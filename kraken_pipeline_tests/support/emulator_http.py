"""The emulator's fixed clock and the shape of a GraphQL call to it, for the emulator's tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import requests

# Where the `emulator` fixture's clock stands until a test moves it.
EMULATOR_NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# graphql(query, variables, headers=...): a POST to the emulator (the `graphql` fixture).
GraphQLCall = Callable[..., requests.Response]
