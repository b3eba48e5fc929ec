"""The Emulator: a local Kraken (auth server + GraphQL API) serving on a loopback port."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from types import TracebackType

from kraken_pipeline.emulator.clock import EmulatorClock
from kraken_pipeline.emulator.config import EmulatorConfig
from kraken_pipeline.emulator.dataset import Reading
from kraken_pipeline.emulator.faults import FaultPlan
from kraken_pipeline.emulator.measurements import ReadingsCache
from kraken_pipeline.emulator.ratelimit import PointsAllowance
from kraken_pipeline.emulator.resolvers import load_schema
from kraken_pipeline.emulator.server import GRAPHQL_PATH, TOKEN_PATH, EmulatorHTTPServer
from kraken_pipeline.emulator.state import EmulatorState, series_by_property
from kraken_pipeline.emulator.stats import Stats
from kraken_pipeline.emulator.tls import server_context
from kraken_pipeline.emulator.tokens import TokenIssuer

# How often the serving loop checks for stop(): short, so a test's teardown is quick.
_POLL_SECONDS = 0.02


class Emulator:
    """A running local Kraken; a context manager that starts on enter and stops on exit.

    Tests script it in Python (`faults`, `stats`, `set_clock`, `expire_tokens`) or, from another
    process, through the JSON control API under `base_url + "/_emulator/"` (see control.py).
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.clock = EmulatorClock(self.config.clock)
        self.stats = Stats()
        self.faults = FaultPlan(self.config.fault_seed, on_fire=self.stats.count_fault)
        self._state = EmulatorState(
            config=self.config,
            clock=self.clock,
            tokens=TokenIssuer(
                self.config.clients,
                self.config.token_lifetime,
                self.clock,
                self.config.token_expiry_skew,
            ),
            faults=self.faults,
            stats=self.stats,
            allowance=PointsAllowance(
                self.config.points_allowance_per_hour, self.config.rate_limit_window
            ),
            readings=ReadingsCache(self.config.dataset),
            schema=load_schema(self.config.viewer_reports_permissions),
            properties=series_by_property(self.config.dataset.series),
        )
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind the port and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        tls = self.config.tls
        context = server_context(*tls) if tls is not None else None
        server = EmulatorHTTPServer((self.config.host, self.config.port), self._state, context)
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name="kraken-emulator",
            daemon=True,
        )
        self._server = server
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close every connection; safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port it listens on (the free port chosen when configured with 0)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """http://host:port, or https:// when the emulator serves TLS."""
        scheme = "https" if self.config.tls is not None else "http"
        return f"{scheme}://{self.config.host}:{self.port}"

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    @property
    def graphql_url(self) -> str:
        return self.base_url + GRAPHQL_PATH

    def now(self) -> datetime:
        """The emulator's current time."""
        return self.clock.now()

    def set_clock(self, now: datetime) -> None:
        """Make the emulator's clock read `now`: tokens, publication and rate limits follow."""
        self.clock.set(now)

    def advance_clock(self, delta: timedelta) -> None:
        """Move the emulator's clock forward by `delta`."""
        self.clock.advance(delta)

    def expire_tokens(self) -> None:
        """Every token issued so far answers KT-CT-1124 from now on."""
        self._state.tokens.expire_all()

    def minted_tokens(self) -> tuple[str, ...]:
        """The access tokens issued so far, oldest first (the latest 1,000), for leak tests."""
        return self._state.tokens.minted()

    def reset(self) -> None:
        """Disarm faults, zero the counters and refill every points allowance."""
        self._state.reset()

    def expected_readings(
        self,
        property_id: str,
        market_supply_point_id: str,
        reading_direction: str | None,
        reading_frequency: str,
        start: datetime,
        end: datetime,
    ) -> list[Reading]:
        """Ground truth for tests: what the API serves for a series and window right now."""
        dataset = self.config.dataset
        for utility in ("electricity", "gas"):
            spec = dataset.find(
                property_id, utility, market_supply_point_id, reading_direction, reading_frequency
            )
            if spec is not None:
                return dataset.readings(spec, start, end, self.clock.now())
        raise KeyError(f"no series {market_supply_point_id} on property {property_id}")
