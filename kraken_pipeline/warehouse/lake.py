"""Where a data root's DuckLake lives, and DuckDB connections attached to it.

Analysts attach the lake as `kraken` (the views name it); the pipeline attaches every lake it
writes to one DuckDB per process, each under an alias of its own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

import duckdb

from kraken_pipeline import filesystems
from kraken_pipeline.filesystems import DataRoot, DataRootError
from kraken_pipeline.warehouse import extensions
from kraken_pipeline.warehouse.s3 import s3_secret_statement
from kraken_pipeline.warehouse.tables import literal

log = logging.getLogger(__name__)

ALIAS = "kraken"
CATALOG_VARIABLE = "KRAKEN_PIPELINE_CATALOG"
CATALOG_FILE = "catalog.sqlite"
DATA_DIRECTORY = "lake"
_OPEN_LAKES = 8  # lakes kept attached per process (tests open many roots)
_ATTEMPTS = 12  # about 10 s of waiting in all: far longer than any day's commit
_T = TypeVar("_T")
# What another writer's concurrent commit (or catalog creation) looks like from this one.
_BUSY = ("conflict", "database is locked", "duplicate key value")
_PASSWORD = re.compile(r"(password\s*=\s*)\S+", re.IGNORECASE)


class LakeError(DataRootError):
    """The lake cannot be opened; the message names the setting to fix, never a password."""


@dataclass(frozen=True, slots=True)
class Lake:
    """A data root's lake: its DuckLake catalog and the directory or prefix of its files."""

    catalog: str = field(repr=False)  # a PostgreSQL connection string may hold a password
    data_path: str
    configured_catalog: bool = False  # from KRAKEN_PIPELINE_CATALOG, not the root's SQLite file

    @property
    def extensions(self) -> tuple[str, ...]:
        scanner = "postgres_scanner" if self.catalog.startswith("postgres:") else "sqlite_scanner"
        remote = ("httpfs",) if self.data_path.startswith("s3://") else ()
        return ("ducklake", scanner, *remote)

    def describe(self) -> str:
        """The lake in words for logs and errors: the catalog's kind, never its credentials."""
        if self.configured_catalog:
            return f"the DuckLake of {CATALOG_VARIABLE} with data in {self.data_path}"
        return f"the DuckLake {self.catalog.removeprefix('sqlite:')} (data in {self.data_path})"


def lake_of(root: DataRoot, environ: Mapping[str, str] | None = None) -> Lake:
    """The lake of a data root: its SQLite catalog, or the configured PostgreSQL one."""
    environ = os.environ if environ is None else environ
    data_path = f"{root / DATA_DIRECTORY}/"
    configured = environ.get(CATALOG_VARIABLE, "").strip()
    if configured:
        if not configured.startswith(("postgres:", "sqlite:")):
            raise LakeError(
                f"{CATALOG_VARIABLE} must be postgres:<libpq connection string> or "
                "sqlite:<file>; unset it to keep the catalog in the data root"
            )
        return Lake(configured, data_path, configured_catalog=True)
    # A SQLite file needs a local disk: an S3 root keeps it in this machine's directory for it.
    catalog_file = filesystems.local_directory(root) / CATALOG_FILE
    return Lake(f"sqlite:{catalog_file}", data_path)


def _attach_statement(lake: Lake, alias: str, read_only: bool) -> str:
    options = [
        f"DATA_PATH {literal(lake.data_path)}",
        "OVERRIDE_DATA_PATH true",
        # Every row goes to Parquet, not into the catalog: any Parquet reader can then read them.
        "DATA_INLINING_ROW_LIMIT 0",
    ]
    if read_only:
        options.insert(0, "READ_ONLY")
    return f"ATTACH {literal('ducklake:' + lake.catalog)} AS {alias} ({', '.join(options)})"


def _prepare_local(lake: Lake, read_only: bool) -> None:
    if lake.configured_catalog or read_only:
        return
    catalog = Path(lake.catalog.removeprefix("sqlite:"))
    catalog.parent.mkdir(parents=True, exist_ok=True)
    if not lake.data_path.startswith("s3://"):
        Path(lake.data_path).mkdir(parents=True, exist_ok=True)
    if not catalog.exists():
        _create_catalog_file(catalog)


def _create_catalog_file(catalog: Path) -> None:
    """An empty SQLite file in write-ahead-log mode, made by exactly one process."""
    # WAL lets readers query while a writer commits. The mode cannot be changed while another
    # process has the file open, so the file is made aside and linked into place.
    aside = catalog.with_name(f".{catalog.name}.{os.getpid()}.new")
    with contextlib.closing(sqlite3.connect(aside)) as database:
        database.execute("PRAGMA journal_mode = WAL")
    try:
        os.link(aside, catalog)
    except FileExistsError:
        pass  # another process made it first
    finally:
        aside.unlink()


def open_connection(lake: Lake, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB of its own with the lake attached as `kraken` and in use."""
    _prepare_local(lake, read_only)
    connection = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        _equip(connection, lake, set())
        _attach(connection, lake, ALIAS, read_only)
    except duckdb.Error as error:
        connection.close()
        raise _cannot_open(lake, error) from None
    connection.execute(f"USE {ALIAS}")
    return connection


def _equip(connection: duckdb.DuckDBPyConnection, lake: Lake, loaded: set[str]) -> None:
    """Give a database what the lake needs that it has not `loaded` yet (which grows)."""
    if not loaded:
        connection.execute("SET TimeZone = 'UTC'")  # TIMESTAMPTZ reads back as UTC instants
    for name in lake.extensions:
        if name not in loaded:
            extensions.load(connection, name)
            loaded.add(name)
    if lake.data_path.startswith("s3://"):
        connection.execute(s3_secret_statement())


def _cannot_open(lake: Lake, error: duckdb.Error) -> LakeError:
    hint = CATALOG_VARIABLE if lake.configured_catalog else filesystems.DATA_ROOT_VARIABLE
    message = _without_catalog(str(error), lake)
    return LakeError(f"cannot open {lake.describe()}: {message} (check {hint})")


def _without_catalog(message: str, lake: Lake) -> str:
    """An error's text with the catalog's connection string, and any password, taken out."""
    connection_string = lake.catalog.partition(":")[2]
    for secret in (lake.catalog, connection_string):
        if secret:
            message = message.replace(secret, "<catalog>")
    return _PASSWORD.sub(r"\1***", message)


def _attach(connection: duckdb.DuckDBPyConnection, lake: Lake, alias: str, read_only: bool) -> None:
    # Two processes creating one PostgreSQL catalog at once: the loser's CREATE meets the
    # winner's tables; attaching again finds them made.
    retrying(
        lambda: connection.execute(_attach_statement(lake, alias, read_only)),
        f"attaching {lake.describe()}",
    )


@dataclass
class _Engine:
    """This process's DuckDB for the pipeline's own work: every lake it writes is attached to
    it under an alias of its own, so that the extensions are loaded and verified once."""

    connection: duckdb.DuckDBPyConnection
    aliases: OrderedDict[Lake, str] = field(default_factory=OrderedDict)
    loaded: set[str] = field(default_factory=set)
    attached: int = 0


_ENGINE_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    # One thread: the pipeline's statements each touch one day, and the process shares its
    # cores with the fetch's threads and other runs' steps. Idle workers of a wider pool cost
    # CPU on every small statement (docs/architecture.md has the figures).
    "threads": 1,
    # An insert into a partitioned table is buffered until this many rows, 524,288 by default:
    # nearly a whole day of measurements held in DuckDB's format beside the Arrow table being
    # inserted. At one Parquet row group (DuckDB's 122,880 rows) the same files and row groups
    # are written from a quarter of that.
    "partitioned_write_flush_threshold": 122_880,
}
_engines: dict[int, _Engine] = {}  # by process: a DuckDB database must not cross a fork
_engines_lock = threading.Lock()


def _alias_of(lake: Lake) -> tuple[_Engine, str]:
    """The process's engine and the alias the lake is attached under, attached if need be."""
    with _engines_lock:
        engine = _engines.get(os.getpid())
        if engine is None:
            connection = duckdb.connect(config=_ENGINE_CONFIG)
            engine = _engines[os.getpid()] = _Engine(connection)
        # A name DuckDB cannot find is looked for in every attached lake (for its "did you
        # mean"), which fails on a lake whose catalog file was deleted (a temporary root).
        for gone in [known for known in engine.aliases if _catalog_file_gone(known)]:
            engine.connection.execute(f"DETACH {engine.aliases.pop(gone)}")
        if lake in engine.aliases:
            engine.aliases.move_to_end(lake)
            return engine, engine.aliases[lake]
        _prepare_local(lake, read_only=False)
        alias = f"lake_{engine.attached + 1}"
        try:
            _equip(engine.connection, lake, engine.loaded)
            _attach(engine.connection, lake, alias, read_only=False)
        except duckdb.Error as error:
            raise _cannot_open(lake, error) from None
        engine.attached += 1
        engine.aliases[lake] = alias
        while len(engine.aliases) > _OPEN_LAKES:
            _, evicted = engine.aliases.popitem(last=False)
            engine.connection.execute(f"DETACH {evicted}")
        return engine, alias


def _catalog_file_gone(lake: Lake) -> bool:
    return not lake.configured_catalog and not Path(lake.catalog.removeprefix("sqlite:")).exists()


def forget_connections() -> None:
    """Close this process's lake connections (a lake removed or replaced under them)."""
    with _engines_lock:
        engine = _engines.pop(os.getpid(), None)
        if engine is not None:
            engine.connection.close()


@contextmanager
def session(root: DataRoot, *, as_kraken: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the root's lake, the lake in use: a cursor of the process's engine.

    SQL naming the lake uses `current_database()`: its alias differs from lake to lake. With
    `as_kraken` it is a connection of its own where the lake is `kraken`, as analysts attach
    it (a view naming the lake must be bound there).
    """
    found = lake_of(root)
    if as_kraken:
        with contextlib.closing(open_connection(found, read_only=False)) as own:
            yield own
        return
    engine, alias = _alias_of(found)
    cursor = engine.connection.cursor()
    try:
        cursor.execute(f"USE {alias}")
        yield cursor
    finally:
        cursor.close()


def _is_busy(error: duckdb.Error) -> bool:
    message = str(error).lower()
    return any(sign in message for sign in _BUSY)


@dataclass(frozen=True, slots=True)
class Committed(Generic[_T]):
    """What a transaction's work returned, and the lake snapshot its commit made."""

    value: _T
    snapshot: int


def retrying(work: Callable[[], _T], what: str) -> _T:
    """Run `work`, again after a pause while the lake is busy with another writer's commit.

    Done again on the new snapshot, the work gives the result of the two one after the other.
    """
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return work()
        except duckdb.Error as error:
            if not _is_busy(error) or attempt == _ATTEMPTS:
                raise
            log.info("%s met another writer (attempt %d of %d); again", what, attempt, _ATTEMPTS)
        time.sleep(random.uniform(0.05, 0.25) * attempt)  # noqa: S311 - jitter, not security
    raise AssertionError("unreachable")


def commit(
    root: DataRoot,
    work: Callable[[duckdb.DuckDBPyConnection], _T],
    what: str,
    *,
    as_kraken: bool = False,
) -> Committed[_T]:
    """Run `work` in one transaction of the lake and commit it, retried while busy.

    `what` becomes the snapshot's commit message; `as_kraken` is `session`'s.
    """

    def transaction() -> Committed[_T]:
        with session(root, as_kraken=as_kraken) as connection:
            try:
                connection.execute("BEGIN TRANSACTION")
                connection.execute(
                    "CALL ducklake_set_commit_message(current_database(), 'kraken-pipeline', ?)",
                    [what],
                )
                result = work(connection)
                connection.execute("COMMIT")
            except BaseException:
                _roll_back(connection)
                raise
            row = connection.execute(
                "SELECT * FROM ducklake_last_committed_snapshot(current_database())"
            ).fetchone()
        return Committed(result, int(row[0]) if row and row[0] is not None else 0)

    return retrying(transaction, what)


def _roll_back(connection: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # a failed commit has already ended it
        connection.execute("ROLLBACK")
