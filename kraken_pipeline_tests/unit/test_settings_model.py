"""The one settings model: KRAKEN_* variables from the environment and `.env`, one-line refusals,
secrets that never show."""

from __future__ import annotations

import os
from datetime import date, time
from pathlib import Path

import pytest

import kraken_pipeline
from kraken_pipeline.settings import (
    READ_ELSEWHERE,
    PipelineSettings,
    SettingsError,
    export_env_file,
    unread_variables,
)

SECRET = "webhook-s3cret-4471"  # made up; must never be shown


@pytest.mark.parametrize(
    ("variable", "value", "hint"),
    [
        ("KRAKEN_PAGE_SIZE", "many", "must be a whole number of at least 1"),
        ("KRAKEN_CONCURRENCY", "0", "must be a whole number of at least 1"),
        ("KRAKEN_SCHEDULE_DAYS", "-2", "must be a whole number of at least 1"),
        ("KRAKEN_BACKFILL_DAYS_PER_RUN", "1.5", "must be a whole number of at least 1"),
        ("KRAKEN_PIPELINE_START_DATE", "2024-13-01", "is not a date: use YYYY-MM-DD"),
        ("KRAKEN_SCHEDULE_TIME", "7 o'clock", "is not a time of day: use HH:MM"),
        ("KRAKEN_SCHEDULE_ENABLED", "maybe", "must be true or false"),
    ],
)
def test_a_bad_value_is_refused_in_one_line_naming_the_variable_and_the_fix(
    variable: str, value: str, hint: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        PipelineSettings.from_environ({variable: value})

    assert str(refused.value) == f"{variable}={value!r} {hint}"


def test_every_bad_value_is_named_on_the_same_line() -> None:
    with pytest.raises(SettingsError) as refused:
        PipelineSettings.from_environ({"KRAKEN_PAGE_SIZE": "0", "KRAKEN_TIMEZONE": "Mars/Base"})

    message = str(refused.value)
    assert "\n" not in message
    assert "KRAKEN_PAGE_SIZE" in message
    assert "KRAKEN_TIMEZONE" in message


def test_empty_variables_mean_their_defaults() -> None:
    settings = PipelineSettings.from_environ({"KRAKEN_PAGE_SIZE": "", "KRAKEN_TIMEZONE": ""})

    assert settings.page_size == 1000
    assert settings.timezone == "Europe/London"


def test_values_are_typed_and_the_market_follows_the_time_zone() -> None:
    settings = PipelineSettings.from_environ(
        {
            "KRAKEN_TIMEZONE": "Europe/Berlin",
            "KRAKEN_PIPELINE_START_DATE": "2025-03-01",
            "KRAKEN_SCHEDULE_TIME": "06:30",
            "KRAKEN_SCHEDULE_ENABLED": "yes",
        }
    )

    assert settings.partitions_start == date(2025, 3, 1)
    assert settings.schedule_time == time(6, 30)
    assert settings.schedule_enabled is True
    assert settings.market.value == "DE"


def test_the_env_file_is_read_and_the_real_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [name for name in os.environ if name.startswith("KRAKEN_")]:
        monkeypatch.delenv(name)
    (tmp_path / ".env").write_text(
        f"KRAKEN_TIMEZONE=Europe/Paris\nKRAKEN_PAGE_SIZE=50\nKRAKEN_ALERT_WEBHOOK_URL={SECRET}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KRAKEN_PAGE_SIZE", "70")

    settings = PipelineSettings.from_environ()

    assert settings.timezone == "Europe/Paris"
    assert settings.page_size == 70
    assert settings.alert_webhook_url is not None
    assert settings.alert_webhook_url.get_secret_value() == SECRET


def test_the_cli_puts_what_only_the_env_file_sets_into_its_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        "KRAKEN_CLIENT_SECRET=from-file\nDAGSTER_HOME=/srv/dagster\nKRAKEN_PAGE_SIZE=\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    environ = {"KRAKEN_CLIENT_SECRET": "from-environment"}

    export_env_file(environ)

    assert environ == {
        "KRAKEN_CLIENT_SECRET": "from-environment",
        "DAGSTER_HOME": "/srv/dagster",
    }


def test_building_from_keywords_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRAKEN_PAGE_SIZE", "70")

    assert PipelineSettings().page_size == 1000
    assert PipelineSettings.from_environ({}).page_size == 1000


def test_secrets_never_show_in_repr_or_in_a_refusal() -> None:
    settings = PipelineSettings.from_environ(
        {"KRAKEN_CLIENT_SECRET": SECRET, "KRAKEN_ALERT_WEBHOOK_URL": f"https://hooks/{SECRET}"}
    )
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)

    with pytest.raises(SettingsError) as refused:
        PipelineSettings.from_environ({"KRAKEN_API_URL": f"http://app:{SECRET}@example.com/"})
    assert "KRAKEN_API_URL" in str(refused.value)
    assert SECRET not in str(refused.value)


def test_the_client_settings_need_both_credentials() -> None:
    with pytest.raises(SettingsError, match="set KRAKEN_CLIENT_SECRET"):
        PipelineSettings.from_environ({"KRAKEN_CLIENT_ID": "app"}).kraken()

    kraken = PipelineSettings.from_environ(
        {"KRAKEN_CLIENT_ID": "app", "KRAKEN_CLIENT_SECRET": SECRET, "KRAKEN_PAGE_SIZE": "200"}
    ).kraken()
    assert kraken.client_secret.get_secret_value() == SECRET
    assert kraken.page_size == 200


def test_each_variable_read_outside_the_model_is_read_by_some_module() -> None:
    package = Path(kraken_pipeline.__file__).parent
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for path in package.rglob("*.py")
        if path != package / "settings.py"
    )
    for name in READ_ELSEWHERE:
        assert f'"{name}"' in sources, name


def test_variables_that_no_setting_reads_are_listed() -> None:
    environ = {"KRAKEN_PAGESIZE": "5", "KRAKEN_PAGE_SIZE": "5", "KRAKEN_CELERY_BROKER": "x"}
    assert unread_variables({**environ, "PATH": "/bin"}) == ["KRAKEN_PAGESIZE"]
