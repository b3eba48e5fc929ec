"""What a fetch produced, and the state its workers share: outcomes, page size, alias progress."""

from __future__ import annotations

import logging
import math
import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime

import pyarrow as pa

from kraken_pipeline.kraken.errors import FatalError, KrakenError, ShrinkRequestError
from kraken_pipeline.kraken.limits import LimitsStore
from kraken_pipeline.kraken.parsing import FetchedRows
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
    """The rows of a fetch and one outcome per requested supply point."""

    rows: FetchedRows
    outcomes: tuple[FetchOutcome, ...]
    requests: int
    fetched_at: datetime

    @property
    def table(self) -> pa.Table:
        """Every row as one MEASUREMENTS_SCHEMA table, built on each call: a day is landed from
        `day_table`, so that a chunk's rows are not held with their supply points' columns."""
        return self.rows.table()

    def day_table(self, local_date: date) -> pa.Table:
        """The MEASUREMENTS_SCHEMA rows of one local day."""
        return self.rows.day_table(local_date)


class RequestShape:
    """The page size and aliases per request all workers use, shrunk along the dimension a
    refusal names and remembered for later runs of the application (limits.py)."""

    def __init__(self, page_size: int, aliases: int, store: LimitsStore | None = None) -> None:
        learned = store.current() if store is not None else None
        self._size = min(page_size, (learned and learned.page_size) or page_size)
        self._aliases = min(aliases, (learned and learned.aliases_per_request) or aliases)
        self._most_aliases = aliases
        self._store = store
        self._lock = threading.Lock()

    def current(self) -> int:
        """The page size to ask for now."""
        with self._lock:
            return self._size

    def aliases(self) -> int:
        """The most aliases one request may carry now."""
        with self._lock:
            return self._aliases

    def key(self) -> str:
        """The shape as the learned limits name it ("aliases x page size")."""
        with self._lock:
            return f"{self._aliases}x{self._size}"

    def measured_cost(self, aliases: int, size: int) -> int | None:
        """Points a request of `aliases` aliases of pages of `size` costs, as measured for this
        shape (limits.py), or None when it was never measured."""
        if self._store is None:
            return None
        per_alias = self._store.current().points_per_alias.get(f"{self._aliases}x{size}")
        return None if per_alias is None else max(1, math.ceil(per_alias * aliases))

    def shrink(self, size: int, aliases: int, error: ShrinkRequestError) -> None:
        """Shrink after a request of `aliases` aliases of `size` nodes each was refused (once,
        however many workers saw it): "aliases" and "nodes" take fewer aliases, down to one,
        before a smaller page; "page_size" takes the size the refusal names, or half, and as
        many more aliases as the smaller page leaves room for (up to the configured most)."""
        dimension = error.dimension
        with self._lock:
            if self._size < size or self._aliases < aliases:
                return  # another worker's refusal already shrank the request
            if dimension in ("aliases", "nodes") and aliases > 1:
                self._aliases = max(1, aliases // 2)
                what = (
                    f"{aliases} aliases per request refused ({error.code}); using {self._aliases}"
                )
            elif size <= 1:
                raise FatalError(f"Kraken refuses even one node per page: {error.message}")
            else:
                self._size = suggested_page_size(error.message, size)
                what = (
                    f"page size {size} refused ({error.code or 'VALIDATION'}); using {self._size}"
                )
                if dimension == "page_size" and self._aliases < self._most_aliases:
                    # The aliases learned with the larger page were limited by its nodes: a
                    # smaller page leaves room for more. Too many is refused and halved again.
                    grown = self._aliases * size // self._size
                    self._aliases = max(self._aliases, min(self._most_aliases, grown))
                    what += f" and up to {self._aliases} aliases per request"
            learned = {"page_size": self._size, "aliases_per_request": self._aliases}
        log.warning("%s", what)
        if self._store is not None:
            self._store.learn(**learned)


def suggested_page_size(message: str, refused: int) -> int:
    """The page size a refusal names ("limit of 300", "less than 100": 99), or half."""
    for pattern, offset in _SUGGESTIONS:
        found = pattern.search(message)
        if found and 1 <= int(found.group(1)) - offset < refused:
            return int(found.group(1)) - offset
    return max(1, refused // 2)


_SUGGESTIONS = (
    (re.compile(r"(?:<|less than|below|under)\s*`?(\d+)", re.IGNORECASE), 1),
    (re.compile(r"(?:limit of|at most|maximum of|max(?:imum)?:?)\s*`?(\d+)", re.IGNORECASE), 0),
)


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
    alias_attempts: int = 0  # answers that carried an error for this alias alone
    rows_kept: int = 0
    outside_window: int = 0
    unmatched: int = 0
    unechoed: int = 0

    def fail(self, error: KrakenError) -> None:
        """Give up on this alias: its supply points fail with `error`."""
        self.error = error
        self.done = True
