"""Dagster's private names we rely on, and the rule that only one module reaches for them.

An upgrade of Dagster that moves or changes one of these fails here, naming it, rather than
somewhere in a run.
"""

from __future__ import annotations

import ast
from pathlib import Path

from dagster import AssetCheckEvaluation, AssetKey, define_asset_job

from kraken_pipeline.defs import dagster_internals

PACKAGE = Path(dagster_internals.__file__).resolve().parents[1]
INTERNALS = Path(dagster_internals.__file__).resolve()


def _private_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        found += [m for m in modules if m.startswith(("dagster._", "dagster_shared"))]
    return found


def test_no_module_but_the_internals_imports_dagsters_private_modules() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): imports
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != INTERNALS and (imports := _private_imports(path))
    }

    assert offenders == {}
    assert _private_imports(INTERNALS)  # the rule looks at real imports: the internals have some


def test_the_run_tags_have_the_names_dagster_documents() -> None:
    assert (
        dagster_internals.ASSET_PARTITION_RANGE_START_TAG == "dagster/asset_partition_range_start"
    )
    assert dagster_internals.ASSET_PARTITION_RANGE_END_TAG == "dagster/asset_partition_range_end"
    assert dagster_internals.PARTITION_NAME_TAG == "dagster/partition"
    assert dagster_internals.PRIORITY_TAG == "dagster/priority"


def test_define_asset_job_still_returns_the_type_the_builders_take() -> None:
    job = define_asset_job("any_job", selection="*")

    assert isinstance(job, dagster_internals.UnresolvedAssetJobDefinition)


def test_a_check_evaluation_still_takes_its_target_materialisation() -> None:
    target = dagster_internals.AssetCheckEvaluationTargetMaterializationData(
        storage_id=7, run_id="a-run", timestamp=1.5
    )

    evaluation = AssetCheckEvaluation(
        asset_key=AssetKey("measurements"),
        check_name="completeness",
        passed=True,
        metadata={},
        target_materialization_data=target,
        partition="2026-11-10",
    )

    assert evaluation.target_materialization_data == target
    assert evaluation.partition == "2026-11-10"


def test_the_retry_mode_and_error_record_we_use_exist() -> None:
    assert dagster_internals.RetryMode("enabled") is dagster_internals.RetryMode.ENABLED
    error = dagster_internals.SerializableErrorInfo("boom", [], "ValueError")
    assert error.message == "boom"
