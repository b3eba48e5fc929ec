"""A KRAKEN_* variable that nothing reads (a typo, a retired setting) is named, not ignored."""

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from kraken_pipeline.cli import main

WARNING = "is not a kraken-pipeline setting and is ignored"


@pytest.fixture
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No KRAKEN_* of the developer's, no `.env`, an empty data root."""
    for name in [name for name in os.environ if name.startswith("KRAKEN_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("KRAKEN_PIPELINE_DATA", str(root))
    return root


@pytest.mark.usefixtures("clean_environment")
def test_a_misspelt_or_retired_variable_is_named_on_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRAKEN_PAGESIZE", "500")
    monkeypatch.setenv("KRAKEN_RATE_BUDGET_URL", "redis://127.0.0.1:6379/0")

    result = CliRunner().invoke(main, ["status"])

    assert f"warning: KRAKEN_PAGESIZE {WARNING}" in result.stderr
    assert f"warning: KRAKEN_RATE_BUDGET_URL {WARNING}" in result.stderr


@pytest.mark.usefixtures("clean_environment")
def test_variables_that_are_read_raise_no_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRAKEN_PAGE_SIZE", "500")
    monkeypatch.setenv("KRAKEN_SUPPLY_POINTS", "supply_points.csv")
    monkeypatch.setenv("KRAKEN_CELERY_BROKER", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("KRAKEN_PIPELINE_CATALOG", "postgresql://127.0.0.1/lake")

    result = CliRunner().invoke(main, ["status"])

    assert WARNING not in result.stderr
