"""`kraken-pipeline run` with a crash point armed: the process stops there and waits to be killed.

    python crash_driver.py <crash point> <marker file> run --start ... --end ...

Killing a process "inside a day's lake transaction" by timing alone would be a race the test
loses most of the time: the commit takes milliseconds. So this driver wraps one library call
(DuckDB's `execute`, never the pipeline's own code) and, when the pipeline reaches the chosen
statement, writes the marker file and sleeps; the test then sends SIGKILL. The pipeline code
runs unchanged. Each lake transaction names itself (its commit message) before its work, which
is how the driver knows whose COMMIT is coming. Crash points:

- day-commit: a measurements day's transaction is about to COMMIT: the day's old rows are
  deleted and the new rows' Parquet file is written, none of it committed;
- between-days: the first day's transaction has committed, the next day's has not begun;
- views-commit: the transaction defining the analysts' views is about to COMMIT.
- run-created: Dagster has stored the run (NOT_STARTED) but not yet reported it started.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import duckdb

DAY_COMMIT_MESSAGE = "measurements and fetch log of "  # storage.write_day's, then the day
VIEWS_COMMIT_MESSAGE = "defining the analysts' views"
Stop = Callable[[str, bool], bool]  # (commit message, committed yet) -> stop here


def stand_still(marker: Path, where: str) -> NoReturn:
    """Say where the process stopped, then wait for the SIGKILL."""
    marker.write_text(where, encoding="utf-8")
    while True:
        time.sleep(60)


def arm_commit(marker: Path, stop_at: Stop) -> None:
    """Stop the process at a lake transaction's COMMIT for which `stop_at` says so."""
    real_execute = duckdb.DuckDBPyConnection.execute
    messages: dict[int, str] = {}  # connection -> its open transaction's commit message

    def execute(self: duckdb.DuckDBPyConnection, query: object, *args: Any, **kwargs: Any) -> Any:
        statement = str(query).strip().upper()
        if statement.startswith("CALL DUCKLAKE_SET_COMMIT_MESSAGE") and args:
            messages[id(self)] = str(list(args[0])[-1])
        if statement != "COMMIT":
            return real_execute(self, query, *args, **kwargs)  # type: ignore[arg-type]
        message = messages.pop(id(self), "")
        if stop_at(message, False):
            stand_still(marker, f"before committing the {message}")
        result = real_execute(self, query, *args, **kwargs)  # type: ignore[arg-type]
        if stop_at(message, True):
            stand_still(marker, f"after committing the {message}")
        return result

    duckdb.DuckDBPyConnection.execute = execute  # type: ignore[method-assign]


def arm_run_created(marker: Path) -> None:
    from dagster import DagsterInstance

    real_create_run = DagsterInstance.create_run_for_job

    def create_then_stop(instance: DagsterInstance, *args: Any, **kwargs: Any) -> Any:
        run = real_create_run(instance, *args, **kwargs)
        stand_still(marker, run.run_id)

    DagsterInstance.create_run_for_job = create_then_stop  # type: ignore[method-assign]


def day_commit(message: str, committed: bool) -> bool:
    return message.startswith(DAY_COMMIT_MESSAGE) and not committed


def after_first_day(message: str, committed: bool) -> bool:
    return message.startswith(DAY_COMMIT_MESSAGE) and committed


def views_commit(message: str, committed: bool) -> bool:
    return message == VIEWS_COMMIT_MESSAGE and not committed


CRASH_POINTS: dict[str, Callable[[Path], None]] = {
    "day-commit": lambda marker: arm_commit(marker, day_commit),
    "between-days": lambda marker: arm_commit(marker, after_first_day),
    "views-commit": lambda marker: arm_commit(marker, views_commit),
    "run-created": arm_run_created,
}


def main() -> None:
    crash_at, marker, *arguments = sys.argv[1:]
    CRASH_POINTS[crash_at](Path(marker))
    from kraken_pipeline.cli import main as kraken_pipeline

    kraken_pipeline(args=arguments, prog_name="kraken-pipeline")


if __name__ == "__main__":
    main()
