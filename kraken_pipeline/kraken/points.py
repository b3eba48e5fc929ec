"""What requests really cost: points per node and per alias measured from rateLimitInfo.

Kraken publishes no complexity formula, so a request shape (aliases x first) is measured once:
rateLimitInfo is read twice before a fetch (the difference is what reading it costs) and once
after; the points spent between, less one reading's cost, are divided by the nodes served and by
the aliases sent. Whether Kraken reports a reading before or after charging for it, the formula
holds. A refill in between, or another process spending the same allowance, shows as readings
that do not fit (another refill instant, a negative spend) and is discarded, never guessed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from kraken_pipeline.kraken.errors import KrakenError
from kraken_pipeline.kraken.ratelimit import PointsAllowance

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Baseline:
    """The allowance before a measured fetch, and what one rateLimitInfo reading costs."""

    used: int
    reading_cost: int
    window: datetime | None  # the refill instant: readings of another window do not compare


def begin(read: Callable[[], PointsAllowance]) -> Baseline | None:
    """Two readings before a fetch; None when they cannot be had or do not compare."""
    try:
        first, second = read(), read()
    except KrakenError as exc:
        log.info("rateLimitInfo could not be read (%s); request costs stay unmeasured", exc.code)
        return None
    if first.refill_at != second.refill_at or second.used < first.used:
        return None
    return Baseline(second.used, second.used - first.used, second.refill_at)


def points_spent(baseline: Baseline, read: Callable[[], PointsAllowance]) -> int | None:
    """Points the fetch since `baseline` cost; None when the readings do not fit."""
    try:
        after = read()
    except KrakenError as exc:
        log.info("rateLimitInfo could not be read (%s); this fetch stays unmeasured", exc.code)
        return None
    spent = after.used - baseline.used - baseline.reading_cost
    if after.refill_at != baseline.window or spent < 0:
        return None
    return spent
