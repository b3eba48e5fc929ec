"""The retry policy in one place: exponential backoff with jitter, bounded by attempts and deadline.

Waits honour the server's Retry-After exactly when it sends one (no jitter: it said when); other
waits are exponential with "equal jitter" (half fixed, half random) so that four workers that
failed together do not come back together.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from kraken_pipeline.kraken.errors import (
    DeadlineExceededError,
    RetriesExhaustedError,
    RetryableError,
)

T = TypeVar("T")


class Deadline:
    """An instant on a monotonic clock after which an operation gives up."""

    def __init__(self, seconds: float, monotonic: Callable[[], float], operation: str) -> None:
        self._monotonic = monotonic
        self._expires = monotonic() + seconds
        self.seconds = seconds
        self.operation = operation

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self._expires - self._monotonic())

    def check(self) -> None:
        """Raise DeadlineExceededError if the deadline has passed."""
        if self.remaining() <= 0.0:
            raise self.exceeded()

    def exceeded(self, detail: str = "") -> DeadlineExceededError:
        """The error that says this deadline passed, with what was going on."""
        suffix = f" ({detail})" if detail else ""
        return DeadlineExceededError(
            f"{self.operation} did not finish within its deadline of {self.seconds:g} s{suffix}; "
            "raise deadline_seconds or fetch fewer days at a time",
            code="deadline",
        )


@dataclass
class RetryPolicy:
    """How many times to try and how long to wait between tries."""

    max_attempts: int
    sleep: Callable[[float], None]
    base_delay: float = 0.5
    max_delay: float = 60.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, error: RetryableError) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if error.retry_after is not None:
            return max(error.retry_after, 0.0)
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        jittered = ceiling / 2 + self.rng.uniform(0.0, ceiling / 2)
        return max(jittered, error.min_delay)

    def wait(self, attempt: int, error: RetryableError, deadline: Deadline) -> None:
        """Sleep before the next attempt, or raise if the wait would outlast the deadline."""
        pause = self.delay(attempt, error)
        if pause >= deadline.remaining():
            raise deadline.exceeded(f"last error: {error.message}") from error
        self.sleep(pause)

    def gives_up_after(self, attempt: int, error: RetryableError | None = None) -> bool:
        """Whether attempt number `attempt` was the last one allowed (for `error`'s kind)."""
        cap = error.max_attempts if error is not None and error.max_attempts else None
        return attempt >= min(self.max_attempts, cap or self.max_attempts)


def call_with_retries(
    call: Callable[[], T], policy: RetryPolicy, deadline: Deadline, operation: str
) -> T:
    """Run `call` until it succeeds, retrying RetryableError as the policy says."""
    attempt = 0
    while True:
        deadline.check()
        attempt += 1
        try:
            return call()
        except RetryableError as exc:
            if policy.gives_up_after(attempt, exc):
                raise RetriesExhaustedError(exc, attempt, operation) from None
            policy.wait(attempt, exc, deadline)
