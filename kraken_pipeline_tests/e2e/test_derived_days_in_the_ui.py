"""A backfill of `measurements` alone from the UI, and the daemon's automation sensor deriving
`daily_consumption` for the same days: the real webserver and daemon, no test helper between."""

from __future__ import annotations

import time

import pytest

from kraken_pipeline.consumption import failed_blocking_checks
from kraken_pipeline_tests.e2e.conftest import RunningUI
from kraken_pipeline_tests.support.xdist_groups import DAEMONS

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group(DAEMONS)]

BACKFILL_TIMEOUT = 150  # the daemon looks for new backfills every 30 s
# The sensor ticks every 30 s, once the measurements backfill has ended; its own backfill then
# waits for the daemon's next look.
FOLLOW_TIMEOUT = 180
POLL_SECONDS = 3
# The UI's start, the backfill and the wait for the sensor's runs, with room to fail on the assert.
TEST_TIMEOUT = 600


@pytest.mark.timeout(TEST_TIMEOUT)
def test_a_measurements_backfill_from_the_ui_is_followed_by_daily_consumption(
    ui: RunningUI,
) -> None:
    keys = [day.isoformat() for day in ui.days.backfill]
    backfill_id = ui.api.launch_backfill(["measurements"], keys, title="measurements only")
    ui.api.wait_for_backfill(backfill_id, BACKFILL_TIMEOUT)
    trusted = {
        day.isoformat() for day in ui.days.backfill if not failed_blocking_checks(ui.data, day)
    }

    deadline = time.monotonic() + FOLLOW_TIMEOUT
    derived = ui.api.partition_statuses("daily_consumption").materialized
    while derived != trusted and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        derived = ui.api.partition_statuses("daily_consumption").materialized

    assert trusted, "every backfilled day failed a blocking check"
    assert derived == trusted
    assert not ui.api.partition_statuses("daily_consumption").failed
