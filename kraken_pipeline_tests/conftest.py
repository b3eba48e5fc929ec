"""Shared fixtures: a running Kraken emulator on a free loopback port with a fixed clock.

Tests talk to it over real HTTP. Its clock stands at EMULATOR_NOW (2026-11-20T12:00Z) and only
moves when a test moves it (`emulator.set_clock(...)`, `emulator.advance_clock(...)`). The
`clock` fixture is a fake clock for the Kraken client, standing at the same instant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from _pytest.nodeid import NodeId

from kraken_pipeline.emulator import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    ClientGrant,
    Emulator,
    EmulatorConfig,
)
from kraken_pipeline_tests.support import live_days
from kraken_pipeline_tests.support.emulator_http import EMULATOR_NOW, GraphQLCall
from kraken_pipeline_tests.support.kraken_client import FakeClock
from kraken_pipeline_tests.support.pipeline import Landed, PipelineHarness, landed_root
from kraken_pipeline_tests.support.xdist_groups import DAEMONS

HTTP_TIMEOUT = 10
LANDED_DAY = date(2026, 11, 10)


def _fixed_clock() -> datetime:
    return EMULATOR_NOW


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock starting where the emulator fixture's clock stands."""
    return FakeClock(EMULATOR_NOW)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A started emulator: demo dataset, demo client, clock fixed at EMULATOR_NOW."""
    with Emulator(EmulatorConfig(clock=_fixed_clock)) as running:
        yield running


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start emulators with other settings: start_emulator(max_nodes=..., ...); stopped after.

    Keyword arguments are EmulatorConfig fields; the clock defaults to EMULATOR_NOW.
    """
    started: list[Emulator] = []

    def start(**overrides: Any) -> Emulator:
        overrides.setdefault("clock", _fixed_clock)
        running = Emulator(EmulatorConfig(**overrides))
        running.start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def _mint(emulator: Emulator) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
    }
    answer = requests.post(emulator.token_url, data=form, timeout=HTTP_TIMEOUT)
    answer.raise_for_status()
    return str(answer.json()["access_token"])


@pytest.fixture
def mint_token() -> Callable[[Emulator], str]:
    """mint_token(emulator): a fresh access token of the demo client, minted over HTTP."""
    return _mint


@pytest.fixture
def access_token(emulator: Emulator) -> str:
    """An access token of the demo client on the `emulator` fixture."""
    return _mint(emulator)


@pytest.fixture
def graphql(emulator: Emulator, access_token: str) -> Iterator[GraphQLCall]:
    """POST a query to the `emulator` fixture with the demo token; returns the raw response.

    Call as graphql(query, variables, headers=...) to override the Authorization header.
    """
    session = requests.Session()

    def call(
        query: str, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("headers", {"Authorization": access_token})
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        body = {"query": query, "variables": variables or {}}
        return session.post(emulator.graphql_url, json=body, **kwargs)

    yield call
    session.close()


@pytest.fixture
def harness(emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PipelineHarness:
    """The Dagster job wired to the `emulator` fixture and a temporary data root."""
    monkeypatch.setenv("KRAKEN_CLIENT_ID", DEMO_CLIENT_ID)
    monkeypatch.setenv("KRAKEN_CLIENT_SECRET", DEMO_CLIENT_SECRET)
    return PipelineHarness(emulator=emulator, root=tmp_path / "data", seed_lake=True)


@pytest.fixture
def harness_without_shop(
    harness: PipelineHarness,
    start_emulator: Callable[..., Emulator],
    monkeypatch: pytest.MonkeyPatch,
) -> PipelineHarness:
    """The harness with an OAuth application that may not read property 1000004 (the shop)."""
    grant = ClientGrant(
        "limited-client",
        "limited-secret",
        "limited",
        property_ids=frozenset({"1000001", "1000002", "1000003"}),
    )
    harness.emulator = start_emulator(clients=(grant,))
    monkeypatch.setenv("KRAKEN_CLIENT_ID", "limited-client")
    monkeypatch.setenv("KRAKEN_CLIENT_SECRET", "limited-secret")
    return harness


@pytest.fixture
def live(
    harness: PipelineHarness, start_emulator: Callable[..., Emulator], tmp_path: Path
) -> PipelineHarness:
    """The harness on an emulator at the real clock, without the meter that has gaps."""
    return live_days.live(harness, start_emulator, tmp_path)


@pytest.fixture(scope="session")
def landed_day(tmp_path_factory: pytest.TempPathFactory) -> Landed:
    """2026-11-10 (long restated at EMULATOR_NOW) landed from the demo emulator by one clean run
    of the job, made once. A test that starts from it works on its own copy:
    `harness.copy_of(landed_day.root)`."""
    return landed_root(tmp_path_factory.mktemp("landed_day") / "data", LANDED_DAY, LANDED_DAY)


def pytest_itemcollected(item: pytest.Item) -> None:
    """Under pytest-xdist (`--dist loadgroup`), keep a module's tests that share a
    module-scoped fixture (a webserver, a UI, a landed day) on one worker, so it is made once,
    and every scale-out test on one worker, since they share PostgreSQL, Redis and RabbitMQ. The
    modules that start `dagster dev` join them (DAEMONS): two webservers and daemons at once
    would starve each other on 2 cores. Any other test runs wherever a worker is free, which
    keeps the two busy to the end. Marked as collected, before any plugin reads the marks."""
    if item.get_closest_marker("xdist_group") is not None:
        return
    path = item.path.relative_to(Path(__file__).parent)
    if path.parts[0] == "scale":
        item.add_marker(pytest.mark.xdist_group(DAEMONS))
    elif _uses_module_fixtures(item):
        item.add_marker(pytest.mark.xdist_group(str(path)))


def _uses_module_fixtures(item: pytest.Item) -> bool:
    """Whether the test uses a fixture made once per module or package (else it can run on any
    worker, which balances the two). Unknown (a pytest without `_fixtureinfo`): assume so."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return True
    return any(
        definition.scope in ("module", "package")
        for definitions in info.name2fixturedefs.values()
        for definition in definitions
    )


# After pytest-xdist's own hook, so that a node id it has already given its group is left alone.
@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """End each node id with `@<group>`, which the loadgroup scheduler groups tests by.

    pytest-xdist 3.8 writes that suffix to `item._nodeid`, which pytest 9.2's structured node
    ids no longer read: without this, every test is scheduled on its own and module-scoped
    fixtures are made on every worker.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        marks = item.iter_markers("xdist_group")
        names = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in marks}
        group = "_".join(sorted(names))
        if not group or item.nodeid.endswith(f"@{group}") or not hasattr(item, "_id"):
            continue  # grouped by pytest-xdist itself, or a pytest whose node ids differ
        item._id = NodeId.parse(f"{item.nodeid}@{group}")
