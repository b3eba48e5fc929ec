"""A budget of Kraken points: the process stays inside its hourly allowance (decision 7).

Kraken counts points per viewer per hour and answers KT-CT-1199 once they are spent; some of its
limits tighten after repeated breaches, so finding the limit by hitting it is costly. The budget
follows what rateLimitInfo says remains and refills whole at the instant it gives (`ttl`), then
every window. A request reserves its cost (the query's complexity) before it is sent; a request
the budget cannot cover waits for the refill, or fails at once if the refill comes after the
deadline. Waiting for the refill is right whether Kraken's window is fixed or sliding: by then
everything charged before has expired either way. A KT-CT-1199 that comes anyway (another
process spending the same allowance, a per-field limit) is retried with a hard backoff. Processes
are kept from sharing one allowance by Dagster's `kraken_api` pool, not by a budget of their own.

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
# ttl is a whole Unix second, so two of them give the time between two refills to within this.
TTL_RESOLUTION_SECONDS = 1.0


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


def wait_for_refill(
    allowance: str, pause: float, deadline: Deadline, sleep: Callable[[float], None]
) -> None:
    """Sleep `pause` seconds until `allowance` (what to call it) refills, unless the deadline
    comes first: then raise the deadline's error, saying when it would have refilled."""
    if pause >= deadline.remaining():
        raise deadline.exceeded(f"{allowance} is used up and refills in {pause:.0f} s")
    log.info("%s is used up; waiting %.0f s for the refill", allowance, pause)
    sleep(pause)


class PointsBucket:
    """Hands out points of an hourly allowance; callers it cannot serve sleep until the refill.

    A bucket that `follows_readings` starts with provisional points only; callers it cannot
    serve wait for the first reading (`observe`, or `settle` with an allowance), or, once no
    request is in flight to bring one, go on with Kraken's published default. A bucket that
    does not is the configured allowance, and readings are not asked for.

    A window is taken to last an hour until the refills that readings report for two windows
    lie closer together (an emulator with a short window): refills that no reading has reported
    yet are then expected that much later, not an hour later.
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
        # How long a window lasts, at most: an hour until readings of two windows tell otherwise.
        self._window_seconds = WINDOW_SECONDS
        self._reported_refill: datetime | None = None  # the latest refill a reading reported
        # The reported refill of the window this bucket last rolled out of (Kraken's clock).
        self._ended_refill: datetime | None = None
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
            wait_for_refill(
                f"the hourly points allowance of {self.points_per_hour}",
                pause,
                deadline,
                self._sleep,
            )

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
            # Reading changes nothing: the request that spends first after a refill rolls it.
            return self.points_per_hour if self._monotonic() >= self._refill_at else self._balance

    def _adopt(self, allowance: PointsAllowance, received_at: datetime) -> None:
        refill_in = self._window_seconds
        if allowance.refill_at is not None:
            refill_in = (allowance.refill_at - received_at).total_seconds()
            if self._is_late(allowance.refill_at):
                return  # it says nothing of the current window
            self._learn_window(allowance.refill_at, refill_in)
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

    def _is_late(self, refill_at: datetime) -> bool:
        """Whether a reading describes a window this bucket has already rolled out of, or one
        older than a window already reported: answers arrive out of order.

        Refills are compared with refills, both on Kraken's clock, never with ours: a client
        whose clock is off (or an emulator on a fixed clock) still follows every reading.
        """
        ended, previous = self._ended_refill, self._reported_refill
        if ended is not None and (refill_at - ended).total_seconds() < SAME_WINDOW_SECONDS:
            return True
        return (
            previous is not None and (previous - refill_at).total_seconds() >= SAME_WINDOW_SECONDS
        )

    def _learn_window(self, refill_at: datetime, refill_in: float) -> None:
        """Narrow the window length with a reported refill.

        A window lasts at least as long as a reading says is left of it, and at most the time
        between the refills reported for two windows: exactly that when windows follow each
        other, less when a window opens only at its first request (as the emulator's do).
        """
        previous = self._reported_refill
        if previous is not None:
            span = (refill_at - previous).total_seconds()
            if span >= SAME_WINDOW_SECONDS:
                self._window_seconds = min(self._window_seconds, span + TTL_RESOLUTION_SECONDS)
        self._window_seconds = max(self._window_seconds, refill_in)
        self._reported_refill = refill_at if previous is None else max(previous, refill_at)

    def _roll(self) -> None:
        """Refill whole once the refill is due. Until a reading says when the new window ends,
        it is assumed to end one window (and the margin) after now, when the first request
        after the refill spends from it, not one window after the refill: a window that opens
        at its first request (the emulator's) ends one window after that request, one that
        follows the clock ends sooner, so neither is overdrawn."""
        now = self._monotonic()
        if now < self._refill_at:
            return
        self._ended_refill = self._reported_refill
        self._refill_at = now + self._window_seconds + REFILL_MARGIN_SECONDS
        self._balance = self.points_per_hour


def provisional_bucket(
    concurrency: int,
    largest_cost: int,
    monotonic: Callable[[], float],
    sleep: Callable[[float], None],
) -> PointsBucket:
    """A budget that knows nothing yet: enough points for the first rounds of the pool."""
    points = provisional_points(concurrency, largest_cost)
    return PointsBucket(
        DEFAULT_POINTS_PER_HOUR, points, WINDOW_SECONDS, monotonic, sleep, follows_readings=True
    )


def provisional_points(concurrency: int, largest_cost: int) -> int:
    """What a budget may spend before the first answer says what is left of the allowance."""
    return PROVISIONAL_ROUNDS * concurrency * largest_cost
