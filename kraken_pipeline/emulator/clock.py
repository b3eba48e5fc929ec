"""A clock that tests and the control API can set or move, on top of an injected base clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta


class EmulatorClock:
    """The emulator's notion of now: the base clock shifted by an adjustable offset.

    Setting the time keeps a running base clock running (the offset moves, not the base), so the
    same class serves a fixed test clock and the wall clock of `kraken-pipeline emulator`.
    """

    def __init__(self, base: Callable[[], datetime]) -> None:
        self._base = base
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The current emulator time, UTC-aware."""
        with self._lock:
            return self._base() + self._offset

    def set(self, now: datetime) -> None:
        """Make the clock read `now` (an aware datetime)."""
        if now.tzinfo is None:
            raise ValueError(f"{now.isoformat()} has no UTC offset; the clock needs aware times")
        with self._lock:
            self._offset = now - self._base()

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward (or back, with a negative delta)."""
        with self._lock:
            self._offset += delta
