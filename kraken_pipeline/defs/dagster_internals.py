"""The only place that reaches into Dagster's private modules, each for something 1.13 does not
export; `test_dagster_internals.py` fails loudly when an upgrade moves or changes one."""

# Per-day check results inside a range run: an evaluation must name the materialisation it
# judged, and Dagster exports the evaluation but not this record of its target.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

# The type `define_asset_job` returns; Dagster exports the function, not its result's class.
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

# Step-worker retries of the scale-out location's runs (docs/scaling.md).
from dagster._core.execution.retries import RetryMode

# Run tags whose names Dagster documents (single-run backfills, run priority) but exports no
# constants for.
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
    PRIORITY_TAG,
)

# What a failed step's event carries as its error.
from dagster_shared.error import SerializableErrorInfo

__all__ = [
    "ASSET_PARTITION_RANGE_END_TAG",
    "ASSET_PARTITION_RANGE_START_TAG",
    "PARTITION_NAME_TAG",
    "PRIORITY_TAG",
    "AssetCheckEvaluationTargetMaterializationData",
    "RetryMode",
    "SerializableErrorInfo",
    "UnresolvedAssetJobDefinition",
]
