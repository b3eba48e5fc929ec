"""The one settings model: every KRAKEN_* variable, read once from the environment and `.env`.

pydantic-settings reads and types the variables; the validators below keep the checks an
operator relies on, and a refusal is one line naming the variable and what to do. Secrets are
`SecretStr`s here, and reach Dagster's resources only as `EnvVar`s (defs/location.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, time
from pathlib import Path
from typing import Any

from pydantic import (
    Field,
    PositiveInt,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from kraken_pipeline.filesystems import DATA_ROOT_VARIABLE, DataRoot, parse_data_root
from kraken_pipeline.kraken.errors import ConfigurationError
from kraken_pipeline.kraken.redaction import redact
from kraken_pipeline.kraken.settings import (
    DEFAULT_API_URL,
    DEFAULT_AUTH_URL,
    DEFAULT_TIMEZONE,
    KrakenSettings,
    check_ca_bundle,
    check_url,
)
from kraken_pipeline.local_days import zone
from kraken_pipeline.market_ids import Market, market_of

DEFAULT_DATA_ROOT = "data"
# The demo supply points ship in the repository beside the package (an editable install).
EXAMPLE_SUPPLY_POINTS = Path(__file__).resolve().parents[1] / "data" / "supply_points.example.csv"
# Kinds of pydantic refusal (the first word of its type), and what the operator should write.
_HINTS = {
    "int": "must be a whole number of at least 1",
    "greater": "must be a whole number of at least 1",
    "date": "is not a date: use YYYY-MM-DD",
    "time": "is not a time of day: use HH:MM",
    "bool": "must be true or false",
}
# KRAKEN_* variables read outside this model: the Celery location's broker and result store, an
# S3 root's local cache, the lake's PostgreSQL catalog, the emulator's limit profile.
READ_ELSEWHERE = frozenset(
    {
        "KRAKEN_CELERY_BROKER",
        "KRAKEN_CELERY_BACKEND",
        "KRAKEN_PIPELINE_CACHE",
        "KRAKEN_PIPELINE_CATALOG",
        "KRAKEN_EMULATOR_PROFILE",
    }
)
_SECRETS = ("client_secret", "alert_webhook_url")
# Set only inside from_environ: building the model from keyword arguments reads nothing.
_reading_environment: ContextVar[bool] = ContextVar("_reading_environment", default=False)


class SettingsError(ConfigurationError):
    """An environment variable holds a value the pipeline cannot use; the message names it."""


class PipelineSettings(BaseSettings):
    """A deployment's settings; build it with `from_environ`, or with keywords in tests."""

    model_config = SettingsConfigDict(
        env_prefix="KRAKEN_",
        env_file=".env",  # the real environment wins over the file
        env_ignore_empty=True,  # an empty variable means its default, as in .env.example
        extra="ignore",
        frozen=True,
        populate_by_name=True,
        arbitrary_types_allowed=True,
    )

    # The OAuth application; unset: the CLI serves the embedded emulator's demo data.
    client_id: str | None = None
    client_secret: SecretStr | None = None
    auth_url: str = DEFAULT_AUTH_URL
    api_url: str = DEFAULT_API_URL
    timezone: str = DEFAULT_TIMEZONE
    data_root: DataRoot = Field(
        default=DEFAULT_DATA_ROOT, validation_alias=DATA_ROOT_VARIABLE, validate_default=True
    )
    supply_points_path: Path = Field(
        default=EXAMPLE_SUPPLY_POINTS, validation_alias="KRAKEN_SUPPLY_POINTS"
    )
    partitions_start: date = Field(
        default=date(2024, 1, 1), validation_alias="KRAKEN_PIPELINE_START_DATE"
    )
    schedule_time: time = time(7, 0)
    schedule_days: PositiveInt = 5
    schedule_enabled: bool = False
    page_size: PositiveInt = 1000
    concurrency: PositiveInt = 4
    ca_bundle: str | None = None
    # Which market supply point ids are valid: KRAKEN_MARKET, else the tenant zone's market.
    market: Market = Field(default=None, validate_default=True)
    alerts_enabled: bool = False
    alert_webhook_url: SecretStr | None = None
    # Days per run when the Celery location (defs/distributed.py) splits a backfill.
    backfill_days_per_run: PositiveInt = 7

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if _reading_environment.get():
            return init_settings, env_settings, dotenv_settings
        return (init_settings,)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> PipelineSettings:
        """The KRAKEN_* variables (README's configuration reference): of the process and `.env`,
        or only those of `environ`. Raises SettingsError, one line naming each bad variable."""
        try:
            if environ is not None:
                variables = {cls._field_of(name): value for name, value in environ.items()}
                return cls.model_validate({k: v for k, v in variables.items() if k and v != ""})
            with _environment():
                return cls()
        except ValidationError as exc:
            raise SettingsError(_one_line(exc)) from None

    @classmethod
    def _field_of(cls, variable: str) -> str | None:
        return next((f for f in cls.model_fields if variable_of(f) == variable), None)

    def kraken(self, **overrides: Any) -> KrakenSettings:
        """The plain client's settings; refuses, naming the variables, without credentials."""
        missing = [variable_of(f) for f in ("client_id", "client_secret") if not getattr(self, f)]
        if missing or self.client_id is None or self.client_secret is None:
            raise SettingsError(f"set {' and '.join(missing)} (the Kraken OAuth application)")
        values: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "auth_url": self.auth_url,
            "api_url": self.api_url,
            "timezone": self.timezone,
            "page_size": self.page_size,
            "concurrency": self.concurrency,
            "ca_bundle": self.ca_bundle,
        }
        return KrakenSettings(**{**values, **overrides})

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # A URL may carry a password in its user info; SecretStr masks the secrets.
        for name, value in super().__repr_args__():
            yield name, redact(value) if isinstance(value, str) else value

    @field_validator("client_id", mode="after")
    @classmethod
    def _stripped(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator(*_SECRETS, mode="before")
    @classmethod
    def _secret(cls, value: object) -> object:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        return text.strip() or None if isinstance(text, str) else text

    @field_validator("auth_url", "api_url", mode="after")
    @classmethod
    def _url(cls, value: str, info: ValidationInfo) -> str:
        check_url(str(info.field_name), value)
        return value

    @field_validator("timezone", mode="after")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zone(value)
        except ValueError as exc:
            raise ValueError(f"KRAKEN_TIMEZONE: {exc}") from None
        return value

    @field_validator("data_root", mode="before")
    @classmethod
    def _data_root(cls, value: object) -> object:
        if isinstance(value, Path):
            return value.absolute()
        if not isinstance(value, str):
            return value
        try:
            return parse_data_root(value)
        except ValueError as exc:
            raise ValueError(f"{DATA_ROOT_VARIABLE}: {exc}") from None

    @field_validator("supply_points_path", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.absolute()

    @field_validator("ca_bundle", mode="after")
    @classmethod
    def _ca_bundle(cls, value: str | None) -> str | None:
        if value is not None:
            check_ca_bundle(value)
        return value

    @field_validator("market", mode="before")
    @classmethod
    def _market(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, Market):
            return value
        timezone = info.data.get("timezone", DEFAULT_TIMEZONE)
        return market_of(value if isinstance(value, str) else None, timezone)


def variable_of(field: str) -> str:
    """The environment variable that sets a field of PipelineSettings."""
    alias = PipelineSettings.model_fields[field].validation_alias
    return alias if isinstance(alias, str) else f"KRAKEN_{field.upper()}"


def unread_variables(environ: Mapping[str, str]) -> list[str]:
    """KRAKEN_* variables that nothing reads: a typo, or a setting that no longer exists."""
    read = {variable_of(field) for field in PipelineSettings.model_fields} | READ_ELSEWHERE
    return sorted(name for name in environ if name.startswith("KRAKEN_") and name not in read)


def export_env_file(environ: MutableMapping[str, str]) -> None:
    """Put the variables of `.env` that `environ` lacks into it, as `dagster dev` does: Dagster's
    EnvVars, DAGSTER_HOME and the AWS variables are read from the process environment."""
    source = DotEnvSettingsSource(PipelineSettings, case_sensitive=True)
    for name, value in source.env_vars.items():
        if value is not None:
            environ.setdefault(name, value)


@contextmanager
def _environment() -> Iterator[None]:
    token = _reading_environment.set(True)
    try:
        yield
    finally:
        _reading_environment.reset(token)


def _one_line(error: ValidationError) -> str:
    """pydantic's report as one line: each bad variable, its value unless secret, what to do."""
    problems = []
    for detail in error.errors():
        cause = detail.get("ctx", {}).get("error")
        if isinstance(cause, ValueError):  # our validators' messages name the variable
            problems.append(str(cause))
            continue
        name = str(detail["loc"][0]) if detail["loc"] else ""  # a field, or its variable
        field = name if name in PipelineSettings.model_fields else PipelineSettings._field_of(name)
        variable = variable_of(field) if field else name
        hint = _HINTS.get(str(detail["type"]).split("_")[0], detail["msg"])
        shown = "" if field in _SECRETS else f"={detail['input']!r}"
        problems.append(f"{variable}{shown} {hint}")
    return "; ".join(problems)
