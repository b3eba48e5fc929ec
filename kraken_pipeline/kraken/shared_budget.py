"""One points budget in Redis for every process that spends the same OAuth application's allowance.

Kraken counts points per viewer, not per process: three runs that each keep their own
PointsBucket each start with provisional points and each believe the remaining points of the
last answer they saw, so together they overdraw a small allowance and meet KT-CT-1199. This
bucket keeps PointsBucket's rules (ratelimit.py) but holds its state in one Redis hash, changed
only by Lua scripts, which Redis runs one at a time: a reservation, a settlement and the
adoption of a rateLimitInfo reading are atomic across processes and machines.

- Keys are named by a hash of the client id and the API URL (never the secret), so the
  applications and Krakens sharing one Redis do not share budgets.
- Time is Redis's own clock (TIME) unless a clock is injected (tests): processes on machines
  whose clocks disagree still roll the window at the same instant.
- Reservations in flight are kept with a lease, so a process killed mid-request stops holding
  its points once the lease ends instead of shrinking every later reading for good.
- Kraken documents no cap on concurrent requests, so none is kept here; what bounds concurrency
  across processes is the Dagster pool `kraken_api` times each process's `concurrency`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis

from kraken_pipeline.kraken.errors import FatalError, RetryableError
from kraken_pipeline.kraken.ratelimit import (
    DEFAULT_POINTS_PER_HOUR,
    WINDOW_SECONDS,
    BudgetStart,
    PointsAllowance,
    wait_for_refill,
)
from kraken_pipeline.kraken.retry import Deadline
from kraken_pipeline.kraken.settings import KrakenSettings, rate_budget_address
from kraken_pipeline.kraken.shared_budget_scripts import AVAILABLE, SETTLE, TAKE

log = logging.getLogger(__name__)


VARIABLE = "KRAKEN_RATE_BUDGET_URL"
KEY_PREFIX = "kraken-pipeline:points"
# A budget nobody touched for two windows is forgotten; the next process starts it afresh.
KEY_LIFETIME_SECONDS = int(2 * WINDOW_SECONDS)
# How often a process asks whether another one has brought the first reading.
READING_POLL_SECONDS = 0.05
# A reservation also covers the wait for a transport slot and a token: twice the request's own
# timeouts, and half a minute more, before it counts as abandoned.
LEASE_SLACK_SECONDS = 30.0
REDIS_TIMEOUT_SECONDS = 5.0

# A value handed to a Lua script.
Argument = str | int | float


class RateBudgetUnavailableError(FatalError):
    """The shared budget's Redis does not answer; the message names KRAKEN_RATE_BUDGET_URL."""


class SharedPointsBucket:
    """PointsBucket's contract (take, settle, observe, available) with its state in Redis."""

    def __init__(
        self,
        store: redis.Redis,
        namespace: str,
        start: BudgetStart,
        *,
        address: str,
        lease_seconds: float,
        sleep: Callable[[float], None],
        now: Callable[[], datetime],
        clock: Callable[[], float] | None = None,
    ) -> None:
        """`now` is the clock that stamps answers (received_at); `clock`, the budget's own time
        in Unix seconds, is Redis's unless given."""
        self._store = store
        # The braces are a Redis Cluster hash tag: both keys in one slot, as a script needs.
        self._keys = [f"{KEY_PREFIX}:{{{namespace}}}", f"{KEY_PREFIX}:{{{namespace}}}:in-flight"]
        self._start = start
        self._address = address
        self._lease = lease_seconds
        self._sleep = sleep
        self._now = now
        self._clock = clock
        self._scripts = {
            name: store.register_script(source)
            for name, source in (("take", TAKE), ("settle", SETTLE), ("available", AVAILABLE))
        }
        # Reservations by points, oldest first: settle() names only the points, and any
        # reservation of the same size stands for another.
        self._held: dict[int, list[str]] = {}
        self._held_lock = threading.Lock()

    @property
    def follows_readings(self) -> bool:
        """Whether the budget learns the allowance from rateLimitInfo readings."""
        return self._start.follows_readings

    def take(self, points: int, deadline: Deadline) -> None:
        """Reserve `points` for every process at once, waiting for a reading or the refill."""
        reservation = f"{uuid.uuid4().hex}:{points}"
        while True:
            verdict = self._run("take", points, reservation, self._lease, DEFAULT_POINTS_PER_HOUR)
            if verdict[0] in ("taken", "assumed"):
                if verdict[0] == "assumed":
                    log.info(
                        "no answer has said what is left of the points allowance; assuming "
                        "Kraken's published %d points an hour",
                        DEFAULT_POINTS_PER_HOUR,
                    )
                with self._held_lock:
                    self._held.setdefault(points, []).append(reservation)
                return
            if verdict[0] == "reading":
                if deadline.remaining() <= 0:
                    raise deadline.exceeded("waiting for the first answer to say what is left")
                self._sleep(min(READING_POLL_SECONDS, deadline.remaining()))
                continue
            wait_for_refill(
                f"the hourly points allowance shared through {VARIABLE}",
                float(verdict[1]),
                deadline,
                self._sleep,
            )

    def settle(
        self, points: int, allowance: PointsAllowance | None, received_at: datetime | None
    ) -> None:
        """A request that reserved `points` is over; its answer may say what is left.

        Never raises for Redis trouble: the answer matters more than the bookkeeping, and an
        unsettled reservation ends with its lease.
        """
        with self._held_lock:
            held = self._held.get(points) or [""]
            reservation = held.pop(0)
        reading: tuple[Argument, ...] = ("0", "", "", "", "")
        if allowance is not None and received_at is not None:
            # From now, not from the answer: it may have waited while others were decoded.
            refill_in = WINDOW_SECONDS - (self._now() - received_at).total_seconds()
            if allowance.refill_at is not None:
                refill_in = (allowance.refill_at - self._now()).total_seconds()
            blocked = "1" if allowance.blocked else "0"
            reading = ("1", allowance.limit, allowance.remaining, blocked, refill_in)
        try:
            self._run("settle", reservation, *reading)
        except RetryableError as exc:
            log.warning("%s; the reservation ends with its lease", exc.message)

    def observe(self, allowance: PointsAllowance, received_at: datetime) -> None:
        """A reading from an answer that reserved nothing (rateLimitInfo asked alone)."""
        self.settle(0, allowance, received_at)

    def available(self) -> int:
        """Points left in the current window, for every process together."""
        return int(self._run("available"))

    def close(self) -> None:
        """Release the connections to Redis."""
        self._store.close()

    def _run(self, script: str, *arguments: Argument) -> Any:
        """The reply of a script: a list of strings (take) or a string."""
        now = "" if self._clock is None else f"{self._clock():.3f}"
        start = self._start
        common: list[Argument] = [
            now,
            start.points_per_hour,
            start.available,
            start.refill_in,
            int(not start.follows_readings),
            KEY_LIFETIME_SECONDS,
        ]
        try:
            result = self._scripts[script](keys=self._keys, args=[*common, *arguments])
        except redis.RedisError as exc:
            raise RetryableError(
                f"the shared points budget ({VARIABLE}) at {self._address} failed: "
                f"{type(exc).__name__}",
                code="rate budget",
            ) from None
        return result


def budget_namespace(client_id: str, api_url: str) -> str:
    """The part of the key names that tells one application on one Kraken from the others."""
    return hashlib.sha256(f"{client_id}\n{api_url}".encode()).hexdigest()[:24]


def open_shared_bucket(
    settings: KrakenSettings,
    start: BudgetStart,
    sleep: Callable[[float], None],
    now: Callable[[], datetime],
    clock: Callable[[], float] | None = None,
) -> SharedPointsBucket:
    """Connect to the budget's Redis (settings.rate_budget_url) and check that it answers.

    `now` stamps the answers (received_at); `clock` is the budget's time, Redis's unless given.
    """
    if settings.rate_budget_url is None:
        raise ValueError("settings.rate_budget_url is not set")
    url = settings.rate_budget_url.get_secret_value()
    address = rate_budget_address(url)
    store = redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    try:
        store.ping()
    except redis.RedisError as exc:
        store.close()
        raise RateBudgetUnavailableError(
            f"the shared points budget at {address} ({VARIABLE}) does not answer "
            f"({type(exc).__name__}): start Redis there or correct {VARIABLE}; unset it to "
            "give each process its own budget",
            code="rate budget",
        ) from None
    lease = 2 * (settings.connect_timeout + settings.read_timeout) + LEASE_SLACK_SECONDS
    namespace = budget_namespace(settings.client_id, settings.api_url)
    return SharedPointsBucket(
        store,
        namespace,
        start,
        address=address,
        lease_seconds=lease,
        sleep=sleep,
        now=now,
        clock=clock,
    )
