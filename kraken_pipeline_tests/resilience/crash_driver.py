"""`kraken-pipeline` with a crash point armed: the process stops there and waits to be killed.

    python crash_driver.py <crash point> <marker file> run --start ... --end ...

Killing a process "during the Parquet write" by timing alone would be a race the test loses
most of the time: the write takes milliseconds. So this driver wraps one library call (never
the pipeline's own code) and, when the pipeline reaches it, writes the marker file and sleeps;
the test then sends SIGKILL. The pipeline code runs unchanged. Crash points:

- parquet-write: half of a day's measurements file is written to its temporary name;
- mirror-publish: the warehouse refresh has hard-linked one file into the views' mirror;
- views-transaction: the warehouse refresh is inside its DuckDB transaction, one view rewritten;
- run-created: Dagster has stored the run (NOT_STARTED) but not yet reported it started.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import duckdb
import pyarrow.parquet as pq


def stand_still(marker: Path, where: str) -> NoReturn:
    """Say where the process stopped, then wait for the SIGKILL."""
    marker.write_text(where, encoding="utf-8")
    while True:
        time.sleep(60)


def arm_parquet_write(marker: Path) -> None:
    real_write = pq.write_table

    def write_half_then_stop(table: Any, where: Any, *args: Any, **kwargs: Any) -> None:
        name = str(getattr(where, "name", where))
        if Path(name).name.startswith(".measurements.parquet") and name.endswith(".tmp"):
            whole = io.BytesIO()
            real_write(table, whole, *args, **kwargs)
            where.write(whole.getvalue()[: len(whole.getvalue()) // 2])
            where.flush()
            os.fsync(where.fileno())
            stand_still(marker, name)
        real_write(table, where, *args, **kwargs)

    pq.write_table = write_half_then_stop


def arm_mirror_publish(marker: Path) -> None:
    real_link = os.link

    def link_then_stop(source: Any, target: Any, *args: Any, **kwargs: Any) -> None:
        real_link(source, target, *args, **kwargs)
        if "_views" in Path(target).parts:
            stand_still(marker, str(target))

    os.link = link_then_stop  # type: ignore[assignment]  # same call, looser annotations


class _StallingConnection:
    """A DuckDB connection that stops the process after the first view is rewritten."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, marker: Path) -> None:
        self._connection = connection
        self._marker = marker

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __enter__(self) -> _StallingConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._connection.close()

    def execute(self, statement: str, *args: Any, **kwargs: Any) -> Any:
        result = self._connection.execute(statement, *args, **kwargs)
        if statement.lstrip().startswith("CREATE OR REPLACE VIEW"):
            stand_still(self._marker, statement[:80])
        return result


def arm_views_transaction(marker: Path) -> None:
    real_connect = duckdb.connect

    def connect(*args: Any, **kwargs: Any) -> Any:
        connection = real_connect(*args, **kwargs)
        return connection if kwargs.get("read_only") else _StallingConnection(connection, marker)

    duckdb.connect = connect


def arm_run_created(marker: Path) -> None:
    from dagster import DagsterInstance

    real_create_run = DagsterInstance.create_run_for_job

    def create_then_stop(instance: DagsterInstance, *args: Any, **kwargs: Any) -> Any:
        run = real_create_run(instance, *args, **kwargs)
        stand_still(marker, run.run_id)

    DagsterInstance.create_run_for_job = create_then_stop  # type: ignore[method-assign]


CRASH_POINTS: dict[str, Callable[[Path], None]] = {
    "parquet-write": arm_parquet_write,
    "mirror-publish": arm_mirror_publish,
    "views-transaction": arm_views_transaction,
    "run-created": arm_run_created,
}


def main() -> None:
    crash_at, marker, *arguments = sys.argv[1:]
    CRASH_POINTS[crash_at](Path(marker))
    from kraken_pipeline.cli import main as kraken_pipeline

    kraken_pipeline(args=arguments, prog_name="kraken-pipeline")


if __name__ == "__main__":
    main()
