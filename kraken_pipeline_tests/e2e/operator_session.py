"""One operator's session in the Dagster UI, which the three UI test modules examine.

conftest.py starts `kraken-pipeline ui` (webserver and daemon) and a headless Chromium once for
the package, and takes the session's steps in this order, each a fixture that waits for the one
before it, so the order is the same whichever test asks first:

1. Backfill from the asset page: *Materialize…*, three days typed into the partition picker,
   *Launch backfill*, for `measurements` alone; while the daemon picks it up, the asset's
   *Overview* and *Checks* tabs. The days turn green.
2. A repair with a typo (a supply point the file does not hold): the launchpad shows the config
   error and will not materialize; the launch mutation behind its button refuses it too, so no
   run exists and the day stays landed and green, its rows untouched.
3. The automation sensor asks for `daily_consumption` of the backfilled days.
4. Bad days: a day landed while the emulator refused one property's fetches is the one day
   *Automation → bad_days → Preview tick result* lists; *Apply requests & commit tick result*
   (Dagster 1.13's *Launch all*) re-runs its failed supply points, and the day is no longer bad.
   Meanwhile one backfilled day is re-run, as the UI's Materialize button launches it.
5. Settled: the backfill has its final status, the sensor's runs have derived the days, no run
   is left; then the asset's *Partitions* tab.

The daemon looks for new backfills every 30 s and the sensor's own backfill waits for its next
look, so the steps that need no derived day (2, 4) are taken while `daily_consumption` is on its
way. Step 4 waits for the sensor's request (3): a day still landing when the sensor ticks would
be left out of it, and one landed before it would be asked for with the backfilled days.

Through the webserver's GraphQL API instead of a click: landing the spoiled day (setting the
scene, not an operator's step), the typo's launch (the launchpad disables its button, so whether
the webserver refuses the run is asked of the mutation the button sends) and the re-run (the
mutation the Materialize button sends). Everything else the API only reads. The supply points
are the example file's without its gappy meter, whose random gaps could make any day bad.
Screenshots go to artifacts/e2e/, at the README's size.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from kraken_pipeline import storage, warehouse
from kraken_pipeline.consumption import failed_blocking_checks
from kraken_pipeline.defs.checks import DAY_CHECKS
from kraken_pipeline.defs.sensors import FOLLOW_SENSOR
from kraken_pipeline.emulator import Emulator, Fault
from kraken_pipeline.quality import CHECK_FRESHNESS
from kraken_pipeline.status import DayStatus, day_status
from kraken_pipeline_tests.e2e.browser import (
    buttons,
    click,
    screenshot,
    set_code_editor,
    text_when,
    wait_for_element,
    wait_for_texts,
)
from kraken_pipeline_tests.support.dagster_processes import DagsterDeployment
from kraken_pipeline_tests.support.lake import stored_days_of
from kraken_pipeline_tests.support.webserver_api import (
    BACKFILL_TAG,
    PARTITION_TAG,
    SENSOR_TAG,
    Backfill,
    DagsterWebserver,
    LaunchOutcome,
    PartitionStatuses,
    RunSummary,
    wait_until,
)

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLE_CSV = REPOSITORY / "data" / "supply_points.example.csv"
# Git-ignored; CI keeps it as an artefact (screenshots, the UI's log).
ARTIFACTS = REPOSITORY / "artifacts" / "e2e"
TIMEZONE = "Europe/London"
PARTITION_DAYS = 21  # a short partitions bar, so the few landed days are plain to see
MEASUREMENTS, DAILY_CONSUMPTION = "measurements", "daily_consumption"
BOTH_ASSETS = [MEASUREMENTS, DAILY_CONSUMPTION]
BAD_DAYS = "bad_days"
GAPPY = "shop-import-gappy"
HOUSE = ("house-export", "house-gas", "house-import")  # property 1000001 of the example file
HOUSE_PROPERTY = "1000001"
REFUSED_FOR_THE_PROPERTY = "KT-CT-4178"  # fatal for the property: no retry hides it
UNKNOWN_SUPPLY_POINT = "no-such-meter"
TYPO_CONFIG = {"ops": {MEASUREMENTS: {"config": {"supply_point_ids": [UNKNOWN_SUPPLY_POINT]}}}}
# TYPO_CONFIG as the operator types it into the launchpad
TYPO_YAML = (
    f"ops:\n  {MEASUREMENTS}:\n    config:\n      supply_point_ids:\n"
    f"        - {UNKNOWN_SUPPLY_POINT}\n"
)
BACKFILL_TIMEOUT = 150  # the daemon looks for new backfills every 30 s
# The sensor ticks every 30 s once the backfill's run has ended; its own backfill then waits for
# the daemon's next look.
FOLLOW_TIMEOUT = 180
RUN_TIMEOUT = 120
QUIET_TIMEOUT = 120  # a run the sensor launched for the spoiled day may still be going
VALIDATION_TIMEOUT = 20  # the launchpad checks the config a moment after each edit
DIALOG = "[role='dialog']"
PARTITIONS_BAR = "[class*='PartitionStatusBar_partitionSpansContainer']"
PARTITIONS_SPAN = "[class*='PartitionStatusBar_colorSpan']"
ROWS_LABEL = "rows"  # the metadata entry of a landed day that counts its stored rows
SNAPSHOT_LABEL = "lake_snapshot"  # the metadata entry naming the lake snapshot of the day
ROWS_SQL = "SELECT * FROM {table} WHERE local_date = ? ORDER BY ALL"
DAYS_SQL = "SELECT DISTINCT local_date FROM {table}"
HOUSE_ROWS_SQL = "SELECT count(*) FROM measurements WHERE local_date = ? AND supply_point_id IN ?"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
RANGE_START = re.compile(r"asset_partition_range_start: (\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class OperatorDays:
    """The days of the session, counted back from today in London."""

    spoiled: date  # landed while the emulator refused the house's fetches
    backfill: tuple[date, ...]  # past the publication lag, so their status is final
    rerun: date  # a backfilled day landed again on its own
    typo: date  # a backfilled day the refused repair names
    pending: tuple[date, ...]  # inside the publication lag, never landed: not bad
    partitions_start: date

    @classmethod
    def before(cls, today: date) -> OperatorDays:
        backfill = tuple(today - timedelta(days=n) for n in (5, 4, 3))
        return cls(
            spoiled=today - timedelta(days=6),
            backfill=backfill,
            rerun=backfill[1],
            typo=backfill[2],  # not the re-run day: nothing but the refused repair names it
            pending=(today - timedelta(days=2), today - timedelta(days=1)),
            partitions_start=today - timedelta(days=PARTITION_DAYS),
        )

    @property
    def backfill_keys(self) -> list[str]:
        return [day.isoformat() for day in self.backfill]

    @property
    def every_day(self) -> tuple[date, ...]:
        """Every partition from the first day to the last complete one."""
        count = (self.pending[-1] - self.partitions_start).days + 1
        return tuple(self.partitions_start + timedelta(days=n) for n in range(count))


@dataclass(frozen=True)
class Operator:
    """The UI, its API, its data root, the emulator its runs read and a browser on it."""

    deployment: DagsterDeployment
    api: DagsterWebserver
    data: Path
    kraken: Emulator
    browser: WebDriver
    days: OperatorDays

    def open(self, path: str, *texts: str) -> str:
        """Go to a page of the UI; its text once it shows every one of `texts`."""
        self.browser.get(f"{self.deployment.url}{path}")
        return wait_for_texts(self.browser, list(texts))

    def shot(self, name: str) -> Path:
        return screenshot(self.browser, ARTIFACTS / f"{name}.png")

    def status(self, day: date) -> DayStatus:
        """The day as `kraken-pipeline status` and the bad_days sensor judge it now."""
        return day_status(self.data, day, TIMEZONE, datetime.now(UTC))

    def lake_rows(self, table: str, day: date) -> list[tuple[object, ...]]:
        with warehouse.connect(self.data) as lake:
            return lake.execute(ROWS_SQL.format(table=table), [day]).fetchall()

    def lake_days(self, table: str) -> set[date]:
        with warehouse.connect(self.data) as lake:
            return {day for (day,) in lake.execute(DAYS_SQL.format(table=table)).fetchall()}

    def trusted(self, days: tuple[date, ...] | set[date]) -> frozenset[str]:
        """Partition keys of those `days` that failed no blocking check."""
        return frozenset(
            day.isoformat() for day in days if not failed_blocking_checks(self.data, day)
        )


def stored_keys(root: Path, table: str, days: tuple[date, ...]) -> set[str]:
    """Partition keys of those `days` that the lake table holds rows for."""
    return {day.isoformat() for day in stored_days_of(root, table) & set(days)}


# 1. Backfill from the asset page ------------------------------------------------------------


@dataclass(frozen=True)
class Launched:
    """The backfill the Materialize dialog launched, and when."""

    backfill_id: str
    at: float  # epoch seconds, as the sensor's ticks are stamped


def launch_backfill(operator: Operator) -> Launched:
    """Materialize… → the three days typed as a range → Launch backfill."""
    first, last = operator.days.backfill[0], operator.days.backfill[-1]
    operator.open(f"/assets/{MEASUREMENTS}?view=partitions", "Materialize…")
    click(operator.browser, "Materialize…")
    wait_for_texts(operator.browser, [f"Launch runs to materialize {MEASUREMENTS}"])
    picker = wait_for_element(operator.browser, f"{DIALOG} input[placeholder]")
    picker.click()
    picker.send_keys(f"[{first}...{last}]", Keys.ENTER)
    wait_for_texts(operator.browser, [f"{len(operator.days.backfill)} partitions"])
    operator.shot("walk-1-backfill-dialog")
    at = time.time()
    click(operator.browser, "Launch backfill", within=DIALOG)
    toast = wait_for_texts(operator.browser, ["Created backfill"])
    backfill_id = re.search(r"Created backfill (\w+)", toast)
    assert backfill_id, toast
    return Launched(backfill_id.group(1), at)


@dataclass(frozen=True)
class AssetTabs:
    """What the asset page's Overview and Checks tabs show."""

    overview: str
    checks: str


def asset_tabs(operator: Operator) -> AssetTabs:
    """The asset page's Overview, then its Checks tab."""
    overview = operator.open(f"/assets/{MEASUREMENTS}?view=overview", "Description", "kraken")
    operator.shot("overview")
    checks = operator.open(f"/assets/{MEASUREMENTS}?view=checks", *DAY_CHECKS, CHECK_FRESHNESS)
    operator.shot("checks")
    return AssetTabs(overview, checks)


@dataclass(frozen=True)
class Backfilled:
    """The backfill's days landed: the lake's days then, and the asset's partitions page."""

    launched: Launched
    measurement_days: set[date]
    partitions_page: str


def land_backfill(operator: Operator, launched: Launched) -> Backfilled:
    """Until the partitions page shows the three days landed (each day turns green as its lake
    commit is done; the backfill's own status waits for the daemon's next look)."""
    operator.api.wait_for_materialized(MEASUREMENTS, operator.days.backfill_keys, BACKFILL_TIMEOUT)
    materialized = f"Materialized ({len(operator.days.backfill)})"
    page = operator.open(f"/assets/{MEASUREMENTS}?view=partitions", materialized)
    operator.shot("walk-1-partitions")
    return Backfilled(launched, operator.lake_days(MEASUREMENTS), page)


# 2. A repair with a typo, from the launchpad --------------------------------------------------


@dataclass(frozen=True)
class TypoAttempt:
    """The launchpad and the launch mutation given a supply point id the file does not hold."""

    day: str
    errors_pane: str
    materialize_enabled: bool
    outcome: LaunchOutcome
    rows_before: list[tuple[object, ...]]
    rows_after: list[tuple[object, ...]]
    stored_before: pa.Table | None  # the day's rows as the pipeline reads them
    stored_after: pa.Table | None
    runs_before: list[RunSummary]
    runs_after: list[RunSummary]
    statuses: PartitionStatuses
    partitions_page: str


def refuse_typo(operator: Operator) -> TypoAttempt:
    """Open launchpad from the asset page, pick the day, type the repair with a typo; then the
    launch mutation its Materialize button sends."""
    day = operator.days.typo.isoformat()
    rows_before = operator.lake_rows(MEASUREMENTS, operator.days.typo)
    stored_before = storage.read_day(operator.data, operator.days.typo)
    runs_before = operator.api.runs()
    errors_pane, enabled = _launchpad_with_typo(operator, day)
    outcome = operator.api.attempt_run([MEASUREMENTS], day, run_config=TYPO_CONFIG)
    if outcome.run_id is not None:  # launched after all: let it end, so the tests see its day
        operator.api.wait_for_run(outcome.run_id, RUN_TIMEOUT)
    page = operator.open(
        f"/assets/{MEASUREMENTS}?view=partitions&partition={day}", day, "Materialized"
    )
    operator.shot("walk-4-partitions-after-refusal")
    return TypoAttempt(
        day=day,
        errors_pane=errors_pane,
        materialize_enabled=enabled,
        outcome=outcome,
        rows_before=rows_before,
        rows_after=operator.lake_rows(MEASUREMENTS, operator.days.typo),
        stored_before=stored_before,
        stored_after=storage.read_day(operator.data, operator.days.typo),
        runs_before=runs_before,
        runs_after=operator.api.runs(),
        statuses=operator.api.partition_statuses(MEASUREMENTS),
        partitions_page=page,
    )


def _launchpad_with_typo(operator: Operator, day: str) -> tuple[str, bool]:
    """The launchpad's errors pane, and whether Materialize could be pressed, once checked."""
    browser = operator.browser
    operator.open(f"/assets/{MEASUREMENTS}?view=partitions", "Materialize…")
    # The unlabelled arrow beside Materialize… opens its menu.
    arrow = "//button[normalize-space()='Materialize…']/following::button[1]"
    browser.find_element(By.XPATH, arrow).click()
    click(browser, "Open launchpad")
    wait_for_texts(browser, ["Launchpad (configure assets)", "No errors"])
    partition = wait_for_element(browser, f"{DIALOG} input[placeholder='Partition']")
    partition.click()
    partition.send_keys(day)
    click(browser, day)  # the suggestion
    wait_for_texts(browser, [f"partition: {day}"])
    set_code_editor(browser, DIALOG, TYPO_YAML)
    refused = text_when(
        browser, lambda text: UNKNOWN_SUPPLY_POINT in _errors_pane(text), VALIDATION_TIMEOUT
    )
    editor = wait_for_element(browser, f"{DIALOG} .CodeMirror")
    ActionChains(browser).move_to_element(editor).perform()  # no tooltip over the picture
    operator.shot("walk-4-typo-refused-in-launchpad")
    pane = _errors_pane(refused)
    enabled = any(found.is_enabled() for found in buttons(browser, "Materialize", DIALOG))
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    return pane, enabled


def _errors_pane(text: str) -> str:
    """The launchpad's ERRORS pane: what config validation says of the editor's text."""
    start = text.find("ERRORS")
    return text[start : text.find("CONFIG ACTIONS", start)] if start >= 0 else ""


def covers(run: RunSummary, day: str) -> bool:
    """Whether a run was asked to write `day` (one partition, or a range of them)."""
    first = run.tags.get(RANGE_START_TAG, run.tags.get(PARTITION_TAG))
    last = run.tags.get(RANGE_END_TAG, first)
    return first is not None and last is not None and first <= day <= last


# 3. The sensor asks for the derived days ------------------------------------------------------


@dataclass(frozen=True)
class Followed:
    """What the follow sensor's ticks since the backfill asked for, and what they launched."""

    requested: frozenset[str]  # daily_consumption partitions
    launched: tuple[str, ...]  # the backfills (or runs) the ticks started


def await_follow_request(operator: Operator, launched: Launched) -> Followed:
    """Until the follow sensor's ticks since the backfill have asked for every backfilled day
    (one tick, or more if one came while the backfill's run was still landing days)."""
    wanted = frozenset(operator.days.backfill_keys)

    def requests() -> list[tuple[frozenset[str], tuple[str, ...]]]:
        return [
            (tick.requested.get(DAILY_CONSUMPTION, frozenset()), tick.run_ids)
            for tick in operator.api.sensor_ticks(FOLLOW_SENSOR)
            if tick.timestamp >= launched.at and tick.status == "SUCCESS" and tick.requested
        ]

    def asked_and_launched(ticks: list[tuple[frozenset[str], tuple[str, ...]]]) -> bool:
        asked = frozenset[str]().union(*(keys for keys, _ in ticks))
        return wanted <= asked and all(run_ids for _, run_ids in ticks)

    found = wait_until(
        requests,
        asked_and_launched,
        FOLLOW_TIMEOUT,
        f"{FOLLOW_SENSOR} tick asking for {DAILY_CONSUMPTION} {sorted(wanted)}",
    )
    return Followed(
        requested=frozenset().union(*(keys for keys, _ in found)),
        launched=tuple(run_id for _, run_ids in found for run_id in run_ids),
    )


# 4. Bad days at a glance, and their repair; one backfilled day re-run meanwhile ---------------


def spoil(operator: Operator) -> DayStatus:
    """Land a day while Kraken refuses the house; the day as status judges it then. No other run
    fetches meanwhile: the refusal is the property's on every day."""
    operator.kraken.faults.add(
        Fault("kraken_error", code=REFUSED_FOR_THE_PROPERTY, property_id=HOUSE_PROPERTY, times=None)
    )
    try:
        spoiling = operator.api.launch_run([MEASUREMENTS], operator.days.spoiled.isoformat())
        operator.api.require_success(spoiling, RUN_TIMEOUT)
    finally:
        operator.kraken.faults.clear()
    return operator.status(operator.days.spoiled)


def launch_rerun(operator: Operator) -> str:
    """Materialize both assets of one backfilled day in one run, as the Materialize button
    does; the run's id, while it runs."""
    return operator.api.launch_run(BOTH_ASSETS, operator.days.rerun.isoformat())


@dataclass(frozen=True)
class PreviewedTick:
    """The bad_days preview: its dialog, and each requested run's configuration dialog by day."""

    before: DayStatus  # the spoiled day as status judged it before the preview
    dialog: str
    requests: dict[date, str]


def preview(operator: Operator, before: DayStatus) -> PreviewedTick:
    """Preview the bad_days sensor's tick, and each run it requests."""
    dialog = _preview_bad_days(operator)
    operator.shot("walk-2-bad-days-preview")
    return PreviewedTick(before, dialog, _requested_runs(operator))


def _preview_bad_days(operator: Operator) -> str:
    """Automation → bad_days → Preview tick result → Continue; the dialog's text."""
    operator.open("/automation", BAD_DAYS)
    wait_for_element(operator.browser, f"a[href$='/sensors/{BAD_DAYS}']").click()
    wait_for_texts(operator.browser, ["Preview tick result"])
    click(operator.browser, "Preview tick result")
    click(operator.browser, "Continue", within=DIALOG)
    wait_for_texts(operator.browser, ["Result", "Requested runs ("])
    return str(wait_for_element(operator.browser, DIALOG).text)


def _requested_runs(operator: Operator) -> dict[date, str]:
    """Each requested run's Preview: its tags and run config, by the day it repairs."""
    browser = operator.browser
    requests: dict[date, str] = {}
    for index in range(len(buttons(browser, "Preview", within=DIALOG))):
        buttons(browser, "Preview", within=DIALOG)[index].click()
        shown = wait_for_texts(browser, ["Run configuration", "asset_partition_range_start"])
        config = shown[shown.rindex("Run configuration") :]
        if not requests:
            operator.shot("walk-2-bad-day-repair-config")
        click(browser, "OK", within=DIALOG)
        day = RANGE_START.search(config)
        assert day, config
        requests[date.fromisoformat(day.group(1))] = config
    return requests


@dataclass(frozen=True)
class Repair:
    """The runs Apply requests launched, and the day and the preview once they had ended."""

    runs: list[RunSummary]
    house_rows_before: int
    house_rows_after: int
    after: DayStatus
    preview_after: str


def apply_repair(operator: Operator, previewed: PreviewedTick) -> Repair:
    """Apply requests & commit tick result in the open preview; wait for the repair run."""
    day = operator.days.spoiled
    house_rows_before = _house_rows(operator, day)
    click(operator.browser, "Apply requests & commit tick result", within=DIALOG)
    runs = wait_until(
        lambda: operator.api.runs({SENSOR_TAG: BAD_DAYS}),
        lambda found: len(found) >= len(previewed.requests),
        RUN_TIMEOUT,
        "run launched from the bad_days preview",
    )
    for run in runs:
        operator.api.require_success(run.run_id, RUN_TIMEOUT)
    wait_for_texts(operator.browser, ["kraken/needs_action", "Success"], timeout=RUN_TIMEOUT)
    operator.shot("walk-3-repair-run")
    after = operator.status(day)
    preview_after = _preview_bad_days(operator)
    operator.shot("walk-3-no-bad-days")
    finished = operator.api.runs({SENSOR_TAG: BAD_DAYS})
    return Repair(finished, house_rows_before, _house_rows(operator, day), after, preview_after)


def _house_rows(operator: Operator, day: date) -> int:
    with warehouse.connect(operator.data) as lake:
        [(count,)] = lake.execute(HOUSE_ROWS_SQL, [day, list(HOUSE)]).fetchall()
    return int(count)


# 5. Settled -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settled:
    """The backfill's final state, the days the sensor derived, and the quiet UI after it all."""

    backfill: Backfill
    trusted: frozenset[str]  # backfilled days that failed no blocking check
    follow_runs: tuple[RunSummary, ...]  # the runs the follow sensor's requests launched
    followed: frozenset[str]  # daily_consumption partitions those runs materialized
    measurements: PartitionStatuses
    consumption: PartitionStatuses


def settle(operator: Operator, launched: Launched, followed: Followed, rerun: str) -> Settled:
    """Until the re-run has succeeded, the sensor's runs have derived the trusted backfilled days
    and no partition of either asset is materializing; the backfill's final status."""
    api = operator.api
    api.require_success(rerun, RUN_TIMEOUT)
    trusted = operator.trusted(operator.days.backfill)
    api.wait_for_materialized(DAILY_CONSUMPTION, trusted, FOLLOW_TIMEOUT)
    launches = wait_until(
        lambda: [_runs_of(api, launch) for launch in followed.launched],
        lambda found: all(found),
        FOLLOW_TIMEOUT,
        f"run launched by each of the {FOLLOW_SENSOR} requests {followed.launched}",
    )
    runs = [run for launch in launches for run in launch]
    for run in runs:
        api.require_success(run.run_id, RUN_TIMEOUT)
    derived = frozenset().union(
        *(api.run_materializations(run.run_id).get(DAILY_CONSUMPTION, ()) for run in runs)
    )
    backfill = api.wait_for_backfill(launched.backfill_id, BACKFILL_TIMEOUT)
    measurements, consumption = wait_until(
        lambda: (api.partition_statuses(MEASUREMENTS), api.partition_statuses(DAILY_CONSUMPTION)),
        lambda both: not any(statuses.materializing for statuses in both),
        QUIET_TIMEOUT,
        "quiet: no partition materializing",
    )
    finished = tuple(run for run in api.runs() if run.run_id in {r.run_id for r in runs})
    return Settled(backfill, trusted, finished, derived, measurements, consumption)


def _runs_of(api: DagsterWebserver, launch: str) -> list[RunSummary]:
    """The runs behind one of a sensor's launches: a backfill's runs, or the run itself."""
    return api.runs({BACKFILL_TAG: launch}) or [run for run in api.runs() if run.run_id == launch]


@dataclass(frozen=True)
class PartitionsTab:
    """The asset page's Partitions tab on the re-run day, with the statuses it was read at."""

    statuses: PartitionStatuses
    text: str
    bar_width: int
    spans: int


def partitions_tab(operator: Operator) -> PartitionsTab:
    """The asset's Partitions tab with the re-run day picked: counts, the day's metadata, bar."""
    statuses = operator.api.partition_statuses(MEASUREMENTS)
    path = f"/assets/{MEASUREMENTS}?view=partitions&partition={operator.days.rerun}"
    text = operator.open(
        path,
        f"Materialized ({len(statuses.materialized)})",
        f"Failed ({len(statuses.failed)})",
        ROWS_LABEL,
        SNAPSHOT_LABEL,
    )
    bar = wait_for_element(operator.browser, PARTITIONS_BAR)
    spans = bar.find_elements(By.CSS_SELECTOR, PARTITIONS_SPAN)
    operator.shot("partitions")
    return PartitionsTab(statuses, text, int(bar.size["width"]), len(spans))
