"""`kraken-pipeline run` and `check` as an operator runs them: real subprocesses, clean environment.

Each command runs as `python -m kraken_pipeline.cli` in a temporary working directory (so the
repository's `.env` is never read) with an environment built from scratch: nothing from the
developer's KRAKEN_* or DAGSTER_HOME leaks in. Kraken is either the command's embedded emulator
or an emulator this test process serves on loopback with the real clock.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus

from kraken_pipeline.emulator import ClientGrant, Emulator
from kraken_pipeline.emulator.dataset import DatasetConfig, demo_dataset
from kraken_pipeline_tests.support.cli import Finished
from kraken_pipeline_tests.support.lake import lake_rows, stored_days_of

EXAMPLE_CSV = Path(__file__).resolve().parents[3] / "data" / "supply_points.example.csv"
EXAMPLE_HEADER, *EXAMPLE_ROWS = EXAMPLE_CSV.read_text(encoding="utf-8").splitlines()
COMMAND_TIMEOUT = 120
SENTINEL_ID = "sentinel-app"
SENTINEL_SECRET = "s3cr3t-SENTINEL-1234"
WRONG_SECRET = "wr0ng-SENTINEL-9876"
LIMITED_ID = "limited-app"
SENTINEL_GRANT = ClientGrant(SENTINEL_ID, SENTINEL_SECRET, "Sentinel meter reader")
# Granted every demo property but shop-import-gappy's.
LIMITED_GRANT = ClientGrant(
    LIMITED_ID,
    SENTINEL_SECRET,
    "Limited reader",
    property_ids=frozenset({"1000001", "1000002", "1000003"}),
)
SUPPLY_POINT_IDS = [row.split(",")[0] for row in EXAMPLE_ROWS]
# Every test starts at least one Python process that imports Dagster.
pytestmark = pytest.mark.slow


@dataclass
class Workspace:
    """A working directory, a data root inside it, and a way to run the CLI there."""

    cwd: Path

    @property
    def data(self) -> Path:
        return self.cwd / "data"

    def environment(self, **variables: str) -> dict[str, str]:
        """A minimal environment: PATH, HOME and the data root, plus the variables given."""
        base = {
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.defpath]),
            "HOME": str(self.cwd),
            "KRAKEN_PIPELINE_DATA": str(self.data),
        }
        return {**base, **variables}

    def run(self, *arguments: str, env: dict[str, str] | None = None) -> Finished:
        """`kraken-pipeline <arguments>` in this workspace; returns when the command ends."""
        command = [sys.executable, "-m", "kraken_pipeline.cli", *arguments]
        done = subprocess.run(
            command,
            cwd=self.cwd,
            env=self.environment() if env is None else env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        return Finished(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


@pytest.fixture
def kraken(start_emulator: Callable[..., Emulator]) -> Emulator:
    """An emulator on the real clock, knowing the sentinel and the limited applications."""
    return start_emulator(clients=(SENTINEL_GRANT, LIMITED_GRANT), clock=lambda: datetime.now(UTC))


def credentials(emulator: Emulator, client_id: str, secret: str) -> dict[str, str]:
    """The variables an operator sets for a real Kraken, pointing at `emulator`."""
    return {
        "KRAKEN_CLIENT_ID": client_id,
        "KRAKEN_CLIENT_SECRET": secret,
        "KRAKEN_AUTH_URL": emulator.token_url,
        "KRAKEN_API_URL": emulator.graphql_url,
        "KRAKEN_SUPPLY_POINTS": str(EXAMPLE_CSV),
    }


def recent_days(count: int) -> list[date]:
    """The last `count` complete days in London, oldest first."""
    today = datetime.now(ZoneInfo("Europe/London")).date()
    return [today - timedelta(days=n) for n in range(count, 0, -1)]


TODAY = datetime.now(ZoneInfo("Europe/London")).date()


def published_days(count: int) -> list[date]:
    """The last `count` days the emulator serves, oldest first.

    It publishes a day some hours after the day ends (as Kraken does): between midnight and then,
    yesterday is complete but still empty, so tests that expect rows ask for days before it.
    """
    lag = DatasetConfig().publication_lag
    newest = (datetime.now(ZoneInfo("Europe/London")) - lag).date() - timedelta(days=1)
    return [newest - timedelta(days=n) for n in range(count - 1, -1, -1)]


def files_under(root: Path) -> Iterator[Path]:
    return (path for path in root.rglob("*") if path.is_file())


def assert_secret_absent(finished: Finished, root: Path, secret: str = SENTINEL_SECRET) -> None:
    assert secret not in finished.output
    for path in files_under(root):
        assert secret.encode() not in path.read_bytes(), f"the secret is in {path}"


def assert_nothing_written(root: Path) -> None:
    assert not root.exists() or not any(root.iterdir()), list(files_under(root))


def test_without_credentials_run_uses_the_embedded_emulator_and_records_the_run_in_dagster(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    days = published_days(2)

    finished = workspace.run("run", "--start", days[0].isoformat(), "--end", days[-1].isoformat())

    assert finished.returncode == 0, finished.output
    assert "embedded Kraken emulator" in finished.stdout
    for day in days:
        assert re.search(rf"^{day}\s+[\d,]+\s+[\d.]+%\s+\d+", finished.stdout, re.MULTILINE)
        assert lake_rows(workspace.data, "measurements", day)
    assert finished.problem_lines() == []
    monkeypatch.setenv("DAGSTER_HOME", str(workspace.data / "dagster_home"))
    with DagsterInstance.get() as instance:
        runs = instance.get_runs()
        materialised = instance.get_materialized_partitions(AssetKey("measurements"))
    assert [run.status for run in runs] == [DagsterRunStatus.SUCCESS]
    assert materialised == {day.isoformat() for day in days}


def test_start_alone_runs_to_the_last_complete_day(workspace: Workspace) -> None:
    first, last = recent_days(2)

    finished = workspace.run("run", "--start", first.isoformat())

    assert finished.returncode == 0, finished.output
    # The fetch log, not the rows: the last complete day may not be published yet.
    assert stored_days_of(workspace.data, "fetch_log") == {first, last}


def test_the_example_duckdb_query_run_prints_works_as_printed(workspace: Workspace) -> None:
    finished = workspace.run("run", "--start", "2026-11-01", "--end", "2026-11-01")
    example = next(line for line in finished.stdout.splitlines() if "warehouse.connect" in line)

    arguments = shlex.split(example)
    assert arguments[0] == sys.executable
    # From any shell: no virtual environment active, and a PATH without it.
    outside = {"PATH": "/usr/bin:/bin", "HOME": str(workspace.cwd)}
    query = subprocess.run(
        arguments, cwd="/", env=outside, capture_output=True, text=True, timeout=COMMAND_TIMEOUT
    )

    assert finished.returncode == 0, finished.output
    assert re.search(r"^2026-11-01\s+[\d,]+\s+[\d.]+%\s+0\s", finished.stdout, re.MULTILINE)
    assert arguments[0] == sys.executable
    assert query.returncode == 0, query.stderr
    assert "2026-11-01" in query.stdout
    assert "house-import" in query.stdout


def test_run_reads_the_env_file_of_the_working_directory(workspace: Workspace) -> None:
    (workspace.cwd / ".env").write_text("KRAKEN_PIPELINE_DATA=from-dotenv\n", encoding="utf-8")
    environment = workspace.environment()
    del environment["KRAKEN_PIPELINE_DATA"]

    finished = workspace.run("run", "--start", "2026-11-02", "--end", "2026-11-02", env=environment)

    assert finished.returncode == 0, finished.output
    assert stored_days_of(workspace.cwd / "from-dotenv", "measurements") == {date(2026, 11, 2)}
    assert not workspace.data.exists()


@pytest.mark.parametrize(
    ("arguments", "environment", "named"),
    [
        (["--start", "2026-11-20", "--end", "2026-11-19"], {}, "--end 2026-11-19 is before"),
        (
            ["--start", "2025-12-30", "--end", "2026-01-02"],
            {"KRAKEN_PIPELINE_START_DATE": "2026-01-01"},
            "--start 2025-12-30 is before the first partition 2026-01-01",
        ),
        (["--days", "2", "--start", "2026-11-20"], {}, "--days or --start/--end"),
        (["--end", "2026-11-20"], {}, "--end needs --start"),
        (
            ["--start", recent_days(1)[0].isoformat(), "--end", TODAY.isoformat()],
            {},
            f"--end {TODAY} is after the last complete local day {recent_days(1)[0]}",
        ),
        (
            ["--start", (TODAY + timedelta(days=30)).isoformat()],
            {},
            f"--start {TODAY + timedelta(days=30)} is after the last complete local day",
        ),
    ],
    ids=[
        "end-before-start",
        "start-before-partitions",
        "days-and-start",
        "end-without-start",
        "today-is-not-complete",
        "future-start",
    ],
)
def test_a_bad_range_gets_one_line_naming_it_and_writes_nothing(
    workspace: Workspace, arguments: list[str], environment: dict[str, str], named: str
) -> None:
    finished = workspace.run("run", *arguments, env=workspace.environment(**environment))

    assert finished.returncode != 0
    [problem] = finished.problem_lines()
    assert named in problem
    assert_nothing_written(workspace.data)


def _replace_in_row(row: int, old: str, new: str) -> list[str]:
    rows = list(EXAMPLE_ROWS)
    assert old in rows[row]
    rows[row] = rows[row].replace(old, new, 1)
    return [EXAMPLE_HEADER, *rows]


BAD_CSVS = {
    "missing-column": (
        [
            EXAMPLE_HEADER.replace(",utility", ""),
            *(r.replace(",electricity", "") for r in EXAMPLE_ROWS[:2]),
        ],
        "missing column(s) utility",
    ),
    "duplicate-id": (
        [EXAMPLE_HEADER, *EXAMPLE_ROWS, EXAMPLE_ROWS[0]],
        f"line {len(EXAMPLE_ROWS) + 2}: supply_point_id 'house-import' repeats line 2",
    ),
    "unknown-utility": (_replace_in_row(1, "electricity", "water"), "line 3: utility 'water'"),
    "direction-on-gas": (
        _replace_in_row(2, ",,THIRTY", ",CONSUMPTION,THIRTY"),
        "line 4: reading_direction 'CONSUMPTION' is given for gas",
    ),
    "bad-mpan-check-digit": (
        _replace_in_row(0, "1200012345679", "1200012345670"),
        "line 2: market_supply_point_id '1200012345670' is not a valid MPAN",
    ),
    "short-mprn": (
        _replace_in_row(2, "7654321", "76543"),
        "line 4: market_supply_point_id '76543' is not an MPRN",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CSVS))
def test_a_malformed_supply_points_csv_is_refused_naming_file_and_line_before_anything_is_written(
    workspace: Workspace, case: str
) -> None:
    lines, named = BAD_CSVS[case]
    csv_path = workspace.cwd / f"{case}.csv"
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    finished = workspace.run(
        "run", "--days", "1", env=workspace.environment(KRAKEN_SUPPLY_POINTS=str(csv_path))
    )

    assert finished.returncode != 0
    [problem] = finished.problem_lines()
    assert str(csv_path) in problem
    assert named in problem
    assert_nothing_written(workspace.data)


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, read, released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_auth_url_is_refused_in_one_line_before_anything_is_written(
    workspace: Workspace,
) -> None:
    auth_url = f"http://127.0.0.1:{_closed_port()}/token/"
    environment = workspace.environment(
        KRAKEN_CLIENT_ID=SENTINEL_ID,
        KRAKEN_CLIENT_SECRET=SENTINEL_SECRET,
        KRAKEN_AUTH_URL=auth_url,
        KRAKEN_API_URL=auth_url.replace("/token/", "/v1/graphql/"),
        KRAKEN_SUPPLY_POINTS=str(EXAMPLE_CSV),
    )

    finished = workspace.run("run", "--days", "1", env=environment)

    assert finished.returncode != 0
    [problem] = finished.problem_lines()
    assert "token" in problem
    assert "could not connect" in problem
    assert_nothing_written(workspace.data)
    assert_secret_absent(finished, workspace.data)
    assert auth_url in problem, "the line should say which URL could not be reached"


def test_run_with_real_credentials_lands_the_day_and_never_stores_the_secret(
    workspace: Workspace, kraken: Emulator
) -> None:
    [day] = published_days(1)
    environment = workspace.environment(**credentials(kraken, SENTINEL_ID, SENTINEL_SECRET))

    finished = workspace.run(
        "run", "--start", day.isoformat(), "--end", day.isoformat(), env=environment
    )

    assert finished.returncode == 0, finished.output
    assert f"Kraken at {kraken.graphql_url}" in finished.stdout
    assert "embedded" not in finished.stdout
    assert re.search(rf"^{day}\s", finished.stdout, re.MULTILINE)
    assert lake_rows(workspace.data, "measurements", day)
    assert "pending" not in finished.stdout
    assert_secret_absent(finished, workspace.data)


def test_a_day_kraken_has_not_published_yet_is_shown_pending_not_only_as_a_warning(
    workspace: Workspace, start_emulator: Callable[..., Emulator]
) -> None:
    unpublished = demo_dataset(DatasetConfig(publication_lag=timedelta(days=30)))
    kraken = start_emulator(
        clients=(SENTINEL_GRANT,), clock=lambda: datetime.now(UTC), dataset=unpublished
    )
    [day] = recent_days(1)
    environment = workspace.environment(**credentials(kraken, SENTINEL_ID, SENTINEL_SECRET))

    finished = workspace.run(
        "run", "--start", day.isoformat(), "--end", day.isoformat(), env=environment
    )

    assert finished.returncode == 0, finished.output
    assert re.search(
        rf"^{day}  pending: \d+ supply point\(s\) below 90% complete \(within the publication "
        r"lag\): the daily schedule pulls it again$",
        finished.stdout,
        re.MULTILINE,
    ), finished.stdout


def test_run_with_a_wrong_secret_names_the_client_and_says_why_without_showing_the_secret(
    workspace: Workspace, kraken: Emulator
) -> None:
    environment = workspace.environment(**credentials(kraken, SENTINEL_ID, WRONG_SECRET))

    finished = workspace.run("run", "--days", "1", env=environment)

    assert finished.returncode != 0
    [problem] = finished.problem_lines()
    assert SENTINEL_ID in problem
    assert "regenerated" in problem
    assert_nothing_written(workspace.data)
    assert_secret_absent(finished, workspace.data, WRONG_SECRET)


def test_check_reports_token_application_permissions_and_every_supply_point(
    workspace: Workspace, kraken: Emulator
) -> None:
    environment = workspace.environment(**credentials(kraken, SENTINEL_ID, SENTINEL_SECRET))

    finished = workspace.run("check", env=environment)

    assert finished.returncode == 0, finished.output
    lines = finished.stdout.splitlines()
    assert any(re.match(r"ok\s+token: .*expires \d{4}-\d\d-\d\d", line) for line in lines)
    assert any(re.match(r"ok\s+application: Sentinel meter reader", line) for line in lines)
    assert any(re.match(r"ok\s+permissions: .*CAN_VIEW_DETAILED_USAGE", line) for line in lines)
    for supply_point_id in SUPPLY_POINT_IDS:
        assert any(re.match(rf"ok\s+{supply_point_id} ", line) for line in lines), supply_point_id
    assert not any(line.startswith("FAIL") for line in lines)
    assert_secret_absent(finished, workspace.data)


def test_check_fails_naming_the_property_the_application_is_not_granted(
    workspace: Workspace, kraken: Emulator
) -> None:
    environment = workspace.environment(**credentials(kraken, LIMITED_ID, SENTINEL_SECRET))

    finished = workspace.run("check", env=environment)

    assert finished.returncode != 0
    failures = [line for line in finished.stdout.splitlines() if line.startswith("FAIL")]
    assert failures
    assert all("1000004" in line for line in failures), failures
    assert any("shop-import-gappy" in line and "1000004" in line for line in failures)
    assert re.search(r"^ok\s+house-import ", finished.stdout, re.MULTILINE)
    assert_secret_absent(finished, workspace.data)
