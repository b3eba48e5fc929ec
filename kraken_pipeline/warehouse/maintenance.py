"""Lake housekeeping with DuckLake's own functions: merge small files, expire, clean up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kraken_pipeline.filesystems import DataRoot
from kraken_pipeline.warehouse import ensure_tables, lake

DEFAULT_RETENTION = timedelta(days=30)
# A file in the data path that the catalog does not know was written by a transaction that
# never committed (a killed run). One still being written is seconds old, never a day.
ORPHAN_AGE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Maintenance:
    """What one pass did: snapshots expired, files merged away and files deleted."""

    snapshots_expired: int
    files_before: int
    files_after: int
    files_deleted: int
    orphans_deleted: int


def _count_files(root: DataRoot) -> int:
    with lake.session(root) as connection:
        row = connection.execute(
            "SELECT count(*) FROM ducklake_list_files(current_database(), 'measurements')"
        ).fetchone()
    return int(row[0]) if row else 0


def maintain(
    root: DataRoot, now: datetime, retention: timedelta = DEFAULT_RETENTION
) -> Maintenance:
    """Merge adjacent files, expire snapshots older than the retention, delete unread files.

    Files that no commit ever recorded (a killed run's) are deleted once a day old.
    """
    if retention < timedelta(0):
        raise ValueError(f"the retention must not be negative, not {retention}")
    ensure_tables(root)
    files_before = _count_files(root)
    with lake.session(root) as connection:
        connection.execute("CALL ducklake_merge_adjacent_files(current_database())")
        # The snapshots are chosen here, not with older_than: on a SQLite catalog DuckLake
        # 1.5.5 expired every snapshot but the newest whatever instant older_than gave.
        versions = connection.execute(
            "SELECT list(snapshot_id) FROM ducklake_snapshots(current_database()) "
            "WHERE snapshot_time < ? AND snapshot_id < "
            "(SELECT max(snapshot_id) FROM ducklake_snapshots(current_database()))",
            [now - retention],
        ).fetchone()
        expired = []
        if versions and versions[0]:
            expired = connection.execute(
                "CALL ducklake_expire_snapshots(current_database(), versions => ?)", [versions[0]]
            ).fetchall()
        deleted = connection.execute(
            "CALL ducklake_cleanup_old_files(current_database(), cleanup_all => true)"
        ).fetchall()
        orphans = connection.execute(
            "CALL ducklake_delete_orphaned_files(current_database(), older_than => ?)",
            [now - ORPHAN_AGE],
        ).fetchall()
    return Maintenance(
        snapshots_expired=len(expired),
        files_before=files_before,
        files_after=_count_files(root),
        files_deleted=len(deleted),
        orphans_deleted=len(orphans),
    )
