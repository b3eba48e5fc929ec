"""The operator's three paths through the Dagster UI, walked with clicks in a headless Chromium.

1. Backfill: the asset page's *Materialize…*, three days typed into the partition picker,
   *Launch backfill*: one run over the range, and the days turn green.
2. Bad days: a day the emulator spoiled (it refused one property's fetches while the day was
   landed) is the one day *Automation → bad_days → Preview tick result* lists; *Apply requests &
   commit tick result* (Dagster 1.13's *Launch all*) re-runs its failed supply points, and the
   day is no longer bad.
3. A repair naming a supply point the file does not hold: the launchpad shows the config error
   and will not materialize; the launch mutation behind its button refuses it too, so no run
   exists and the day stays landed and green, its rows untouched.

They are steps of the one session in the UI that conftest.py takes (operator_session.py), which
test_derived_days_in_the_ui.py and test_operator_ui.py examine too.
"""

from __future__ import annotations

import pytest

from kraken_pipeline.defs.schedules import range_tags
from kraken_pipeline_tests.e2e.operator_session import (
    HOUSE,
    MEASUREMENTS,
    RANGE_END_TAG,
    RANGE_START_TAG,
    REFUSED_FOR_THE_PROPERTY,
    UNKNOWN_SUPPLY_POINT,
    Backfilled,
    Operator,
    PreviewedTick,
    Repair,
    Settled,
    TypoAttempt,
    covers,
)
from kraken_pipeline_tests.support.xdist_groups import DAEMONS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600), pytest.mark.xdist_group(DAEMONS)]

REFUSED_CONFIG = "RunConfigValidationInvalid"  # what the launch answers for run config it rejects


# 1. Backfill from the asset page ------------------------------------------------------------


def test_a_backfill_from_the_asset_page_lands_the_three_days_in_one_run_over_the_range(
    operator: Operator, backfilled: Backfilled, settled: Settled
) -> None:
    backfill, days = settled.backfill, operator.days.backfill

    [tags] = backfill.run_tags

    assert backfill.backfill_id == backfilled.launched.backfill_id
    assert backfill.partition_names == tuple(operator.days.backfill_keys)
    assert backfill.status == "COMPLETED_SUCCESS"
    assert len(backfill.run_ids) == 1
    assert tags.items() >= range_tags(days[0], days[-1]).items()
    assert backfilled.measurement_days == set(days)


def test_the_partitions_page_shows_the_backfilled_days_landed_and_no_failure(
    operator: Operator, backfilled: Backfilled
) -> None:
    page = backfilled.partitions_page

    assert f"Materialized ({len(operator.days.backfill)})" in page
    assert "Failed (0)" in page
    assert all(key in page for key in operator.days.backfill_keys)


# 2. Bad days at a glance, and their repair ----------------------------------------------------


def test_the_bad_days_preview_lists_the_spoiled_day_and_no_good_or_pending_day(
    operator: Operator, previewed: PreviewedTick
) -> None:
    days = operator.days

    assert previewed.before.needs_action
    assert "Requested runs (1)" in previewed.dialog
    assert set(previewed.requests) == {days.spoiled}
    assert not set(previewed.requests) & {*days.backfill, *days.pending}


def test_the_listed_repair_names_what_is_wrong_and_only_the_failed_supply_points(
    previewed: PreviewedTick, operator: Operator
) -> None:
    config = previewed.requests[operator.days.spoiled]

    assert (
        f"kraken/needs_action: 3 supply point(s) failed to fetch: {REFUSED_FOR_THE_PROPERTY}"
        in (config)
    )
    assert all(f"- {supply_point}" in config for supply_point in HOUSE)
    assert "office-import" not in config


def test_launching_the_listed_repair_re_runs_the_day_and_it_is_bad_no_more(
    operator: Operator, repaired: Repair
) -> None:
    [run] = repaired.runs

    assert run.status == "SUCCESS"
    assert run.tags[RANGE_START_TAG] == operator.days.spoiled.isoformat()
    assert run.tags[RANGE_END_TAG] == operator.days.spoiled.isoformat()
    assert repaired.house_rows_before == 0
    assert repaired.house_rows_after > 0
    assert not repaired.after.needs_action, repaired.after.problems


def test_after_the_repair_the_preview_lists_no_bad_day(repaired: Repair) -> None:
    preview = repaired.preview_after

    assert "Skipped" in preview
    assert "Requested runs (0)" in preview
    assert "no day of the last 4 weeks needs action" in preview


# 3. A repair with a typo, from the launchpad --------------------------------------------------


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
    writing_the_day = [
        run.run_id for run in new_runs if MEASUREMENTS in run.assets and covers(run, typo.day)
    ]
    assert outcome.typename == REFUSED_CONFIG, outcome
    assert outcome.run_id is None
    assert any(UNKNOWN_SUPPLY_POINT in message for message in outcome.messages), outcome.messages
    assert typo_runs == []
    assert writing_the_day == []


def test_the_refused_repair_leaves_the_days_rows_and_its_green_square(typo: TypoAttempt) -> None:
    assert typo.rows_before
    assert typo.rows_after == typo.rows_before
    assert typo.stored_before is not None
    assert typo.stored_before.num_rows > 0
    assert typo.stored_after is not None
    assert typo.stored_after.equals(typo.stored_before)
    assert typo.day in typo.statuses.materialized
    assert typo.day not in typo.statuses.failed
    assert "Failed (0)" in typo.partitions_page
