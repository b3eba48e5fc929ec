"""A range run from the CLI's instance on PostgreSQL storage keeps its database connections.

Dagster's PostgreSQL storages open a connection for every event they store unless asked to keep
a pool; a year's backfill stores thousands. The sessions the server counts for the test's own
database (pg_stat_database.sessions) show which it did: a run through `persistent_instance`
against a run on an instance made the plain way, over the same days.
"""

import time
from datetime import date
from pathlib import Path

import psycopg2
import pytest
from dagster import DagsterInstance

from kraken_pipeline.cli.runner import persistent_instance, run_range
from kraken_pipeline_tests.scale.instances import instance_home
from kraken_pipeline_tests.support.pipeline import PipelineHarness

DAYS = (date(2026, 11, 14), date(2026, 11, 18))  # about 110 events stored
# Measured: about 18 sessions for a 5-day run with the pool (6 of them opening the instance),
# about 3 a stored event without it.
EVENTS_PER_POOLED_SESSION = 4
STATS_SETTLE_TIMEOUT = 10

pytestmark = pytest.mark.slow


def sessions_opened(postgres_url: str) -> int:
    """Sessions the server has counted for this database, once its statistics stop changing.

    A backend reports its statistics when it exits or about once a second, so two equal readings
    in a row are waited for.
    """
    name = postgres_url.rsplit("/", 1)[1]
    admin = psycopg2.connect(postgres_url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    try:
        previous = -1
        deadline = time.monotonic() + STATS_SETTLE_TIMEOUT
        while time.monotonic() < deadline:
            with admin.cursor() as cursor:
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (name,))
                row = cursor.fetchone()
            current = int(row[0]) if row else 0
            if current == previous:
                return current
            previous = current
            time.sleep(1.5)
        raise AssertionError(f"the session count of {name} kept changing")
    finally:
        admin.close()


def test_a_range_run_keeps_its_connections_instead_of_one_per_event(
    harness: PipelineHarness, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = instance_home(tmp_path / "dagster_home", postgres_url)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    first, last = DAYS
    with DagsterInstance.get():
        pass  # creates the storages' tables, which takes sessions of its own
    before = sessions_opened(postgres_url)

    with persistent_instance(home) as instance:
        pooled = run_range(instance, harness.settings, first, last)
        events = len(instance.all_logs(pooled.run_id))
    after_pooled = sessions_opened(postgres_url)

    plain_settings = harness.elsewhere(tmp_path / "plain").settings
    with DagsterInstance.get() as instance:
        plain = run_range(instance, plain_settings, first, last)
    after_plain = sessions_opened(postgres_url)

    assert pooled.success, pooled.failure
    assert plain.success, plain.failure
    # Opening an instance takes a few sessions; the pooled run's events take almost none.
    assert after_pooled - before < events / EVENTS_PER_POOLED_SESSION
    # What the pool saves: the same run on a plainly made instance opens sessions per event.
    assert after_plain - after_pooled >= events
