"""The Dagster webserver's GraphQL API, called as the UI's buttons call it.

Documents are constants and every value is a variable. Answers become small frozen records;
a run or backfill that did not succeed raises `RunFailedError` carrying the run's event log, so a
failing test says why without opening the UI.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

import requests

from kraken_pipeline_tests.support import webserver_documents as documents

HTTP_TIMEOUT = 30
POLL_SECONDS = 1.0
FINISHED_RUN = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
FINISHED_BACKFILL = frozenset(
    {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
)
ASSET_JOB = "__ASSET_JOB"  # the job the UI's Materialize button launches
PARTITION_TAG = "dagster/partition"
SENSOR_TAG = "dagster/sensor_name"  # on every run a sensor requested, tick previews included
BACKFILL_TAG = "dagster/backfill"  # on every run a backfill launched
TICKS_READ = 20  # a sensor ticks every 30 s or more: its last 10 minutes at least
LAUNCHED = "LaunchRunSuccess"
QUIET_LEVELS = frozenset({"DEBUG"})  # step bookkeeping; the failure is in INFO and up
STACK_FRAMES = 6  # of the innermost error: where it was raised, not Dagster's machinery
Polled = TypeVar("Polled")


class RunFailedError(AssertionError):
    """A run or backfill ended without success; the message holds its event log."""


@dataclass(frozen=True)
class Backfill:
    """A finished backfill: its status and the runs it launched."""

    backfill_id: str
    status: str
    run_ids: tuple[str, ...]
    run_tags: tuple[Mapping[str, str], ...]
    partition_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class LaunchOutcome:
    """What the webserver answered to a launch: a run, or why none was created."""

    typename: str  # LaunchRunSuccess, RunConfigValidationInvalid, PythonError...
    run_id: str | None
    messages: tuple[str, ...]


@dataclass(frozen=True)
class RunSummary:
    """A run as the Runs page lists it: status, tags and the run config it was launched with."""

    run_id: str
    status: str
    tags: Mapping[str, str]
    run_config_yaml: str
    assets: frozenset[str] = frozenset()  # the assets it materializes, keys joined by "/"


@dataclass(frozen=True)
class SensorTick:
    """One tick of a sensor as its page's tick history shows it."""

    status: str  # SUCCESS, SKIPPED, FAILURE, STARTED
    timestamp: float
    run_ids: tuple[str, ...]  # the runs it launched; an automation sensor's backfills too
    requested: Mapping[str, frozenset[str]]  # asset -> partitions it asked to materialize


@dataclass(frozen=True)
class PartitionStatuses:
    """What the partitions bar shows for an asset, as sets of partition keys."""

    materialized: frozenset[str]
    failed: frozenset[str]
    materializing: frozenset[str]


@dataclass(frozen=True)
class CheckEvaluation:
    """The latest evaluation of a check for one partition, as the Checks tab shows it."""

    run_id: str
    passed: bool
    severity: str
    description: str | None


@dataclass(frozen=True)
class Materialization:
    """The latest materialization of one partition and its integer metadata."""

    run_id: str
    numbers: Mapping[str, int]


class DagsterWebserver:
    """A client of one webserver's /graphql endpoint."""

    def __init__(self, graphql_url: str) -> None:
        self.graphql_url = graphql_url
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def execute(self, document: str, variables: Mapping[str, Any] | None = None) -> Any:
        """The `data` of an answer; GraphQL errors raise with their messages."""
        body = {"query": document, "variables": dict(variables or {})}
        answer = self._session.post(self.graphql_url, json=body, timeout=HTTP_TIMEOUT)
        answer.raise_for_status()
        payload = answer.json()
        if payload.get("errors"):
            raise RuntimeError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def dismiss_welcome_dialog(self) -> None:
        """What the dialog's Skip button does, so screenshots show the page, not the dialog."""
        self.execute(documents.SET_NUX_SEEN)

    def repository(self) -> tuple[str, str]:
        """(code location, repository) of the one loaded code location."""
        entries = self.execute(documents.REPOSITORIES)["workspaceOrError"]["locationEntries"]
        [entry] = entries
        [repository] = entry["locationOrLoadError"]["repositories"]
        return entry["name"], repository["name"]

    def launch_backfill(self, assets: Sequence[str], partitions: Sequence[str], title: str) -> str:
        """Backfill these partitions of these assets, as the Materialize dialog does."""
        params = {
            "assetSelection": [{"path": [asset]} for asset in assets],
            "partitionNames": list(partitions),
            "title": title,
        }
        result = self.execute(documents.LAUNCH_BACKFILL, {"params": params})
        launched = result["launchPartitionBackfill"]
        if launched["__typename"] != "LaunchBackfillSuccess":
            raise RuntimeError(f"backfill refused: {launched}")
        return str(launched["backfillId"])

    def launch_run(
        self,
        assets: Sequence[str],
        partition: str,
        run_config: Mapping[str, Any] | None = None,
    ) -> str:
        """Materialise one partition of these assets (with their checks) in one run."""
        launched = self.attempt_run(assets, partition, run_config)
        if launched.typename != LAUNCHED or launched.run_id is None:
            raise RuntimeError(f"run refused: {launched}")
        return launched.run_id

    def attempt_run(
        self,
        assets: Sequence[str],
        partition: str,
        run_config: Mapping[str, Any] | None = None,
    ) -> LaunchOutcome:
        """Ask for the run the launchpad's Materialize button asks for; refusals are answers."""
        location, repository = self.repository()
        params = {
            "selector": {
                "repositoryLocationName": location,
                "repositoryName": repository,
                "jobName": ASSET_JOB,
                "assetSelection": [{"path": [asset]} for asset in assets],
            },
            "mode": "default",
            "runConfigData": dict(run_config or {}),
            "executionMetadata": {"tags": [{"key": PARTITION_TAG, "value": partition}]},
        }
        launched = self.execute(documents.LAUNCH_RUN, {"params": params})["launchRun"]
        errors = launched.get("errors") or ([launched] if "message" in launched else [])
        return LaunchOutcome(
            typename=str(launched["__typename"]),
            run_id=str(launched["run"]["id"]) if launched.get("run") else None,
            messages=tuple(str(error["message"]) for error in errors),
        )

    def wait_for_run(self, run_id: str, timeout: float) -> str:
        """The run's final status; a run still going after `timeout` seconds fails with its log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = str(
                self.execute(documents.RUN_STATUS, {"runId": run_id})["runOrError"]["status"]
            )
            if status in FINISHED_RUN:
                return status
            time.sleep(POLL_SECONDS)
        raise RunFailedError(f"run {run_id} unfinished after {timeout} s\n{self.run_log(run_id)}")

    def require_success(self, run_id: str, timeout: float) -> None:
        """Wait for the run; anything but SUCCESS raises RunFailedError with the run's event log."""
        status = self.wait_for_run(run_id, timeout)
        if status != "SUCCESS":
            raise RunFailedError(f"run {run_id} ended {status}\n{self.run_log(run_id)}")

    def wait_for_backfill(self, backfill_id: str, timeout: float) -> Backfill:
        """The finished backfill; a failed or unfinished one raises with its runs' logs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            backfill = self._backfill(backfill_id)
            if backfill["status"] in FINISHED_BACKFILL:
                return self._finished_backfill(backfill_id, backfill)
            time.sleep(POLL_SECONDS)
        logs = "\n".join(self.run_log(run["id"]) for run in self._backfill(backfill_id)["runs"])
        raise RunFailedError(f"backfill {backfill_id} unfinished after {timeout} s\n{logs}")

    def _backfill(self, backfill_id: str) -> Any:
        variables = {"backfillId": backfill_id}
        return self.execute(documents.BACKFILL, variables)["partitionBackfillOrError"]

    def _finished_backfill(self, backfill_id: str, backfill: Any) -> Backfill:
        runs = backfill["runs"]
        if backfill["status"] != "COMPLETED_SUCCESS" or backfill["error"]:
            logs = "\n".join(self.run_log(run["id"]) for run in runs)
            raise RunFailedError(
                f"backfill {backfill_id} ended {backfill['status']}: {backfill['error']}\n{logs}"
            )
        return Backfill(
            backfill_id=backfill_id,
            status=str(backfill["status"]),
            run_ids=tuple(str(run["id"]) for run in runs),
            run_tags=tuple({tag["key"]: tag["value"] for tag in run["tags"]} for run in runs),
            partition_names=tuple(backfill["partitionNames"] or ()),
        )

    def runs(self, tags: Mapping[str, str] | None = None) -> list[RunSummary]:
        """The instance's runs, newest first, optionally only those carrying all of `tags`."""
        run_filter = {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
        answer = self.execute(documents.RUNS, {"filter": run_filter})["runsOrError"]
        return [
            RunSummary(
                run_id=str(run["id"]),
                status=str(run["status"]),
                tags={tag["key"]: tag["value"] for tag in run["tags"]},
                run_config_yaml=str(run["runConfigYaml"]),
                assets=frozenset("/".join(key["path"]) for key in run["assetSelection"] or ()),
            )
            for run in answer["results"]
        ]

    def run_materializations(self, run_id: str) -> dict[str, frozenset[str]]:
        """Per asset, the partitions the run materialized."""
        answer = self.execute(documents.RUN_MATERIALIZATIONS, {"runId": run_id})["runOrError"]
        found: dict[str, set[str]] = {}
        for event in answer["assetMaterializations"]:
            found.setdefault("/".join(event["assetKey"]["path"]), set()).add(event["partition"])
        return {asset: frozenset(partitions) for asset, partitions in found.items()}

    def sensor_ticks(self, sensor: str, limit: int = TICKS_READ) -> list[SensorTick]:
        """The sensor's latest ticks, newest first."""
        location, repository = self.repository()
        selector = {
            "repositoryLocationName": location,
            "repositoryName": repository,
            "sensorName": sensor,
        }
        variables = {"selector": selector, "limit": limit}
        answer = self.execute(documents.SENSOR_TICKS, variables)["sensorOrError"]
        if answer["__typename"] != "Sensor":
            raise RuntimeError(f"no sensor {sensor}: {answer}")
        return [
            SensorTick(
                status=str(tick["status"]),
                timestamp=float(tick["timestamp"]),
                run_ids=tuple(str(run_id) for run_id in tick["runIds"]),
                requested={
                    "/".join(asked["assetKey"]["path"]): frozenset(asked["partitionKeys"])
                    for asked in tick["requestedMaterializationsForAssets"]
                },
            )
            for tick in answer["sensorState"]["ticks"]
        ]

    def wait_for_materialized(
        self, asset: str, partitions: Iterable[str], timeout: float
    ) -> PartitionStatuses:
        """The asset's statuses once every one of `partitions` shows materialized."""
        wanted = frozenset(partitions)
        return wait_until(
            lambda: self.partition_statuses(asset),
            lambda statuses: wanted <= statuses.materialized,
            timeout,
            f"{asset} partitions {sorted(wanted)} materialized",
        )

    def run_log(self, run_id: str) -> str:
        """The run's event log as the Runs page lists it, INFO and up: step, message, errors."""
        answer = self.execute(documents.RUN_LOGS, {"runId": run_id})["logsForRun"]
        if answer["__typename"] != "EventConnection":
            return f"no event log for run {run_id}: {answer.get('message')}"
        lines = [f"--- event log of run {run_id} ---"]
        for event in answer["events"]:
            if event.get("level") in QUIET_LEVELS or not (
                event.get("message") or event.get("error")
            ):
                continue
            step = event.get("stepKey") or "-"
            lines.append(f"{event['level']} {step} {event.get('message', '')}".rstrip())
            if event.get("error"):
                lines.extend(_error_lines(event["error"]))
        return "\n".join(lines)

    def partition_statuses(self, asset: str) -> PartitionStatuses:
        """Materialized, failed and materializing partitions, from the asset's status ranges."""
        node = self.execute(documents.PARTITION_STATUSES, {"assetKey": {"path": [asset]}})
        ranges = node["assetNodeOrError"]["assetPartitionStatuses"]["ranges"]
        keys: dict[str, set[str]] = {"MATERIALIZED": set(), "FAILED": set(), "MATERIALIZING": set()}
        for status_range in ranges:
            keys[status_range["status"]].update(
                _daily_keys(status_range["startKey"], status_range["endKey"])
            )
        return PartitionStatuses(
            materialized=frozenset(keys["MATERIALIZED"]),
            failed=frozenset(keys["FAILED"]),
            materializing=frozenset(keys["MATERIALIZING"]),
        )

    def check_evaluation(self, asset: str, check: str, partition: str) -> CheckEvaluation | None:
        """The latest evaluation of `check` for `partition`, None if it was never evaluated."""
        variables = {"assetKey": {"path": [asset]}, "checkName": check, "partition": partition}
        executions = self.execute(documents.CHECK_EXECUTIONS, variables)["assetCheckExecutions"]
        evaluated = [run for run in executions if run["evaluation"] is not None]
        if not evaluated:
            return None
        latest = evaluated[0]
        evaluation = latest["evaluation"]
        return CheckEvaluation(
            run_id=str(latest["runId"]),
            passed=bool(evaluation["success"]),
            severity=str(evaluation["severity"]),
            description=evaluation["description"],
        )

    def latest_materializations(
        self, asset: str, partitions: Iterable[str]
    ) -> dict[str, Materialization]:
        """Per partition, the newest materialization's run and integer metadata."""
        variables = {"assetKey": {"path": [asset]}, "partitions": list(partitions)}
        node = self.execute(documents.MATERIALIZATIONS, variables)["assetNodeOrError"]
        latest: dict[str, Materialization] = {}
        for event in sorted(node["assetMaterializations"], key=lambda e: int(e["timestamp"])):
            numbers = {
                entry["label"]: int(entry["intValue"])
                for entry in event["metadataEntries"]
                if entry.get("intValue") is not None
            }
            latest[event["partition"]] = Materialization(str(event["runId"]), numbers)
        return latest


def wait_until(
    read: Callable[[], Polled], done: Callable[[Polled], bool], timeout: float, what: str
) -> Polled:
    """What `read` returns once `done` holds for it; after `timeout` seconds, fail naming `what`
    and the last value read."""
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value):
        if time.monotonic() >= deadline:
            raise AssertionError(f"no {what} after {timeout} s; last seen: {value}")
        time.sleep(POLL_SECONDS)
        value = read()
    return value


def _error_lines(error: Mapping[str, Any]) -> list[str]:
    """An error, the errors that caused it, and where the innermost one was raised."""
    chain = [error, *error["causes"]]
    lines = [f"    {'caused by: ' if n else ''}{e['message'].strip()}" for n, e in enumerate(chain)]
    return lines + [f"    {frame.rstrip()}" for frame in chain[-1]["stack"][-STACK_FRAMES:]]


def _daily_keys(first: str, last: str) -> list[str]:
    """Every daily partition key from first to last inclusive (keys are ISO dates)."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
