"""What `kraken-pipeline status` reports: the recent local days that need action, and their fix.

Read from what the runs stored (fetch logs and quality results), without Dagster.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from kraken_pipeline import quality, storage
from kraken_pipeline.filesystems import DATA_ROOT_VARIABLE, DataRoot
from kraken_pipeline.local_days import local_date_of
from kraken_pipeline.quality.completeness import day_is_past_publication_lag, latest_fetch_failures
from kraken_pipeline.report import failed_day_checks, rerun_command

EXIT_OK = 0  # no day needs action (pending days do not)
EXIT_NEEDS_ACTION = 1  # some day needs action: its line says how to repair it
EXIT_NO_DATA_ROOT = 2  # the data root does not exist: nothing could be read
# The checks' defaults: the floor below which completeness is an error, and the lag.
DEFAULT_RULES = quality.QualityConfig()


@dataclass(frozen=True)
class DayStatus:
    """One local day as the operator needs to see it: what is wrong, or what it waits for."""

    local_date: date
    problems: tuple[str, ...] = ()
    waiting: tuple[str, ...] = ()
    # The supply points a repair re-runs; empty: the whole day.
    repair_supply_points: tuple[str, ...] = ()

    @property
    def needs_action(self) -> bool:
        """Whether the day must be re-run."""
        return bool(self.problems)

    @property
    def pending(self) -> bool:
        """Whether the day is only waiting for Kraken to publish it."""
        return not self.problems and bool(self.waiting)

    def repair(self) -> str:
        """The command that re-runs the day (only the failed supply points, when that is all)."""
        return rerun_command(self.local_date, self.local_date, self.repair_supply_points)


def status_days(now: datetime, timezone: str, days: int) -> list[date]:
    """The `days` local days up to the last complete one, oldest first."""
    today = local_date_of(now, timezone)
    return [today - timedelta(days=n) for n in range(days, 0, -1)]


def day_status(
    root: DataRoot,
    day: date,
    timezone: str,
    now: datetime,
    rules: quality.QualityConfig = DEFAULT_RULES,
) -> DayStatus:
    """Judge one stored day as of `now` with the quality rules' floor and publication lag."""
    due = day_is_past_publication_lag(day, timezone, now, rules)
    log = storage.read_fetch_log(root, day)
    if log is None:
        if due:
            return DayStatus(day, problems=("no data stored",))
        return DayStatus(day, waiting=("no data yet",))
    failed = sorted(latest_fetch_failures(log, day))
    incomplete = sorted(_below_floor(log, rules.completeness_floor) - set(failed))
    below = f"{len(incomplete)} supply point(s) below {rules.completeness_floor:.0%} complete"
    problems = [quality.check_fetch_failures(day, log, rules).summary] if failed else []
    if incomplete and due:
        problems.append(below)
    checks = _check_problem(root, day)
    to_repair = {*failed, *(incomplete if due else ())}
    whole_day = bool(checks) or to_repair >= set(log["supply_point_id"].to_pylist())
    return DayStatus(
        day,
        problems=(*problems, *checks),
        waiting=(below,) if incomplete and not due else (),
        repair_supply_points=() if whole_day else tuple(sorted(to_repair)),
    )


def _below_floor(log: pa.Table, floor: float) -> set[str]:
    """Supply points whose logged fetch landed fewer than `floor` of their expected intervals."""
    short = pc.less(
        pc.cast(log["rows"], pa.float64()), pc.multiply(log["intervals_expected"], floor)
    )
    return set(log.filter(short)["supply_point_id"].to_pylist())


def _check_problem(root: DataRoot, day: date) -> tuple[str, ...]:
    """What the day's stored quality results say must be repaired: failed blocking checks."""
    failed = failed_day_checks(root, day)
    if failed is None:
        return ("never checked",)
    blocking = [name for name, _severity, blocks in failed if blocks]
    return (f"blocking check(s) failed: {', '.join(blocking)}",) if blocking else ()


def format_status(statuses: Sequence[DayStatus]) -> list[str]:
    """A line per day that needs action or is pending, then a count of each kind."""
    lines = []
    for status in statuses:
        day = status.local_date.isoformat()
        if status.needs_action:
            lines.append(f"{day}  {'; '.join(status.problems)}; re-run: {status.repair()}")
        elif status.pending:
            lines.append(_pending_line(status))
    needing = [status.local_date for status in statuses if status.needs_action]
    if len(needing) > 1:  # one run repairs them all; the days between are merely re-landed
        lines.append(f"re-run them all: {rerun_command(needing[0], needing[-1])}")
    bad = len(needing)
    pending = sum(status.pending for status in statuses)
    ok = len(statuses) - bad - pending
    span = f"{statuses[0].local_date}..{statuses[-1].local_date}" if statuses else "no days"
    lines.append(f"{span}: {bad} day(s) need action, {pending} pending, {ok} ok")
    return lines


def pending_lines(root: DataRoot, days: Sequence[date], timezone: str, now: datetime) -> list[str]:
    """A line for each of `days` that is short only because Kraken has not published it yet."""
    statuses = (day_status(root, day, timezone, now) for day in days)
    return [_pending_line(status) for status in statuses if status.pending]


def _pending_line(status: DayStatus) -> str:
    waiting = "; ".join(status.waiting)
    return f"{status.local_date.isoformat()}  pending: {waiting} (within the publication lag)"


def status_command(
    root: DataRoot, timezone: str, days: int, now: datetime, *, echo: Callable[..., None]
) -> int:
    """Print the status of the last `days` complete local days; return the exit status."""
    if isinstance(root, Path) and not root.is_dir():
        echo(
            f"error: the data root {root} does not exist; set {DATA_ROOT_VARIABLE} to the "
            "directory that runs write to",
            err=True,
        )
        return EXIT_NO_DATA_ROOT
    statuses = [day_status(root, day, timezone, now) for day in status_days(now, timezone, days)]
    for line in format_status(statuses):
        echo(line)
    return EXIT_NEEDS_ACTION if any(status.needs_action for status in statuses) else EXIT_OK
