"""Search everything the product writes or shows for a secret, in every form it could take.

A secret can hide from a plain byte search: Parquet pages are zstd-compressed, DuckDB compresses
its blocks, HTTP Basic credentials are base64. So each kind of store is opened the way its
reader would and turned into text: Parquet files as rows and key-value metadata, the DuckDB
file as every view, table and view definition, SQLite files (the Dagster instance) as a dump.
Every file is also searched as raw bytes.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

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
        elif path.suffix == ".duckdb":
            yield from _duckdb_texts(path)
        elif _is_sqlite(path):
            yield from _sqlite_texts(path)


def _parquet_texts(path: Path) -> Texts:
    parquet = pq.ParquetFile(path)
    yield f"{path} (key-value metadata)", str(parquet.metadata.metadata)
    yield f"{path} (schema)", str(parquet.schema_arrow)
    yield f"{path} (rows)", str(parquet.read().to_pylist())


def _duckdb_texts(path: Path) -> Texts:
    with duckdb.connect(str(path), read_only=True) as db:
        definitions = db.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal")
        yield f"{path} (view definitions)", str(definitions.fetchall())
        names = db.execute("SELECT table_name FROM information_schema.tables").fetchall()
        for (name,) in names:
            quoted = '"' + name.replace('"', '""') + '"'
            rows = db.execute(f"SELECT * FROM {quoted}").fetchall()  # noqa: S608 - our names
            yield f"{path} ({name})", str(rows)


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(16) == b"SQLite format 3\x00"


def _sqlite_texts(path: Path) -> Texts:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        yield f"{path} (SQL dump)", "\n".join(db.iterdump())
