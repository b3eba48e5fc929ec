"""Dagster instance homes for the scale-out tests: SQLite, or the test's PostgreSQL database."""

from pathlib import Path

from kraken_pipeline.cli.runner import INSTANCE_CONFIG


def instance_home(home: Path, postgres_url: str | None = None) -> Path:
    """A DAGSTER_HOME (telemetry off) whose runs, event logs and schedules are in SQLite files
    inside it, or, given a database URL, in that PostgreSQL database."""
    home.mkdir(parents=True, exist_ok=True)
    storage = ""
    if postgres_url:
        # SQLAlchemy's default PostgreSQL driver is psycopg 3; dagster-postgres brings psycopg2.
        url = postgres_url.replace("postgresql://", "postgresql+psycopg2://", 1)
        storage = f"storage:\n  postgres:\n    postgres_url: {url}\n"
    (home / "dagster.yaml").write_text(storage + INSTANCE_CONFIG, encoding="utf-8")
    return home
