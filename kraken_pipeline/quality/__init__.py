"""Pure data-quality rules over one local day of measurements (no Dagster here).

Each rule is a public function that can be called and tested alone; `evaluate_day` runs every
per-day rule in a stable order. defs/checks.py surfaces them as Dagster asset checks.
"""

from __future__ import annotations

from kraken_pipeline.quality.completeness import check_completeness, check_fetch_failures
from kraken_pipeline.quality.evaluate import check_freshness, evaluate_day, outcomes_to_table
from kraken_pipeline.quality.records import (
    BLOCKING_CHECKS,
    CHECK_ALIGNED_INTERVALS,
    CHECK_COMPLETENESS,
    CHECK_DESCRIPTIONS,
    CHECK_ESTIMATES,
    CHECK_FETCH_FAILURES,
    CHECK_FRESHNESS,
    CHECK_ONE_UNIT,
    CHECK_SEVERITIES,
    CHECK_STORED_INTERVALS_KEPT,
    CHECK_UNIQUE_INTERVALS,
    CHECK_VALID_VALUES,
    DEFAULT_CEILINGS_PER_HOUR,
    DEFAULT_SENTINEL_VALUES,
    CheckOutcome,
    Offender,
    QualityConfig,
    Severity,
)
from kraken_pipeline.quality.removals import check_stored_intervals_kept, intervals_removed
from kraken_pipeline.quality.structure import (
    check_intervals_aligned,
    check_one_unit_per_series,
    check_unique_intervals,
)
from kraken_pipeline.quality.values import check_estimate_share, check_valid_values

__all__ = [
    "BLOCKING_CHECKS",
    "CHECK_ALIGNED_INTERVALS",
    "CHECK_COMPLETENESS",
    "CHECK_DESCRIPTIONS",
    "CHECK_ESTIMATES",
    "CHECK_FETCH_FAILURES",
    "CHECK_FRESHNESS",
    "CHECK_ONE_UNIT",
    "CHECK_SEVERITIES",
    "CHECK_STORED_INTERVALS_KEPT",
    "CHECK_UNIQUE_INTERVALS",
    "CHECK_VALID_VALUES",
    "DEFAULT_CEILINGS_PER_HOUR",
    "DEFAULT_SENTINEL_VALUES",
    "CheckOutcome",
    "Offender",
    "QualityConfig",
    "Severity",
    "check_completeness",
    "check_estimate_share",
    "check_fetch_failures",
    "check_freshness",
    "check_intervals_aligned",
    "check_one_unit_per_series",
    "check_stored_intervals_kept",
    "check_unique_intervals",
    "check_valid_values",
    "evaluate_day",
    "intervals_removed",
    "outcomes_to_table",
]
