"""KRAKEN_RATE_BUDGET_URL: read once, validated with the variable named, and, since the URL may
carry Redis's password, never shown: not in repr, errors, run config or the Dagster resource."""

from __future__ import annotations

import pytest
from dagster import EnvVar
from pydantic import SecretStr

from kraken_pipeline.defs.location import build_definitions
from kraken_pipeline.defs.resources import KrakenResource
from kraken_pipeline.kraken import ConfigurationError, KrakenSettings
from kraken_pipeline.kraken.settings import rate_budget_address
from kraken_pipeline.settings import PipelineSettings, SettingsError

PASSWORD = "redis-pa55-9f1c"  # made up; must never be shown
URL = f"redis://:{PASSWORD}@budget.internal:6380/2"
CREDENTIALS = {"KRAKEN_CLIENT_ID": "app", "KRAKEN_CLIENT_SECRET": "secret"}


def settings_from_env(environ: dict[str, str]) -> KrakenSettings:
    return PipelineSettings.from_environ(environ).kraken()


def test_the_url_is_read_as_a_secret_and_shown_only_as_host_and_port() -> None:
    settings = settings_from_env({**CREDENTIALS, "KRAKEN_RATE_BUDGET_URL": URL})

    assert settings.rate_budget_url == SecretStr(URL)
    assert PASSWORD not in repr(settings)
    assert rate_budget_address(URL) == "budget.internal:6380"


def test_without_the_variable_each_process_keeps_its_own_budget() -> None:
    assert settings_from_env(CREDENTIALS).rate_budget_url is None
    assert PipelineSettings.from_environ({}).rate_budget_address is None


@pytest.mark.parametrize(
    "url",
    [
        f"http://:{PASSWORD}@budget.internal:6379/0",
        f"{PASSWORD}@budget.internal:6379",
        f"redis://:{PASSWORD}@budget.internal:port/0",
        f"rediss://:{PASSWORD}@budget.internal:6379/0?ssl_cert_reqs=none",
    ],
)
def test_an_unusable_url_is_refused_naming_the_variable_not_the_password(url: str) -> None:
    with pytest.raises(ConfigurationError, match="KRAKEN_RATE_BUDGET_URL") as caught:
        settings_from_env({**CREDENTIALS, "KRAKEN_RATE_BUDGET_URL": url})
    with pytest.raises(SettingsError, match="KRAKEN_RATE_BUDGET_URL") as refused:
        PipelineSettings.from_environ({"KRAKEN_RATE_BUDGET_URL": url})

    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in str(refused.value)


def kraken_resource(settings: PipelineSettings) -> KrakenResource:
    resources = build_definitions(settings).resources
    assert resources is not None
    resource = resources["kraken"]
    assert isinstance(resource, KrakenResource)
    return resource


def test_the_pipeline_settings_keep_the_address_and_the_resource_reads_the_variable() -> None:
    settings = PipelineSettings.from_environ({"KRAKEN_RATE_BUDGET_URL": URL})

    kraken = kraken_resource(settings)

    assert settings.rate_budget_address == "budget.internal:6380"
    assert PASSWORD not in repr(settings)
    assert isinstance(kraken.rate_budget_url, EnvVar)
    assert kraken.rate_budget_url.env_var_name == "KRAKEN_RATE_BUDGET_URL"
    assert kraken_resource(PipelineSettings()).rate_budget_url is None


def test_the_resource_hands_the_url_to_the_client_as_a_secret_and_never_prints_it() -> None:
    resource = KrakenResource(
        client_id="app",
        client_secret="secret",
        auth_url="https://auth.example-kraken.energy/token/",
        api_url="https://api.example-kraken.energy/v1/graphql/",
        timezone="Europe/London",
        rate_budget_url=URL,
    )

    assert resource.settings().rate_budget_url == SecretStr(URL)
    assert PASSWORD not in repr(resource)
    assert PASSWORD not in str(resource)
    assert PASSWORD not in repr(resource.settings())
