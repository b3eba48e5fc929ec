"""`check` on Krakens whose thirdPartyViewer reports permissions differently, or not at all.

Older Kraken schemas have thirdPartyViewer with `name` only; a query asking for `permissions`
fails validation there. The format of the permission strings is not documented: OAuth scopes
are named like `view:detailed-usage`, the role's permissions like CAN_VIEW_DETAILED_USAGE.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, ClientGrant, Emulator
from kraken_pipeline.kraken import KrakenClient
from kraken_pipeline.kraken.diagnostics import permission_key, run_check
from kraken_pipeline.kraken.queries import THIRD_PARTY_VIEWER
from kraken_pipeline_tests.support.kraken_client import DEMO_POINTS, FakeClock

MakeClient = Callable[..., KrakenClient]


def texts(lines: tuple[object, ...]) -> list[str]:
    return [getattr(line, "text", "") for line in lines]


def test_a_schema_without_viewer_permissions_refuses_a_query_that_asks_for_them(
    start_emulator: Callable[..., Emulator], mint_token: Callable[[Emulator], str]
) -> None:
    emulator = start_emulator(viewer_reports_permissions=False)
    answer = requests.post(
        emulator.graphql_url,
        json={"query": THIRD_PARTY_VIEWER},
        headers={"Authorization": mint_token(emulator)},
        timeout=10,
    )

    [error] = answer.json()["errors"]
    assert "permissions" in error["message"]
    assert "data" not in answer.json()


def test_check_degrades_to_not_reported_when_the_schema_has_no_viewer_permissions(
    start_emulator: Callable[..., Emulator], make_client: MakeClient, clock: FakeClock
) -> None:
    emulator = start_emulator(viewer_reports_permissions=False)

    report = run_check(make_client(emulator), DEMO_POINTS, now=clock.now)

    lines = texts(report.lines)
    assert report.exit_code == 0, lines
    assert "application: kraken-pipeline demo" in lines
    assert "permissions: not reported by this Kraken (the measurements say)" in lines
    assert sum("readable" in line for line in lines) == len(DEMO_POINTS)


def test_without_reported_permissions_a_role_lacking_one_still_fails_on_the_measurements(
    start_emulator: Callable[..., Emulator], make_client: MakeClient, clock: FakeClock
) -> None:
    grant = ClientGrant(
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        "no usage",
        permissions=frozenset({"CAN_QUERY_PROPERTY"}),
    )
    emulator = start_emulator(clients=(grant,), viewer_reports_permissions=False)

    report = run_check(make_client(emulator), DEMO_POINTS, now=clock.now)

    assert report.exit_code == 1
    problems = texts(report.problems)
    assert len(problems) == len(DEMO_POINTS)
    assert all("CAN_VIEW_DETAILED_USAGE" in text for text in problems), problems


def test_permissions_reported_as_oauth_scopes_count_as_the_two_needed(
    start_emulator: Callable[..., Emulator], make_client: MakeClient, clock: FakeClock
) -> None:
    grant = ClientGrant(
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        "scoped",
        permissions=frozenset({"view:detailed-usage", "query:property"}),
    )
    emulator = start_emulator(clients=(grant,))

    report = run_check(make_client(emulator), DEMO_POINTS, now=clock.now)

    lines = texts(report.lines)
    assert "permissions: query:property, view:detailed-usage" in lines
    assert not any("is missing" in line for line in lines), lines


def test_scopes_missing_one_of_the_two_still_name_the_missing_one(
    start_emulator: Callable[..., Emulator], make_client: MakeClient, clock: FakeClock
) -> None:
    grant = ClientGrant(
        DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, "half", permissions=frozenset({"query:property"})
    )
    emulator = start_emulator(clients=(grant,))

    report = run_check(make_client(emulator), DEMO_POINTS, now=clock.now)

    missing = [line for line in texts(report.problems) if "is missing" in line]
    assert len(missing) == 1
    assert "CAN_VIEW_DETAILED_USAGE is missing" in missing[0]


@pytest.mark.parametrize(
    ("spelling", "needed"),
    [
        ("CAN_VIEW_DETAILED_USAGE", "CAN_VIEW_DETAILED_USAGE"),
        ("view:detailed-usage", "CAN_VIEW_DETAILED_USAGE"),
        ("canViewDetailedUsage", "CAN_VIEW_DETAILED_USAGE"),
        ("query:property", "CAN_QUERY_PROPERTY"),
        ("can_query_property", "CAN_QUERY_PROPERTY"),
    ],
)
def test_each_known_spelling_of_a_permission_matches_the_needed_one(
    spelling: str, needed: str
) -> None:
    assert permission_key(spelling) == permission_key(needed)


@pytest.mark.parametrize(
    "other", ["view:usage", "query:account", "CAN_VIEW_BILLS", "detailed-usage:write"]
)
def test_other_permissions_match_neither_needed_one(other: str) -> None:
    keys = {permission_key("CAN_VIEW_DETAILED_USAGE"), permission_key("CAN_QUERY_PROPERTY")}
    assert permission_key(other) not in keys
