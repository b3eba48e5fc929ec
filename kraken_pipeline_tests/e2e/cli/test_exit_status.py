"""`kraken-pipeline run`'s exit status and Dagster run status are what an operator can trust.

0: everything landed; 1: the run failed (every requested supply point failed); 2: refused before
anything ran (here: a data root or Dagster home that cannot be written); 3: some supply
point-days failed and the others landed, with the exact command that re-runs those. Each is
driven through the command against an emulator on loopback.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from kraken_pipeline import storage
from kraken_pipeline.cli.runner import unwritable_directory
from kraken_pipeline.emulator import ClientGrant, Emulator, Fault
from kraken_pipeline.report import rerun_command
from kraken_pipeline_tests.support.cli import (
    SENTINEL_GRANT,
    SENTINEL_SECRET,
    Finished,
    Workspace,
)

LIMITED_ID = "limited-exit-app"
# Every demo property but the shop's (1000004, supply point shop-import-gappy).
LIMITED_GRANT = ClientGrant(
    LIMITED_ID,
    SENTINEL_SECRET,
    "Limited reader",
    property_ids=frozenset({"1000001", "1000002", "1000003"}),
)
pytestmark = pytest.mark.slow  # each test starts Python processes that import Dagster


@pytest.fixture
def kraken(start_emulator: Callable[..., Emulator]) -> Emulator:
    """An emulator on the real clock (the command's client reads it), knowing both grants."""
    return start_emulator(clients=(SENTINEL_GRANT, LIMITED_GRANT), clock=lambda: datetime.now(UTC))


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def a_published_day() -> date:
    """A London day three days back: published by the emulator, inside the partitions."""
    return datetime.now(ZoneInfo("Europe/London")).date() - timedelta(days=3)


def run_command_line(workspace: Workspace, command: str, env: dict[str, str]) -> Finished:
    """A printed `kraken-pipeline ...` line run as printed (the module stands for the script)."""
    arguments = shlex.split(command)
    assert arguments[0] == "kraken-pipeline"
    return workspace.command(*arguments[1:], env=env)


def run_statuses() -> list[DagsterRunStatus]:
    """The runs of the instance DAGSTER_HOME names (set by the test with monkeypatch)."""
    with DagsterInstance.get() as instance:
        return [run.status for run in instance.get_runs()]


def test_a_run_that_lands_everything_exits_0_and_is_green(
    workspace: Workspace, kraken: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = a_published_day()

    finished = workspace.run(day, day, workspace.environment(kraken))

    assert finished.returncode == 0, finished.output
    assert "re-run:" not in finished.output
    monkeypatch.setenv("DAGSTER_HOME", str(workspace.dagster_home))
    assert run_statuses() == [DagsterRunStatus.SUCCESS]


def test_a_run_in_which_every_supply_point_failed_exits_1_and_fails_in_dagster(
    workspace: Workspace, kraken: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = a_published_day()
    kraken.faults.add(Fault(kind="kraken_error", code="KT-CT-1111", times=None))

    finished = workspace.run(day, day, workspace.environment(kraken))

    assert finished.returncode == 1, finished.output
    assert "every requested supply point failed" in finished.stderr
    assert f"re-run: {rerun_command(day, day)}" in finished.stderr
    assert "Traceback" not in finished.output
    monkeypatch.setenv("DAGSTER_HOME", str(workspace.dagster_home))
    assert run_statuses() == [DagsterRunStatus.FAILURE]


def test_a_run_with_one_failed_supply_point_lands_the_others_exits_3_and_names_the_rerun(
    workspace: Workspace, kraken: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = a_published_day()
    limited = workspace.environment(kraken, KRAKEN_CLIENT_ID=LIMITED_ID)

    finished = workspace.run(day, day, limited)

    assert finished.returncode == 3, finished.output
    [problem] = finished.problem_lines()
    assert "shop-import-gappy" in problem
    assert day.isoformat() in problem
    rerun = finished.stderr.splitlines()[-1]
    expected = rerun_command(day, day, ["shop-import-gappy"])
    assert rerun == f"re-run: {expected}"
    stored = storage.read_day(workspace.data, day)
    assert stored is not None
    assert "house-import" in set(stored["supply_point_id"].to_pylist())
    monkeypatch.setenv("DAGSTER_HOME", str(workspace.dagster_home))
    assert run_statuses() == [DagsterRunStatus.SUCCESS]

    repaired = run_command_line(workspace, expected, workspace.environment(kraken))

    assert repaired.returncode == 0, repaired.output
    stored = storage.read_day(workspace.data, day)
    assert stored is not None
    assert {"house-import", "shop-import-gappy"} <= set(stored["supply_point_id"].to_pylist())


def test_a_supply_point_to_rerun_that_the_csv_does_not_list_is_refused_in_one_line(
    workspace: Workspace, kraken: Emulator
) -> None:
    day = a_published_day()
    command = rerun_command(day, day, ["no-such-point"])

    finished = run_command_line(workspace, command, workspace.environment(kraken))

    assert finished.returncode == 2
    [problem] = finished.problem_lines()
    assert "--supply-point no-such-point: not in" in problem


@pytest.mark.parametrize(
    ("variable", "named"), [("KRAKEN_PIPELINE_DATA", "data root"), ("DAGSTER_HOME", "Dagster home")]
)
def test_a_directory_that_cannot_be_written_is_refused_in_one_line_naming_it(
    workspace: Workspace, kraken: Emulator, variable: str, named: str
) -> None:
    # Tests run as root, whom permission bits do not stop: a path below a regular file cannot
    # be created by anyone, and the command must find that out by trying.
    blocker = workspace.cwd / "a-file"
    blocker.write_text("not a directory\n", encoding="utf-8")
    target = blocker / "sub"
    day = a_published_day()

    finished = workspace.run(day, day, workspace.environment(kraken, **{variable: str(target)}))

    assert finished.returncode == 2, finished.output
    [problem] = finished.problem_lines()
    assert problem.startswith(f"error: cannot write the {named} {target}: Not a directory; set")
    assert variable in problem
    assert "Traceback" not in finished.output


def test_the_write_check_writes_for_real_and_names_the_systems_reason(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")

    assert unwritable_directory(tmp_path / "new" / "root") is None
    assert (tmp_path / "new" / "root").is_dir()
    assert list((tmp_path / "new" / "root").iterdir()) == []
    assert unwritable_directory(blocker / "root") == "Not a directory"
    assert unwritable_directory(blocker) in {"File exists", "Not a directory"}
