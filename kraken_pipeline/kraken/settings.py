"""Settings of the Kraken client, validated whole when they are built, and the checks they share
with the pipeline's settings model (kraken_pipeline/settings.py, the one reader of the environment).

Settings are plain data: building them never touches the network. Every validation error names
the setting and the environment variable that sets it, so an operator knows what to change.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

from pydantic import SecretStr

from kraken_pipeline.kraken.errors import ConfigurationError
from kraken_pipeline.kraken.redaction import redact, register_secret
from kraken_pipeline.local_days import zone

DEFAULT_AUTH_URL = "https://auth.octopus.energy/token/"
DEFAULT_API_URL = "https://api.octopus.energy/v1/graphql/"
DEFAULT_TIMEZONE = "Europe/London"

# The setting each environment variable feeds.
ENVIRONMENT_VARIABLES = {
    "client_id": "KRAKEN_CLIENT_ID",
    "client_secret": "KRAKEN_CLIENT_SECRET",
    "auth_url": "KRAKEN_AUTH_URL",
    "api_url": "KRAKEN_API_URL",
    "timezone": "KRAKEN_TIMEZONE",
    "ca_bundle": "KRAKEN_CA_BUNDLE",
}
_LOOPBACK_NAMES = frozenset({"localhost"})


@dataclass(frozen=True)
class KrakenSettings:
    """How to reach one Kraken and how hard to push it."""

    client_id: str
    client_secret: SecretStr
    auth_url: str = DEFAULT_AUTH_URL
    api_url: str = DEFAULT_API_URL
    timezone: str = DEFAULT_TIMEZONE
    page_size: int = 1000
    properties_per_request: int = 7
    concurrency: int = 4
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_attempts: int = 6
    deadline_seconds: float = 900.0
    ca_bundle: str | None = None
    points_per_hour: int | None = None
    use_basic_auth: bool = False
    # A JSON file where what this application's refusals taught (page size, aliases per
    # request, points per node) is kept for its later runs (limits.py); None: not kept.
    learned_limits_path: str | None = None

    def __post_init__(self) -> None:
        if not self.client_id.strip():
            raise ConfigurationError(_named("client_id", "is empty: set the OAuth client id"))
        if not isinstance(self.client_secret, SecretStr) or not self.client_secret:
            raise ConfigurationError(_named("client_secret", "is empty: set the client secret"))
        register_secret(self.client_secret.get_secret_value())  # redaction masks it anywhere
        check_url("auth_url", self.auth_url)
        check_url("api_url", self.api_url)
        try:
            zone(self.timezone)
        except ValueError as exc:
            raise ConfigurationError(_named("timezone", str(exc))) from None
        if self.ca_bundle is not None:
            check_ca_bundle(self.ca_bundle)
        for field in fields(self):
            value = getattr(self, field.name)
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            if is_number and value <= 0:
                raise ConfigurationError(f"setting {field.name} must be positive, not {value}")

    def __repr__(self) -> str:
        # URLs may carry a password or a token in their query: redacted like every message;
        # SecretStr masks the secrets.
        shown = ", ".join(
            f"{field.name}={_shown(getattr(self, field.name))}" for field in fields(self)
        )
        return f"KrakenSettings({shown})"


def _shown(value: object) -> str:
    return redact(repr(value)) if isinstance(value, str) else repr(value)


def _named(setting: str, problem: str) -> str:
    variable = ENVIRONMENT_VARIABLES.get(setting)
    where = f"{setting} ({variable})" if variable else setting
    return f"setting {where} {problem}"


def check_url(setting: str, url: str) -> None:
    """Refuse, naming the variable, a URL that is not https (plain http only to loopback)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigurationError(_named(setting, f"{url!r} is not an http(s) URL"))
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            _named(setting, f"{url!r} uses plain http to a remote host: use https")
        )


def check_ca_bundle(path: str) -> None:
    """Refuse, naming the variable, a CA bundle requests could not read.

    Checked here because requests only finds out at the first request, with a bare OSError that
    names neither the setting nor the variable. A directory of c_rehash'ed certificates is what
    requests accepts besides a PEM file.
    """
    readable = (os.path.isfile(path) or os.path.isdir(path)) and os.access(path, os.R_OK)
    if not readable:
        raise ConfigurationError(
            _named(
                "ca_bundle",
                f"{path!r} is not a readable file: give the path of the PEM file of the "
                "CA certificate(s) the Kraken's certificate is signed by",
            )
        )


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
