"""The lake's catalog in PostgreSQL (KRAKEN_PIPELINE_CATALOG=postgres:...), shared by machines.

Each test has a brand-new database on the machine's server (loopback, trust authentication). The
writers are separate Python processes that share nothing with the test but the environment and
the data directory, as pipelines on two machines share the catalog and the data path.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from kraken_pipeline import filesystems, storage, warehouse
from kraken_pipeline.filesystems import DataRoot, S3Path
from kraken_pipeline.warehouse import lake
from kraken_pipeline_tests.support.day_tables import day_tables
from kraken_pipeline_tests.support.pipeline import PipelineHarness

REPOSITORY = Path(__file__).resolve().parents[2]
FIRST_DAY = date(2026, 11, 1)
DAYS_PER_WRITER = 4
PASSWORD = "catalog-password-5be1"  # ignored by trust authentication, never to be shown
# One writer's work: wait for the start signal, then land its days one commit each.
WRITER = """
import sys, time
from datetime import date, timedelta
from pathlib import Path
from kraken_pipeline import storage
from kraken_pipeline.filesystems import parse_data_root
from kraken_pipeline_tests.support.day_tables import day_tables

root, start = parse_data_root(sys.argv[1]), Path(sys.argv[2])
first, count = sys.argv[3], int(sys.argv[4])
while not start.exists():
    time.sleep(0.01)
for offset in range(count):
    day = date.fromisoformat(first) + timedelta(days=offset)
    storage.write_day(root, day, *day_tables(day, [f"meter-{day.day}-a", f"meter-{day.day}-b"]))
"""

pytestmark = pytest.mark.slow


def catalog_of(postgres_url: str, **overrides: str) -> str:
    """KRAKEN_PIPELINE_CATALOG for the fixture's database, in libpq's key=value form."""
    settings = {
        "dbname": postgres_url.rsplit("/", 1)[1],
        "host": "127.0.0.1",
        "user": "postgres",
        "password": PASSWORD,
        **overrides,
    }
    return "postgres:" + " ".join(f"{key}={value}" for key, value in settings.items())


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def catalog(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The fixture's database as this process's catalog; its lake connections closed after."""
    value = catalog_of(postgres_url)
    monkeypatch.setenv(lake.CATALOG_VARIABLE, value)
    yield value
    lake.forget_connections()


def start_writer(root: DataRoot, start: Path, first: date, catalog: str) -> subprocess.Popen[str]:
    """A writer process of DAYS_PER_WRITER days from `first`, waiting for `start` to exist.

    It is given the catalog, the AWS settings of an S3 root, and nothing else of this process.
    """
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(start.parent),
        "PYTHONPATH": str(REPOSITORY),
        lake.CATALOG_VARIABLE: catalog,
        **{name: value for name, value in os.environ.items() if name.startswith("AWS_")},
    }
    arguments = [str(root), str(start), first.isoformat(), str(DAYS_PER_WRITER)]
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, *arguments],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def land_concurrently(root: DataRoot, start: Path, catalog: str) -> list[tuple[object, ...]]:
    """Two writer processes landing 2 x DAYS_PER_WRITER days at once; per day, what a reader sees.

    The lake exists first, as after an operator's first run: a brand-new catalog opened by two
    processes at once fails one of them (DuckLake creates its metadata tables twice).
    """
    warehouse.ensure_tables(root)
    second_first = FIRST_DAY + timedelta(days=DAYS_PER_WRITER)
    writers = [start_writer(root, start, day, catalog) for day in (FIRST_DAY, second_first)]

    start.touch()
    finished = [writer.communicate(timeout=180) for writer in writers]

    assert [writer.returncode for writer in writers] == [0, 0], [err for _, err in finished]
    with warehouse.connect(root) as reader:
        return reader.execute(
            "SELECT m.local_date, count(DISTINCT m.supply_point_id), count(*), "
            "(SELECT count(*) FROM fetch_log AS f WHERE f.local_date = m.local_date) "
            "FROM measurements AS m GROUP BY m.local_date ORDER BY m.local_date"
        ).fetchall()


EVERY_DAY = [(FIRST_DAY + timedelta(days=n), 2, 96, 2) for n in range(2 * DAYS_PER_WRITER)]


def test_two_processes_land_different_days_at_once_and_a_reader_sees_every_one(
    tmp_path: Path, catalog: str
) -> None:
    root = tmp_path / "data"

    landed = land_concurrently(root, tmp_path / "start", catalog)

    assert landed == EVERY_DAY
    assert not (root / lake.CATALOG_FILE).exists()


def test_machines_sharing_the_catalog_and_a_bucket_see_each_others_days(
    root: S3Path, s3: Any, tmp_path: Path, catalog: str
) -> None:
    landed = land_concurrently(root, tmp_path / "start", catalog)

    assert landed == EVERY_DAY
    assert not (filesystems.local_directory(root) / lake.CATALOG_FILE).exists()
    listed = s3.list_objects_v2(Bucket=root.bucket, Prefix=f"{root.key}/lake/main/measurements/")
    assert len(listed.get("Contents", [])) == len(EVERY_DAY)


def test_a_reader_connection_held_open_sees_a_day_landed_after_it_connected(
    tmp_path: Path, catalog: str
) -> None:
    root = tmp_path / "data"
    storage.write_day(root, FIRST_DAY, *day_tables(FIRST_DAY, ["a"]))

    with warehouse.connect(root) as reader:
        before = reader.execute("SELECT DISTINCT local_date FROM measurements").fetchall()
        later = FIRST_DAY + timedelta(days=1)
        storage.write_day(root, later, *day_tables(later, ["a"]))
        after = reader.execute("SELECT DISTINCT local_date FROM measurements ORDER BY 1").fetchall()

    assert before == [(FIRST_DAY,)]
    assert after == [(FIRST_DAY,), (later,)]


def test_an_unreachable_catalog_is_named_without_its_connection_string(
    tmp_path: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable = catalog_of(postgres_url, port=str(closed_port()))
    monkeypatch.setenv(lake.CATALOG_VARIABLE, unreachable)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(filesystems.DataRootError, match=lake.CATALOG_VARIABLE) as refused:
        storage.write_day(tmp_path / "data", FIRST_DAY, *day_tables(FIRST_DAY, ["a"]))
    with pytest.raises(filesystems.DataRootError, match=lake.CATALOG_VARIABLE) as analyst:
        warehouse.connect(tmp_path / "data")

    for shown in (str(refused.value), repr(refused.value), str(analyst.value), caplog.text):
        assert PASSWORD not in shown
        assert unreachable.removeprefix("postgres:") not in shown


def test_a_run_against_an_unreachable_catalog_fails_without_showing_its_password(
    harness: PipelineHarness, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lake.CATALOG_VARIABLE, catalog_of(postgres_url, port=str(closed_port())))

    outcome = harness.run(FIRST_DAY, FIRST_DAY)

    assert not outcome.success
    assert outcome.failure is not None
    assert lake.CATALOG_VARIABLE in outcome.failure
    stored_events = [str(record) for record in harness.instance.all_logs(outcome.run_id)]
    for shown in (outcome.failure, *stored_events):
        assert PASSWORD not in shown
