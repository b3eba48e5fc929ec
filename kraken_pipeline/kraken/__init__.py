"""The Kraken client: client-credentials auth, resilient transport, fast measurement fetching.

Imports nothing from Dagster; the pipeline's resources wrap it. See DESIGN.md decisions 5-8.
"""

from __future__ import annotations

from kraken_pipeline.kraken.client import KrakenClient, Viewer, utc_now
from kraken_pipeline.kraken.errors import (
    AuthenticationError,
    ConfigurationError,
    DeadlineExceededError,
    FatalError,
    InvalidClientError,
    KrakenError,
    ReauthenticateError,
    RetriesExhaustedError,
    RetryableError,
    ShrinkRequestError,
    TargetError,
)
from kraken_pipeline.kraken.progress import FetchOutcome, MeasurementsResult
from kraken_pipeline.kraken.ratelimit import PointsAllowance
from kraken_pipeline.kraken.settings import KrakenSettings

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "DeadlineExceededError",
    "FatalError",
    "FetchOutcome",
    "InvalidClientError",
    "KrakenClient",
    "KrakenError",
    "KrakenSettings",
    "MeasurementsResult",
    "PointsAllowance",
    "ReauthenticateError",
    "RetriesExhaustedError",
    "RetryableError",
    "ShrinkRequestError",
    "TargetError",
    "Viewer",
    "utc_now",
]
