"""An s3:// data root, against a local S3-compatible server (moto in server mode, on loopback).

The pipeline reaches the server the way it reaches AWS: through the standard AWS environment
(dummy keys, AWS_ENDPOINT_URL). The bucket and the truth about its objects are read with boto3,
a client separate from the s3fs code under test.
"""

from __future__ import annotations

import io
import socket
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from moto.server import ThreadedMotoServer

from kraken_pipeline import storage, warehouse
from kraken_pipeline.filesystems import (
    DataRootError,
    S3Path,
    remove_stale_temporaries,
)
from kraken_pipeline.runner import RunOutcome, run_range
from kraken_pipeline.settings import PipelineSettings, SettingsError
from kraken_pipeline_tests.pipeline_support import (
    TIMEZONE,
    PipelineHarness,
    expected_series,
    first_estimated_house_day,
    stored_values,
)
from kraken_pipeline_tests.test_storage import fetch_log_table, measurements_table

DAY = date(2026, 11, 10)  # published, and restated, at the emulator's clock
PREFIX = "landing/kraken"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on a free loopback port, for this module's tests."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_environment(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The AWS environment of a user of the local server; nothing else on the machine is read."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("KRAKEN_PIPELINE_CACHE", str(tmp_path / "cache"))
    return s3_endpoint


@pytest.fixture
def s3(s3_environment: str) -> Any:
    """A boto3 client of the local server: the test's independent view of the bucket."""
    return boto3.client("s3", endpoint_url=s3_environment)


@pytest.fixture
def root(s3: Any) -> S3Path:
    """A prefix in a brand-new bucket."""
    bucket = f"kraken-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    return S3Path(bucket, PREFIX)


def run_into(harness: PipelineHarness, data_root: S3Path, first: date, last: date) -> RunOutcome:
    """The real job over first..last with KRAKEN_PIPELINE_DATA=data_root."""
    settings = replace(harness.settings, data_root=data_root)
    as_of = {"as_of": harness.emulator.now().isoformat()}
    run_config = {"ops": {"measurements_quality": {"config": as_of}}}
    return run_range(harness.instance, settings, first, last, run_config=run_config)


def keys(s3: Any, bucket: str) -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def objects(s3: Any, bucket: str) -> dict[str, bytes]:
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys(s3, bucket)}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the configuration -------------------------------------------------------------------------


def test_an_s3_uri_in_kraken_pipeline_data_is_a_prefix_and_a_directory_stays_a_path() -> None:
    s3_root = PipelineSettings.from_environ({"KRAKEN_PIPELINE_DATA": "s3://meters/raw/kraken/"})
    local = PipelineSettings.from_environ({"KRAKEN_PIPELINE_DATA": "some/dir"})

    assert s3_root.data_root == S3Path("meters", "raw/kraken")
    assert str(s3_root.data_root) == "s3://meters/raw/kraken"
    assert str(storage.measurements_path(s3_root.data_root, DAY)) == (
        "s3://meters/raw/kraken/measurements/date=2026-11-10/measurements.parquet"
    )
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
    assert not [key for key in keys(s3, root.bucket) if key.endswith(".tmp")]


@pytest.mark.slow  # the SDK retries, with backoff, before it gives up
def test_a_write_that_cannot_reach_the_server_leaves_the_stored_object_as_it_was(
    root: S3Path, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    table, fetch_log = measurements_table(DAY, ["a"]), fetch_log_table(DAY, {"a": 48})
    storage.write_day(root, DAY, table, fetch_log)
    before = objects(s3, root.bucket)

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(DataRootError, match="KRAKEN_PIPELINE_DATA") as refused:
        storage.write_day(root, DAY, table.slice(0, 10), fetch_log)
    monkeypatch.setenv("AWS_ENDPOINT_URL", str(s3.meta.endpoint_url))

    assert "test-secret" not in str(refused.value)
    assert objects(s3, root.bucket) == before
    stored = storage.read_day(root, DAY)
    assert stored is not None
    assert stored.equals(table)


def test_a_temporary_object_is_removed_only_once_no_writer_can_still_be_uploading_it(
    root: S3Path, s3: Any
) -> None:
    directory = root / "measurements" / "date=2026-11-10"
    leftover = f"{directory.key}/.measurements.parquet.0123abcd.tmp"
    s3.put_object(Bucket=root.bucket, Key=leftover, Body=b"PAR1 half a file")

    kept = remove_stale_temporaries(directory)
    removed = remove_stale_temporaries(directory, now=datetime.now(UTC) + timedelta(hours=2))

    assert (kept, removed) == (0, 1)
    assert keys(s3, root.bucket) == set()


# --- the pipeline on S3 ------------------------------------------------------------------------


@pytest.mark.slow
def test_a_run_lands_every_day_as_objects_under_the_prefix_with_the_emulators_values(
    harness: PipelineHarness, root: S3Path, s3: Any
) -> None:
    first = DAY - timedelta(days=1)

    outcome = run_into(harness, root, first, DAY)

    assert outcome.success, outcome.failure
    landed = {
        f"{PREFIX}/{dataset}/date={day.isoformat()}/{name}.parquet"
        for day in (first, DAY)
        for dataset, name in (
            ("measurements", "measurements"),
            ("measurements", "fetch_log"),
            ("quality", "quality_results"),
            ("daily_consumption", "daily_consumption"),
        )
    }
    assert keys(s3, root.bucket) == landed | {f"{PREFIX}/supply_points.parquet"}
    for day in (first, DAY):
        table = storage.read_day(root, day)
        assert table is not None
        for point in harness.supply_points():
            assert stored_values(table, point.supply_point_id) == expected_series(
                harness.emulator, point, day
            ), f"{point.supply_point_id} on {day}"


@pytest.mark.slow
def test_a_rerun_replaces_each_object_whole_and_leaves_no_temporary_objects(
    harness: PipelineHarness, root: S3Path, s3: Any
) -> None:
    s3.put_bucket_versioning(Bucket=root.bucket, VersioningConfiguration={"Status": "Enabled"})
    dataset = harness.emulator.config.dataset
    day = first_estimated_house_day(dataset)
    harness.emulator.set_clock(dataset.publication_time(day) + timedelta(hours=1))
    assert run_into(harness, root, day, day).success
    harness.emulator.set_clock(dataset.restatement_time(day) + timedelta(hours=1))

    outcome = run_into(harness, root, day, day)

    assert outcome.success, outcome.failure
    point = next(p for p in harness.supply_points() if p.supply_point_id == "house-import")
    restated = storage.read_day(root, day)
    assert restated is not None
    assert stored_values(restated, "house-import") == expected_series(harness.emulator, point, day)
    assert not [key for key in keys(s3, root.bucket) if key.endswith(".tmp")]
    # Every version the final key ever had is a whole file: one per run, nothing in between.
    key = storage.measurements_path(root, day)
    assert isinstance(key, S3Path)
    versions = s3.list_object_versions(Bucket=root.bucket, Prefix=key.key)["Versions"]
    tables = [
        pq.read_table(io.BytesIO(s3.get_object(**version)["Body"].read()))
        for version in (
            {"Bucket": root.bucket, "Key": key.key, "VersionId": listed["VersionId"]}
            for listed in versions
        )
    ]
    assert len(tables) == 2
    assert {table.num_rows for table in tables} == {restated.num_rows}
    assert any(table.drop(["fetched_at"]).equals(restated.drop(["fetched_at"])) for table in tables)


@pytest.mark.slow
def test_analysts_duckdb_reads_the_landed_rows_from_s3_on_another_machine_too(
    harness: PipelineHarness,
    root: S3Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_into(harness, root, DAY, DAY).success
    truth = sorted(
        (point.supply_point_id, start, value)
        for point in harness.supply_points()
        for start, value in expected_series(harness.emulator, point, DAY)
    )
    query = (
        "SELECT supply_point_id, interval_start, value FROM measurements "
        "WHERE local_date = ? ORDER BY ALL"
    )

    with warehouse.connect(root) as pipeline_machine:
        seen_by_pipeline = pipeline_machine.execute(query, [DAY]).fetchall()
    monkeypatch.setenv("KRAKEN_PIPELINE_CACHE", str(tmp_path / "analyst"))
    warehouse.ensure_warehouse(str(root), TIMEZONE)
    with warehouse.connect(str(root)) as analyst:
        seen_by_analyst = analyst.execute(query, [DAY]).fetchall()
        totals = analyst.execute("SELECT count(*) FROM daily_totals").fetchone()

    assert [(s, t.astimezone(UTC), v) for s, t, v in seen_by_pipeline] == truth
    assert seen_by_analyst == seen_by_pipeline
    assert totals == (len(harness.supply_points()),)
    assert (tmp_path / "analyst" / "warehouse.duckdb").is_file()


# --- the failing side --------------------------------------------------------------------------


@pytest.mark.slow
def test_a_missing_bucket_fails_the_run_naming_kraken_pipeline_data(
    harness: PipelineHarness, s3_environment: str
) -> None:
    outcome = run_into(harness, S3Path("no-such-bucket-here", PREFIX), DAY, DAY)

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

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    outcome = run_into(harness, root, DAY, DAY)
    monkeypatch.setenv("AWS_ENDPOINT_URL", str(s3.meta.endpoint_url))

    assert not outcome.success
    assert outcome.failure is not None
    assert "KRAKEN_PIPELINE_DATA" in outcome.failure
    assert "AWS_ENDPOINT_URL" in outcome.failure
    assert "test-secret" not in outcome.failure
    assert objects(s3, root.bucket) == landed
