"""Monthly compaction: the measurements of each closed month in one file, sorted for analysts.

Measurements of closed months are read from one compacted file per month (sorted by supply point
and time, in `_views/_by_month/month=YYYY-MM/`), so a supply point's year is a dozen files, not
365. A month is closed once it ended more than SETTLING_DAYS before the newest stored day: the
daily schedule re-pulls the last few days and Kraken restates estimates for about a week, so
routine runs never touch a closed month, while a repair of an older day still works, at the
price of re-compacting that one month. The measurements view reads daily files from the first
open month (`first_open_month`) and monthly files before it; the boundary is part of the view's
definition, so a month moves from daily to monthly files in the same transaction that rewrites
the views, after its monthly file is written: a month is never seen twice, nor missed. Each
monthly file is built from the mirror's links and named, by an empty marker file beside it,
after the identities (inode, size, mtime) of the days it holds; a month whose stored days no
longer match its marker (a re-run day, or a refresh killed mid-compaction) is compacted again,
and only that month. The daily links stay in the mirror: they are what the marker is checked
against and what the next compaction reads.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kraken_pipeline import parquet_files
from kraken_pipeline.schema import MEASUREMENTS_SCHEMA
from kraken_pipeline.warehouse.mirror import Identity, StoredFile, file_identity
from kraken_pipeline.warehouse.views import DAY_PREFIX, MEASUREMENTS, monthly_directory

log = logging.getLogger(__name__)

SETTLING_DAYS = 14  # a month is closed once it ended more than this before the newest day
_MARKER_PREFIX = ".built-from-"  # a dot: the views' globs never match it


def _first_of_month(day: date) -> date:
    return day.replace(day=1)


def first_open_month(newest_day: date) -> date:
    """The first day of the first open month, given the newest stored day.

    Every month that ended more than SETTLING_DAYS before the newest day is closed.
    """
    return _first_of_month(newest_day - timedelta(days=SETTLING_DAYS))


def _marker_name(identities: Sequence[tuple[date, Identity]]) -> str:
    text = "\n".join(f"{day.isoformat()} {identity}" for day, identity in sorted(identities))
    return _MARKER_PREFIX + hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Month:
    """A closed month whose monthly file does not hold its stored days (yet)."""

    first_day: date
    links: tuple[Path, ...]  # the mirror's measurements links of its stored days, by day


def months_to_compact(stored: Sequence[StoredFile], mirror: Path, boundary: date) -> list[Month]:
    """The closed months whose monthly file is missing or was built from other days' files."""
    days = sorted(
        (item.day, item.identity, item.relative)
        for item in stored
        if item.table is MEASUREMENTS and item.day is not None and item.day < boundary
    )
    months = []
    for first_day, group in itertools.groupby(days, lambda member: _first_of_month(member[0])):
        members = list(group)
        marker = _marker_name([(day, identity) for day, identity, _ in members])
        if not (monthly_directory(mirror, first_day) / marker).exists():
            months.append(Month(first_day, tuple(mirror / relative for *_, relative in members)))
    return months


def compact(mirror: Path, month: Month) -> None:
    """Write the month's measurements as one file, sorted by supply point and time, then mark
    it with the identities of the links it was read from. Under the DuckDB write lock."""
    directory = monthly_directory(mirror, month.first_day)
    tables, identities = [], []
    with parquet_files.locked_directory(directory):  # also clears a killed compaction's temporary
        for link in month.links:
            with link.open("rb") as handle:  # the identity of exactly what is read
                day = date.fromisoformat(link.parent.name.removeprefix(DAY_PREFIX))
                identities.append((day, file_identity(os.fstat(handle.fileno()))))
                table = pq.ParquetFile(handle).read()
            tables.append(parquet_files.conform(table, MEASUREMENTS_SCHEMA, str(link)))
        rows = pa.concat_tables(tables).sort_by(
            [("supply_point_id", "ascending"), ("interval_start", "ascending")]
        )
        parquet_files.write_table_atomically(
            rows, directory / MEASUREMENTS.day_file.name, MEASUREMENTS.name
        )
        for entry in directory.glob(f"{_MARKER_PREFIX}*"):
            entry.unlink()
        # After the file: a crash before this line leaves a month that is compacted again.
        (directory / _marker_name(identities)).touch()
    log.info(
        "compacted %d day(s) of %s into %s (%d rows)",
        len(tables),
        f"{month.first_day:%Y-%m}",
        directory,
        rows.num_rows,
    )
