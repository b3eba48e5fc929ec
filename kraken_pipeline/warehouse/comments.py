"""What every table, view and column of the lake means, shown by DuckDB (`COMMENT ON`)."""

from __future__ import annotations

TABLE_COMMENTS = {
    "measurements": "Kraken smart-meter measurements, one row per supply point and interval "
    "(unique on supply_point_id, interval_start).",
    "fetch_log": "One row per supply point and local day: how its last fetch went. "
    "status 'failed' means the day's rows for it are missing or older.",
    "quality_results": "Data-quality results per day, check and offending supply point.",
    "daily_consumption": "Daily totals per supply point, for days whose blocking checks passed.",
    "supply_points": "The supply points of the last run.",
    "daily_totals": "Per supply point and local day: total, intervals received against "
    "expected (46/48/50 half-hours on clock-change days) and estimate share.",
    "warehouse_info": "The lake's contract version and the time zone of its views.",
    "file_layout_import": "Tables imported from the Parquet files of the older file layout.",
    "restatements": "Intervals whose value or reading quality changed between two runs "
    "(Kraken restates estimates), with the old and new values, from the lake's change feed.",
}

# ("*", column) describes the column wherever it appears.
COLUMN_COMMENTS = {
    ("*", "supply_point_id"): "Stable id of the supply point, from the supply points file.",
    ("*", "property_id"): "Kraken property id.",
    ("*", "utility"): "electricity or gas.",
    ("*", "market_supply_point_id"): "MPAN (electricity) or MPRN (gas).",
    ("*", "device_id"): "Meter serial number or device id, when known.",
    ("*", "reading_direction"): "CONSUMPTION or GENERATION.",
    ("*", "interval_start"): "Start of the interval, UTC.",
    ("*", "interval_end"): "End of the interval, UTC.",
    ("*", "local_date"): "The local day (tenant time zone) the interval starts in.",
    ("*", "value"): "Measured quantity, exact decimal, in unit.",
    ("*", "unit"): "Unit of value, normalised (kWh, m3).",
    ("*", "reading_quality"): "ACTUAL or ESTIMATE as Kraken reports it; NULL when not given.",
    ("*", "source"): "Where Kraken says the reading came from.",
    ("*", "fetched_at"): "When the pipeline fetched it, UTC.",
    ("fetch_log", "status"): "ok or failed.",
    ("fetch_log", "rows"): "Measurement rows stored for the supply point and day.",
    ("*", "intervals_expected"): "Intervals the local day holds for the supply point.",
    ("fetch_log", "requests"): "GraphQL requests the fetch made.",
    ("fetch_log", "error_code"): "Kraken error code (KT-CT-...) or kind of failure.",
    ("fetch_log", "error_message"): "What went wrong, secrets removed.",
    ("fetch_log", "nodes_outside_window"): "Nodes Kraken answered outside the asked window, or "
    "without a unit (a point-in-time reading), dropped (counted over the property's whole "
    "request).",
    ("fetch_log", "nodes_unmatched"): "Nodes of no supply point asked for, dropped.",
    ("fetch_log", "duplicates_folded"): "Identical intervals Kraken answered twice, kept once.",
    ("fetch_log", "values_rounded"): "Values rounded to the contract's 18 decimal places.",
    ("fetch_log", "intervals_removed"): "Stored intervals this fetch no longer had (a re-run "
    "that answered less); the earlier rows stay readable by time travel.",
    ("quality_results", "outcome"): "passed or failed.",
    ("quality_results", "blocking"): "Whether a failure keeps the day out of daily_consumption.",
    ("quality_results", "check_name"): "The data-quality check.",
    ("quality_results", "passed"): "Whether the check passed for this row.",
    ("quality_results", "severity"): "Severity a failure of the check has: ERROR or WARN.",
    ("quality_results", "detail"): "What the check found.",
    ("quality_results", "evaluated_at"): "When the check ran, UTC.",
    ("daily_consumption", "total"): "Sum of the day's values, exact, in unit.",
    ("*", "intervals_received"): "Intervals stored for the day.",
    ("*", "completeness"): "intervals_received / intervals_expected.",
    ("*", "estimate_share"): "Share of the day's intervals that are estimates.",
    ("supply_points", "reading_frequency"): "Kraken reading frequency (e.g. THIRTY_MIN_INTERVAL).",
    ("supply_points", "interval_seconds"): "Length of one interval in seconds.",
    ("daily_totals", "total_value"): "Sum of the day's values, exact, in unit.",
    ("daily_totals", "fetch_status"): "The day's fetch log status for the supply point.",
    ("warehouse_info", "schema_version"): "Version of the data contract (schema.py).",
    ("warehouse_info", "timezone"): "Tenant time zone the views use for local days.",
    ("warehouse_info", "tables_fingerprint"): "What the tables were defined from.",
    ("warehouse_info", "views_fingerprint"): "What the views were defined from.",
    ("warehouse_info", "defined_at"): "When the tables and views were last defined.",
    ("file_layout_import", "table_name"): "The table imported.",
    ("file_layout_import", "files"): "Parquet files of the older layout read.",
    ("file_layout_import", "rows"): "Rows imported.",
    ("file_layout_import", "imported_at"): "When.",
    ("restatements", "restated_at"): "When the run that changed the interval committed.",
    ("restatements", "snapshot_id"): "The lake snapshot of that commit (for AT (VERSION => ...)).",
    ("restatements", "old_value"): "Value before the restatement.",
    ("restatements", "new_value"): "Value after the restatement.",
    ("restatements", "old_quality"): "Reading quality before.",
    ("restatements", "new_quality"): "Reading quality after.",
}
