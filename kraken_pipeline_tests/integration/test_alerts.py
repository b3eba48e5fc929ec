"""The alert sensors post failed runs and failed blocking checks to a webhook on loopback.

Runs are real (the job in process against the emulator); the sensors are evaluated as the
daemon would, with Dagster's public context builders; the webhook is a local HTTP receiver.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from dagster import (
    DagsterEventType,
    DefaultSensorStatus,
    SensorDefinition,
    SkipReason,
    build_run_status_sensor_context,
    build_sensor_context,
)

from kraken_pipeline.alerts import AlertDeliveryError
from kraken_pipeline.cli.runner import RunOutcome
from kraken_pipeline.defs.location import build_definitions
from kraken_pipeline.defs.sensors import (
    CHECK_FAILURE_SENSOR,
    RUN_FAILURE_SENSOR,
    AlertWebhookResource,
)
from kraken_pipeline.emulator import Fault
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline_tests.support.pipeline import PipelineHarness, demo_harness

FORBIDDEN = "KT-CT-1111"  # the application may not read the property
DAY = date(2026, 11, 10)  # past the publication lag at the emulator's clock
# What the sensor's tick shows in the UI when there was nothing to post.
NOTHING_FAILED = "no blocking check failed since the last tick"


@dataclass
class Receiver:
    """A webhook on loopback that records every JSON body and answers `status`."""

    url: str = ""
    status: int = 200
    bodies: list[dict[str, Any]] = field(default_factory=list)

    def texts(self) -> list[str]:
        return [str(body["text"]) for body in self.bodies]


@contextmanager
def receiving() -> Iterator[Receiver]:
    """A started webhook receiver, stopped when the block ends."""
    received = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            received.bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(received.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll: shutdown() waits for the serving loop to look, half a second by default.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    received.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/secret-path"
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as received:
        yield received


def sensor(harness: PipelineHarness, name: str) -> SensorDefinition:
    return build_definitions(harness.settings).get_unresolved_sensor_def(name)


def tick(harness: PipelineHarness, url: str | None, cursor: str | None) -> tuple[Any, str | None]:
    """One evaluation of the check sensor: what it returned and the cursor it left."""
    context = build_sensor_context(
        instance=harness.instance,
        cursor=cursor,
        resources={"alert_webhook": AlertWebhookResource(url=url)},
    )
    result = sensor(harness, CHECK_FAILURE_SENSOR)(context)
    return result, context.cursor


def post_run_failure(harness: PipelineHarness, run_id: str, url: str | None) -> Any:
    run = harness.instance.get_run_by_id(run_id)
    assert run is not None
    failure = harness.instance.all_logs(run_id, of_type=DagsterEventType.RUN_FAILURE)[0]
    assert failure.dagster_event is not None
    context = build_run_status_sensor_context(
        sensor_name=RUN_FAILURE_SENSOR,
        dagster_event=failure.dagster_event,
        dagster_instance=harness.instance,
        dagster_run=run,
        resources={"alert_webhook": AlertWebhookResource(url=url)},
    ).for_run_failure()
    return sensor(harness, RUN_FAILURE_SENSOR)(context)


def spoil_one_unit(harness: PipelineHarness) -> None:
    """Land DAY with one node in an unknown unit: the blocking one_unit_per_series check fails."""
    harness.emulator.faults.add(Fault(kind="odd_payload", oddity="unknown_unit"))
    outcome = harness.run(DAY, DAY)
    assert not outcome.success
    assert "one_unit_per_series" in str(outcome.failure)


def fail_every_fetch(harness: PipelineHarness) -> RunOutcome:
    """Run DAY while Kraken refuses every property: the run fails, naming the refusal."""
    harness.emulator.faults.add(Fault(kind="kraken_error", code=FORBIDDEN, times=None))
    outcome = harness.run(DAY, DAY)
    assert not outcome.success
    return outcome


@dataclass(frozen=True)
class Failed:
    """A harness whose instance holds one failed run, and that run."""

    harness: PipelineHarness
    outcome: RunOutcome


@dataclass(frozen=True)
class Blocked:
    """A harness whose instance holds one run failed by a blocking check, and the cursor the
    check sensor left at a tick before that run (a sensor turned on before it)."""

    harness: PipelineHarness
    cursor: str | None


# The sensors only read the instance: the tests that tick them after the same run share it.


@pytest.fixture(scope="module")
def failed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Failed]:
    """DAY run while Kraken refuses every property."""
    with demo_harness(tmp_path_factory.mktemp("failed") / "data") as harness:
        yield Failed(harness, fail_every_fetch(harness))


@pytest.fixture(scope="module")
def blocked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Blocked]:
    """DAY run with a node in an unknown unit, after a tick of the check sensor."""
    with demo_harness(tmp_path_factory.mktemp("blocked") / "data") as harness:
        with receiving() as hook:
            _, cursor = tick(harness, hook.url, None)
        assert hook.bodies == []
        spoil_one_unit(harness)
        yield Blocked(harness, cursor)


def test_a_failed_run_is_posted_with_its_days_why_and_the_command_to_rerun_them(
    failed: Failed, receiver: Receiver
) -> None:
    harness, outcome = failed.harness, failed.outcome

    post_run_failure(harness, outcome.run_id, receiver.url)

    (text,) = receiver.texts()
    assert outcome.run_id in text
    assert "2026-11-10..2026-11-10" in text
    assert "every requested supply point failed" in text
    assert FORBIDDEN in text
    assert "kraken-pipeline run --start 2026-11-10 --end 2026-11-10" in text


def test_a_failed_blocking_check_is_posted_once_naming_day_check_and_supply_point(
    blocked: Blocked, receiver: Receiver
) -> None:
    harness, cursor = blocked.harness, blocked.cursor  # turned on before the run

    _, cursor = tick(harness, receiver.url, cursor)
    again, _ = tick(harness, receiver.url, cursor)

    (text,) = receiver.texts()
    assert "2026-11-10 `one_unit_per_series`" in text
    assert "supply points: " in text
    assert "kraken-pipeline run --start 2026-11-10 --end 2026-11-10" in text
    assert isinstance(again, SkipReason)
    assert again.skip_message == NOTHING_FAILED


def test_a_clean_run_posts_nothing(harness: PipelineHarness, receiver: Receiver) -> None:
    _, cursor = tick(harness, receiver.url, None)
    assert harness.run(DAY, DAY).success

    result, _ = tick(harness, receiver.url, cursor)

    assert receiver.bodies == []
    assert isinstance(result, SkipReason)
    assert result.skip_message == NOTHING_FAILED


def test_a_sensor_turned_on_late_does_not_post_the_history(
    blocked: Blocked, receiver: Receiver
) -> None:
    tick(blocked.harness, receiver.url, None)

    assert receiver.bodies == []


def test_a_refused_post_fails_the_tick_and_is_posted_again_at_the_next(
    blocked: Blocked, receiver: Receiver
) -> None:
    harness, cursor = blocked.harness, blocked.cursor  # turned on before the run
    receiver.status = 500

    with pytest.raises(AlertDeliveryError, match="HTTP 500") as refused:
        tick(harness, receiver.url, cursor)
    receiver.status = 200
    tick(harness, receiver.url, cursor)

    assert "secret-path" not in str(refused.value)
    assert len(receiver.bodies) == 2
    assert receiver.bodies[0] == receiver.bodies[1]


def test_without_a_webhook_the_sensors_skip_naming_the_variable(
    failed: Failed, receiver: Receiver
) -> None:
    harness, outcome = failed.harness, failed.outcome

    check_result, _ = tick(harness, None, None)
    run_result = post_run_failure(harness, outcome.run_id, None)

    for result in (check_result, run_result):
        assert isinstance(result, SkipReason)
        assert "KRAKEN_ALERT_WEBHOOK_URL" in str(result.skip_message)
    assert receiver.bodies == []


@pytest.mark.parametrize(
    ("enabled", "status"),
    [("", DefaultSensorStatus.STOPPED), ("true", DefaultSensorStatus.RUNNING)],
)
def test_the_alert_sensors_are_off_unless_enabled_and_never_show_the_webhook(
    enabled: str, status: DefaultSensorStatus
) -> None:
    environ = {"KRAKEN_ALERTS_ENABLED": enabled, "KRAKEN_ALERT_WEBHOOK_URL": "https://hook/s3cret"}
    definitions = build_definitions(PipelineSettings.from_environ(environ))

    for name in (RUN_FAILURE_SENSOR, CHECK_FAILURE_SENSOR):
        assert definitions.get_unresolved_sensor_def(name).default_status is status
    resource = AlertWebhookResource(url="https://hook/s3cret")
    assert "s3cret" not in repr(resource)
    assert "s3cret" not in str(resource)
