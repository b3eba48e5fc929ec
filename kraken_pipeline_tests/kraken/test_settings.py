"""Settings are validated whole and never show the secret."""

from __future__ import annotations

import pytest

from kraken_pipeline.kraken import ConfigurationError, KrakenSettings, Secret, settings_from_env

SECRET = "s3cret-value-123"


def make(**overrides: object) -> KrakenSettings:
    values: dict[str, object] = {"client_id": "client-1", "client_secret": Secret(SECRET)}
    values.update(overrides)
    return KrakenSettings(**values)  # type: ignore[arg-type]


def test_the_secret_never_appears_in_repr_or_str() -> None:
    settings = make()
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings.client_secret)
    assert settings.client_secret.reveal() == SECRET


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


def test_settings_come_from_the_environment_with_defaults() -> None:
    settings = settings_from_env(
        {
            "KRAKEN_CLIENT_ID": "abc",
            "KRAKEN_CLIENT_SECRET": SECRET,
            "KRAKEN_TIMEZONE": "Europe/Berlin",
        }
    )
    assert settings.client_id == "abc"
    assert settings.client_secret == Secret(SECRET)
    assert settings.timezone == "Europe/Berlin"
    assert settings.auth_url == "https://auth.octopus.energy/token/"


def test_missing_credentials_in_the_environment_name_both_variables() -> None:
    with pytest.raises(ConfigurationError, match="KRAKEN_CLIENT_ID and KRAKEN_CLIENT_SECRET"):
        settings_from_env({})
