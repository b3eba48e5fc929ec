"""The vocabulary of the data-quality rules: check names, severities, config and result records.

Everything here is plain data, so the Dagster layer (defs/checks.py) and the persisted
`quality_results` table can both be built from the same outcome without re-deciding anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

CHECK_UNIQUE_INTERVALS = "unique_intervals"
CHECK_ALIGNED_INTERVALS = "intervals_aligned"
CHECK_COMPLETENESS = "completeness"
CHECK_FETCH_FAILURES = "fetch_failures"
CHECK_VALID_VALUES = "valid_values"
CHECK_ONE_UNIT = "one_unit_per_series"
CHECK_ESTIMATES = "estimate_share"
CHECK_FRESHNESS = "freshness"
CHECK_STORED_INTERVALS_KEPT = "stored_intervals_kept"

CHECK_DESCRIPTIONS: Mapping[str, str] = MappingProxyType(
    {
        CHECK_UNIQUE_INTERVALS: "No supply point has the same interval twice.",
        CHECK_ALIGNED_INTERVALS: (
            "Every interval lies inside the day, has its series' length and starts on its grid."
        ),
        CHECK_COMPLETENESS: (
            "Every supply point has all intervals of the day (46/48/50 half-hours in London)."
        ),
        CHECK_FETCH_FAILURES: "No supply point's fetch failed (auth, permission, retries).",
        CHECK_VALID_VALUES: (
            "No negative, missing, sentinel or implausibly large values for the utility, and no "
            "reading quality outside the contract."
        ),
        CHECK_ONE_UNIT: "Each supply point uses one unit, and one the pipeline knows.",
        CHECK_ESTIMATES: "Estimated intervals stay below the configured share per supply point.",
        CHECK_FRESHNESS: "The newest complete day is recent enough.",
        CHECK_STORED_INTERVALS_KEPT: (
            "No successful re-run of a day past the publication lag removed stored intervals "
            "(Kraken answered fewer than an earlier run landed). The earlier rows remain "
            "readable through the warehouse's history (time travel)."
        ),
    }
)

# A failing blocking check stops whatever reads the day downstream (daily_consumption).
BLOCKING_CHECKS: frozenset[str] = frozenset(
    {CHECK_UNIQUE_INTERVALS, CHECK_ALIGNED_INTERVALS, CHECK_ONE_UNIT}
)


class Severity(StrEnum):
    """How bad a failed check is: WARN is suspicious, ERROR means do not trust the day."""

    WARN = "WARN"
    ERROR = "ERROR"


# The least severity of each rule's failures, which a passing outcome carries: a passed row never
# looks graver than a failed one of the same check.
CHECK_SEVERITIES: Mapping[str, Severity] = MappingProxyType(
    {
        CHECK_UNIQUE_INTERVALS: Severity.ERROR,
        CHECK_ALIGNED_INTERVALS: Severity.ERROR,
        CHECK_COMPLETENESS: Severity.WARN,
        CHECK_FETCH_FAILURES: Severity.ERROR,
        CHECK_VALID_VALUES: Severity.WARN,
        CHECK_ONE_UNIT: Severity.ERROR,
        CHECK_ESTIMATES: Severity.WARN,
        CHECK_FRESHNESS: Severity.WARN,
        CHECK_STORED_INTERVALS_KEPT: Severity.WARN,
    }
)

# Plausible ceilings per (utility, normalised unit) per HOUR, scaled to each interval's length;
# crossing one is implausible (WARN), not impossible. Derived in docs/architecture.md.
DEFAULT_CEILINGS_PER_HOUR: Mapping[tuple[str, str], Decimal] = MappingProxyType(
    {
        ("electricity", "kWh"): Decimal(100),  # a 100 kW average: above any whole-current meter
        ("gas", "m3"): Decimal(25),  # the rated maximum flow of a U25/G16 meter
        ("gas", "kWh"): Decimal(280),  # 25 m3/h at about 39.5 MJ/m3, GB correction factor
    }
)

# What a meter or head-end reports for an unset or overflowed register; each is far above any
# plausible interval value, so equality is never a real reading (docs/architecture.md).
DEFAULT_SENTINEL_VALUES: frozenset[Decimal] = frozenset(
    {
        Decimal("65535"),  # 2^16 - 1
        Decimal("16777.215"),  # (2^24 - 1) thousandths
        Decimal("16777215"),  # 2^24 - 1
        Decimal("4294967.295"),  # (2^32 - 1) thousandths
        Decimal("99999.999"),  # 8-digit register, 3 decimals, all nines
        Decimal("99999999"),  # 8-digit register, all nines
    }
)


@dataclass(frozen=True)
class QualityConfig:
    """Thresholds of the rules; the defaults suit GB half-hourly smart-meter data."""

    completeness_floor: float = 0.90
    publication_lag: timedelta = timedelta(days=2)
    estimate_share_threshold: float = 0.20
    freshness_max_age_days: int = 3
    ceilings_per_hour: Mapping[tuple[str, str], Decimal] = field(
        default_factory=lambda: DEFAULT_CEILINGS_PER_HOUR
    )
    known_units: frozenset[str] = frozenset({"kWh", "m3"})
    # The data contract's reading qualities; null (not stated) is always accepted besides these.
    known_reading_qualities: frozenset[str] = frozenset({"ACTUAL", "ESTIMATE"})
    sentinel_values: frozenset[Decimal] = DEFAULT_SENTINEL_VALUES
    max_offenders: int = 20


@dataclass(frozen=True)
class Offender:
    """One supply point (or None for the whole dataset) that made a check fail on a day."""

    supply_point_id: str | None
    local_date: date
    count: int
    detail: str


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one rule for one local day, with the worst offenders first."""

    check_name: str
    local_date: date
    passed: bool
    severity: Severity
    summary: str
    offenders: tuple[Offender, ...]
    metrics: Mapping[str, int | float | str]

    @property
    def blocking(self) -> bool:
        """Whether this outcome must stop what reads the day downstream."""
        return not self.passed and self.check_name in BLOCKING_CHECKS


def build_outcome(
    check_name: str,
    local_date: date,
    ranked: Sequence[tuple[str, int]],
    describe: Callable[[str, int], str],
    severity: Severity,
    summary: str,
    metrics: Mapping[str, int | float | str],
    config: QualityConfig,
) -> CheckOutcome:
    """An outcome that fails when anything is ranked; offenders are ranked worst first and capped.

    `ranked` holds (supply point, count) pairs, worst first; `describe` is called only for the
    offenders shown, and the metrics keep the total, so the cap never hides how many there are.
    """
    passed = not ranked
    shown = ranked[: config.max_offenders]
    return CheckOutcome(
        check_name=check_name,
        local_date=local_date,
        passed=passed,
        severity=CHECK_SEVERITIES[check_name] if passed else severity,
        summary=summary,
        offenders=tuple(
            Offender(point, local_date, count, describe(point, count)) for point, count in shown
        ),
        metrics=MappingProxyType({**metrics, "offenders_total": len(ranked)}),
    )
