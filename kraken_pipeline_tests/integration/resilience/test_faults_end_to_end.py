"""Kraken misbehaving during a whole pipeline run: the data lands exactly, or the day is kept.

Each test runs the real Dagster job against an emulator over loopback HTTP and misbehaves the
way kraken_api.md says Kraken does in the field: 502s from the gateway, tokens expiring in the
middle of a run, KT-CT-1199 bursts, the API restarting. Afterwards the landed data is exactly
the emulator's (what a clean run gives), or the run failed naming the cause and the day, as
an analyst reads it from the lake, is byte for byte what it was, no orphaned file left.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from kraken_pipeline import storage
from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, Fault
from kraken_pipeline.local_days import days_between
from kraken_pipeline_tests.support.resilience import (
    Pipeline,
    assert_days_hold_the_emulators_data,
    day_digests,
    orphaned_files,
    without_fetch_times,
)

FIRST, LAST = date(2026, 11, 1), date(2026, 11, 14)
# Small pages make a two-week run some forty requests, enough for a 10% fault rate to bite.
SMALL_PAGES = 20
WATCH_SECONDS = 60


@pytest.fixture(autouse=True)
def demo_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRAKEN_CLIENT_ID", DEMO_CLIENT_ID)
    monkeypatch.setenv("KRAKEN_CLIENT_SECRET", DEMO_CLIENT_SECRET)


@contextmanager
def when_requests_reach(
    emulator: Emulator, count: int, action: Callable[[], None]
) -> Iterator[threading.Event]:
    """Run `action` once the emulator has answered `count` GraphQL requests (in a thread)."""
    done = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + WATCH_SECONDS
        while emulator.stats.requests.get("graphql", 0) < count:
            if time.monotonic() > deadline:
                return
            time.sleep(0.002)
        action()
        done.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield done
    finally:
        watcher.join(timeout=WATCH_SECONDS)


@pytest.mark.slow
def test_ten_percent_502s_and_a_token_expiry_mid_run_land_exactly_what_a_clean_run_lands(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emulator = start_emulator(fault_seed=7)
    clean = Pipeline(emulator, tmp_path / "clean", page_size=SMALL_PAGES)
    assert clean.run(FIRST, LAST).success
    clean_requests = emulator.stats.requests["graphql"]
    emulator.reset()
    faulty = clean.elsewhere(tmp_path / "faulty")
    emulator.faults.add(Fault(kind="http_status", status=502, times=None, probability=0.1))

    with when_requests_reach(emulator, clean_requests // 3, emulator.expire_tokens) as expired:
        outcome = faulty.run(FIRST, LAST)

    assert outcome.success, outcome.failure
    assert expired.is_set(), "the run ended before the token could expire"
    assert emulator.stats.errors.get("HTTP 502", 0) >= 2
    assert emulator.stats.errors.get("KT-CT-1124", 0) >= 1
    assert emulator.stats.tokens_minted == 2
    for day in days_between(FIRST, LAST):
        assert without_fetch_times(storage.read_day(faulty.root, day)).equals(
            without_fetch_times(storage.read_day(clean.root, day))
        ), day
    assert_days_hold_the_emulators_data(faulty.root, emulator, faulty.supply_points(), FIRST, LAST)


def test_rate_limiting_that_outlasts_the_deadline_fails_the_run_naming_it_and_keeps_the_day(
    emulator: Emulator, tmp_path: Path
) -> None:
    pipeline = Pipeline(emulator, tmp_path / "data", page_size=SMALL_PAGES)
    day = date(2026, 11, 10)
    assert pipeline.run(day, day).success
    before = day_digests(pipeline.root, day)
    emulator.faults.add(Fault(kind="kraken_error", code="KT-CT-1199", times=None))

    started = time.monotonic()
    outcome = pipeline.run(day, day, deadline_seconds=3)

    assert not outcome.success
    assert "KT-CT-1199" in (outcome.failure or "")
    assert "deadline" in (outcome.failure or "")
    assert time.monotonic() - started < 20, "the run should give up at its deadline"
    assert day_digests(pipeline.root, day) == before
    assert orphaned_files(pipeline.root) == []


@pytest.mark.slow
def test_the_api_restarting_mid_run_on_the_same_port_still_lands_every_day_exactly(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    first = start_emulator()
    port = first.port
    pipeline = Pipeline(first, tmp_path / "data", page_size=SMALL_PAGES)
    restarted: list[Emulator] = []

    def restart() -> None:
        first.stop()
        time.sleep(0.3)  # the API is down: connections are refused meanwhile
        restarted.append(start_emulator(port=port))

    with when_requests_reach(first, 8, restart) as done:
        outcome = pipeline.run(FIRST, LAST)

    assert done.is_set(), "the run ended before the restart"
    assert outcome.success, outcome.failure
    [second] = restarted
    # The new process signs tokens with a new key: the old token is refused and replaced.
    assert second.stats.tokens_minted == 1
    assert second.stats.requests["graphql"] > 0
    assert_days_hold_the_emulators_data(
        pipeline.root, second, pipeline.supply_points(), FIRST, LAST
    )
    assert orphaned_files(pipeline.root) == []
