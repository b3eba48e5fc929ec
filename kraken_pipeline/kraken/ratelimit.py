"""A budget of Kraken points: the process stays inside its hourly allowance (decision 7).

Kraken counts points per viewer per hour and answers KT-CT-1199 once they are spent; some of its
limits tighten after repeated breaches, so finding the limit by hitting it is costly. The budget
follows what rateLimitInfo says remains and refills whole at the instant it gives (`ttl`), then
every hour. A request reserves its cost (the query's complexity) before it is sent; a request
the budget cannot cover waits for the refill, or fails at once if the refill comes after the
deadline. Waiting for the refill is right whether Kraken's window is fixed or sliding: by then
everything charged before has expired either way. A KT-CT-1199 that comes anyway (another
process spending the same allowance, a per-field limit) is retried with a hard backoff.

Unless the allowance is configured, rateLimitInfo is read from the measurement answers
themselves (one more root field), not by a call of its own that every fetch would wait for.
Until the first answer says what is left, the budget assumes only a small provisional amount:
two rounds of the worker pool at the largest cost a request may have, a few per cent of the
smallest allowance Kraken publishes. After a KT-CT-1199 the caller asks rateLimitInfo alone
(Kraken answers it even to a blocked viewer), so the budget waits for the refill it reports.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kraken_pipeline.kraken.retry import Deadline

log = logging.getLogger(__name__)

DEFAULT_POINTS_PER_HOUR = 300_000
WINDOW_SECONDS = 3600.0
PROVISIONAL_ROUNDS = 2
# Our clock and Kraken's need not agree to the millisecond: refills are awaited a second longer.
REFILL_MARGIN_SECONDS = 1.0
# Two readings whose refills lie this close together describe the same hourly window.
SAME_WINDOW_SECONDS = 5.0


@dataclass(frozen=True)
class PointsAllowance:
    """The viewer's hourly points allowance as rateLimitInfo reports it."""

    limit: int
    remaining: int
    used: int
    refill_at: datetime | None
    blocked: bool


def allowance_from_graphql(value: Any) -> PointsAllowance | None:
    """The allowance in a `rateLimitInfo` value, or None when it holds none."""
    info = value.get("pointsAllowanceRateLimit") if isinstance(value, dict) else None
    if not isinstance(info, dict) or not isinstance(info.get("limit"), int):
        return None
    ttl = info.get("ttl")
    return PointsAllowance(
        limit=info["limit"],
        remaining=int(info.get("remainingPoints") or 0),
        used=int(info.get("usedPoints") or 0),
        refill_at=datetime.fromtimestamp(ttl, UTC) if isinstance(ttl, int) else None,
        blocked=bool(info.get("isBlocked")),
    )


class PointsBucket:
    """Hands out points of an hourly allowance; callers it cannot serve sleep until the refill.

    A bucket that `follows_readings` starts with provisional points only; callers it cannot
    serve wait for the first reading (`observe`, or `settle` with an allowance), or, once no
    request is in flight to bring one, go on with Kraken's published default. A bucket that
    does not is the configured allowance, and readings are not asked for.
    """

    def __init__(
        self,
        points_per_hour: int,
        available: int,
        refill_in: float,
        monotonic: Callable[[], float],
        sleep: Callable[[float], None],
        *,
        follows_readings: bool = False,
    ) -> None:
        self.points_per_hour = points_per_hour
        self._balance = min(available, points_per_hour)
        self._monotonic = monotonic
        self._sleep = sleep
        self._refill_at = monotonic() + max(0.0, refill_in)
        self.follows_readings = follows_readings
        self._known = not follows_readings
        self._in_flight = 0
        self._changed = threading.Condition()

    def take(self, points: int, deadline: Deadline) -> None:
        """Reserve `points`, first waiting for a reading or the refill if the balance is short."""
        while True:
            with self._changed:
                self._roll()
                if self._balance >= points or points > self.points_per_hour:
                    # A request larger than a whole allowance cannot wait its way in; Kraken
                    # will refuse it and the caller's error handling takes over.
                    self._balance -= points
                    self._in_flight += points
                    return
                if not self._known:
                    self._await_reading(deadline)
                    continue
                pause = self._refill_at - self._monotonic()
            if pause >= deadline.remaining():
                raise deadline.exceeded(
                    f"the hourly points allowance of {self.points_per_hour} is used up and "
                    f"refills in {pause:.0f} s"
                )
            log.info("points allowance used up; waiting %.0f s for the refill", pause)
            self._sleep(pause)

    def settle(
        self, points: int, allowance: PointsAllowance | None, received_at: datetime | None
    ) -> None:
        """A request that reserved `points` is over; its answer (received_at, our clock) may say
        what is left of the allowance."""
        with self._changed:
            self._in_flight -= points
            if allowance is not None and received_at is not None:
                self._adopt(allowance, received_at)
            self._changed.notify_all()

    def observe(self, allowance: PointsAllowance, received_at: datetime) -> None:
        """A reading from an answer that reserved nothing (rateLimitInfo asked alone)."""
        self.settle(0, allowance, received_at)

    def available(self) -> int:
        """Points left in the current window."""
        with self._changed:
            self._roll()
            return self._balance

    def _adopt(self, allowance: PointsAllowance, received_at: datetime) -> None:
        refill_in = WINDOW_SECONDS
        if allowance.refill_at is not None:
            refill_in = (allowance.refill_at - received_at).total_seconds()
        refill_at = self._monotonic() + max(0.0, refill_in + REFILL_MARGIN_SECONDS)
        # Requests still in flight may not be charged in this reading yet.
        left = 0 if allowance.blocked else allowance.remaining - self._in_flight
        left = max(0, min(left, allowance.limit))
        if self._known and abs(refill_at - self._refill_at) < SAME_WINDOW_SECONDS:
            # Answers arrive out of order: within one window the lowest figure is the latest.
            left = min(left, self._balance)
        self.points_per_hour = allowance.limit
        self._balance = left
        self._refill_at = refill_at
        self._known = True

    def _await_reading(self, deadline: Deadline) -> None:
        """With the lock held: wait for a reading, or assume the default if none can come."""
        if self._in_flight == 0:
            log.info(
                "no answer has said what is left of the points allowance; assuming Kraken's "
                "published %d points an hour",
                DEFAULT_POINTS_PER_HOUR,
            )
            self.points_per_hour = DEFAULT_POINTS_PER_HOUR
            self._balance = DEFAULT_POINTS_PER_HOUR
            self._known = True
            return
        if deadline.remaining() <= 0:
            raise deadline.exceeded("waiting for the first answer to say what is left of it")
        self._changed.wait(timeout=deadline.remaining())

    def _roll(self) -> None:
        now = self._monotonic()
        if now < self._refill_at:
            return
        windows = int((now - self._refill_at) // WINDOW_SECONDS) + 1
        self._refill_at += windows * WINDOW_SECONDS
        self._balance = self.points_per_hour


def provisional_bucket(
    concurrency: int,
    largest_cost: int,
    monotonic: Callable[[], float],
    sleep: Callable[[float], None],
) -> PointsBucket:
    """A budget that knows nothing yet: enough points for the first rounds of the pool."""
    points = PROVISIONAL_ROUNDS * concurrency * largest_cost
    return PointsBucket(
        DEFAULT_POINTS_PER_HOUR, points, WINDOW_SECONDS, monotonic, sleep, follows_readings=True
    )
