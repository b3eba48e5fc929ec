"""Stored intervals kept: did a successful re-run of a published day remove what was stored?

The write records how many stored intervals each supply point lost (the fetch log's
`intervals_removed`); this rule warns.
"""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pyarrow.compute as pc

from kraken_pipeline.quality.completeness import day_is_past_publication_lag
from kraken_pipeline.quality.records import (
    CHECK_STORED_INTERVALS_KEPT,
    CheckOutcome,
    QualityConfig,
    Severity,
    build_outcome,
)
from kraken_pipeline.quality.tables import worst_first


def intervals_removed(fetch_log: pa.Table, local_date: date) -> dict[str, int]:
    """Per supply point: stored intervals of the day that its successful fetches' writes removed.

    A failed fetch keeps the stored rows, so only "ok" rows count; null (a fetch log written
    before the column existed) counts as none.
    """
    day = pa.scalar(local_date, pa.date32())
    rows = fetch_log.filter(
        pc.and_(
            pc.and_(pc.equal(fetch_log["local_date"], day), pc.equal(fetch_log["status"], "ok")),
            pc.greater(pc.fill_null(fetch_log["intervals_removed"], 0), 0),
        )
    )
    totals = rows.group_by("supply_point_id").aggregate([("intervals_removed", "sum")])
    return dict(
        zip(
            totals["supply_point_id"].to_pylist(),
            totals["intervals_removed_sum"].to_pylist(),
            strict=True,
        )
    )


def check_stored_intervals_kept(
    local_date: date, fetch_log: pa.Table, timezone: str, now: datetime, config: QualityConfig
) -> CheckOutcome:
    """Fails (WARN) when a re-run removed stored intervals of a day past the publication lag.

    Past the lag Kraken restates values but takes no intervals back; inside it, Kraken may still
    be publishing. Offenders come most intervals removed first.
    """
    due = day_is_past_publication_lag(local_date, timezone, now, config)
    removed = intervals_removed(fetch_log, local_date) if due else {}
    total = sum(removed.values())
    if removed:
        summary = (
            f"a re-run removed {total} stored interval(s) of {len(removed)} supply point(s); "
            "the earlier rows stay readable in the warehouse's history"
        )
    elif due:
        summary = "no re-run removed stored intervals"
    else:
        summary = "within the publication lag: fewer intervals than stored are not judged yet"
    return build_outcome(
        CHECK_STORED_INTERVALS_KEPT,
        local_date,
        worst_first(removed),
        lambda _point, count: f"the latest write removed {count} stored interval(s)",
        Severity.WARN,
        summary,
        {"intervals_removed": total, "past_publication_lag": "yes" if due else "no"},
        config,
    )
