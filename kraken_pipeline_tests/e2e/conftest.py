"""Module-wide fixtures: an emulator on the real clock and the UI serving a temporary data root.

The UI's processes run jobs whose Kraken is this emulator over loopback; they read the time
from the wall clock, so the emulator does too (its publication lag then matches theirs).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
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
            refused=today - timedelta(days=3),
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
    environment = ui_environment(workdir, kraken, days.partitions_start)
    with running_ui(workdir, environment) as deployment:
        api = DagsterWebserver(deployment.graphql_url)
        try:
            yield RunningUI(deployment, api, Path(environment["KRAKEN_PIPELINE_DATA"]), days)
        finally:
            api.close()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "dagster-ui.log").write_bytes(deployment.log_path.read_bytes())


def ui_environment(workdir: Path, kraken: Emulator, partitions_start: date) -> dict[str, str]:
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
        "KRAKEN_SUPPLY_POINTS": str(EXAMPLE_CSV),
        "KRAKEN_TIMEZONE": TIMEZONE,
        "KRAKEN_PIPELINE_START_DATE": partitions_start.isoformat(),
    }
