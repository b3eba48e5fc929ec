"""A faithful local Kraken: an OAuth auth server and the GraphQL measurements API.

The target of the tests, the embedded default of the main command when no credentials are set,
and a way to try the pipeline without a Kraken (`kraken-pipeline emulator`, or `Emulator()`).
"""

from __future__ import annotations

from kraken_pipeline.emulator.config import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    ClientGrant,
    EmulatorConfig,
)
from kraken_pipeline.emulator.dataset import (
    Dataset,
    DatasetConfig,
    Reading,
    SeriesSpec,
    demo_dataset,
    synthetic_dataset,
)
from kraken_pipeline.emulator.faults import Fault, FaultPlan
from kraken_pipeline.emulator.runtime import Emulator
from kraken_pipeline.emulator.stats import Stats

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "ClientGrant",
    "Dataset",
    "DatasetConfig",
    "Emulator",
    "EmulatorConfig",
    "Fault",
    "FaultPlan",
    "Reading",
    "SeriesSpec",
    "Stats",
    "demo_dataset",
    "synthetic_dataset",
]
