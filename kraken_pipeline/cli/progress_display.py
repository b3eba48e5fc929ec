"""How `kraken-pipeline run` shows a run's progress: a live bar on a terminal, lines elsewhere.

Both are fed by day_progress.py as days land, never by parsing output.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from kraken_pipeline.cli.day_progress import LandedDays

ShowDay = Callable[[LandedDays], None]


def figures(landed: LandedDays, points_per_node: float | None) -> str:
    """Rows, requests and (where a request's cost was measured) points, so far."""
    text = f"{landed.rows:,} rows, {landed.requests:,} requests"
    if points_per_node is not None:
        # An estimate: Kraken charges per node served, at the cost per node measured earlier.
        text += f", ~{round(landed.rows * points_per_node):,} points"
    return text


@contextmanager
def live_bar(stream: IO[str], total_days: int, points_per_node: float | None) -> Iterator[ShowDay]:
    """A bar on the terminal `stream` for as long as the context lasts; yields its updater."""
    progress = Progress(
        TextColumn("landing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days  {task.fields[figures]}"),
        TimeRemainingColumn(),
        console=Console(file=stream),
    )
    task = progress.add_task("landing", total=total_days, figures="")

    def show(landed: LandedDays) -> None:
        progress.update(
            task, completed=len(landed.reports), figures=figures(landed, points_per_node)
        )

    with progress:
        yield show


def plain_lines(
    echo: Callable[[str], None], total_days: int, points_per_node: float | None
) -> ShowDay:
    """An updater that prints one line per landed day, with the run's figures so far."""
    started = time.monotonic()

    def show(landed: LandedDays) -> None:
        report = landed.reports[-1]
        done = len(landed.reports)
        elapsed = time.monotonic() - started
        left = timedelta(seconds=round(elapsed / done * (total_days - done)))
        echo(
            f"landed {report.local_date} ({done}/{total_days} days): {report.rows:,} rows, "
            f"{report.completeness:.1%} complete, {len(report.failures)} failed | so far "
            f"{figures(landed, points_per_node)}, {left} left"
        )

    return show
