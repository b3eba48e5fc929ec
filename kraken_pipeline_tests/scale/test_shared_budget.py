"""Three `kraken-pipeline run`s at once, one OAuth application, an allowance they overdraw.

Kraken counts points per application, not per process. With KRAKEN_RATE_BUDGET_URL three runs
spend one budget in Redis: together they stop at the allowance, wait for the refill and land every
day with no KT-CT-1199. Without it each run follows only the readings of its own answers, and
whether the runs then overdraw depends on when each starts, so that side is not asserted here.

The runs need more points than one window holds, so at least one refill has to be waited for;
the emulator's window lasts SHORT_WINDOW seconds instead of an hour (its `ttl` says so too). The
emulator serves the runs from this test process over loopback; each run is a separate process
with its own data root and Dagster instance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from kraken_pipeline.emulator import Emulator
from kraken_pipeline.emulator.config import wall_clock
from kraken_pipeline.kraken.planning import MAX_COMPLEXITY, plan_requests
from kraken_pipeline.kraken.queries import ALIAS_COMPLEXITY, RATE_LIMIT_COMPLEXITY
from kraken_pipeline.local_days import range_bounds
from kraken_pipeline.supply_points import load_supply_points
from kraken_pipeline_tests.support.cli import SENTINEL_GRANT, Started, Workspace
from kraken_pipeline_tests.support.resilience import (
    EXAMPLE_CSV,
    TIMEZONE,
    assert_days_hold_the_emulators_data,
)

RATE_LIMITED = "KT-CT-1199"
ALLOWANCE = 3600  # points a window; each run alone fits, three together need two windows
SHORT_WINDOW = timedelta(seconds=12)  # longer than the runs take to start one after the other
PAGE_SIZE = 20  # small pages: many requests, so a run spends about 1,700 points
CONCURRENCY = 4  # each run's own provisional points: 2 x 4 x 200 = 1,600, under the allowance
DAYS_PER_RUN = 3
POINTS = load_supply_points(EXAMPLE_CSV)


def run_ranges() -> list[tuple[date, date]]:
    """Three consecutive ranges (a backfill split into runs), old enough to be final."""
    first = datetime.now(UTC).date() - timedelta(days=14)
    return [
        (first + timedelta(days=DAYS_PER_RUN * n), first + timedelta(days=DAYS_PER_RUN * n + 2))
        for n in range(3)
    ]


def points_needed(first: date, last: date) -> tuple[int, int]:
    """The least and the most points one run spends: its planned aliases, and rateLimitInfo
    beside every request that has room for it."""
    start, end = range_bounds(first, last, TIMEZONE)
    batches = plan_requests(
        POINTS,
        start,
        end,
        page_size=PAGE_SIZE,
        properties_per_request=7,
        reserve_in_first=RATE_LIMIT_COMPLEXITY,
    )
    aliases = sum(len(batch) * ALIAS_COMPLEXITY for batch in batches)
    return aliases, aliases + RATE_LIMIT_COMPLEXITY * len(batches)


@pytest.fixture
def small_allowance(start_emulator: Callable[..., Emulator]) -> Emulator:
    """An emulator on the wall clock (the runs wait on theirs): ALLOWANCE per SHORT_WINDOW, so
    the shared runs have to wait for at least one refill."""
    return start_emulator(
        clock=wall_clock,
        clients=(SENTINEL_GRANT,),
        points_allowance_per_hour=ALLOWANCE,
        rate_limit_window=SHORT_WINDOW,
    )


@contextmanager
def three_runs(
    emulator: Emulator, tmp_path: Path, **variables: str
) -> Iterator[list[tuple[Workspace, Started]]]:
    """Start the three runs at once, each in its own workspace; kill what is left at the end."""
    started = []
    for number, (first, last) in enumerate(run_ranges(), start=1):
        workspace = Workspace(tmp_path / f"run-{number}")
        workspace.cwd.mkdir()
        env = workspace.environment(
            emulator,
            KRAKEN_PAGE_SIZE=str(PAGE_SIZE),
            KRAKEN_CONCURRENCY=str(CONCURRENCY),
            **variables,
        )
        started.append((workspace, workspace.start(first, last, env)))
    try:
        yield started
    finally:
        for _workspace, run in started:
            if run.process.poll() is None:
                run.kill()


def test_the_sizes_make_three_runs_need_more_than_one_allowance_but_not_one_run_alone() -> None:
    needs = [points_needed(first, last) for first, last in run_ranges()]

    assert sum(least for least, _most in needs) > ALLOWANCE
    assert max(most for _least, most in needs) < ALLOWANCE
    assert 2 * CONCURRENCY * MAX_COMPLEXITY <= ALLOWANCE  # provisional points fit, too


@pytest.mark.slow
def test_three_runs_sharing_one_budget_get_no_rate_limit_errors_and_land_every_day(
    small_allowance: Emulator, redis_url: str, tmp_path: Path
) -> None:
    with three_runs(small_allowance, tmp_path, KRAKEN_RATE_BUDGET_URL=redis_url) as runs:
        finished = [run.finish() for _workspace, run in runs]

    for done in finished:
        assert done.returncode == 0, done.output[-3000:]
    assert small_allowance.stats.errors.get(RATE_LIMITED, 0) == 0, small_allowance.stats.errors
    # Every day landed, so more points were charged than one window holds (the sizes test),
    # and none was refused: together the runs kept inside each window.
    for (workspace, _run), (first, last) in zip(runs, run_ranges(), strict=True):
        assert_days_hold_the_emulators_data(workspace.data, small_allowance, POINTS, first, last)
