"""`kraken-pipeline check`: one actionable line per problem, never the token or the secret."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr

from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, ClientGrant, Emulator
from kraken_pipeline.kraken import KrakenClient
from kraken_pipeline.kraken.diagnostics import check_settings, run_check
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline_tests.support.kraken_client import DEMO_POINTS, FakeClock

MakeClient = Callable[..., KrakenClient]
CSV = str(Path(__file__).parents[3] / "data" / "supply_points.example.csv")


def texts(lines: tuple[object, ...]) -> str:
    return "\n".join(getattr(line, "text", "") for line in lines)


def test_a_healthy_setup_reports_the_application_the_expiry_and_every_supply_point(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    report = run_check(make_client(emulator), DEMO_POINTS, now=clock.now)
    assert report.exit_code == 0
    output = texts(report.lines)
    assert "application: kraken-pipeline demo" in output
    assert "CAN_VIEW_DETAILED_USAGE" in output
    assert "expires 2026-11-20T13:00:00+00:00" in output
    assert "house-import (property 1000001): readable, 48/48 intervals on 2026-11-19" in output
    assert "flat-import-15min (property 1000003): readable, 96/96 intervals" in output
    assert "eyJ" not in output  # no JWT
    assert DEMO_CLIENT_SECRET not in output


def test_a_wrong_secret_is_one_problem_line_naming_the_client(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    client = make_client(emulator, client_secret=SecretStr("stale-secret-77"))
    report = run_check(client, DEMO_POINTS, now=clock.now)
    assert report.exit_code == 1
    assert len(report.problems) == 1
    assert DEMO_CLIENT_ID in report.problems[0].text
    assert "stale-secret-77" not in texts(report.lines)


def test_a_role_without_detailed_usage_names_the_missing_permission(
    start_emulator: Callable[..., Emulator], make_client: MakeClient, clock: FakeClock
) -> None:
    grant = ClientGrant(
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        "no usage",
        permissions=frozenset({"CAN_QUERY_PROPERTY"}),
    )
    emulator = start_emulator(clients=(grant,))
    report = run_check(make_client(emulator), DEMO_POINTS, now=clock.now)
    problems = [line.text for line in report.problems]
    assert report.exit_code == 1
    assert any("CAN_VIEW_DETAILED_USAGE is missing" in text for text in problems)
    assert sum("KT-CT-1111" in text for text in problems) == len(DEMO_POINTS)


def test_a_property_not_granted_is_a_problem_for_its_supply_points_only(
    start_emulator: Callable[..., Emulator], make_client: MakeClient, clock: FakeClock
) -> None:
    grant = ClientGrant(
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        "partial",
        property_ids=frozenset({"1000001", "1000002", "1000003"}),
    )
    emulator = start_emulator(clients=(grant,))
    report = run_check(make_client(emulator), DEMO_POINTS, now=clock.now)
    assert [line.text.split(":")[0] for line in report.problems] == [
        "shop-import-gappy (property 1000004)"
    ]


def test_days_not_yet_published_are_readable_but_say_so(
    emulator: Emulator, make_client: MakeClient, clock: FakeClock
) -> None:
    clock.advance(5 * 86400)  # yesterday is now in the emulator's future
    report = run_check(make_client(emulator), DEMO_POINTS, now=clock.now)
    assert report.exit_code == 0
    assert "none published yet" in texts(report.lines)


def test_missing_environment_variables_are_named(clock: FakeClock) -> None:
    report = check_settings(PipelineSettings.from_environ({}), now=clock.now)
    assert report.exit_code == 1
    assert "KRAKEN_CLIENT_ID and KRAKEN_CLIENT_SECRET" in report.problems[0].text


def test_the_check_runs_from_the_environment_against_the_emulator(
    emulator: Emulator, clock: FakeClock, tmp_path: Path
) -> None:
    environ = {
        "KRAKEN_CLIENT_ID": DEMO_CLIENT_ID,
        "KRAKEN_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "KRAKEN_AUTH_URL": emulator.token_url,
        "KRAKEN_API_URL": emulator.graphql_url,
        "KRAKEN_SUPPLY_POINTS": CSV,
        "KRAKEN_PIPELINE_DATA": str(tmp_path / "data"),
    }
    report = check_settings(PipelineSettings.from_environ(environ), now=clock.now)
    assert report.exit_code == 0, texts(report.problems)
    learned = [line.text for line in report.lines if line.text.startswith("learned Kraken")]
    assert len(report.lines) - len(learned) == 3 + len(DEMO_POINTS)
    # One day is too short a fetch to measure what a node costs (points.py), and the lenient
    # emulator refuses nothing: nothing was learned, so nothing is printed.
    assert learned == []


def test_an_unreadable_supply_points_file_is_a_problem_line(
    tmp_path: Path, clock: FakeClock
) -> None:
    environ = {
        "KRAKEN_CLIENT_ID": "x",
        "KRAKEN_CLIENT_SECRET": "y",
        "KRAKEN_SUPPLY_POINTS": str(tmp_path / "missing.csv"),
    }
    report = check_settings(PipelineSettings.from_environ(environ), now=clock.now)
    assert report.exit_code == 1
    assert "missing.csv does not exist" in report.problems[0].text
