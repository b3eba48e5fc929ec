"""The analysts' views in the lake: daily totals, and the restatements from the change feed."""

from __future__ import annotations

from kraken_pipeline.local_days import zone
from kraken_pipeline.warehouse.lake import ALIAS
from kraken_pipeline.warehouse.tables import literal

# Per supply point and local day. Intervals expected come from the fetch log, else (a day missing
# from it) from the length of the local day divided by the supply point's interval.
_DAILY_TOTALS_SQL = """
CREATE OR REPLACE VIEW daily_totals AS
WITH received AS (
    SELECT supply_point_id, local_date, unit,
           sum(value) AS total_value,
           count(*) AS intervals_received,
           count(*) FILTER (WHERE reading_quality = 'ESTIMATE') AS intervals_estimated
    FROM measurements
    GROUP BY supply_point_id, local_date, unit
),
days AS (
    SELECT supply_point_id, local_date, r.total_value, r.unit,
           coalesce(r.intervals_received, 0) AS intervals_received, r.intervals_estimated,
           f.intervals_expected AS logged_expected, f.status AS fetch_status
    FROM fetch_log AS f FULL OUTER JOIN received AS r USING (supply_point_id, local_date)
),
expected AS (
    SELECT d.*, coalesce(
        d.logged_expected,
        CAST(epoch(timezone({timezone}, CAST(d.local_date + 1 AS TIMESTAMP)))
             - epoch(timezone({timezone}, CAST(d.local_date AS TIMESTAMP))) AS BIGINT)
        // s.interval_seconds
    ) AS intervals_expected
    FROM days AS d LEFT JOIN supply_points AS s USING (supply_point_id)
)
SELECT supply_point_id, local_date, total_value, unit, intervals_received, intervals_expected,
       intervals_received / nullif(intervals_expected, 0) AS completeness,
       intervals_estimated / nullif(intervals_received, 0) AS estimate_share,
       fetch_status
FROM expected
"""

# A day's replacement is a delete and an insert in one snapshot: an interval restated by it is a
# deleted row and an inserted row of that snapshot with the same key and another value or quality.
_RESTATEMENTS_SQL = """
CREATE OR REPLACE VIEW restatements AS
WITH changes AS (
    SELECT * FROM ducklake_table_changes(
        {alias}, 'main', 'measurements', TIMESTAMPTZ '1970-01-01 00:00:00+00', now())
)
SELECT snapshot.snapshot_time AS restated_at, new.snapshot_id, new.supply_point_id,
       new.local_date, new.interval_start, old.value AS old_value, new.value AS new_value,
       new.unit, old.reading_quality AS old_quality, new.reading_quality AS new_quality
FROM changes AS new
JOIN changes AS old
  ON old.snapshot_id = new.snapshot_id
 AND old.supply_point_id = new.supply_point_id
 AND old.interval_start = new.interval_start
 AND old.change_type IN ('delete', 'update_preimage')
JOIN ducklake_snapshots({alias}) AS snapshot ON snapshot.snapshot_id = new.snapshot_id
WHERE new.change_type IN ('insert', 'update_postimage')
  AND (old.value IS DISTINCT FROM new.value
       OR old.reading_quality IS DISTINCT FROM new.reading_quality)
"""

VIEW_NAMES = ("daily_totals", "restatements")


def view_statements(timezone: str) -> list[str]:
    """The statements that define the views, for the tenant's time zone."""
    zone(timezone)  # an unknown zone fails here, with a clear message, not inside DuckDB
    # A view's unqualified names resolve in the lake whatever its alias; the change feed's table
    # function alone names the lake, by its alias.
    return [
        _DAILY_TOTALS_SQL.format(timezone=literal(timezone)),
        _RESTATEMENTS_SQL.format(alias=literal(ALIAS)),
    ]
