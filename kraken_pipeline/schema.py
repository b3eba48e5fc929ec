"""The public data contracts: Arrow schemas of the measurements and the per-day fetch log.

Analysts build on these columns (DESIGN.md decision 4): changes are additive and bump
SCHEMA_VERSION, which the DuckDB views and the Parquet metadata carry.
"""

from __future__ import annotations

import pyarrow as pa

# 2: the fetch log's per-supply-point counters of what the fetch dropped, folded or rounded, and
#    of the stored intervals its write removed; quality_results.outcome and .blocking.
SCHEMA_VERSION = 2

# Kraken serialises values as decimal strings with up to 18 fractional digits ("0E-18"); 38 digits
# of precision leave 20 for the integer part. Anything that does not fit is rejected, never rounded.
VALUE_TYPE = pa.decimal128(38, 18)
UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")

MEASUREMENTS_SCHEMA = pa.schema(
    [
        pa.field("supply_point_id", pa.string(), nullable=False),
        pa.field("property_id", pa.string(), nullable=False),
        pa.field("utility", pa.string(), nullable=False),
        pa.field("market_supply_point_id", pa.string(), nullable=False),
        pa.field("device_id", pa.string()),
        pa.field("reading_direction", pa.string()),
        pa.field("interval_start", UTC_TIMESTAMP, nullable=False),
        pa.field("interval_end", UTC_TIMESTAMP, nullable=False),
        pa.field("local_date", pa.date32(), nullable=False),
        pa.field("value", VALUE_TYPE, nullable=False),
        pa.field("unit", pa.string(), nullable=False),
        pa.field("reading_quality", pa.string()),
        pa.field("source", pa.string()),
        pa.field("fetched_at", UTC_TIMESTAMP, nullable=False),
    ]
)

# One row per supply point and local day: tells "no data published yet" from "fetch failed".
FETCH_LOG_SCHEMA = pa.schema(
    [
        pa.field("supply_point_id", pa.string(), nullable=False),
        pa.field("local_date", pa.date32(), nullable=False),
        pa.field("status", pa.string(), nullable=False),  # "ok" | "failed"
        pa.field("rows", pa.int64(), nullable=False),
        pa.field("intervals_expected", pa.int64(), nullable=False),
        pa.field("requests", pa.int64(), nullable=False),
        pa.field("error_code", pa.string()),
        pa.field("error_message", pa.string()),
        pa.field("fetched_at", UTC_TIMESTAMP, nullable=False),
        # Since schema version 2 (null before). Like `requests`, they count the whole fetch that
        # landed the day, which covers a chunk of days; their meaning: warehouse/comments.py.
        pa.field("nodes_outside_window", pa.int64()),
        pa.field("nodes_unmatched", pa.int64()),
        pa.field("duplicates_folded", pa.int64()),
        pa.field("values_rounded", pa.int64()),
        # Stored intervals of the supply point that this write removed: Kraken answered fewer
        # (or other) intervals than an earlier run had landed. Since schema version 2, too.
        pa.field("intervals_removed", pa.int64()),
    ]
)

# One row per check, day and offending supply point (supply_point_id null for a day-level result),
# so analysts can keep to trusted days without the Dagster UI.
QUALITY_RESULTS_SCHEMA = pa.schema(
    [
        pa.field("local_date", pa.date32(), nullable=False),
        pa.field("check_name", pa.string(), nullable=False),
        pa.field("supply_point_id", pa.string()),
        pa.field("passed", pa.bool_(), nullable=False),
        # "WARN" | "ERROR": the severity of the failure; on a passed row, the least a failure
        # of the check has (never graver than the check's failures).
        pa.field("severity", pa.string(), nullable=False),
        pa.field("detail", pa.string()),
        pa.field("evaluated_at", UTC_TIMESTAMP, nullable=False),
        # Version 2, null in older files. "passed" | "failed", as `passed` says in words.
        pa.field("outcome", pa.string()),
        # Version 2: this failure stops daily_consumption for the day; false on passed rows.
        pa.field("blocking", pa.bool_()),
    ]
)

# One row per supply point and local day, for days whose blocking checks passed.
DAILY_CONSUMPTION_SCHEMA = pa.schema(
    [
        pa.field("supply_point_id", pa.string(), nullable=False),
        pa.field("local_date", pa.date32(), nullable=False),
        pa.field("utility", pa.string(), nullable=False),
        pa.field("reading_direction", pa.string()),
        pa.field("unit", pa.string(), nullable=False),
        pa.field("total", VALUE_TYPE, nullable=False),
        pa.field("intervals_received", pa.int64(), nullable=False),
        pa.field("intervals_expected", pa.int64(), nullable=False),
        pa.field("completeness", pa.float64(), nullable=False),
        pa.field("estimate_share", pa.float64(), nullable=False),
    ]
)

# The supply points of the last run, for the analysts' `supply_points` view.
SUPPLY_POINTS_SCHEMA = pa.schema(
    [
        pa.field("supply_point_id", pa.string(), nullable=False),
        pa.field("property_id", pa.string(), nullable=False),
        pa.field("utility", pa.string(), nullable=False),
        pa.field("market_supply_point_id", pa.string(), nullable=False),
        pa.field("device_id", pa.string()),
        pa.field("reading_direction", pa.string()),
        pa.field("reading_frequency", pa.string(), nullable=False),
        pa.field("interval_seconds", pa.int64(), nullable=False),
    ]
)
