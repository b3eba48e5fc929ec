"""The client secret and the access tokens never leave the process that holds them.

An emulator knows a client whose secret is a sentinel and remembers every token it mints.
`kraken-pipeline run` (succeeding and failing) and `kraken-pipeline check` run as an operator
runs them, with a persistent Dagster instance. Then everything is searched, decoded the way its
reader opens it (leak_search.py): what the commands printed, every file of the data root and of
the Dagster instance (event logs, compute logs, run storage), the lake's Parquet rows and
metadata, its catalog.sqlite (statistics, commit messages) and the lake as an analyst attaches
it, the run config and events, and what the Dagster UI's GraphQL API answers about the runs and
the resources. Not one hit for the secret, a token or even a JWT header.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance
from dagster._serdes import serialize_value

from kraken_pipeline import storage
from kraken_pipeline.emulator import Emulator, Fault
from kraken_pipeline.supply_points import load_supply_points
from kraken_pipeline.warehouse import lake
from kraken_pipeline.warehouse.lake import CATALOG_FILE
from kraken_pipeline_tests.e2e.resilience.dagster_views import as_text, ui_answers
from kraken_pipeline_tests.support.cli import (
    SENTINEL_GRANT,
    SENTINEL_ID,
    SENTINEL_SECRET,
    Finished,
    Workspace,
)
from kraken_pipeline_tests.support.leak_search import leaks, needles, stored_texts
from kraken_pipeline_tests.support.loopback import recording_server
from kraken_pipeline_tests.support.resilience import EXAMPLE_CSV

DAY = date(2026, 11, 10)


def dagster_texts(home: Path) -> list[tuple[str, str]]:
    """Run config, tags and every event of every run, as the instance stores them."""
    texts = []
    with DagsterInstance.from_config(str(home)) as instance:
        for run in instance.get_runs():
            texts.append((f"run {run.run_id} config", str(run.run_config)))
            texts.append((f"run {run.run_id} tags", str(run.tags)))
            for record in instance.all_logs(run.run_id):
                texts.append((f"run {run.run_id} event", serialize_value(record)))
        ui = [(what, as_text(data)) for what, data in ui_answers(instance)]
    return texts + ui


@pytest.mark.slow
def test_no_secret_or_token_appears_anywhere_after_good_failing_and_check_runs(
    start_emulator: Callable[..., Emulator], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kraken = start_emulator(clients=(SENTINEL_GRANT,))
    workspace = Workspace(tmp_path)
    env = workspace.environment(kraken)

    succeeded = workspace.run(DAY, DAY, env)
    kraken.faults.add(Fault(kind="kraken_error", code="KT-CT-1124", times=None))
    failed = workspace.run(DAY, DAY, env)
    kraken.faults.clear()
    checked = run_check(workspace, env)
    # The UI's code location resolves EnvVars from this process: give it the sentinel too.
    monkeypatch.setenv("KRAKEN_CLIENT_ID", SENTINEL_ID)
    monkeypatch.setenv("KRAKEN_CLIENT_SECRET", SENTINEL_SECRET)
    monkeypatch.setenv("KRAKEN_PIPELINE_DATA", str(workspace.data))
    secrets = needles(SENTINEL_ID, SENTINEL_SECRET, kraken.minted_tokens())

    assert succeeded.returncode == 0, succeeded.output[-3000:]
    assert failed.returncode == 1, failed.output[-3000:]
    assert SENTINEL_ID in failed.stderr, "the failure should name the client"
    assert checked.returncode == 0, checked.output[-3000:]
    assert len(kraken.minted_tokens()) >= 4
    printed = [
        (f"{name} output", done.output) for name, done in _commands(succeeded, failed, checked)
    ]
    instance = dagster_texts(workspace.dagster_home)
    stored = list(stored_texts(workspace.cwd))
    assert leaks(printed, secrets) == []
    assert leaks(stored, secrets) == []
    assert leaks(instance, secrets) == []
    # The search saw into the lake: its catalog, its data files and its tables as analysts read.
    searched = [where for where, _text in stored]
    assert any(where.endswith(f"{CATALOG_FILE} (SQL dump)") for where in searched), searched
    assert any(where.endswith(".parquet (rows)") for where in searched), searched
    assert any(where.endswith("(lake measurements)") for where in searched), searched
    # The search saw the failure: its message names the client id (which is no secret).
    named = leaks(instance, {"client id": SENTINEL_ID})
    assert any(found.startswith("client id in run ") for found in named), named


def run_check(workspace: Workspace, env: dict[str, str]) -> Finished:
    """`kraken-pipeline check`: mints a token, reads the application and yesterday's data."""
    done = subprocess.run(
        [sys.executable, "-m", "kraken_pipeline.cli", "check"],
        cwd=workspace.cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Finished(done.returncode, done.stdout, done.stderr)


def _commands(*finished: Finished) -> list[tuple[str, Finished]]:
    return list(zip(["run", "failing run", "check"], finished, strict=True))


@pytest.mark.slow
def test_the_ui_shows_the_secret_as_an_environment_variable_name_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KRAKEN_CLIENT_ID", SENTINEL_ID)
    monkeypatch.setenv("KRAKEN_CLIENT_SECRET", SENTINEL_SECRET)

    home = tmp_path / "dagster_home"
    home.mkdir()
    with DagsterInstance.local_temp(str(home)) as instance:
        [(_what, data)] = list(ui_answers(instance))

    values = {
        entry["key"]: (entry["type"], entry["value"])
        for entry in data["topLevelResourceDetailsOrError"]["configuredValues"]
    }
    assert values["client_secret"] == ("ENV_VAR", "KRAKEN_CLIENT_SECRET")
    assert values["client_id"] == ("ENV_VAR", "KRAKEN_CLIENT_ID")
    assert SENTINEL_SECRET not in as_text(data)


PLANTED_STORES = ["parquet rows", "parquet metadata", "basic credentials", "lake rows", "catalog"]


@pytest.mark.parametrize("store", PLANTED_STORES)
def test_the_search_finds_a_planted_secret_in_each_kind_of_store(
    tmp_path: Path, store: str
) -> None:
    """The empty results above mean something only if the search can see into each store."""
    secrets = needles(SENTINEL_ID, SENTINEL_SECRET, ["aaa.bbb.ccc-signature"])
    if store in ("lake rows", "catalog"):
        plant_in_a_lake(tmp_path / "data", store)
    else:
        pq.write_table(planted_table(store), tmp_path / "planted.parquet", compression="zstd")

    found = leaks(stored_texts(tmp_path), secrets)

    assert found, f"the search did not see into {store}"


def planted_table(store: str) -> pa.Table:
    """A thousand harmless rows hiding a secret in one row or in the file's metadata."""
    if store == "parquet rows":
        return pa.table({"x": ["harmless"] * 999 + [f"token ccc-signature {SENTINEL_SECRET}"]})
    if store == "parquet metadata":
        return pa.table({"x": ["harmless"] * 1000}).replace_schema_metadata(
            {"note": SENTINEL_SECRET}
        )
    basic = base64.b64encode(f"{SENTINEL_ID}:{SENTINEL_SECRET}".encode()).decode()
    return pa.table({"x": ["harmless"] * 999 + [f"Authorization: Basic {basic}"]})


def plant_in_a_lake(root: Path, store: str) -> None:
    """A data root's lake with a secret in a table's rows, or only in its catalog.

    The catalog case writes the secret reversed into the rows and as the commit message, so
    only the catalog (its snapshot changes) holds it the right way round.
    """
    storage.write_supply_points(root, load_supply_points(EXAMPLE_CSV))
    text = SENTINEL_SECRET if store == "lake rows" else SENTINEL_SECRET[::-1]

    def plant(connection: duckdb.DuckDBPyConnection) -> None:
        connection.execute("CREATE TABLE planted (note VARCHAR)")
        connection.execute(
            "INSERT INTO planted SELECT CASE WHEN i = 999 THEN ? ELSE 'harmless' END "
            "FROM range(1000) AS r(i)",
            [text],
        )

    lake.commit(root, plant, SENTINEL_SECRET if store == "catalog" else "harmless")


URL_PASSWORD = "URLPASS-d41d8cd9"


@pytest.mark.slow
def test_no_secret_leaks_through_an_echoed_token_a_redirect_or_a_url_password(
    start_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    kraken = start_emulator(clients=(SENTINEL_GRANT,))
    workspace = Workspace(tmp_path)
    env = workspace.environment(kraken)

    kraken.faults.add(Fault(kind="echo_authorization", times=None))
    echoed = workspace.run(DAY, DAY, env)
    kraken.faults.clear()
    with recording_server() as elsewhere:
        kraken.faults.add(
            Fault(
                kind="redirect", endpoint="token", location=f"{elsewhere.url}?token=x", times=None
            )
        )
        redirected = workspace.run(DAY, DAY, env)
        kraken.faults.clear()
        received = elsewhere.everything_received()
    with_password = kraken.graphql_url.replace("http://", f"http://reader:{URL_PASSWORD}@")
    password_run = workspace.run(DAY, DAY, {**env, "KRAKEN_API_URL": with_password})
    secrets = {
        **needles(SENTINEL_ID, SENTINEL_SECRET, kraken.minted_tokens()),
        "the URL password": URL_PASSWORD,
    }

    assert received == "", "the redirect's other origin received a request"
    assert "Authorization" in echoed.output, "the echoed error should be reported, redacted"
    assert "KRAKEN_AUTH_URL" in redirected.output, "the redirect should name the variable"
    assert password_run.returncode == 0, password_run.output[-3000:]
    assert "Kraken at http://reader:***@" in password_run.stdout
    printed = [
        (f"{name} output", done.output)
        for name, done in zip(
            ["echoed", "redirected", "password"], [echoed, redirected, password_run], strict=True
        )
    ]
    assert leaks(printed, secrets) == []
    assert leaks(stored_texts(workspace.cwd), secrets) == []
    assert leaks(dagster_texts(workspace.dagster_home), secrets) == []
