"""KrakenClient: the one object the pipeline uses to talk to a Kraken.

It owns the HTTP session, the token provider, the page size and the points budget for its
lifetime, so a process that keeps one client keeps one rate budget (DESIGN.md decision 7).
Time is injected (now, monotonic, sleep) so tests can make retries instant and move the clock.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

from kraken_pipeline.kraken.auth import TokenProvider
from kraken_pipeline.kraken.errors import KrakenError, ResponseFormatError
from kraken_pipeline.kraken.graphql import GraphQLCaller
from kraken_pipeline.kraken.limits import LimitsStore, application_key
from kraken_pipeline.kraken.measurements import Fetched, MeasurementsFetcher
from kraken_pipeline.kraken.planning import MAX_COMPLEXITY
from kraken_pipeline.kraken.points import measurable, measure
from kraken_pipeline.kraken.progress import (
    FetchOutcome,
    MeasurementsResult,
    RequestShape,
    TargetProgress,
)
from kraken_pipeline.kraken.queries import (
    RATE_LIMIT_FIELD,
    RATE_LIMIT_INFO,
    THIRD_PARTY_VIEWER,
    THIRD_PARTY_VIEWER_NAME,
)
from kraken_pipeline.kraken.ratelimit import (
    WINDOW_SECONDS,
    PointsAllowance,
    PointsBucket,
    allowance_from_graphql,
    provisional_bucket,
)
from kraken_pipeline.kraken.retry import Deadline, RetryPolicy, call_with_retries
from kraken_pipeline.kraken.settings import KrakenSettings
from kraken_pipeline.kraken.transport import HttpTransport
from kraken_pipeline.supply_points import SupplyPoint

log = logging.getLogger(__name__)

# Small calls (viewer, rate limit, a token) get their own short deadline.
SMALL_CALL_DEADLINE = 120.0


def utc_now() -> datetime:
    """The current instant, UTC-aware."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Viewer:
    """Who the OAuth application is to Kraken, and what its role may do."""

    name: str
    permissions: tuple[str, ...] | None  # None: not asked (older schemas lack the field)


class KrakenClient:
    """Reads measurements and viewer facts from one Kraken; safe to share between threads."""

    def __init__(
        self,
        settings: KrakenSettings,
        *,
        now: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._now = now
        self._monotonic = monotonic
        self._sleep = sleep
        jitter = rng or random.Random()  # noqa: S311 - spreads retries, guards no secret
        self._policy = RetryPolicy(settings.max_attempts, sleep, rng=jitter)
        self._transport = HttpTransport(settings, now)
        self._tokens = TokenProvider(settings, self._transport, now, monotonic)
        self._caller = GraphQLCaller(settings, self._transport, self._tokens, self._policy)
        self._limits = LimitsStore(
            settings.learned_limits_path, application_key(settings.api_url, settings.client_id)
        )
        shape = RequestShape(settings.page_size, settings.properties_per_request, self._limits)
        self._shape = shape
        self._fetcher = MeasurementsFetcher(settings, self._caller, shape)
        self._bucket: PointsBucket | None = None
        self._bucket_lock = threading.Lock()

    def __repr__(self) -> str:
        settings = self.settings
        return f"KrakenClient(client_id={settings.client_id!r}, api_url={settings.api_url!r})"

    def fetch_measurements(
        self, supply_points: Sequence[SupplyPoint], start: datetime, end: datetime
    ) -> MeasurementsResult:
        """Measurements of the supply points over [start, end), with one outcome per point."""
        _check_window(start, end)
        _check_unique(supply_points)
        calls_before = self._transport.calls()
        deadline = Deadline(
            self.settings.deadline_seconds, self._monotonic, "fetching measurements"
        )
        bucket = self._points_bucket()
        measuring = self._shape.key()
        fetched = self._fetcher.fetch(supply_points, start, end, deadline, bucket)
        if self._unmeasured(measuring) and self._shape.key() == measuring:
            self._record_cost(measuring, bucket, fetched)
        rows = fetched.rows
        outcomes = _outcomes(supply_points, fetched, rows.rows_per_supply_point())
        failed = sum(not outcome.ok for outcome in outcomes)
        log.info(
            "fetched %d rows of %d supply points (%d failed) from %s to %s",
            rows.num_rows,
            len(outcomes),
            failed,
            start.isoformat(),
            end.isoformat(),
        )
        return MeasurementsResult(
            rows, outcomes, self._transport.calls() - calls_before, self._now()
        )

    def _unmeasured(self, shape: str) -> bool:
        """Whether this request shape's cost is still to be measured: only where the budget
        follows Kraken's own readings (no points_per_hour configured)."""
        known = shape in self._limits.current().points_per_node
        return self.settings.points_per_hour is None and not known

    def _record_cost(self, shape: str, bucket: PointsBucket, fetched: Fetched) -> None:
        """Measure the shape from the readings the fetch's answers carried and one reading now,
        asked only when they can pin the cost down (points.py): a short fetch costs nothing."""
        concurrency = self.settings.concurrency
        if not measurable(fetched.sent, concurrency):
            return
        try:
            end = self._observed_allowance(bucket)
        except KrakenError as exc:
            log.info("rateLimitInfo could not be read (%s); the cost stays unmeasured", exc.code)
            return
        cost = measure(fetched.sent, concurrency, end)
        if cost is None:
            return
        log.info(
            "requests of shape %s cost %d points for %d nodes (measured)",
            shape,
            cost.points,
            cost.nodes,
        )
        self._limits.measured(shape, cost.per_node, cost.per_alias)

    def third_party_viewer(self, *, with_permissions: bool = True) -> Viewer:
        """The application's name and, `with_permissions`, its permissions (thirdPartyViewer)."""
        deadline = Deadline(SMALL_CALL_DEADLINE, self._monotonic, "reading thirdPartyViewer")
        document = THIRD_PARTY_VIEWER if with_permissions else THIRD_PARTY_VIEWER_NAME
        answer = self._caller.execute(document, {}, operation="thirdPartyViewer", deadline=deadline)
        viewer = answer.data.get("thirdPartyViewer")
        if not isinstance(viewer, dict):
            raise ResponseFormatError("thirdPartyViewer answered null", code="no data")
        name = str(viewer.get("name") or "")
        listed = viewer.get("permissions") if with_permissions else None
        if not isinstance(listed, list):
            return Viewer(name, None)  # not asked, or answered null: not reported
        permissions = tuple(
            str(item["permission"])
            for item in listed
            if isinstance(item, dict) and item.get("permission")
        )
        return Viewer(name, permissions)

    def _observed_allowance(self, bucket: PointsBucket) -> PointsAllowance:
        """rateLimitInfo, also handed to the budget, which then knows what is left."""
        allowance = self.points_allowance()
        if bucket.follows_readings:
            bucket.observe(allowance, self._now())
        return allowance

    def points_allowance(self) -> PointsAllowance:
        """The hourly points allowance and what is left of it (rateLimitInfo)."""
        deadline = Deadline(SMALL_CALL_DEADLINE, self._monotonic, "reading rateLimitInfo")
        answer = self._caller.execute(
            RATE_LIMIT_INFO, {}, operation="rateLimitInfo", deadline=deadline
        )
        allowance = allowance_from_graphql(answer.data.get(RATE_LIMIT_FIELD))
        if allowance is None:
            raise ResponseFormatError("rateLimitInfo answered no points allowance", code="no data")
        return allowance

    def token_expires_at(self) -> datetime:
        """When the current access token expires; mints one first if there is none."""
        deadline = Deadline(SMALL_CALL_DEADLINE, self._monotonic, "minting a token")
        token = call_with_retries(self._tokens.token, self._policy, deadline, "minting a token")
        return token.expires_at

    @property
    def http_requests(self) -> Counter[str]:
        """HTTP requests sent by this client so far, per endpoint ("token", "graphql")."""
        return Counter(
            token=self._transport.calls("token"), graphql=self._transport.calls("graphql")
        )

    def close(self) -> None:
        """Release the HTTP connections."""
        self._transport.close()

    def __enter__(self) -> KrakenClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _points_bucket(self) -> PointsBucket:
        with self._bucket_lock:
            if self._bucket is None:
                self._bucket = self._new_bucket()
            return self._bucket

    def _new_bucket(self) -> PointsBucket:
        """The points budget: the configured allowance, else Kraken's figures as the first
        measurement answers report them (rateLimitInfo rides along, see ratelimit.py)."""
        per_hour = self.settings.points_per_hour
        if per_hour is not None:
            return PointsBucket(per_hour, per_hour, WINDOW_SECONDS, self._monotonic, self._sleep)
        return provisional_bucket(
            self.settings.concurrency, MAX_COMPLEXITY, self._monotonic, self._sleep
        )


def _check_window(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes (local midnights with an offset)")
    if end <= start:
        raise ValueError(
            f"the window end {end.isoformat()} is not after its start {start.isoformat()}"
        )


def _check_unique(points: Sequence[SupplyPoint]) -> None:
    seen: set[str] = set()
    for point in points:
        if point.supply_point_id in seen:
            raise ValueError(f"supply_point_id {point.supply_point_id!r} is listed twice")
        seen.add(point.supply_point_id)


def _outcomes(
    points: Sequence[SupplyPoint], fetched: Fetched, rows: dict[str, int]
) -> tuple[FetchOutcome, ...]:
    by_point: dict[str, list[TargetProgress]] = {}
    for state in sorted(fetched.progress, key=lambda s: s.target.start):
        for point in state.target.supply_points:
            by_point.setdefault(point.supply_point_id, []).append(state)
    outcomes = []
    for point in points:
        key = point.supply_point_id
        states = by_point.get(key, [])
        error = next((s.error for s in states if s.error is not None), None)
        error = error or fetched.conflicts.get(key)
        outcomes.append(
            FetchOutcome(
                supply_point_id=key,
                ok=error is None,
                rows=rows.get(key, 0),
                pages=sum(s.pages for s in states),
                requests=len(set().union(*(s.requests for s in states))),
                error_code=error.code if error else None,
                error_message=error.message if error else None,
                nodes_outside_window=sum(s.outside_window for s in states),
                nodes_unmatched=sum(s.unmatched for s in states),
                duplicates_folded=fetched.folded.get(key, 0),
                values_rounded=fetched.rounded.get(key, 0),
            )
        )
    return tuple(outcomes)
