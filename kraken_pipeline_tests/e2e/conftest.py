"""Module-wide fixtures: an emulator on the real clock and the UI serving a temporary data root.

The UI's processes run jobs whose Kraken is this emulator over loopback; they read the time
from the wall clock, so the emulator does too (its publication lag then matches theirs).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, EmulatorConfig
from kraken_pipeline_tests.e2e.dagster_processes import DagsterDeployment, running_ui
from kraken_pipeline_tests.e2e.webserver_api import DagsterWebserver

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLE_CSV = REPOSITORY / "data" / "supply_points.example.csv"
# Git-ignored; CI keeps it as an artefact (screenshots, the UI's log).
ARTIFACTS = REPOSITORY / "artifacts" / "e2e"
TIMEZONE = "Europe/London"
PARTITION_DAYS = 21  # a short partitions bar, so the few landed days are plain to see


@dataclass(frozen=True)
class OperatorDays:
    """The days the operator works on, counted back from today in London."""

    backfill: tuple[date, ...]
    rerun: date
    refused: date
    partitions_start: date

    @property
    def every_day(self) -> tuple[date, ...]:
        """Every partition from the first to the last day the operator touches."""
        count = (self.refused - self.partitions_start).days + 1
        return tuple(self.partitions_start + timedelta(days=n) for n in range(count))

    @classmethod
    def before(cls, today: date) -> OperatorDays:
        backfill = tuple(today - timedelta(days=n) for n in (6, 5, 4))
        return cls(
            backfill=backfill,
            rerun=backfill[1],
            refused=backfill[2],  # a landed day: the refused repair must leave it as it was
            partitions_start=today - timedelta(days=PARTITION_DAYS),
        )


@dataclass(frozen=True)
class RunningUI:
    """The UI, a client of its GraphQL API, and the data root its runs write."""

    deployment: DagsterDeployment
    api: DagsterWebserver
    data: Path
    days: OperatorDays


@pytest.fixture(scope="module")
def kraken() -> Iterator[Emulator]:
    """The demo emulator on the real clock."""
    with Emulator(EmulatorConfig(clock=lambda: datetime.now(UTC))) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def ui(kraken: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningUI]:
    """`kraken-pipeline ui` on a free loopback port; its log is kept under artifacts/."""
    workdir = tmp_path_factory.mktemp("operator")
    days = OperatorDays.before(datetime.now(ZoneInfo(TIMEZONE)).date())
    with operator_ui(workdir, kraken, days.partitions_start) as (deployment, api, data):
        yield RunningUI(deployment, api, data, days)


@contextmanager
def operator_ui(
    workdir: Path,
    kraken: Emulator,
    partitions_start: date,
    supply_points: Path = EXAMPLE_CSV,
    log_name: str = "dagster-ui.log",
) -> Iterator[tuple[DagsterDeployment, DagsterWebserver, Path]]:
    """The UI over `supply_points`, a client of its API and its data root; the UI's log is
    copied to artifacts/`log_name` when it stops."""
    environment = ui_environment(workdir, kraken, partitions_start, supply_points)
    with running_ui(workdir, environment) as deployment:
        api = DagsterWebserver(deployment.graphql_url)
        try:
            yield deployment, api, Path(environment["KRAKEN_PIPELINE_DATA"])
        finally:
            api.close()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / log_name).write_bytes(deployment.log_path.read_bytes())


def ui_environment(
    workdir: Path, kraken: Emulator, partitions_start: date, supply_points: Path = EXAMPLE_CSV
) -> dict[str, str]:
    """What an operator sets for a real Kraken, pointing at the emulator; nothing inherited."""
    return {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.defpath]),
        "HOME": str(workdir),
        "DAGSTER_HOME": str(workdir / "dagster_home"),
        "KRAKEN_PIPELINE_DATA": str(workdir / "data"),
        "KRAKEN_CLIENT_ID": DEMO_CLIENT_ID,
        "KRAKEN_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "KRAKEN_AUTH_URL": kraken.token_url,
        "KRAKEN_API_URL": kraken.graphql_url,
        "KRAKEN_SUPPLY_POINTS": str(supply_points),
        "KRAKEN_TIMEZONE": TIMEZONE,
        "KRAKEN_PIPELINE_START_DATE": partitions_start.isoformat(),
    }
