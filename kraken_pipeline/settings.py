"""Pipeline settings read from the environment, once, where the definitions are built.

Only non-secret settings live here. The client id and secret reach the Kraken resource as
Dagster `EnvVar`s, resolved when a run starts, so they never enter run config or code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

from kraken_pipeline.filesystems import DATA_ROOT_VARIABLE, DataRoot, parse_data_root
from kraken_pipeline.kraken.errors import ConfigurationError
from kraken_pipeline.kraken.settings import rate_budget_address
from kraken_pipeline.local_days import zone
from kraken_pipeline.market_ids import MARKET_VARIABLE, Market, market_of

DEFAULT_AUTH_URL = "https://auth.octopus.energy/token/"
DEFAULT_API_URL = "https://api.octopus.energy/v1/graphql/"
DEFAULT_DATA_ROOT = "data"
# The demo supply points ship in the repository beside the package (an editable install).
EXAMPLE_SUPPLY_POINTS = Path(__file__).resolve().parents[1] / "data" / "supply_points.example.csv"


class SettingsError(ValueError):
    """An environment variable holds a value the pipeline cannot use; the message names it."""


@dataclass(frozen=True)
class PipelineSettings:
    """Everything about a deployment that is not a secret."""

    timezone: str = "Europe/London"
    data_root: DataRoot = Path(DEFAULT_DATA_ROOT)  # a directory, or s3://bucket/prefix
    supply_points_path: Path = EXAMPLE_SUPPLY_POINTS
    partitions_start: date = date(2024, 1, 1)
    schedule_time: time = time(7, 0)
    schedule_days: int = 5
    schedule_enabled: bool = False
    auth_url: str = DEFAULT_AUTH_URL
    api_url: str = DEFAULT_API_URL
    page_size: int = 1000
    concurrency: int = 4
    ca_bundle: str | None = None
    # The shared points budget's host:port (None: a budget per process); never the URL, which may
    # hold a password: the resource reads KRAKEN_RATE_BUDGET_URL as an EnvVar.
    rate_budget_address: str | None = None
    # Which market supply point ids are valid: KRAKEN_MARKET, else the tenant zone's market.
    market: Market = Market.GB
    # Alerts: whether the sensors start on, and whether a webhook is set (its URL is a secret
    # the alert resource reads as an EnvVar, so only its presence is kept here).
    alerts_enabled: bool = False
    alert_webhook_configured: bool = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> PipelineSettings:
        """Read the KRAKEN_* variables (see the README's configuration reference)."""
        env = os.environ if environ is None else environ
        timezone = env.get("KRAKEN_TIMEZONE", cls.timezone)
        settings = cls(
            timezone=timezone,
            data_root=_data_root(env),
            supply_points_path=Path(
                env.get("KRAKEN_SUPPLY_POINTS") or EXAMPLE_SUPPLY_POINTS
            ).absolute(),
            partitions_start=_date(env, "KRAKEN_PIPELINE_START_DATE", cls.partitions_start),
            schedule_time=_time(env, "KRAKEN_SCHEDULE_TIME", cls.schedule_time),
            schedule_days=_positive_int(env, "KRAKEN_SCHEDULE_DAYS", cls.schedule_days),
            schedule_enabled=_flag(env, "KRAKEN_SCHEDULE_ENABLED"),
            auth_url=env.get("KRAKEN_AUTH_URL", DEFAULT_AUTH_URL),
            api_url=env.get("KRAKEN_API_URL", DEFAULT_API_URL),
            page_size=_positive_int(env, "KRAKEN_PAGE_SIZE", cls.page_size),
            concurrency=_positive_int(env, "KRAKEN_CONCURRENCY", cls.concurrency),
            ca_bundle=env.get("KRAKEN_CA_BUNDLE") or None,
            rate_budget_address=_rate_budget_address(env),
            market=_market(env, timezone),
            alerts_enabled=_flag(env, "KRAKEN_ALERTS_ENABLED"),
            alert_webhook_configured=bool(env.get("KRAKEN_ALERT_WEBHOOK_URL", "").strip()),
        )
        try:
            zone(settings.timezone)
        except ValueError as exc:
            raise SettingsError(f"KRAKEN_TIMEZONE: {exc}") from None
        return settings


def _data_root(env: Mapping[str, str]) -> DataRoot:
    try:
        return parse_data_root(env.get(DATA_ROOT_VARIABLE, DEFAULT_DATA_ROOT))
    except ValueError as exc:
        raise SettingsError(f"{DATA_ROOT_VARIABLE}: {exc}") from None


def _market(env: Mapping[str, str], timezone: str) -> Market:
    try:
        return market_of(env.get(MARKET_VARIABLE), timezone)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


def _date(env: Mapping[str, str], name: str, default: date) -> date:
    text = env.get(name)
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r} is not a date: use YYYY-MM-DD") from None


def _time(env: Mapping[str, str], name: str, default: time) -> time:
    text = env.get(name)
    if not text:
        return default
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r} is not a time of day: use HH:MM") from None


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise SettingsError(f"{name}={text!r} must be a whole number of at least 1")
    return int(text)


def _rate_budget_address(env: Mapping[str, str]) -> str | None:
    url = env.get("KRAKEN_RATE_BUDGET_URL", "").strip()
    if not url:
        return None
    try:
        return rate_budget_address(url)
    except ConfigurationError as exc:
        raise SettingsError(str(exc)) from None


def _flag(env: Mapping[str, str], name: str) -> bool:
    text = env.get(name, "").strip().lower()
    if text in {"", "0", "false", "no", "off"}:
        return False
    if text in {"1", "true", "yes", "on"}:
        return True
    raise SettingsError(f"{name}={text!r} must be true or false")
