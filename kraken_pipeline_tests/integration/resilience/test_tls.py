"""TLS verification is always on: an unknown CA is refused, and only a configured bundle helps.

The emulator serves HTTPS with a certificate signed by a CA made for the test (certificates.py).
The client refuses it, before any credential is sent, until the CA bundle is configured
(KrakenSettings.ca_bundle, KRAKEN_CA_BUNDLE); a certificate for another host name is refused
even then. Nothing turns verification off: not an empty or odd KRAKEN_CA_BUNDLE, not the
environment variables requests itself reads, and no line of the package disables it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import certifi
import pytest
from dagster import DagsterInstance
from pydantic import SecretStr

from kraken_pipeline.cli.runner import run_range
from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator
from kraken_pipeline.kraken import KrakenClient, KrakenError, KrakenSettings
from kraken_pipeline.settings import PipelineSettings, SettingsError
from kraken_pipeline.supply_points import load_supply_points
from kraken_pipeline_tests.support.certificates import (
    CertificateAuthority,
    make_certificate_authority,
)
from kraken_pipeline_tests.support.resilience import (
    EXAMPLE_CSV,
    assert_days_hold_the_emulators_data,
)

PACKAGE = Path(__file__).resolve().parents[3] / "kraken_pipeline"
DAY = date(2026, 11, 10)
UNVERIFIED = re.compile(
    r"verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False|_create_unverified_context"
    r"|disable_warnings|InsecureRequestWarning|PYTHONHTTPSVERIFY"
)


@pytest.fixture(autouse=True)
def no_requests_ca_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests reads these itself; tests that want them set them (machines often do)."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return make_certificate_authority(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def https_kraken(
    start_emulator: Callable[..., Emulator], authority: CertificateAuthority
) -> Emulator:
    return start_emulator(tls=authority.loopback.tls)


def client_settings(emulator: Emulator, ca_bundle: str | None) -> KrakenSettings:
    return KrakenSettings(
        client_id=DEMO_CLIENT_ID,
        client_secret=SecretStr(DEMO_CLIENT_SECRET),
        auth_url=emulator.token_url,
        api_url=emulator.graphql_url,
        ca_bundle=ca_bundle,
    )


def test_the_emulator_serves_https_when_given_a_certificate(https_kraken: Emulator) -> None:
    assert https_kraken.token_url.startswith("https://127.0.0.1:")
    assert https_kraken.graphql_url.startswith("https://127.0.0.1:")


def test_the_client_refuses_an_unknown_ca_before_sending_any_credential(
    https_kraken: Emulator,
) -> None:
    with (
        KrakenClient(client_settings(https_kraken, None)) as client,
        pytest.raises(KrakenError) as refused,
    ):
        client.token_expires_at()

    assert refused.value.code == "tls"
    assert "ca_bundle" in str(refused.value)
    assert https_kraken.stats.requests.get("token", 0) == 0
    assert https_kraken.minted_tokens() == ()


def test_the_client_trusts_the_server_once_its_ca_bundle_is_configured(
    https_kraken: Emulator, authority: CertificateAuthority
) -> None:
    settings = client_settings(https_kraken, str(authority.ca_bundle))

    with KrakenClient(settings) as client:
        expires = client.token_expires_at()

    assert expires > https_kraken.now()
    assert https_kraken.stats.tokens_minted == 1


def test_a_certificate_for_another_host_is_refused_even_with_the_right_ca(
    start_emulator: Callable[..., Emulator], authority: CertificateAuthority
) -> None:
    impostor = start_emulator(tls=authority.elsewhere.tls)
    settings = client_settings(impostor, str(authority.ca_bundle))

    with KrakenClient(settings) as client, pytest.raises(KrakenError) as refused:
        client.token_expires_at()

    assert refused.value.code == "tls"
    assert impostor.stats.requests.get("token", 0) == 0


def pipeline_environment(emulator: Emulator, root: Path, **variables: str) -> dict[str, str]:
    return {
        "KRAKEN_AUTH_URL": emulator.token_url,
        "KRAKEN_API_URL": emulator.graphql_url,
        "KRAKEN_SUPPLY_POINTS": str(EXAMPLE_CSV),
        "KRAKEN_PIPELINE_DATA": str(root),
        **variables,
    }


def run_from(environment: dict[str, str]) -> tuple[bool, str]:
    """Read the settings and run; a setting refused when read fails like the run would."""
    try:
        settings = PipelineSettings.from_environ(environment)
    except SettingsError as refused:
        return False, str(refused)
    return run_pipeline(settings, "")


def run_pipeline(settings: PipelineSettings, as_of: str) -> tuple[bool, str]:
    config = {"ops": {"measurements_quality": {"config": {"as_of": as_of}}}}
    outcome = run_range(DagsterInstance.ephemeral(), settings, DAY, DAY, run_config=config)
    return outcome.success, outcome.failure or ""


def test_the_pipeline_lands_over_https_with_kraken_ca_bundle_and_refuses_without_it(
    https_kraken: Emulator,
    authority: CertificateAuthority,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KRAKEN_CLIENT_ID", DEMO_CLIENT_ID)
    monkeypatch.setenv("KRAKEN_CLIENT_SECRET", DEMO_CLIENT_SECRET)
    root = tmp_path / "data"
    as_of = https_kraken.now().isoformat()
    without = PipelineSettings.from_environ(pipeline_environment(https_kraken, root))
    trusted = PipelineSettings.from_environ(
        pipeline_environment(https_kraken, root, KRAKEN_CA_BUNDLE=str(authority.ca_bundle))
    )

    refused = run_pipeline(without, as_of)
    landed = run_pipeline(trusted, as_of)

    assert refused[0] is False
    assert "TLS" in refused[1]
    assert landed == (True, "")
    points = load_supply_points(EXAMPLE_CSV)
    assert_days_hold_the_emulators_data(root, https_kraken, points, DAY, DAY)


@pytest.mark.parametrize("value", ["", "false", "0", "/nonexistent/ca.pem"])
def test_no_value_of_kraken_ca_bundle_turns_verification_off(
    https_kraken: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("KRAKEN_CLIENT_ID", DEMO_CLIENT_ID)
    monkeypatch.setenv("KRAKEN_CLIENT_SECRET", DEMO_CLIENT_SECRET)
    environment = pipeline_environment(https_kraken, tmp_path / "data", KRAKEN_CA_BUNDLE=value)

    success, _failure = run_from(environment)

    assert not success
    assert https_kraken.stats.requests.get("token", 0) == 0
    assert not (tmp_path / "data" / "measurements").exists()


@pytest.mark.parametrize("value", ["false", "/nonexistent/ca.pem"])
def test_a_ca_bundle_that_is_no_readable_file_is_refused_naming_the_variable(
    https_kraken: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("KRAKEN_CLIENT_ID", DEMO_CLIENT_ID)
    monkeypatch.setenv("KRAKEN_CLIENT_SECRET", DEMO_CLIENT_SECRET)
    environment = pipeline_environment(https_kraken, tmp_path / "data", KRAKEN_CA_BUNDLE=value)

    success, failure = run_from(environment)

    assert not success
    assert "KRAKEN_CA_BUNDLE" in failure, failure
    assert value in failure
    assert https_kraken.stats.requests.get("token", 0) == 0


def test_the_environment_variables_requests_reads_cannot_turn_verification_off(
    https_kraken: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CURL_CA_BUNDLE", "")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "")
    monkeypatch.setenv("PYTHONHTTPSVERIFY", "0")

    with (
        KrakenClient(client_settings(https_kraken, None)) as client,
        pytest.raises(KrakenError) as refused,
    ):
        client.token_expires_at()

    assert refused.value.code == "tls"


def test_the_configured_ca_bundle_wins_over_the_bundle_variables_requests_reads(
    https_kraken: Emulator, authority: CertificateAuthority, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Docker images and corporate machines set REQUESTS_CA_BUNDLE to the system CAs."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())
    settings = client_settings(https_kraken, str(authority.ca_bundle))

    with KrakenClient(settings) as client:
        expires = client.token_expires_at()

    assert expires > https_kraken.now()


def test_no_line_of_the_package_disables_certificate_verification() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if UNVERIFIED.search(line)
    ]

    assert offenders == []


def test_no_setting_offers_to_turn_verification_off() -> None:
    names = [
        *KrakenSettings.__dataclass_fields__,
        *PipelineSettings.model_fields,
        *(path.read_text(encoding="utf-8") for path in PACKAGE.rglob("settings.py")),
    ]

    offering = re.compile(r"(?i)insecure|no_verify|verify_ssl|KRAKEN_\w*VERIFY")
    assert [name for name in names if offering.search(name)] == []
