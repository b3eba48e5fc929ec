"""An s3:// data root: the lake's Parquet files as objects, written and read by DuckDB's httpfs.

The server is moto in server mode on loopback. The pipeline reaches it the way it reaches AWS:
through the standard AWS environment (dummy keys, AWS_ENDPOINT_URL). The bucket's objects are
read with boto3, a client separate from the DuckDB code under test. The catalog of an S3 root is
a SQLite file in this machine's directory for the root, unless KRAKEN_PIPELINE_CATALOG names one.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.compute as pc
import pytest

from kraken_pipeline import filesystems, storage
from kraken_pipeline.cli.runner import RunOutcome, run_range
from kraken_pipeline.filesystems import S3Path
from kraken_pipeline.settings import PipelineSettings, SettingsError
from kraken_pipeline.warehouse import lake
from kraken_pipeline.warehouse.lake import lake_of
from kraken_pipeline_tests.support.day_tables import fetch_log_table, measurements_table
from kraken_pipeline_tests.support.pipeline import PipelineHarness, expected_series
from kraken_pipeline_tests.support.services import (
    S3_KEY_ID,
    S3_PREFIX,
    S3_SECRET,
)

DAY = date(2026, 11, 10)  # published, and restated, at the emulator's clock
# What an analyst's process reads, printed as JSON: it shares nothing with the test but the env.
ANALYST_QUERY = """
import json
from kraken_pipeline import warehouse
with warehouse.connect() as analyst:
    rows = analyst.execute(
        "SELECT supply_point_id, local_date, interval_start, value FROM measurements ORDER BY ALL"
    ).fetchall()
print(json.dumps([[p, str(d), t.isoformat(), str(v)] for p, d, t, v in rows]))
"""


def run_into(harness: PipelineHarness, data_root: S3Path, first: date, last: date) -> RunOutcome:
    """The real job over first..last with KRAKEN_PIPELINE_DATA=data_root."""
    settings = harness.settings.model_copy(update={"data_root": data_root})
    as_of = {"as_of": harness.emulator.now().isoformat()}
    run_config = {"ops": {"measurements_quality": {"config": as_of}}}
    return run_range(harness.instance, settings, first, last, run_config=run_config)


def objects(s3: Any, bucket: str) -> dict[str, bytes]:
    """Every object of the bucket, by key."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


Row = tuple[str, str, str, Decimal]


def analyst_rows(environment: dict[str, str]) -> list[Row]:
    """What warehouse.connect() reads in a new Python process given only `environment`."""
    answer = subprocess.run(
        [sys.executable, "-c", ANALYST_QUERY],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr
    return [(p, d, t, Decimal(v)) for p, d, t, v in json.loads(answer.stdout)]


def truth(harness: PipelineHarness, days: list[date]) -> list[Row]:
    """The emulator's values of every supply point and day, as the analyst's script reads them."""
    return sorted(
        (point.supply_point_id, str(day), start.isoformat(), value)
        for point in harness.supply_points()
        for day in days
        for start, value in expected_series(harness.emulator, point, day)
    )


# --- the configuration -------------------------------------------------------------------------


def test_an_s3_uri_in_kraken_pipeline_data_is_a_prefix_and_a_directory_stays_a_path() -> None:
    s3_root = PipelineSettings.from_environ({"KRAKEN_PIPELINE_DATA": "s3://meters/raw/kraken/"})
    local = PipelineSettings.from_environ({"KRAKEN_PIPELINE_DATA": "some/dir"})

    assert s3_root.data_root == S3Path("meters", "raw/kraken")
    assert str(s3_root.data_root) == "s3://meters/raw/kraken"
    assert local.data_root == Path("some/dir").absolute()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("gs://meters/raw", "only local directories and s3://bucket/prefix"),
        ("s3://Meters_Raw/x", "valid S3 bucket"),
        ("s3://meters/raw/../other", ". and .. are not allowed"),
    ],
)
def test_an_unusable_data_root_uri_is_refused_naming_the_variable(value: str, says: str) -> None:
    with pytest.raises(SettingsError, match="KRAKEN_PIPELINE_DATA") as refused:
        PipelineSettings.from_environ({"KRAKEN_PIPELINE_DATA": value})

    assert says in str(refused.value)


def test_an_s3_roots_files_go_under_its_prefix_and_its_catalog_stays_on_this_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(filesystems.LOCAL_DIRECTORY_VARIABLE, str(tmp_path / "cache"))
    s3_root = S3Path("meters", "raw/kraken")

    default = lake_of(s3_root, {})
    configured = lake_of(s3_root, {lake.CATALOG_VARIABLE: "postgres:dbname=lake host=db"})

    assert default.data_path == configured.data_path == "s3://meters/raw/kraken/lake/"
    assert default.catalog == f"sqlite:{tmp_path / 'cache' / 'catalog.sqlite'}"
    assert configured.catalog == "postgres:dbname=lake host=db"


# --- storage on S3 -----------------------------------------------------------------------------


def test_a_repair_of_one_supply_point_on_s3_keeps_the_others_rows(root: S3Path, s3: Any) -> None:
    storage.write_day(
        root, DAY, measurements_table(DAY, ["a", "b"]), fetch_log_table(DAY, {"a": 48, "b": 48})
    )
    repaired = measurements_table(DAY, ["b"], first_value=Decimal("9"))

    written = storage.write_day(
        root, DAY, repaired, fetch_log_table(DAY, {"b": 48}), only_supply_points={"b"}
    )

    stored = storage.read_day(root, DAY)
    assert stored is not None
    assert written.rows == stored.num_rows == 96
    assert stored.filter(pc.equal(stored["supply_point_id"], "a")).equals(
        measurements_table(DAY, ["a"])
    )
    assert stored.filter(pc.equal(stored["supply_point_id"], "b")).equals(repaired)
    assert storage.stored_days(root) == [DAY]
    landed = [key for key in objects(s3, root.bucket) if key.endswith(".parquet")]
    assert landed
    assert all(key.startswith(f"{S3_PREFIX}/lake/") for key in landed)


# --- the pipeline on S3 ------------------------------------------------------------------------


@pytest.mark.slow
def test_a_run_lands_every_day_readable_by_an_analyst_on_another_machine(
    harness: PipelineHarness, root: S3Path, s3: Any, tmp_path: Path
) -> None:
    days = [DAY - timedelta(days=1), DAY]

    outcome = run_into(harness, root, days[0], days[-1])

    assert outcome.success, outcome.failure
    catalog = filesystems.local_directory(root) / lake.CATALOG_FILE
    assert catalog.is_file()
    assert not list(filesystems.local_directory(root).rglob("*.parquet"))
    analyst_home = tmp_path / "analyst"
    analyst_home.mkdir()
    only_the_settings = {
        "PATH": os.environ["PATH"],
        "HOME": str(analyst_home),
        filesystems.DATA_ROOT_VARIABLE: str(root),
        lake.CATALOG_VARIABLE: f"sqlite:{catalog}",
        **{name: os.environ[name] for name in os.environ if name.startswith("AWS_")},
    }
    assert analyst_rows(only_the_settings) == truth(harness, days)
    assert not list(analyst_home.rglob("*.parquet"))


@pytest.mark.slow
def test_no_object_and_no_catalog_holds_the_aws_credentials(
    harness: PipelineHarness, root: S3Path, s3: Any
) -> None:
    assert run_into(harness, root, DAY, DAY).success
    lake.forget_connections()  # a closed catalog: everything the pipeline wrote is in the file

    landed = objects(s3, root.bucket)
    catalog = (filesystems.local_directory(root) / lake.CATALOG_FILE).read_bytes()

    assert any(key.startswith(f"{S3_PREFIX}/lake/main/measurements/") for key in landed)
    for credential in (S3_KEY_ID.encode(), S3_SECRET.encode()):
        assert not [key for key, body in landed.items() if credential in body]
        assert credential not in catalog


# --- the failing side --------------------------------------------------------------------------


@pytest.mark.slow
def test_a_missing_bucket_fails_the_run_naming_kraken_pipeline_data(
    harness: PipelineHarness, s3_environment: str
) -> None:
    outcome = run_into(harness, S3Path("no-such-bucket-here", S3_PREFIX), DAY, DAY)

    assert not outcome.success
    assert outcome.failure is not None
    assert "KRAKEN_PIPELINE_DATA" in outcome.failure
    assert "the bucket 'no-such-bucket-here'" in outcome.failure
    assert "does not exist" in outcome.failure


@pytest.mark.slow
def test_an_unreachable_endpoint_fails_the_run_and_loses_nothing_already_landed(
    harness: PipelineHarness, root: S3Path, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_into(harness, root, DAY, DAY).success
    landed = objects(s3, root.bucket)
    stored = storage.read_day(root, DAY)
    lake.forget_connections()  # as a new process would, the run opens the lake afresh

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    outcome = run_into(harness, root, DAY, DAY)
    monkeypatch.setenv("AWS_ENDPOINT_URL", str(s3.meta.endpoint_url))

    assert not outcome.success
    assert outcome.failure is not None
    assert "KRAKEN_PIPELINE_DATA" in outcome.failure
    assert "AWS_ENDPOINT_URL" in outcome.failure
    assert S3_SECRET not in outcome.failure
    assert objects(s3, root.bucket) == landed
    assert storage.read_day(root, DAY) == stored


def test_a_write_that_cannot_reach_the_server_fails_and_keeps_the_stored_day(
    root: S3Path, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    table, fetch_log = measurements_table(DAY, ["a"]), fetch_log_table(DAY, {"a": 48})
    storage.write_day(root, DAY, table, fetch_log)
    landed = objects(s3, root.bucket)
    lake.forget_connections()  # as a new process would, the write opens the lake afresh

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(duckdb.Error, match="connect") as refused:
        storage.write_day(root, DAY, table.slice(0, 10), fetch_log)
    lake.forget_connections()
    monkeypatch.setenv("AWS_ENDPOINT_URL", str(s3.meta.endpoint_url))

    assert S3_SECRET not in str(refused.value)
    assert objects(s3, root.bucket) == landed
    assert storage.read_day(root, DAY) == table
