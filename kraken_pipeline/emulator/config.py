"""What an emulator serves and how: its OAuth clients, limits, latency, data and clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kraken_pipeline.emulator.dataset import Dataset, demo_dataset

DEMO_CLIENT_ID = "kraken-pipeline-demo"
# Emulator-only credentials: printed by `kraken-pipeline emulator` so anyone can try the API.
DEMO_CLIENT_SECRET = "demo-secret-not-for-production"  # noqa: S105
CAN_VIEW_DETAILED_USAGE = "CAN_VIEW_DETAILED_USAGE"
CAN_QUERY_PROPERTY = "CAN_QUERY_PROPERTY"
VIEWER_PERMISSIONS = frozenset({CAN_VIEW_DETAILED_USAGE, CAN_QUERY_PROPERTY})


@dataclass(frozen=True)
class ClientGrant:
    """An OAuth application the emulator's auth server knows, with what it may read."""

    client_id: str
    client_secret: str = field(repr=False)
    name: str
    permissions: frozenset[str] = VIEWER_PERMISSIONS
    property_ids: frozenset[str] | None = None  # None: every property of the dataset

    def may_read(self, property_id: str) -> bool:
        """Whether the grant covers a property (permissions are checked separately)."""
        return self.property_ids is None or property_id in self.property_ids


DEMO_GRANT = ClientGrant(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, "kraken-pipeline demo")


def wall_clock() -> datetime:
    """The current UTC time; the default clock of an emulator run by hand."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything an Emulator needs; every default matches a documented Kraken limit."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port chosen by the operating system
    token_lifetime: timedelta = timedelta(hours=1)
    latency: timedelta = timedelta(0)  # added to every answer, without holding any lock
    max_page_size: int = 1000  # `first`/`last` above it: a VALIDATION error
    max_complexity: int = 200  # KT-CT-1188 above it; see complexity.py for the rule
    max_nodes: int = 10_000  # KT-CT-1189 above it
    points_allowance_per_hour: int = 300_000  # per rate_limit_window; KT-CT-1199 once used up
    # Kraken's allowance is hourly. A shorter window (with an allowance scaled down with it) lets
    # a benchmark see the allowance refill several times in minutes; `ttl` follows it.
    rate_limit_window: timedelta = timedelta(hours=1)
    clients: tuple[ClientGrant, ...] = (DEMO_GRANT,)
    dataset: Dataset = field(default_factory=demo_dataset)
    clock: Callable[[], datetime] = wall_clock  # tokens, publication lag and rate limits
    fault_seed: int = 0  # seeds the probability of probabilistic faults
    # Serve a repeated, clean GraphQL answer without rendering it again (admission, limits and
    # faults still apply); for benchmarks, so the emulator's CPU is not what they measure.
    cache_answers: bool = False
    # (certificate chain file, private key file), PEM: serve HTTPS instead of plain HTTP, as a
    # real Kraken does, so tests can prove the client verifies certificates (see tls.py).
    tls: tuple[str | Path, str | Path] | None = None
    # The HTTP status of an answer whose errors all lack a `path` (validation, complexity, node
    # count, page size): 200 as before, or 400 as graphene-django (and so Kraken) answers them.
    pathless_error_status: int = 200
    # Shifts the `exp` claim and `expires_in` of every token minted (negative: already past)
    # while the API keeps accepting each token for token_lifetime, as a skewed clock would.
    token_expiry_skew: timedelta = timedelta(0)
    # False: serve an older schema whose thirdPartyViewer has `name` but no `permissions` field.
    viewer_reports_permissions: bool = True
    # Limit profiles (profiles.py). Complexity points per requested node, added to the
    # selection's complexity, so that pagination arguments weigh (0: they do not).
    complexity_per_node: float = 0.0
    # Set: a `first` above max_page_size is refused before execution with this code (e.g.
    # KT-CT-1203), errorType VALIDATION and inputPath ["first"], instead of a plain VALIDATION.
    page_size_error_code: str | None = None

    def client(self, client_id: str) -> ClientGrant | None:
        """The grant of a client id, if the emulator knows it."""
        return next((grant for grant in self.clients if grant.client_id == client_id), None)
