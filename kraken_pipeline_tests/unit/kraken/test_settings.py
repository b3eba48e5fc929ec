"""Settings are validated whole and never show the secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from kraken_pipeline.kraken import ConfigurationError, KrakenSettings
from kraken_pipeline.settings import PipelineSettings

SECRET = "s3cret-value-123"


def make(**overrides: object) -> KrakenSettings:
    values: dict[str, object] = {"client_id": "client-1", "client_secret": SecretStr(SECRET)}
    values.update(overrides)
    return KrakenSettings(**values)  # type: ignore[arg-type]


def test_the_secret_never_appears_in_repr_or_str() -> None:
    settings = make()
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings.client_secret)
    assert settings.client_secret.get_secret_value() == SECRET


def test_defaults_point_at_octopus_energy_in_london() -> None:
    settings = make()
    assert settings.auth_url == "https://auth.octopus.energy/token/"
    assert settings.api_url == "https://api.octopus.energy/v1/graphql/"
    assert settings.timezone == "Europe/London"
    assert settings.concurrency == 4


def test_plain_http_is_accepted_for_a_loopback_emulator() -> None:
    settings = make(api_url="http://127.0.0.1:8080/v1/graphql/", auth_url="http://localhost/t/")
    assert settings.api_url.startswith("http://127.0.0.1")


def test_plain_http_to_a_remote_host_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigurationError, match=r"KRAKEN_API_URL.*use https"):
        make(api_url="http://api.octopus.energy/v1/graphql/")


def test_an_empty_client_id_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="KRAKEN_CLIENT_ID"):
        make(client_id=" ")


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="KRAKEN_TIMEZONE"):
        make(timezone="Mars/Olympus")


@pytest.mark.parametrize("setting", ["page_size", "concurrency", "read_timeout", "max_attempts"])
def test_numbers_must_be_positive(setting: str) -> None:
    with pytest.raises(ConfigurationError, match=setting):
        make(**{setting: 0})


def settings_from_env(environ: dict[str, str]) -> KrakenSettings:
    return PipelineSettings.from_environ(environ).kraken()


def test_settings_come_from_the_environment_with_defaults() -> None:
    settings = settings_from_env(
        {
            "KRAKEN_CLIENT_ID": "abc",
            "KRAKEN_CLIENT_SECRET": SECRET,
            "KRAKEN_TIMEZONE": "Europe/Berlin",
        }
    )
    assert settings.client_id == "abc"
    assert settings.client_secret == SecretStr(SECRET)
    assert settings.timezone == "Europe/Berlin"
    assert settings.auth_url == "https://auth.octopus.energy/token/"


def test_missing_credentials_in_the_environment_name_both_variables() -> None:
    with pytest.raises(ConfigurationError, match="KRAKEN_CLIENT_ID and KRAKEN_CLIENT_SECRET"):
        settings_from_env({})


@pytest.mark.parametrize("bundle", ["false", "/nonexistent/ca.pem", ""])
def test_a_ca_bundle_that_is_no_readable_file_is_refused_naming_the_variable(bundle: str) -> None:
    with pytest.raises(ConfigurationError, match=r"ca_bundle \(KRAKEN_CA_BUNDLE\)") as refused:
        make(ca_bundle=bundle)
    assert repr(bundle) in str(refused.value)


def test_a_readable_ca_bundle_file_is_accepted_and_read_from_the_environment(
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    settings = settings_from_env(
        {"KRAKEN_CLIENT_ID": "abc", "KRAKEN_CLIENT_SECRET": SECRET, "KRAKEN_CA_BUNDLE": str(bundle)}
    )
    assert settings.ca_bundle == str(bundle)
    assert make().ca_bundle is None
