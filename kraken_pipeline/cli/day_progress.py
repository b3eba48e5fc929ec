"""The days a run executed in this process lands, as they land, for a command to show.

Fed by the records `land_days` (landing.py) logs per chunk and per landed day.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from kraken_pipeline import landing
from kraken_pipeline.landing import CHUNK_REQUESTS, DAY_LANDED, DayReport


@dataclass
class LandedDays:
    """What a run has landed so far: the days, their rows, and the requests it took."""

    total_days: int
    reports: list[DayReport] = field(default_factory=list)
    requests: int = 0

    @property
    def days(self) -> list[date]:
        return [report.local_date for report in self.reports]

    @property
    def rows(self) -> int:
        return sum(report.rows for report in self.reports)


class _LandingHandler(logging.Handler):
    def __init__(self, landed: LandedDays, on_day: Callable[[LandedDays], None]) -> None:
        super().__init__(logging.INFO)
        self._landed = landed
        self._on_day = on_day

    def emit(self, record: logging.LogRecord) -> None:
        # The record's attributes, never its text: the display sees exactly what was written.
        requests = getattr(record, CHUNK_REQUESTS, None)
        if isinstance(requests, int):
            self._landed.requests += requests
        report = getattr(record, DAY_LANDED, None)
        if isinstance(report, DayReport):
            self._landed.reports.append(report)
            self._on_day(self._landed)


@contextmanager
def watching_landed_days(
    landed: LandedDays, on_day: Callable[[LandedDays], None]
) -> Iterator[LandedDays]:
    """Record every day landed in this process into `landed`, calling `on_day` after each."""
    logger = logging.getLogger(landing.__name__)
    handler = _LandingHandler(landed, on_day)
    level = logger.level
    if not logger.isEnabledFor(logging.INFO):
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield landed
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
