"""The package's fixtures: an emulator on the real clock, and one operator's session in the UI.

The UI's processes run jobs whose Kraken is this emulator over loopback; they read the time
from the wall clock, so the emulator does too (its publication lag then matches theirs). The
three UI test modules examine one session (operator_session.py): one `kraken-pipeline ui`, one
browser, one backfill. Each step is a fixture that asks for the one before it, so the session
takes the same course whichever test comes first, and the UI starts once for all three.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator, EmulatorConfig
from kraken_pipeline.status import DayStatus
from kraken_pipeline_tests.e2e import operator_session as session
from kraken_pipeline_tests.e2e.browser import README_WINDOW, headless_chromium
from kraken_pipeline_tests.e2e.operator_session import ARTIFACTS, EXAMPLE_CSV, GAPPY, TIMEZONE
from kraken_pipeline_tests.support.dagster_processes import DagsterDeployment, running_ui
from kraken_pipeline_tests.support.webserver_api import DagsterWebserver


@pytest.fixture(scope="package")
def kraken() -> Iterator[Emulator]:
    """The demo emulator on the real clock."""
    with Emulator(EmulatorConfig(clock=lambda: datetime.now(UTC))) as emulator:
        yield emulator


@pytest.fixture(scope="package")
def operator(
    kraken: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[session.Operator]:
    """The UI over the example supply points without the gappy meter, and a browser on it."""
    workdir = tmp_path_factory.mktemp("operator")
    days = session.OperatorDays.before(datetime.now(ZoneInfo(TIMEZONE)).date())
    supply_points = workdir / "supply_points.csv"
    lines = EXAMPLE_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    supply_points.write_text("".join(x for x in lines if not x.startswith(GAPPY)), "utf-8")
    chromedriver_log = ARTIFACTS / "chromedriver.log"
    with (
        operator_ui(workdir, kraken, days.partitions_start, supply_points) as started,
        headless_chromium(workdir / "profile", chromedriver_log, README_WINDOW) as browser,
    ):
        deployment, api, data = started
        api.dismiss_welcome_dialog()
        yield session.Operator(deployment, api, data, kraken, browser, days)


@pytest.fixture(scope="package")
def launched(operator: session.Operator) -> session.Launched:
    """1. The backfill of three days, launched from the asset page's Materialize dialog."""
    return session.launch_backfill(operator)


@pytest.fixture(scope="package")
def asset_tabs(operator: session.Operator, launched: session.Launched) -> session.AssetTabs:
    """The asset page's Overview and Checks tabs, while the backfill waits for the daemon."""
    del launched
    return session.asset_tabs(operator)


@pytest.fixture(scope="package")
def backfilled(
    operator: session.Operator, launched: session.Launched, asset_tabs: session.AssetTabs
) -> session.Backfilled:
    """The three days landed, as the asset's partitions page shows them."""
    del asset_tabs
    return session.land_backfill(operator, launched)


@pytest.fixture(scope="package")
def typo(operator: session.Operator, backfilled: session.Backfilled) -> session.TypoAttempt:
    """2. A repair naming a supply point the file does not hold, from the launchpad."""
    del backfilled  # the day it names has landed
    return session.refuse_typo(operator)


@pytest.fixture(scope="package")
def followed(
    operator: session.Operator, launched: session.Launched, typo: session.TypoAttempt
) -> session.Followed:
    """3. The follow sensor's request for daily_consumption of the backfilled days."""
    del typo
    return session.await_follow_request(operator, launched)


@pytest.fixture(scope="package")
def spoiled(operator: session.Operator, followed: session.Followed) -> DayStatus:
    """4. A day landed while Kraken refused the house, as status judged it then."""
    del followed  # the sensor has asked for the backfilled days: the spoiled day stays out of it
    return session.spoil(operator)


@pytest.fixture(scope="package")
def rerun(operator: session.Operator, spoiled: DayStatus) -> str:
    """The id of the run landing one backfilled day again, launched once Kraken answers again;
    it runs while the operator previews the bad days."""
    del spoiled
    return session.launch_rerun(operator)


@pytest.fixture(scope="package")
def previewed(operator: session.Operator, spoiled: DayStatus, rerun: str) -> session.PreviewedTick:
    """The bad_days sensor's preview, with the spoiled day landed."""
    del rerun
    return session.preview(operator, spoiled)


@pytest.fixture(scope="package")
def repaired(operator: session.Operator, previewed: session.PreviewedTick) -> session.Repair:
    """The repair the preview listed, launched from it, and the preview once it has ended."""
    return session.apply_repair(operator, previewed)


@pytest.fixture(scope="package")
def settled(
    operator: session.Operator,
    launched: session.Launched,
    followed: session.Followed,
    rerun: str,
    repaired: session.Repair,
) -> session.Settled:
    """5. Every run ended: the backfill's final status and the days the sensor derived."""
    del repaired
    return session.settle(operator, launched, followed, rerun)


@pytest.fixture(scope="package")
def partitions_tab(operator: session.Operator, settled: session.Settled) -> session.PartitionsTab:
    """The asset page's Partitions tab once every run has ended."""
    del settled
    return session.partitions_tab(operator)


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
