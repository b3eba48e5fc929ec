"""The hourly points allowance per viewer, judged against the emulator's clock.

A fixed window per viewer, opened at its first request; a request that would overdraw it is
refused with KT-CT-1199 and not charged.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW = timedelta(hours=1)  # Kraken's: the allowance is hourly


@dataclass(frozen=True)
class AllowanceState:
    """A viewer's allowance as rateLimitInfo reports it."""

    limit: int
    used_points: int
    refill_at: datetime
    is_blocked: bool

    @property
    def remaining_points(self) -> int:
        """Points left in the current window."""
        return max(0, self.limit - self.used_points)

    def to_graphql(self) -> dict[str, object]:
        """The PointsAllowanceRateLimitInformation object."""
        return {
            "limit": self.limit,
            "remainingPoints": self.remaining_points,
            "usedPoints": self.used_points,
            "ttl": int(self.refill_at.timestamp()),
            "isBlocked": self.is_blocked,
        }


@dataclass
class _Window:
    opened: datetime
    used: int = 0
    blocked: bool = False


class PointsAllowance:
    """Charges requests against each viewer's allowance per window (an hour); thread-safe."""

    def __init__(self, limit: int, window: timedelta = WINDOW) -> None:
        if window <= timedelta(0):
            raise ValueError(f"the rate-limit window must be positive, not {window}")
        self._limit = limit
        self._window_length = window
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def charge(self, viewer: str, points: int, now: datetime) -> bool:
        """Take `points` from the viewer's allowance; False (nothing taken) if it would overdraw."""
        with self._lock:
            window = self._window(viewer, now)
            if window.used + points > self._limit:
                window.blocked = True
                return False
            window.used += points
            return True

    def state(self, viewer: str, now: datetime) -> AllowanceState:
        """The viewer's allowance at `now`."""
        with self._lock:
            window = self._window(viewer, now)
            refill_at = window.opened + self._window_length
            return AllowanceState(self._limit, window.used, refill_at, window.blocked)

    def reset(self) -> None:
        """Forget every window: every viewer starts with a full allowance."""
        with self._lock:
            self._windows.clear()

    def _window(self, viewer: str, now: datetime) -> _Window:
        window = self._windows.get(viewer)
        if window is None or now >= window.opened + self._window_length:
            window = _Window(now)
            self._windows[viewer] = window
        return window
