"""Search everything the product writes or shows for a secret, in every form it could take.

A secret can hide from a plain byte search: the lake's Parquet pages are zstd-compressed, HTTP
Basic credentials are base64. So each kind of store is opened the way its reader would and
turned into text: Parquet files (the lake's data files) as rows and key-value metadata, SQLite
files (the lake's catalog with its column statistics and commit messages, the Dagster instance)
as a dump, and a lake as an analyst attaches it: every table's and view's rows, every view's
definition, every snapshot's commit message. Every file is also searched as raw bytes (a
catalog's write-ahead log included).
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from pathlib import Path

import pyarrow.parquet as pq

from kraken_pipeline import warehouse
from kraken_pipeline.warehouse import ALIAS
from kraken_pipeline.warehouse.lake import CATALOG_FILE

# Every HS256 JWT starts with this (base64 of '{"alg":"HS256"'): any token, even an unknown one.
JWT_HEADER = "eyJhbGciOiJIUzI1Ni"
Texts = Iterator[tuple[str, str]]  # (where, text)


def needles(client_id: str, secret: str, tokens: Sequence[str]) -> dict[str, str]:
    """What must never be found: name -> text."""
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    found = {"the client secret": secret, "Basic credentials": basic, "a JWT": JWT_HEADER}
    for number, token in enumerate(tokens, start=1):
        found[f"minted token {number}"] = token
        found[f"minted token {number}'s signature"] = token.rsplit(".", 1)[-1]
    return found


def leaks(texts: Iterable[tuple[str, str]], secrets: Mapping[str, str]) -> list[str]:
    """'<what> in <where>' for every needle found in every text."""
    return [
        f"{name} in {where}"
        for where, text in texts
        for name, needle in secrets.items()
        if needle in text
    ]


def stored_texts(root: Path) -> Texts:
    """Every file under root, raw and decoded the way its reader would open it."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        yield str(path), path.read_bytes().decode("latin-1")
        if path.suffix == ".parquet":
            yield from _parquet_texts(path)
        elif _is_sqlite(path):
            yield from _sqlite_texts(path)
        if path.name == CATALOG_FILE:
            yield from _lake_texts(path.parent)


def _parquet_texts(path: Path) -> Texts:
    parquet = pq.ParquetFile(path)
    yield f"{path} (key-value metadata)", str(parquet.metadata.metadata)
    yield f"{path} (schema)", str(parquet.schema_arrow)
    yield f"{path} (rows)", str(parquet.read().to_pylist())


def _lake_texts(root: Path) -> Texts:
    with warehouse.connect(root) as db:
        snapshots = db.execute("SELECT * FROM ducklake_snapshots(?)", [ALIAS]).fetchall()
        yield f"{root} (lake snapshots)", str(snapshots)
        views = db.execute(
            "SELECT view_name, sql FROM duckdb_views() WHERE database_name = ?", [ALIAS]
        ).fetchall()
        yield f"{root} (view definitions)", str(views)
        names = db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = ?", [ALIAS]
        ).fetchall()
        for (name,) in names:
            quoted = '"' + name.replace('"', '""') + '"'
            rows = db.execute(f"SELECT * FROM {quoted}").fetchall()  # noqa: S608 - its names
            yield f"{root} (lake {name})", str(rows)


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(16) == b"SQLite format 3\x00"


def _sqlite_texts(path: Path) -> Texts:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        yield f"{path} (SQL dump)", "\n".join(db.iterdump())
