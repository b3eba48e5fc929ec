"""What a fetch produced, and the state its workers share: outcomes, page size, alias progress."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from kraken_pipeline.kraken.errors import FatalError, KrakenError, ShrinkRequestError
from kraken_pipeline.kraken.planning import Target

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchOutcome:
    """How fetching one supply point went; error fields are set when ok is False."""

    supply_point_id: str
    ok: bool
    rows: int
    pages: int
    requests: int
    error_code: str | None = None
    error_message: str | None = None
    # Nodes dropped because they lie outside the window, or belong to no series asked for (of
    # the property's request this point was in), identical duplicates folded into one row, and
    # values rounded to 18 decimal places.
    nodes_outside_window: int = 0
    nodes_unmatched: int = 0
    duplicates_folded: int = 0
    values_rounded: int = 0


@dataclass(frozen=True)
class MeasurementsResult:
    """The rows of a fetch (MEASUREMENTS_SCHEMA) and one outcome per requested supply point."""

    table: pa.Table
    outcomes: tuple[FetchOutcome, ...]
    requests: int
    fetched_at: datetime


class PageSize:
    """The page size all workers use; halved when Kraken says a request is too large."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()

    def current(self) -> int:
        """The size to ask for now."""
        with self._lock:
            return self._size

    def halve(self, refused: int, error: ShrinkRequestError) -> None:
        """Halve after `refused` was too large (once, however many workers saw it)."""
        with self._lock:
            if self._size != refused:
                return
            if refused <= 1:
                raise FatalError(f"Kraken refuses even one node per page: {error.message}")
            self._size = refused // 2
        log.warning("page size %d refused (%s); using %d", refused, error.code, refused // 2)


@dataclass
class TargetProgress:
    """Where one alias stands: its cursor, pages and requests so far, and its error if it failed."""

    target: Target
    after: str | None = None
    pages: int = 0
    requests: set[tuple[int, int]] = field(default_factory=set)  # (send, attempt): distinct HTTP
    error: KrakenError | None = None
    done: bool = False
    cursors: set[str] = field(default_factory=set)  # every endCursor followed so far
    protocol_retries: int = 0
    rows_kept: int = 0
    outside_window: int = 0
    unmatched: int = 0
    unechoed: int = 0

    def fail(self, error: KrakenError) -> None:
        """Give up on this alias: its supply points fail with `error`."""
        self.error = error
        self.done = True
