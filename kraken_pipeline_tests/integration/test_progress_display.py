"""The progress a run shows as its days land: fed by the days the real job lands, in process."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date

import pytest

from kraken_pipeline.cli.day_progress import LandedDays, watching_landed_days
from kraken_pipeline.cli.progress_display import live_bar, plain_lines
from kraken_pipeline.local_days import days_between
from kraken_pipeline_tests.support.pipeline import PipelineHarness, demo_harness

FIRST, LAST = date(2026, 11, 1), date(2026, 11, 3)
CHUNK = {"chunk_days": 2}  # two chunks: two days, then one
DAYS = days_between(FIRST, LAST)


class TerminalStream(io.StringIO):
    """What rich writes to a terminal, kept: a stream that says it is one."""

    def isatty(self) -> bool:
        return True


@dataclass(frozen=True)
class Watched:
    """One run of DAYS, watched at once by the plain lines and by the live bar on a terminal."""

    harness: PipelineHarness
    printed: list[str]
    lines_landed: LandedDays
    terminal: TerminalStream
    bar_landed: LandedDays


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Watched:
    """DAYS run in two chunks, shown as plain lines and as a live bar by the same run."""
    printed: list[str] = []
    lines_landed, bar_landed = LandedDays(total_days=len(DAYS)), LandedDays(total_days=len(DAYS))
    terminal = TerminalStream()
    with (
        demo_harness(tmp_path_factory.mktemp("watched") / "data") as harness,
        live_bar(terminal, len(DAYS), None) as show,
        watching_landed_days(bar_landed, show),
        watching_landed_days(lines_landed, plain_lines(printed.append, len(DAYS), 0.5)),
    ):
        assert harness.run(FIRST, LAST, **CHUNK).success
    return Watched(harness, printed, lines_landed, terminal, bar_landed)


def test_every_landed_day_reaches_the_display_in_order_with_the_runs_figures(
    watched: Watched,
) -> None:
    harness, printed, landed = watched.harness, watched.printed, watched.lines_landed

    assert landed.days == DAYS
    assert [line.split()[1] for line in printed] == [day.isoformat() for day in DAYS]
    stored = sum(harness.day(day).num_rows for day in DAYS)
    assert landed.rows == stored > 0
    assert landed.requests >= 2  # at least a request per chunk
    assert (
        f"so far {stored:,} rows, {landed.requests} requests, ~{round(stored / 2):,} points"
        in (printed[-1])
    )


def test_a_day_landed_after_the_display_closed_is_not_counted(harness: PipelineHarness) -> None:
    landed = LandedDays(total_days=1)
    with watching_landed_days(landed, lambda _landed: None):
        pass

    assert harness.run(FIRST, FIRST).success

    assert landed.days == []


def test_on_a_terminal_the_bar_shows_days_landed_of_the_total_and_the_figures(
    watched: Watched,
) -> None:
    terminal, landed = watched.terminal, watched.bar_landed

    assert "\x1b[" in terminal.getvalue()  # drawn as a live bar, not printed as lines
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal.getvalue())
    bar = [line for line in re.split(r"[\r\n]", drawn) if line.startswith("landing")]
    assert re.search(rf"{len(DAYS)}/{len(DAYS)} days\s+{landed.rows:,} rows", bar[-1])
    assert "points" not in bar[-1]  # no cost measured yet: no estimate shown
