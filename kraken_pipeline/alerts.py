"""Alerts for the operator: failed runs and failed blocking checks as Slack-compatible messages.

Plain code: the sensors in defs/sensors.py gather what failed and call these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import requests

from kraken_pipeline.kraken.redaction import redact

WEBHOOK_VARIABLE = "KRAKEN_ALERT_WEBHOOK_URL"
WEBHOOK_TIMEOUT_SECONDS = 10.0
# A message stays readable in a chat window: longer lists end with "and N more".
MAX_LISTED = 10


class AlertDeliveryError(RuntimeError):
    """The webhook did not take an alert; the message never shows the webhook's URL."""


@dataclass(frozen=True)
class CheckFailure:
    """One failed blocking check of one day."""

    local_date: date
    check_name: str
    summary: str
    supply_point_ids: tuple[str, ...]


def repair_command(first: date, last: date) -> str:
    """The command that re-runs a range of days."""
    return f"kraken-pipeline run --start {first.isoformat()} --end {last.isoformat()}"


def run_failure_message(run_id: str, days: str, error: str, repair: str | None) -> dict[str, Any]:
    """The alert for a failed run: which run, which days, why, and how to re-run them."""
    lines = [
        f":red_circle: *kraken-pipeline run {run_id} failed* ({days})",
        f"Why: {_one_line(error)}",
    ]
    if repair:
        lines.append(f"Re-run: `{repair}`")
    return _message(lines)


def check_failures_message(failures: Sequence[CheckFailure]) -> dict[str, Any]:
    """One alert for the blocking checks that failed since the last one, worst days first."""
    days = sorted({failure.local_date for failure in failures})
    lines = [f":warning: *{len(failures)} blocking check(s) failed on {len(days)} day(s)*"]
    for failure in sorted(failures, key=lambda f: (f.local_date, f.check_name))[:MAX_LISTED]:
        points = _listed(failure.supply_point_ids)
        lines.append(
            f"{failure.local_date} `{failure.check_name}`: {_one_line(failure.summary)}"
            + (f" (supply points: {points})" if points else "")
        )
    if len(failures) > MAX_LISTED:
        lines.append(f"... and {len(failures) - MAX_LISTED} more")
    lines.append(f"Re-run: `{repair_command(days[0], days[-1])}`")
    return _message(lines)


def post_alert(url: str, message: dict[str, Any]) -> None:
    """POST a message to the webhook; redirects are not followed and TLS is always verified."""
    try:
        answer = requests.post(
            url, json=message, timeout=WEBHOOK_TIMEOUT_SECONDS, allow_redirects=False
        )
    except requests.RequestException as exc:
        raise AlertDeliveryError(
            f"the alert webhook ({WEBHOOK_VARIABLE}) could not be reached ({type(exc).__name__})"
        ) from None
    if not 200 <= answer.status_code < 300:
        raise AlertDeliveryError(
            f"the alert webhook ({WEBHOOK_VARIABLE}) answered HTTP {answer.status_code}: "
            "check the URL in the environment"
        )


def _message(lines: list[str]) -> dict[str, Any]:
    text = redact("\n".join(lines))
    # The same text as one mrkdwn block: Slack, Mattermost and other compatible webhooks render it.
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
