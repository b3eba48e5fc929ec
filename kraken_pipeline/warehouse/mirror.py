"""The views' mirror: hard links to the stored files, changed only under the DuckDB write lock.

The views read `<root>/_views/`, never the day files the runs replace (the package docstring says
why). Each stored file is linked there under its own relative path (no copy: the same inode), and
a stored file whose link is missing or another inode waits to be published. Publishing links it
under a temporary name beside its target, then renames that onto the target, so a publisher that
is killed leaves at most a temporary link, which the next one clears.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from kraken_pipeline import parquet_files
from kraken_pipeline.warehouse.views import (
    DAILY_TABLES,
    DAY_PREFIX,
    SUPPLY_POINTS,
    TABLES,
    Table,
    anchor_path,
)

_TEMP_SUFFIX = ".tmp"

Identity = tuple[int, int, int, int]  # device, inode, size, modification time (ns)


def file_identity(status: os.stat_result) -> Identity:
    """What tells one version of a file from another: a new inode, size or mtime is a new one."""
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


def _status(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A stored file the views read, its link in the mirror, and whether that link is it."""

    table: Table
    root: Path
    mirror: Path
    relative: str  # the same under the root and under the mirror
    day: date | None  # None: the supply points
    identity: Identity
    published: bool

    @property
    def source(self) -> Path:
        return self.root / self.relative

    @property
    def target(self) -> Path:
        return self.mirror / self.relative


def _entries(directory: str | Path) -> Iterator[os.DirEntry[str]]:
    """The entries of directory, in no order; none if it does not exist."""
    try:
        entries = os.scandir(directory)
    except FileNotFoundError:
        return
    with entries:
        yield from entries


def _day_folders(directory: str) -> Iterator[tuple[str, date]]:
    """(folder name, day) of every `date=YYYY-MM-DD` folder in directory, in no order."""
    for entry in _entries(directory):
        if not entry.name.startswith(DAY_PREFIX) or not entry.is_dir():
            continue
        try:
            yield entry.name, date.fromisoformat(entry.name.removeprefix(DAY_PREFIX))
        except ValueError:
            continue  # not one of ours


def _files_by_dataset() -> dict[str, list[tuple[Table, str]]]:
    """{dataset folder: [(table, file name in each day's folder)]}."""
    by_dataset: dict[str, list[tuple[Table, str]]] = {}
    for table in DAILY_TABLES:
        by_dataset.setdefault(table.day_file.parts[0], []).append((table, table.day_file.name))
    return by_dataset


_FILES_BY_DATASET = _files_by_dataset()


def stored_files(root: Path, mirror: Path) -> list[StoredFile]:
    """Every stored file the views read, by one listing per dataset and two stats per file.

    No glob, no sort and plain strings: this runs at every refresh, over every stored day.
    """
    root_text, mirror_text = str(root), str(mirror)
    candidates: list[tuple[Table, str, date | None]] = [
        (SUPPLY_POINTS, str(SUPPLY_POINTS.day_file), None)
    ]
    for dataset, files in _FILES_BY_DATASET.items():
        for folder, stored_day in _day_folders(f"{root_text}/{dataset}"):
            candidates.extend(
                (table, f"{dataset}/{folder}/{name}", stored_day) for table, name in files
            )
    stored = []
    for table, relative, day in candidates:
        status = _status(f"{root_text}/{relative}")
        if status is None:
            continue
        linked = _status(f"{mirror_text}/{relative}")
        identity = file_identity(status)
        published = linked is not None and file_identity(linked)[:2] == identity[:2]
        stored.append(StoredFile(table, root, mirror, relative, day, identity, published))
    return stored


def stale_anchors(mirror: Path) -> list[Table]:
    """The tables whose anchor in the mirror is missing or has other columns than the table."""

    def is_current(table: Table) -> bool:
        path = anchor_path(mirror, table)
        return path.is_file() and pq.read_schema(path).equals(table.schema)

    return [table for table in TABLES if not is_current(table)]


def _remove_leftover_links(directory: Path) -> None:
    """Temporary links left in directory by a publisher that was killed."""
    for entry in _entries(directory):
        if entry.name.startswith(".") and entry.name.endswith(_TEMP_SUFFIX):
            os.unlink(entry.path)


def publish(mirror: Path, pending: Sequence[StoredFile], anchors: Sequence[Table]) -> None:
    """Point the mirror at the stored files. Only called while holding the DuckDB write lock."""
    # A killed publisher leaves its link beside a target it had not replaced yet, so a target
    # still waiting here: clearing those folders finds every leftover without a walk of the
    # whole mirror.
    for folder in {stored.target.parent for stored in pending}:
        _remove_leftover_links(folder)
    for table in anchors:
        anchor = anchor_path(mirror, table)
        with parquet_files.locked_directory(anchor.parent):
            parquet_files.write_table_atomically(table.schema.empty_table(), anchor, table.name)
    for stored in pending:
        stored.target.parent.mkdir(parents=True, exist_ok=True)
        target = stored.target
        temporary = target.with_name(f".{target.name}.{os.urandom(16).hex()}{_TEMP_SUFFIX}")
        os.link(stored.source, temporary)  # whichever version it is now: both are whole files
        os.replace(temporary, target)
        # Renaming a link onto another link of the same inode is a no-op that leaves the source.
        temporary.unlink(missing_ok=True)
