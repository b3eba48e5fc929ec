"""The logic of `kraken-pipeline check`: can these credentials read these supply points?

Plain functions returning lines, so the CLI only prints them and picks the exit status. Each
problem is one line that says what to fix. The token itself is never shown, only its expiry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from kraken_pipeline.kraken.client import KrakenClient, Viewer, utc_now
from kraken_pipeline.kraken.errors import (
    FatalError,
    KrakenError,
    RetriesExhaustedError,
    TargetError,
    stops_everything,
)
from kraken_pipeline.kraken.limits import application_key, describe, learned_limits_path
from kraken_pipeline.kraken.progress import MeasurementsResult
from kraken_pipeline.kraken.settings import KrakenSettings
from kraken_pipeline.local_days import day_bounds, expected_interval_count, local_date_of
from kraken_pipeline.supply_points import SupplyPoint, load_supply_points

if TYPE_CHECKING:
    from kraken_pipeline.settings import PipelineSettings

REQUIRED_PERMISSIONS = ("CAN_VIEW_DETAILED_USAGE", "CAN_QUERY_PROPERTY")


@dataclass(frozen=True)
class CheckLine:
    """One line of the report; `ok` False marks a problem."""

    ok: bool
    text: str


@dataclass(frozen=True)
class CheckReport:
    """Everything `check` found, in the order it found it."""

    lines: tuple[CheckLine, ...]

    @property
    def problems(self) -> tuple[CheckLine, ...]:
        """The lines that need action."""
        return tuple(line for line in self.lines if not line.ok)

    @property
    def exit_code(self) -> int:
        """0 when nothing needs action, else 1."""
        return 1 if self.problems else 0


def check_settings(
    settings: PipelineSettings, *, now: Callable[[], datetime] = utc_now
) -> CheckReport:
    """Run the check with the deployment's credentials, supply points and data root."""
    try:
        kraken = settings.kraken(learned_limits_path=learned_limits_path(settings.data_root))
    except KrakenError as exc:
        return CheckReport((CheckLine(False, str(exc)),))
    try:
        points = load_supply_points(settings.supply_points_path, settings.market)
    except ValueError as exc:  # a SupplyPointsError
        return CheckReport(tuple(CheckLine(False, line) for line in str(exc).splitlines()))
    with KrakenClient(kraken, now=now) as client:
        return run_check(client, points, now=now)


def run_check(
    client: KrakenClient,
    points: Sequence[SupplyPoint],
    *,
    now: Callable[[], datetime] = utc_now,
) -> CheckReport:
    """Mint a token, read the viewer, then try yesterday's measurements of every supply point."""
    lines: list[CheckLine] = []
    settings = client.settings
    try:
        expires = client.token_expires_at()
    except KrakenError as exc:
        return CheckReport((CheckLine(False, f"token: {exc.message}"),))
    lines.append(
        CheckLine(
            True,
            f"token: minted for client {settings.client_id} at {settings.auth_url}, "
            f"expires {expires.isoformat(timespec='seconds')}",
        )
    )
    lines.extend(_viewer_lines(client))
    yesterday = local_date_of(now(), settings.timezone) - timedelta(days=1)
    lines.extend(_measurement_lines(client, points, yesterday))
    lines.extend(_learned_lines(settings))
    return CheckReport(tuple(lines))


def _learned_lines(settings: KrakenSettings) -> list[CheckLine]:
    """What earlier runs of this application learned of Kraken's limits, if anything."""
    key = application_key(settings.api_url, settings.client_id)
    return [CheckLine(True, line) for line in describe(settings.learned_limits_path, key)]


def _viewer_lines(client: KrakenClient) -> list[CheckLine]:
    try:
        viewer = _viewer(client)
    except TargetError as exc:
        return [CheckLine(False, f"thirdPartyViewer: {exc.message}")]
    except FatalError as exc:
        if _stops_or_exhausted(exc):
            return [CheckLine(False, f"thirdPartyViewer: {exc.message}")]
        # Older schemas lack thirdPartyViewer; the measurements below still tell the truth.
        return [CheckLine(True, f"application: not reported by this Kraken ({exc.code})")]
    except KrakenError as exc:
        return [CheckLine(False, f"thirdPartyViewer: {exc.message}")]
    lines = [CheckLine(True, f"application: {viewer.name or '(unnamed)'}")]
    if viewer.permissions is None:
        lines.append(
            CheckLine(True, "permissions: not reported by this Kraken (the measurements say)")
        )
        return lines
    lines.append(CheckLine(True, f"permissions: {', '.join(viewer.permissions) or '(none)'}"))
    held = {permission_key(permission) for permission in viewer.permissions}
    for permission in REQUIRED_PERMISSIONS:
        if permission_key(permission) not in held:
            lines.append(
                CheckLine(
                    False,
                    f"permissions: {permission} is missing: ask the Kraken operator to add it "
                    "to the role THIRD_PARTY_UTILITY_USAGE_DATA_VIEWER of this OAuth application",
                )
            )
    return lines


def _viewer(client: KrakenClient) -> Viewer:
    """The viewer with its permissions, or without them where the schema has no such field."""
    try:
        return client.third_party_viewer()
    except FatalError as exc:
        if isinstance(exc, TargetError) or _stops_or_exhausted(exc):
            raise
        # A schema without `permissions` refuses the whole document; ask for the name alone.
        return client.third_party_viewer(with_permissions=False)


def _stops_or_exhausted(error: KrakenError) -> bool:
    """Trouble that is not about the schema: no token, no time, or retries used up."""
    return stops_everything(error) or isinstance(error, RetriesExhaustedError)


def permission_key(permission: str) -> str:
    """A permission's name in any known spelling, reduced to compare equal across them.

    CAN_VIEW_DETAILED_USAGE, view:detailed-usage and canViewDetailedUsage all give
    "viewdetailedusage": the format thirdPartyViewer reports is not documented.
    """
    key = re.sub(r"[^a-z0-9]", "", permission.lower())
    return key.removeprefix("can")


def _measurement_lines(
    client: KrakenClient, points: Sequence[SupplyPoint], day: date
) -> list[CheckLine]:
    tz = client.settings.timezone
    start, end = day_bounds(day, tz)
    try:
        result = client.fetch_measurements(points, start, end)
    except KrakenError as exc:
        return [CheckLine(False, f"measurements of {day}: {exc.message}")]
    return _outcome_lines(result, points, day, tz)


def _outcome_lines(
    result: MeasurementsResult, points: Sequence[SupplyPoint], day: date, tz: str
) -> list[CheckLine]:
    lines = []
    for point, outcome in zip(points, result.outcomes, strict=True):
        name = f"{point.supply_point_id} (property {point.property_id})"
        if not outcome.ok:
            lines.append(CheckLine(False, f"{name}: {outcome.error_message}"))
            continue
        expected = expected_interval_count(day, tz, point.interval_seconds)
        note = "" if outcome.rows else " (none published yet; data often arrives 1-2 days late)"
        lines.append(
            CheckLine(True, f"{name}: readable, {outcome.rows}/{expected} intervals on {day}{note}")
        )
    return lines
