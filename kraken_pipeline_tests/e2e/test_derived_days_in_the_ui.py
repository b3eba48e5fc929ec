"""A backfill of `measurements` alone from the UI, and the daemon's automation sensor deriving
`daily_consumption` for the same days: the real webserver and daemon, no test helper between.

The backfill is the one the operator launches from the asset page in the session conftest.py
takes (operator_session.py).
"""

from __future__ import annotations

import pytest

from kraken_pipeline_tests.e2e.operator_session import (
    DAILY_CONSUMPTION,
    Followed,
    Operator,
    Settled,
)
from kraken_pipeline_tests.support.xdist_groups import DAEMONS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600), pytest.mark.xdist_group(DAEMONS)]


def test_a_measurements_backfill_from_the_ui_is_followed_by_daily_consumption_for_those_days(
    operator: Operator, followed: Followed, settled: Settled
) -> None:
    keys = frozenset(operator.days.backfill_keys)
    derived_in_the_lake = operator.lake_days(DAILY_CONSUMPTION) & set(operator.days.backfill)

    assert followed.requested == keys
    assert settled.trusted == keys, "a backfilled day failed a blocking check"
    assert {run.status for run in settled.follow_runs} == {"SUCCESS"}
    assert settled.followed == keys
    assert settled.consumption.materialized & keys == keys
    assert {day.isoformat() for day in derived_in_the_lake} == keys
    assert not settled.consumption.failed
