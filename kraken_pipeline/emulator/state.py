"""Everything one running emulator shares between its endpoints and its control API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graphql import GraphQLSchema

from kraken_pipeline.emulator.clock import EmulatorClock
from kraken_pipeline.emulator.config import EmulatorConfig
from kraken_pipeline.emulator.dataset import SeriesSpec
from kraken_pipeline.emulator.faults import FaultPlan
from kraken_pipeline.emulator.measurements import ReadingsCache
from kraken_pipeline.emulator.ratelimit import PointsAllowance
from kraken_pipeline.emulator.stats import Stats
from kraken_pipeline.emulator.tokens import TokenIssuer


@dataclass(frozen=True)
class EmulatorState:
    """The parts of an emulator; each is thread-safe on its own."""

    config: EmulatorConfig
    clock: EmulatorClock
    tokens: TokenIssuer
    faults: FaultPlan
    stats: Stats
    allowance: PointsAllowance
    readings: ReadingsCache
    schema: GraphQLSchema
    properties: Mapping[str, tuple[SeriesSpec, ...]]  # property id -> its series

    def reset(self) -> None:
        """Disarm faults, zero the counters and refill every allowance (the clock stays)."""
        self.faults.clear()
        self.stats.reset()
        self.allowance.reset()


def series_by_property(series: tuple[SeriesSpec, ...]) -> dict[str, tuple[SeriesSpec, ...]]:
    """The dataset's series grouped by property id, in dataset order."""
    grouped: dict[str, list[SeriesSpec]] = {}
    for spec in series:
        grouped.setdefault(spec.property_id, []).append(spec)
    return {property_id: tuple(specs) for property_id, specs in grouped.items()}
