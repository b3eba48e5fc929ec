"""An opt-in fast path (EmulatorConfig.cache_answers): a clean GraphQL answer is rendered once.

Only the rendering is skipped: authentication, limits, points and transport faults behave as
without the cache.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from kraken_pipeline.emulator.answers import Answer
from kraken_pipeline.emulator.faults import GRAPHQL_KINDS, ODD_PAYLOAD_KINDS
from kraken_pipeline.emulator.state import EmulatorState
from kraken_pipeline.emulator.stats import Stats

# Faults taken while a document executes; odd payloads are applied to the answer afterwards.
_RENDERING_FAULTS = GRAPHQL_KINDS - ODD_PAYLOAD_KINDS
DEFAULT_SIZE = 4096

# Renders the answer with the given state: the answer, and whether it is free of errors.
Render = Callable[[EmulatorState], tuple[Answer, bool]]


@dataclass(frozen=True)
class _Kept:
    answer: Answer
    nodes: int  # measurement nodes the rendering counted, counted again on every hit


class NodeTally(Stats):
    """Counters that pass measurement nodes on to the emulator's and remember how many."""

    def __init__(self, counters: Stats) -> None:
        super().__init__()
        self._counters = counters

    def count_nodes(self, count: int) -> None:
        super().count_nodes(count)
        self._counters.count_nodes(count)


class AnswerCache:
    """Clean answers of one emulator by (request body, client id), for one instant at a time."""

    def __init__(self, state: EmulatorState, size: int = DEFAULT_SIZE) -> None:
        self._state = state
        self._size = size
        self._now: datetime | None = None
        self._entries: OrderedDict[tuple[bytes, str], _Kept] = OrderedDict()
        self._lock = threading.Lock()

    def answer(self, body: bytes, client_id: str, now: datetime, render: Render) -> Answer:
        """The kept answer to an admitted request, or `render`'s (kept when it may be)."""
        state = self._state
        # While a rendering fault is armed, every request is rendered (and consumes it) as usual.
        if any(fault.kind in _RENDERING_FAULTS for fault in state.faults.pending()):
            return render(state)[0]
        # The client id decides what the grant may see (never the token); `now`, what is published.
        key = (body, client_id)
        kept = self._get(key, now)
        if kept is not None:
            state.stats.count_nodes(kept.nodes)
            return kept.answer
        fired = self._faults_fired()
        tally = NodeTally(state.stats)
        answer, clean = render(dataclasses.replace(state, stats=tally))
        if clean and self._faults_fired() == fired:
            self._put(key, now, _Kept(answer, tally.nodes_served))
        return answer

    def _faults_fired(self) -> int:
        return sum(self._state.stats.faults.values())

    def _get(self, key: tuple[bytes, str], now: datetime) -> _Kept | None:
        with self._lock:
            self._forget_unless(now)
            kept = self._entries.get(key)
            if kept is not None:
                self._entries.move_to_end(key)
            return kept

    def _put(self, key: tuple[bytes, str], now: datetime, kept: _Kept) -> None:
        with self._lock:
            self._forget_unless(now)
            self._entries[key] = kept
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def _forget_unless(self, now: datetime) -> None:
        """Empty the cache when the clock has moved since it was filled (caller holds the lock)."""
        if now != self._now:
            self._entries.clear()
            self._now = now
