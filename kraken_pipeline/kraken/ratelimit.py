"""A budget of Kraken points: the process stays inside its hourly allowance (decision 7).

Kraken counts points per viewer per hour and answers KT-CT-1199 once they are spent; some of its
limits tighten after repeated breaches, so finding the limit by hitting it is costly. The budget
starts with what rateLimitInfo says remains and refills whole at the instant it gives (`ttl`),
then every hour. A request reserves its cost (the query's complexity) before it is sent; a
request the budget cannot cover waits for the refill, or fails at once if the refill comes after
the deadline. Waiting for the refill is right whether Kraken's window is fixed or sliding: by
then everything charged before has expired either way. A KT-CT-1199 that comes anyway (another
process spending the same allowance, a per-field limit) is retried with a hard backoff.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kraken_pipeline.kraken.retry import Deadline

log = logging.getLogger(__name__)

DEFAULT_POINTS_PER_HOUR = 300_000
WINDOW_SECONDS = 3600.0


class PointsBucket:
    """Hands out points of an hourly allowance; callers it cannot serve sleep until the refill."""

    def __init__(
        self,
        points_per_hour: int,
        available: int,
        refill_in: float,
        monotonic: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.points_per_hour = points_per_hour
        self._balance = min(available, points_per_hour)
        self._monotonic = monotonic
        self._sleep = sleep
        self._refill_at = monotonic() + max(0.0, refill_in)
        self._lock = threading.Lock()

    def take(self, points: int, deadline: Deadline) -> None:
        """Reserve `points`, first sleeping until the refill if the balance cannot cover them."""
        while True:
            with self._lock:
                self._roll()
                if self._balance >= points or points > self.points_per_hour:
                    # A request larger than a whole allowance cannot wait its way in; Kraken
                    # will refuse it and the caller's error handling takes over.
                    self._balance -= points
                    return
                pause = self._refill_at - self._monotonic()
            if pause >= deadline.remaining():
                raise deadline.exceeded(
                    f"the hourly points allowance of {self.points_per_hour} is used up and "
                    f"refills in {pause:.0f} s"
                )
            log.info("points allowance used up; waiting %.0f s for the refill", pause)
            self._sleep(pause)

    def available(self) -> int:
        """Points left in the current window."""
        with self._lock:
            self._roll()
            return self._balance

    def _roll(self) -> None:
        now = self._monotonic()
        if now < self._refill_at:
            return
        windows = int((now - self._refill_at) // WINDOW_SECONDS) + 1
        self._refill_at += windows * WINDOW_SECONDS
        self._balance = self.points_per_hour
