"""What requests really cost: points per node and per alias, measured from the readings of
rateLimitInfo that measurement answers carry anyway, never from requests sent before a fetch.

Kraken publishes no complexity formula, and does not say whether a rateLimitInfo inside a
request reports usedPoints before or after that request is charged: both readings are handled.
Requests of a fetch run concurrently, so one reading cannot say whose charges it includes; the
client's own clock can, for some of them. Take A, the first answer of the fetch that carried a
reading, and one rateLimitInfo asked after the last answer (E). A request sent after A's answer
had arrived was charged after A's reading and before E's, whatever Kraken's order: it is
*certainly* inside E - A. The requests that overlapped A (sent before its answer) may or may not
be, and so may A's own charge and E's (one of the two, depending on the reading). So

    cost per alias <= (E - A) / aliases of the certain requests,

high by at most the share of the uncertain ones, never low: the budget reserves a little too
much rather than overdraws. The quotient is taken only for a fetch of MIN_ROUNDS rounds of the
pool or more (so that E is one round trip in ten or fewer) whose certain requests carry at
least MIN_CERTAIN_SHARE of its aliases; a shorter fetch is not measured at all, and spends no
reading on it. A refill between A and E is discarded; another process's spending only raises
E - A (safe); neither is guessed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from kraken_pipeline.kraken.ratelimit import PointsAllowance

log = logging.getLogger(__name__)

# A measurement is taken only when the requests certainly inside it carry this share of the
# fetch's aliases, so that it is at most 1 / 0.9 = 1.11 times the true cost.
MIN_CERTAIN_SHARE = 0.9
MIN_ROUNDS = 10


@dataclass(frozen=True)
class Sent:
    """One measurement request of a fetch, answered at its first attempt: when it left and its
    answer arrived (time.monotonic, the order of real events), its size, and the reading it
    carried."""

    sent_at: float
    answered_at: float
    aliases: int
    nodes: int
    reading: PointsAllowance | None


@dataclass(frozen=True)
class Cost:
    """Points one alias and one node of a request shape cost, as measured (upper bounds)."""

    per_alias: float
    per_node: float
    points: int  # spent between the two readings
    nodes: int  # served by the requests certainly among them


def first_reading(sends: Sequence[Sent]) -> Sent | None:
    """The earliest answered request that carried a reading: the measurement's start."""
    readings = [s for s in sends if s.reading is not None]
    return min(readings, key=lambda s: s.answered_at) if readings else None


def certain(sends: Sequence[Sent], start: Sent) -> list[Sent]:
    """The requests charged after `start`'s reading whatever Kraken's order: sent after its
    answer arrived."""
    return [s for s in sends if s.sent_at > start.answered_at]


def measurable(sends: Sequence[Sent], concurrency: int) -> bool:
    """Whether a reading after these requests, sent `concurrency` at a time, would measure their
    cost closely enough, and cost a small share of their time."""
    start = first_reading(sends)
    if start is None or len(sends) < MIN_ROUNDS * concurrency:
        return False
    total = sum(s.aliases for s in sends)
    inside = sum(s.aliases for s in certain(sends, start))
    return total > 0 and inside >= MIN_CERTAIN_SHARE * total


def measure(sends: Sequence[Sent], concurrency: int, end: PointsAllowance) -> Cost | None:
    """The cost of the requests, from their first reading to `end` (read after the last
    answer); None when the readings do not fit or cannot pin the cost down."""
    start = first_reading(sends)
    if start is None or start.reading is None or not measurable(sends, concurrency):
        return None
    if end.refill_at != start.reading.refill_at:
        log.info("the allowance refilled during the fetch; its cost stays unmeasured")
        return None
    spent = end.used - start.reading.used
    inside = certain(sends, start)
    aliases = sum(s.aliases for s in inside)
    nodes = sum(s.nodes for s in inside)
    if spent < 0 or aliases == 0 or nodes == 0:
        return None
    return Cost(spent / aliases, spent / nodes, spent, nodes)
