"""Fixtures for the scale-out suite: the machine's PostgreSQL and Redis, over real connections."""

import uuid
from collections.abc import Iterator

import psycopg2
import pytest
import redis
from psycopg2 import sql

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379"


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
