"""The operator's three paths through the Dagster UI, walked with clicks in a headless Chromium.

1. Backfill: the asset page's *Materialize…*, three days typed into the partition picker,
   *Launch backfill*; `daily_consumption` follows through its sensor, and the lake has both.
2. Bad days: a day the emulator spoiled (it refused one property's fetches while the day was
   landed) is the one day *Automation → bad_days → Preview tick result* lists; *Apply requests &
   commit tick result* (Dagster 1.13's *Launch all*) re-runs its failed supply points, and the
   day is no longer bad.
3. A repair naming a supply point the file does not hold: the launchpad shows the config error
   and will not materialize; the launch mutation behind its button refuses it too, so no run
   exists and the day stays landed and green, its rows untouched.

Only two things go through the webserver's GraphQL API instead of a click: landing the spoiled
day (setting the scene, not an operator's step), and the typo's launch (the launchpad disables
its button, so whether the webserver refuses the run is asked of the mutation the button
sends). Everything else the API only reads: backfills, runs, partition statuses. The supply
points are the example file's without its gappy meter, whose random gaps could make any day
bad. Screenshots go to artifacts/e2e/walk-*.png, at the README's size.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from kraken_pipeline import warehouse
from kraken_pipeline.emulator import Emulator, Fault
from kraken_pipeline.status import DayStatus, day_status
from kraken_pipeline_tests.e2e.browser import (
    README_WINDOW,
    buttons,
    click,
    headless_chromium,
    screenshot,
    set_code_editor,
    text_when,
    wait_for_element,
    wait_for_texts,
)
from kraken_pipeline_tests.e2e.conftest import (
    ARTIFACTS,
    EXAMPLE_CSV,
    PARTITION_DAYS,
    TIMEZONE,
    operator_ui,
)
from kraken_pipeline_tests.e2e.dagster_processes import DagsterDeployment
from kraken_pipeline_tests.e2e.webserver_api import (
    PARTITION_TAG,
    SENSOR_TAG,
    Backfill,
    DagsterWebserver,
    LaunchOutcome,
    PartitionStatuses,
    RunSummary,
    wait_until,
)
from kraken_pipeline_tests.support.xdist_groups import DAEMONS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600), pytest.mark.xdist_group(DAEMONS)]

MEASUREMENTS, DAILY_CONSUMPTION = "measurements", "daily_consumption"
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
REFUSED_CONFIG = "RunConfigValidationInvalid"
BACKFILL_TIMEOUT = 150  # the daemon looks for new backfills every 30 s
FOLLOW_TIMEOUT = 180  # the follow sensor ticks every 30 s once the backfill has ended
RUN_TIMEOUT = 120
VALIDATION_TIMEOUT = 20  # the launchpad checks the config a moment after each edit
DIALOG = "[role='dialog']"
ROWS_SQL = "SELECT * FROM {table} WHERE local_date = ? ORDER BY ALL"
DAYS_SQL = "SELECT DISTINCT local_date FROM {table}"
HOUSE_ROWS_SQL = "SELECT count(*) FROM measurements WHERE local_date = ? AND supply_point_id IN ?"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
RANGE_START = re.compile(r"asset_partition_range_start: (\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class WalkDays:
    """The days of the walk, counted back from today in London."""

    spoiled: date  # landed while the emulator refused the house's fetches
    backfill: tuple[date, ...]  # past the publication lag, so their status is final
    typo: date  # a backfilled day the refused repair names
    pending: tuple[date, ...]  # inside the publication lag, never landed: not bad
    partitions_start: date

    @classmethod
    def before(cls, today: date) -> WalkDays:
        backfill = tuple(today - timedelta(days=n) for n in (5, 4, 3))
        return cls(
            spoiled=today - timedelta(days=6),
            backfill=backfill,
            typo=backfill[1],
            pending=(today - timedelta(days=2), today - timedelta(days=1)),
            partitions_start=today - timedelta(days=PARTITION_DAYS),
        )

    @property
    def backfill_keys(self) -> list[str]:
        return [day.isoformat() for day in self.backfill]


@dataclass(frozen=True)
class Walk:
    """The UI, its API, its data root, the emulator its runs read and a browser on it."""

    deployment: DagsterDeployment
    api: DagsterWebserver
    data: Path
    kraken: Emulator
    browser: WebDriver
    days: WalkDays

    def open(self, path: str, *texts: str) -> str:
        """Go to a page of the UI; its text once it shows every one of `texts`."""
        self.browser.get(f"{self.deployment.url}{path}")
        return wait_for_texts(self.browser, list(texts))

    def shot(self, name: str) -> Path:
        return screenshot(self.browser, ARTIFACTS / f"walk-{name}.png")

    def status(self, day: date) -> DayStatus:
        """The day as `kraken-pipeline status` and the bad_days sensor judge it now."""
        return day_status(self.data, day, TIMEZONE, datetime.now(UTC))

    def lake_rows(self, table: str, day: date) -> list[tuple[object, ...]]:
        with warehouse.connect(self.data) as lake:
            return lake.execute(ROWS_SQL.format(table=table), [day]).fetchall()

    def lake_days(self, table: str) -> set[date]:
        with warehouse.connect(self.data) as lake:
            return {day for (day,) in lake.execute(DAYS_SQL.format(table=table)).fetchall()}


@pytest.fixture(scope="module")
def walk(kraken: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walk]:
    """The UI over the example supply points without the gappy meter, and a browser on it."""
    workdir = tmp_path_factory.mktemp("walk")
    days = WalkDays.before(datetime.now(ZoneInfo(TIMEZONE)).date())
    supply_points = workdir / "supply_points.csv"
    lines = EXAMPLE_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    supply_points.write_text("".join(x for x in lines if not x.startswith(GAPPY)), "utf-8")
    with (
        operator_ui(
            workdir, kraken, days.partitions_start, supply_points, "walk-dagster-ui.log"
        ) as (deployment, api, data),
        headless_chromium(
            workdir / "profile", ARTIFACTS / "walk-chromedriver.log", README_WINDOW
        ) as browser,
    ):
        api.dismiss_welcome_dialog()
        yield Walk(deployment, api, data, kraken, browser, days)


# 1. Backfill from the asset page ------------------------------------------------------------


@dataclass(frozen=True)
class BackfillFromUI:
    """The backfill the Materialize dialog launched, and what the lake held once it was done."""

    backfill: Backfill
    measurement_days: set[date]
    consumption_days: set[date]
    consumption: PartitionStatuses
    partitions_page: str


@pytest.fixture(scope="module")
def backfilled(walk: Walk) -> BackfillFromUI:
    """Materialize… → the three days typed as a range → Launch backfill; then wait for both."""
    first, last = walk.days.backfill[0], walk.days.backfill[-1]
    walk.open(f"/assets/{MEASUREMENTS}?view=partitions", "Materialize…")
    click(walk.browser, "Materialize…")
    wait_for_texts(walk.browser, [f"Launch runs to materialize {MEASUREMENTS}"])
    picker = wait_for_element(walk.browser, f"{DIALOG} input[placeholder]")
    picker.click()
    picker.send_keys(f"[{first}...{last}]", Keys.ENTER)
    wait_for_texts(walk.browser, [f"{len(walk.days.backfill)} partitions"])
    walk.shot("1-backfill-dialog")
    click(walk.browser, "Launch backfill", within=DIALOG)
    toast = wait_for_texts(walk.browser, ["Created backfill"])
    backfill_id = re.search(r"Created backfill (\w+)", toast)
    assert backfill_id, toast
    backfill = walk.api.wait_for_backfill(backfill_id.group(1), BACKFILL_TIMEOUT)
    consumption = walk.api.wait_for_materialized(
        DAILY_CONSUMPTION, walk.days.backfill_keys, FOLLOW_TIMEOUT
    )
    materialized = f"Materialized ({len(walk.days.backfill)})"
    page = walk.open(f"/assets/{MEASUREMENTS}?view=partitions", materialized)
    walk.shot("1-partitions")
    return BackfillFromUI(
        backfill=backfill,
        measurement_days=walk.lake_days(MEASUREMENTS),
        consumption_days=walk.lake_days(DAILY_CONSUMPTION),
        consumption=consumption,
        partitions_page=page,
    )


def test_a_backfill_from_the_asset_page_lands_the_three_days_in_one_run(
    walk: Walk, backfilled: BackfillFromUI
) -> None:
    backfill = backfilled.backfill

    assert backfill.partition_names == tuple(walk.days.backfill_keys)
    assert backfill.status == "COMPLETED_SUCCESS"
    assert len(backfill.run_ids) == 1
    assert backfilled.measurement_days == set(walk.days.backfill)


def test_daily_consumption_follows_the_backfill_for_exactly_those_days(
    walk: Walk, backfilled: BackfillFromUI
) -> None:
    keys = set(walk.days.backfill_keys)

    assert backfilled.consumption_days == set(walk.days.backfill)
    assert backfilled.consumption.materialized == keys
    assert not backfilled.consumption.failed


def test_the_partitions_page_shows_the_backfilled_days_landed_and_no_failure(
    walk: Walk, backfilled: BackfillFromUI
) -> None:
    page = backfilled.partitions_page

    assert f"Materialized ({len(walk.days.backfill)})" in page
    assert "Failed (0)" in page
    assert all(key in page for key in walk.days.backfill_keys)


# 2. Bad days at a glance, and their repair ----------------------------------------------------


@dataclass(frozen=True)
class PreviewedTick:
    """The bad_days preview: its dialog, and each requested run's configuration dialog by day."""

    before: DayStatus  # the spoiled day as status judged it before the preview
    dialog: str
    requests: dict[date, str]


@pytest.fixture(scope="module")
def previewed(walk: Walk, backfilled: BackfillFromUI) -> PreviewedTick:
    """Land a day while Kraken refuses the house, then preview the bad_days sensor's tick."""
    del backfilled  # the good days are landed first
    walk.kraken.faults.add(
        Fault("kraken_error", code=REFUSED_FOR_THE_PROPERTY, property_id=HOUSE_PROPERTY, times=None)
    )
    try:
        spoiling = walk.api.launch_run([MEASUREMENTS], walk.days.spoiled.isoformat())
        walk.api.require_success(spoiling, RUN_TIMEOUT)
    finally:
        walk.kraken.faults.clear()
    before = walk.status(walk.days.spoiled)
    dialog = _preview_bad_days(walk)
    walk.shot("2-bad-days-preview")
    return PreviewedTick(before, dialog, _requested_runs(walk))


def _preview_bad_days(walk: Walk) -> str:
    """Automation → bad_days → Preview tick result → Continue; the dialog's text."""
    walk.open("/automation", BAD_DAYS)
    wait_for_element(walk.browser, f"a[href$='/sensors/{BAD_DAYS}']").click()
    wait_for_texts(walk.browser, ["Preview tick result"])
    click(walk.browser, "Preview tick result")
    click(walk.browser, "Continue", within=DIALOG)
    wait_for_texts(walk.browser, ["Result", "Requested runs ("])
    return str(wait_for_element(walk.browser, DIALOG).text)


def _requested_runs(walk: Walk) -> dict[date, str]:
    """Each requested run's Preview: its tags and run config, by the day it repairs."""
    requests: dict[date, str] = {}
    for index in range(len(buttons(walk.browser, "Preview", within=DIALOG))):
        buttons(walk.browser, "Preview", within=DIALOG)[index].click()
        shown = wait_for_texts(walk.browser, ["Run configuration", "asset_partition_range_start"])
        config = shown[shown.rindex("Run configuration") :]
        if not requests:
            walk.shot("2-bad-day-repair-config")
        click(walk.browser, "OK", within=DIALOG)
        day = RANGE_START.search(config)
        assert day, config
        requests[date.fromisoformat(day.group(1))] = config
    return requests


def test_the_bad_days_preview_lists_the_spoiled_day_and_no_good_or_pending_day(
    walk: Walk, previewed: PreviewedTick
) -> None:
    days = walk.days

    assert previewed.before.needs_action
    assert "Requested runs (1)" in previewed.dialog
    assert set(previewed.requests) == {days.spoiled}
    assert not set(previewed.requests) & {*days.backfill, *days.pending}


def test_the_listed_repair_names_what_is_wrong_and_only_the_failed_supply_points(
    previewed: PreviewedTick, walk: Walk
) -> None:
    config = previewed.requests[walk.days.spoiled]

    assert (
        f"kraken/needs_action: 3 supply point(s) failed to fetch: {REFUSED_FOR_THE_PROPERTY}"
        in (config)
    )
    assert all(f"- {supply_point}" in config for supply_point in HOUSE)
    assert "office-import" not in config


@dataclass(frozen=True)
class Repair:
    """The runs Apply requests launched, and the day and the preview once they had ended."""

    runs: list[RunSummary]
    house_rows_before: int
    house_rows_after: int
    after: DayStatus
    preview_after: str


@pytest.fixture(scope="module")
def repaired(walk: Walk, previewed: PreviewedTick) -> Repair:
    """Apply requests & commit tick result in the open preview; wait for the repair run."""
    day = walk.days.spoiled
    house_rows_before = _house_rows(walk, day)
    click(walk.browser, "Apply requests & commit tick result", within=DIALOG)
    runs = wait_until(
        lambda: walk.api.runs({SENSOR_TAG: BAD_DAYS}),
        lambda found: len(found) >= len(previewed.requests),
        RUN_TIMEOUT,
        "run launched from the bad_days preview",
    )
    for run in runs:
        walk.api.require_success(run.run_id, RUN_TIMEOUT)
    wait_for_texts(walk.browser, ["kraken/needs_action", "Success"], timeout=RUN_TIMEOUT)
    walk.shot("3-repair-run")
    after = walk.status(day)
    preview_after = _preview_bad_days(walk)
    walk.shot("3-no-bad-days")
    finished = walk.api.runs({SENSOR_TAG: BAD_DAYS})
    return Repair(finished, house_rows_before, _house_rows(walk, day), after, preview_after)


def _house_rows(walk: Walk, day: date) -> int:
    with warehouse.connect(walk.data) as lake:
        [(count,)] = lake.execute(HOUSE_ROWS_SQL, [day, list(HOUSE)]).fetchall()
    return int(count)


def test_launching_the_listed_repair_re_runs_the_day_and_it_is_bad_no_more(
    walk: Walk, repaired: Repair
) -> None:
    [run] = repaired.runs

    assert run.status == "SUCCESS"
    assert run.tags[RANGE_START_TAG] == walk.days.spoiled.isoformat()
    assert run.tags[RANGE_END_TAG] == walk.days.spoiled.isoformat()
    assert repaired.house_rows_before == 0
    assert repaired.house_rows_after > 0
    assert not repaired.after.needs_action, repaired.after.problems


def test_after_the_repair_the_preview_lists_no_bad_day(repaired: Repair) -> None:
    preview = repaired.preview_after

    assert "Skipped" in preview
    assert "Requested runs (0)" in preview
    assert "no day of the last 4 weeks needs action" in preview


# 3. A repair with a typo, from the launchpad --------------------------------------------------


@dataclass(frozen=True)
class TypoAttempt:
    """The launchpad and the launch mutation given a supply point id the file does not hold."""

    day: str
    errors_pane: str
    materialize_enabled: bool
    outcome: LaunchOutcome
    rows_before: list[tuple[object, ...]]
    rows_after: list[tuple[object, ...]]
    runs_before: list[RunSummary]
    runs_after: list[RunSummary]
    statuses: PartitionStatuses
    partitions_page: str


@pytest.fixture(scope="module")
def typo(walk: Walk, repaired: Repair) -> TypoAttempt:
    """Open launchpad from the asset page, pick the day, type the repair with a typo."""
    del repaired  # the runs before are done, so none is still writing the day
    day = walk.days.typo.isoformat()
    rows_before = walk.lake_rows(MEASUREMENTS, walk.days.typo)
    runs_before = walk.api.runs()
    errors_pane, enabled = _launchpad_with_typo(walk, day)
    outcome = walk.api.attempt_run([MEASUREMENTS], day, run_config=TYPO_CONFIG)
    if outcome.run_id is not None:  # launched after all: let it end, so the tests see its day
        walk.api.wait_for_run(outcome.run_id, RUN_TIMEOUT)
    page = walk.open(f"/assets/{MEASUREMENTS}?view=partitions&partition={day}", day, "Materialized")
    walk.shot("4-partitions-after-refusal")
    return TypoAttempt(
        day=day,
        errors_pane=errors_pane,
        materialize_enabled=enabled,
        outcome=outcome,
        rows_before=rows_before,
        rows_after=walk.lake_rows(MEASUREMENTS, walk.days.typo),
        runs_before=runs_before,
        runs_after=walk.api.runs(),
        statuses=walk.api.partition_statuses(MEASUREMENTS),
        partitions_page=page,
    )


def _launchpad_with_typo(walk: Walk, day: str) -> tuple[str, bool]:
    """The launchpad's errors pane, and whether Materialize could be pressed, once checked."""
    walk.open(f"/assets/{MEASUREMENTS}?view=partitions", "Materialize…")
    # The unlabelled arrow beside Materialize… opens its menu.
    arrow = "//button[normalize-space()='Materialize…']/following::button[1]"
    walk.browser.find_element(By.XPATH, arrow).click()
    click(walk.browser, "Open launchpad")
    wait_for_texts(walk.browser, ["Launchpad (configure assets)", "No errors"])
    partition = wait_for_element(walk.browser, f"{DIALOG} input[placeholder='Partition']")
    partition.click()
    partition.send_keys(day)
    click(walk.browser, day)  # the suggestion
    wait_for_texts(walk.browser, [f"partition: {day}"])
    set_code_editor(walk.browser, DIALOG, TYPO_YAML)
    refused = text_when(
        walk.browser, lambda text: UNKNOWN_SUPPLY_POINT in _errors_pane(text), VALIDATION_TIMEOUT
    )
    editor = wait_for_element(walk.browser, f"{DIALOG} .CodeMirror")
    ActionChains(walk.browser).move_to_element(editor).perform()  # no tooltip over the picture
    walk.shot("4-typo-refused-in-launchpad")
    pane = _errors_pane(refused)
    enabled = any(found.is_enabled() for found in buttons(walk.browser, "Materialize", DIALOG))
    walk.browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    return pane, enabled


def _errors_pane(text: str) -> str:
    """The launchpad's ERRORS pane: what config validation says of the editor's text."""
    start = text.find("ERRORS")
    return text[start : text.find("CONFIG ACTIONS", start)] if start >= 0 else ""


def test_the_launchpad_shows_the_unknown_supply_point_and_will_not_materialize(
    typo: TypoAttempt,
) -> None:
    assert UNKNOWN_SUPPLY_POINT in typo.errors_pane, typo.errors_pane
    assert "No errors" not in typo.errors_pane
    assert not typo.materialize_enabled


def test_a_launch_naming_an_unknown_supply_point_is_refused_before_any_run_exists(
    typo: TypoAttempt,
) -> None:
    outcome = typo.outcome

    before = {run.run_id for run in typo.runs_before}
    new_runs = [run for run in typo.runs_after if run.run_id not in before]
    typo_runs = [
        run.run_id for run in typo.runs_after if UNKNOWN_SUPPLY_POINT in run.run_config_yaml
    ]
    assert outcome.typename == REFUSED_CONFIG, outcome
    assert outcome.run_id is None
    assert any(UNKNOWN_SUPPLY_POINT in message for message in outcome.messages), outcome.messages
    assert typo_runs == []
    assert [run.run_id for run in new_runs if _covers(run, typo.day)] == []


def _covers(run: RunSummary, day: str) -> bool:
    """Whether a run was asked to write `day` (one partition, or a range of them)."""
    first = run.tags.get(RANGE_START_TAG, run.tags.get(PARTITION_TAG))
    last = run.tags.get(RANGE_END_TAG, first)
    return first is not None and last is not None and first <= day <= last


def test_the_refused_repair_leaves_the_days_rows_and_its_green_square(
    walk: Walk, typo: TypoAttempt
) -> None:
    day = walk.days.typo.isoformat()

    assert typo.rows_before
    assert typo.rows_after == typo.rows_before
    assert day in typo.statuses.materialized
    assert day not in typo.statuses.failed
    assert "Failed (0)" in typo.partitions_page
