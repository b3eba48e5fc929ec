"""Fixtures for the scale-out suite: the machine's PostgreSQL and Redis over real connections, and
an S3-compatible server (moto in server mode) on loopback."""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg2
import pytest
import redis
from moto.server import ThreadedMotoServer
from psycopg2 import sql

from kraken_pipeline import filesystems
from kraken_pipeline.filesystems import S3Path
from kraken_pipeline.warehouse import lake
from kraken_pipeline_tests.support.services import (
    POSTGRES_SERVER,
    REDIS_URL,
    S3_KEY_ID,
    S3_PREFIX,
    S3_SECRET,
)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a brand-new PostgreSQL database, dropped after the test."""
    name = f"kraken_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(f"{POSTGRES_SERVER}/postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        yield f"{POSTGRES_SERVER}/{name}"
        with admin.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    finally:
        admin.close()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database URL whose keys are flushed before and after the test."""
    url = f"{REDIS_URL}/9"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


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
    monkeypatch.delenv(lake.CATALOG_VARIABLE, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv(filesystems.LOCAL_DIRECTORY_VARIABLE, str(tmp_path / "cache"))
    return s3_endpoint


@pytest.fixture
def s3(s3_environment: str) -> Any:
    """A boto3 client of the local server: the test's independent view of the bucket."""
    return boto3.client("s3", endpoint_url=s3_environment)


@pytest.fixture
def root(s3: Any) -> Iterator[S3Path]:
    """A prefix in a brand-new bucket; the process's connections to its lake closed after."""
    bucket = f"kraken-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    yield S3Path(bucket, S3_PREFIX)
    lake.forget_connections()
