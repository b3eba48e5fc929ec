"""DuckDB's S3 settings for a lake whose files are objects, from the standard AWS environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from kraken_pipeline.filesystems import DataRootError
from kraken_pipeline.warehouse.tables import literal

_KEY_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def s3_secret_statement(environ: Mapping[str, str] | None = None) -> str:
    """CREATE TEMPORARY SECRET for the environment's S3 credentials and server."""
    env = os.environ if environ is None else environ
    missing = [name for name in _KEY_VARIABLES if not env.get(name)]
    if missing:
        raise DataRootError(
            f"an s3:// data root needs {' and '.join(missing)} in the environment "
            "(the lake's files are read and written with them)"
        )
    options = {
        "TYPE": "s3",
        "KEY_ID": env["AWS_ACCESS_KEY_ID"],
        "SECRET": env["AWS_SECRET_ACCESS_KEY"],
        "REGION": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
    }
    if env.get("AWS_SESSION_TOKEN"):
        options["SESSION_TOKEN"] = env["AWS_SESSION_TOKEN"]
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    settings = ""
    if endpoint:
        parts = urlsplit(endpoint)
        options["ENDPOINT"] = parts.netloc.rpartition("@")[2]  # never a user part
        options["URL_STYLE"] = "path"  # as S3-compatible servers expect
        options["USE_SSL"] = "true" if parts.scheme == "https" else "false"
    if env.get("AWS_CA_BUNDLE"):
        settings = f"SET ca_cert_file = {literal(env['AWS_CA_BUNDLE'])}; "
    body = ", ".join(
        f"{name} {value if name in {'TYPE', 'USE_SSL'} else literal(value)}"
        for name, value in options.items()
    )
    # TEMPORARY: in the connection's memory only, never in the catalog or a file.
    return f"{settings}CREATE OR REPLACE TEMPORARY SECRET kraken_s3 ({body})"
