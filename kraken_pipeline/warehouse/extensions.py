"""The DuckDB extensions the lake needs, loaded from the Python packages that carry them."""

from __future__ import annotations

import importlib.resources
import os
import tempfile
import threading
from pathlib import Path

import duckdb

# DuckDB's name of each extension, and the package carrying its binary for this DuckDB version.
_PACKAGES = {
    "ducklake": "duckdb_extension_ducklake",
    "sqlite_scanner": "duckdb_extension_sqlite",
    "postgres_scanner": "duckdb_extension_postgres",
    "httpfs": "duckdb_extension_httpfs",
}
_FILE_NAMES = {"sqlite_scanner": "sqlite", "postgres_scanner": "postgres"}
_installing = threading.Lock()


class ExtensionUnavailableError(RuntimeError):
    """An extension is neither installed nor carried by an installed package."""


def _packaged_file(name: str, version: str) -> str:
    package = _PACKAGES[name]
    try:
        directory = importlib.resources.files(package) / "extensions" / version
    except ModuleNotFoundError:
        raise ExtensionUnavailableError(
            f"DuckDB's {name} extension is not installed and the package "
            f"{package.replace('_', '-')} is missing: reinstall kraken-pipeline "
            "(make .venv/.installed)"
        ) from None
    binary = directory / f"{_FILE_NAMES.get(name, name)}.duckdb_extension"
    if not binary.is_file():
        raise ExtensionUnavailableError(
            f"{package.replace('_', '-')} carries no {name} extension for DuckDB {version}: "
            "install the package release matching the installed duckdb"
        )
    return str(binary)


def _use_a_directory_that_exists(connection: duckdb.DuckDBPyConnection) -> None:
    """DuckDB keeps extensions under ~/.duckdb; a service user may have no home directory."""
    home = os.environ.get("HOME")
    if home and not Path(home).is_dir():
        fallback = Path(tempfile.gettempdir()) / f"kraken-pipeline-duckdb-{os.getuid()}"
        connection.execute(f"SET extension_directory = '{fallback}'")


def load(connection: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load an extension, first installing it from its package when DuckDB has not got it."""
    _use_a_directory_that_exists(connection)
    try:
        connection.load_extension(name)
        return
    except duckdb.IOException:
        pass  # not installed yet
    row = connection.execute("SELECT library_version FROM pragma_version()").fetchone()
    with _installing:
        connection.install_extension(_packaged_file(name, str(row[0] if row else "")))
    connection.load_extension(name)
