"""Fixtures shared by integration tests: an analyst's connections, a module's Dagster instance."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dagster import DagsterInstance

from kraken_pipeline_tests.support.lake import Analyst


@pytest.fixture
def analyst() -> Iterator[Analyst]:
    """An analyst holding a read-only connection to each root it queries, for one test."""
    held = Analyst()
    yield held
    held.close()


@pytest.fixture(scope="module")
def module_instance() -> DagsterInstance:
    """One ephemeral Dagster instance for all runs of a module whose tests judge what a run left
    in the lake and never read the instance's records: a new instance takes tens of milliseconds
    (Dagster stamps its storage's schema migrations), a good part of a run that fails early."""
    return DagsterInstance.ephemeral()
