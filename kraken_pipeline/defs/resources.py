"""Thin Dagster resources over the plain Kraken client, the data root and the supply points."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, SecretStr

from kraken_pipeline.filesystems import DataRoot, check_data_root, parse_data_root
from kraken_pipeline.kraken import KrakenClient, KrakenSettings
from kraken_pipeline.supply_points import Market, SupplyPoint, load_supply_points


class KrakenResource(ConfigurableResource):  # type: ignore[type-arg]
    """Settings of the Kraken OAuth application; hands out a client for the length of a run.

    `client_id` and `client_secret` are wired as EnvVars in location.py, so their values are
    read from the environment when a run starts and never appear in run config.
    """

    client_id: str = Field(description="OAuth client id (env KRAKEN_CLIENT_ID).")
    client_secret: str = Field(description="OAuth client secret (env KRAKEN_CLIENT_SECRET).")
    # No defaults: run config replaces a resource's whole config, and a default here would send
    # a launchpad run with one overridden field to another Kraken or time zone.
    auth_url: str = Field(description="Token endpoint (env KRAKEN_AUTH_URL).")
    api_url: str = Field(description="GraphQL endpoint (env KRAKEN_API_URL).")
    timezone: str = Field(description="Tenant time zone (env KRAKEN_TIMEZONE).")
    page_size: int = Field(default=1000, description="Largest `first` to ask for.")
    concurrency: int = Field(default=4, description="Requests in flight at once.")
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 60.0
    deadline_seconds: float = Field(default=900.0, description="Give up retrying after this.")
    ca_bundle: str | None = Field(default=None, description="Extra CA bundle path for TLS.")
    learned_limits_path: str | None = Field(
        default=None,
        description=(
            "JSON file keeping what Kraken's refusals taught this application for later runs "
            "(the pipeline sets <data root>/_state/kraken_limits.json); unset: not kept."
        ),
    )

    def __repr__(self) -> str:
        # pydantic's repr would print every field, the resolved secret included.
        return f"KrakenResource(client_id={self.client_id!r}, api_url={self.api_url!r})"

    __str__ = __repr__

    def settings(self, deadline_seconds: float | None = None) -> KrakenSettings:
        """The client settings, the secret wrapped so that it never prints."""
        return KrakenSettings(
            client_id=self.client_id,
            client_secret=SecretStr(self.client_secret),
            auth_url=self.auth_url,
            api_url=self.api_url,
            timezone=self.timezone,
            page_size=self.page_size,
            concurrency=self.concurrency,
            connect_timeout=self.connect_timeout_seconds,
            read_timeout=self.read_timeout_seconds,
            deadline_seconds=deadline_seconds or self.deadline_seconds,
            ca_bundle=self.ca_bundle,
            learned_limits_path=self.learned_limits_path,
        )

    @contextmanager
    def client(self, deadline_seconds: float | None = None) -> Iterator[KrakenClient]:
        """A client whose HTTP session and token live as long as the `with` block."""
        client = KrakenClient(self.settings(deadline_seconds))
        try:
            yield client
        finally:
            client.close()


class StorageResource(ConfigurableResource):  # type: ignore[type-arg]
    """Where the data root (its DuckLake: catalog and Parquet files) lives."""

    data_root: str = Field(
        description="Data root: a directory or s3://bucket/prefix (env KRAKEN_PIPELINE_DATA)."
    )

    @property
    def root(self) -> DataRoot:
        """The data root: an absolute path, or an S3 prefix."""
        return parse_data_root(self.data_root)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Fail the step before it fetches anything when an S3 root's bucket cannot be reached."""
        check_data_root(self.root)


class SupplyPointsResource(ConfigurableResource):  # type: ignore[type-arg]
    """The operator's supply points CSV, validated whole on every read."""

    path: str = Field(description="Supply points CSV (env KRAKEN_SUPPLY_POINTS).")
    market: str = Field(
        default=Market.GB.value, description="Market whose ids are valid (env KRAKEN_MARKET)."
    )

    def load(self) -> tuple[SupplyPoint, ...]:
        """Every supply point in the file; raises SupplyPointsError naming the bad lines."""
        return load_supply_points(self.path, Market(self.market))
