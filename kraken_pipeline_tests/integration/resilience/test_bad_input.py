"""Hostile input to a pipeline run: each is refused naming the culprit, and nothing is corrupted.

Supply points CSVs with wrong columns, quotes, SQL or path characters in ids and 30,000 rows;
hostile ids in a repair run's config; environment values that point the client somewhere it
must not go. Each run goes through the real Dagster job; an earlier landed day is compared
byte for byte afterwards. Ids are never interpolated into SQL or paths: the CSV refuses them
before anything runs, and a quoted data root still gives working views.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, cast

import pytest
from dagster import DagsterInstance, DagsterInvalidConfigError

from kraken_pipeline import storage, warehouse
from kraken_pipeline.cli.runner import run_range
from kraken_pipeline.defs.location import MEASUREMENTS_JOB, build_definitions
from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator
from kraken_pipeline.settings import PipelineSettings
from kraken_pipeline.supply_points import (
    CSV_COLUMNS,
    SupplyPointsError,
    load_supply_points,
    mpan_check_digit_is_valid,
)
from kraken_pipeline_tests.support.lake import Analyst, copy_lake
from kraken_pipeline_tests.support.pipeline import Landed
from kraken_pipeline_tests.support.resilience import EXAMPLE_CSV, Pipeline, day_digests, landed

DAY = date(2026, 11, 10)  # the `landed_day` fixture's day
HEADER, *ROWS = EXAMPLE_CSV.read_text(encoding="utf-8").splitlines()
HOSTILE_IDS = {
    "sql": "x'); DROP VIEW measurements; --",
    "path-traversal": "../../etc/passwd",
    "absolute-path": "/etc/passwd",
    "glob": "house-*",
    "newline": "house\nimport",
    "lookalike-unicode": "h\u043euse-import",  # a Cyrillic o
    "ten-thousand-chars": "a" * 10_000,
}
MESSAGE_LIMIT = 600  # an error line an operator can read, however long the culprit


@pytest.fixture(autouse=True)
def demo_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRAKEN_CLIENT_ID", DEMO_CLIENT_ID)
    monkeypatch.setenv("KRAKEN_CLIENT_SECRET", DEMO_CLIENT_SECRET)


@pytest.fixture
def pipeline(emulator: Emulator, tmp_path: Path, module_instance: DagsterInstance) -> Pipeline:
    return Pipeline(emulator, tmp_path / "data", instance=module_instance)


@dataclass(frozen=True)
class Kept:
    """A landed day that runs meant to write nothing share, and an analyst's connection to it."""

    root: Path
    analyst: Analyst

    def digests(self) -> dict[str, str]:
        return day_digests(self.root, DAY, self.analyst)


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory, landed_day: Landed) -> Iterator[Kept]:
    """A copy of the landed day for this module's refused runs: each test compares the day's
    digests before and after its own run, so a run that wrote would fail that test."""
    root = tmp_path_factory.mktemp("kept") / "data"
    copy_lake(landed_day.root, root)
    analyst = Analyst()
    yield Kept(root, analyst)
    analyst.close()


@pytest.fixture
def on_the_kept_day(pipeline: Pipeline, kept: Kept) -> Pipeline:
    """The pipeline writing to the kept day's root."""
    return replace(pipeline, root=kept.root)


def csv_text(rows: list[list[str]]) -> str:
    """Rows written the way a spreadsheet would, quoting what needs quoting."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def example_with_first_id(supply_point_id: str) -> str:
    rows = [line.split(",") for line in [HEADER, *ROWS]]
    rows[1][0] = supply_point_id
    return csv_text(rows)


def run_with_csv(pipeline: Pipeline, tmp_path: Path, text: str) -> str:
    """Run the job on a supply points file holding `text`; the run's failure (it must fail)."""
    path = tmp_path / "supply points.csv"
    path.write_text(text, encoding="utf-8")
    outcome = replace(pipeline, supply_points_csv=path).run(DAY, DAY)
    assert not outcome.success
    return outcome.failure or ""


@pytest.mark.parametrize("case", list(HOSTILE_IDS))
def test_a_hostile_supply_point_id_is_refused_naming_its_line_before_anything_is_written(
    pipeline: Pipeline, tmp_path: Path, case: str
) -> None:
    failure = run_with_csv(pipeline, tmp_path, example_with_first_id(HOSTILE_IDS[case]))

    # A quoted newline makes the record two physical lines; the reader names where it ends.
    assert re.search(r"supply points\.csv line [23]:", failure), failure
    assert "supply_point_id" in failure
    assert len(failure) < MESSAGE_LIMIT
    assert not pipeline.root.exists()


BAD_FILES = {
    "unknown-column": (
        HEADER.replace("device_id", "meter_serial") + "\n" + "\n".join(ROWS),
        "unknown column(s) 'meter_serial'",
    ),
    "semicolons": (
        HEADER.replace(",", ";") + "\n" + "\n".join(r.replace(",", ";") for r in ROWS),
        "missing column(s) supply_point_id",
    ),
    "header-only": (HEADER + "\n", "lists no supply points"),
    "empty-file": ("", "missing column(s) supply_point_id"),
    "unbalanced-quote": (HEADER + "\n" + '"house-import,1000001' + "\n" + ROWS[1], "line"),
    "quoted-comma-in-id": (example_with_first_id("house,import"), "line 2"),
    "too-many-fields": (HEADER + "\n" + ROWS[0] + ",extra", "more fields than columns"),
    "nul-byte": (HEADER + "\n" + ROWS[0].replace("house", "ho\x00use"), "line 2"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_malformed_supply_points_file_fails_the_run_saying_what_is_wrong_and_writes_nothing(
    pipeline: Pipeline, tmp_path: Path, case: str
) -> None:
    text, named = BAD_FILES[case]

    failure = run_with_csv(pipeline, tmp_path, text)

    assert "supply points.csv" in failure
    assert named in failure
    assert not pipeline.root.exists()


def test_none_of_the_bad_files_touches_a_day_landed_before(
    on_the_kept_day: Pipeline, tmp_path: Path, kept: Kept
) -> None:
    pipeline = on_the_kept_day
    before = kept.digests()
    texts = [example_with_first_id(i) for i in HOSTILE_IDS.values()]

    for text in [*texts, *(text for text, _named in BAD_FILES.values())]:
        run_with_csv(pipeline, tmp_path, text)

    assert kept.digests() == before


def valid_mpan(serial: int) -> str:
    """A 13-digit MPAN core with a correct check digit."""
    core = f"19{serial:010d}"
    return next(core + d for d in "0123456789" if mpan_check_digit_is_valid(core + d))


def large_csv(count: int, mpan: Callable[[int], str], utility: str = "electricity") -> str:
    rows = [list(CSV_COLUMNS)]
    for n in range(count):
        rows.append([f"site.{n}:import-{n}", f"P{n}", utility, mpan(n), "", "", ""])
    return csv_text(rows)


@pytest.mark.slow  # 30,000 supply points through the CSV reader into the warehouse
def test_thirty_thousand_supply_points_load_and_reach_the_warehouse_intact(
    tmp_path: Path,
) -> None:
    path = tmp_path / "large.csv"
    path.write_text(large_csv(30_000, valid_mpan), encoding="utf-8")
    root = tmp_path / "data"

    points = load_supply_points(path)
    storage.write_supply_points(root, points)
    warehouse.ensure_warehouse(root, "Europe/London")

    assert len(points) == 30_000
    with warehouse.connect(root) as db:
        counts = db.execute(
            "SELECT count(*), count(DISTINCT supply_point_id) FROM supply_points"
        ).fetchall()
        punctuated = db.execute(
            "SELECT property_id FROM supply_points WHERE supply_point_id = ?",
            ["site.29999:import-29999"],
        ).fetchall()
    assert counts == [(30_000, 30_000)]
    assert punctuated == [("P29999",)]


@pytest.mark.slow  # 30,000 lines read twice, by the loader and by a run
def test_thirty_thousand_bad_lines_give_a_bounded_message_that_names_the_first_ones(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    text = large_csv(30_000, valid_mpan, utility="water")
    path = tmp_path / "supply points.csv"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(SupplyPointsError) as refused:
        load_supply_points(path)
    failure = run_with_csv(pipeline, tmp_path, text)

    assert str(refused.value).endswith("... and 29980 more")
    assert "line 2: utility 'water'" in failure
    assert len(failure) < 25 * MESSAGE_LIMIT
    assert not pipeline.root.exists()


@pytest.mark.parametrize("case", ["sql", "path-traversal", "glob"])
def test_a_repair_run_naming_a_hostile_id_is_refused_naming_it_and_keeps_the_day(
    on_the_kept_day: Pipeline, case: str, kept: Kept
) -> None:
    pipeline = on_the_kept_day
    before = kept.digests()

    with pytest.raises(DagsterInvalidConfigError) as refused:
        pipeline.run(DAY, DAY, supply_point_ids=[HOSTILE_IDS[case]])

    assert f"got {HOSTILE_IDS[case]}" in str(refused.value)
    assert kept.digests() == before


def test_a_data_root_with_quotes_and_spaces_gets_working_views(
    emulator: Emulator, tmp_path: Path
) -> None:
    pipeline = Pipeline(emulator, tmp_path / 'it\'s a "data" root; --')

    outcome = pipeline.run(DAY, DAY)

    assert outcome.success, outcome.failure
    with warehouse.connect(pipeline.root) as db:
        rows = db.execute("SELECT count(*) FROM measurements WHERE local_date = ?", [DAY])
        assert rows.fetchall() == [(landed(pipeline.root, DAY).num_rows,)]


ENVIRONMENTS: dict[str, tuple[dict[str, Any], str, str]] = {
    "http-to-a-remote-host": (
        {"auth_url": "http://auth.kraken.example/token/"},
        "KRAKEN_AUTH_URL",
        "plain http",
    ),
    "not-a-url": ({"api_url": "api.octopus.energy/v1/graphql/"}, "KRAKEN_API_URL", "not an"),
    "no-host": ({"api_url": "https:///v1/graphql/"}, "KRAKEN_API_URL", "not an"),
    "ftp": ({"auth_url": "ftp://127.0.0.1/token/"}, "KRAKEN_AUTH_URL", "not an"),
}


@pytest.mark.parametrize("case", list(ENVIRONMENTS))
def test_a_wrong_kraken_url_fails_the_run_naming_the_variable_and_keeps_the_day(
    on_the_kept_day: Pipeline, case: str, kept: Kept
) -> None:
    pipeline = on_the_kept_day
    changes, variable, problem = ENVIRONMENTS[case]
    before = kept.digests()

    outcome = run_range(pipeline.instance, pipeline.settings.model_copy(update=changes), DAY, DAY)

    assert not outcome.success
    assert variable in (outcome.failure or "")
    assert problem in (outcome.failure or "")
    assert kept.digests() == before


@pytest.mark.parametrize("variable", ["KRAKEN_CLIENT_SECRET", "KRAKEN_CLIENT_ID"])
def test_an_empty_credential_fails_the_run_naming_it_and_keeps_the_day(
    on_the_kept_day: Pipeline, monkeypatch: pytest.MonkeyPatch, variable: str, kept: Kept
) -> None:
    pipeline = on_the_kept_day
    before = kept.digests()
    monkeypatch.setenv(variable, "")

    outcome = pipeline.run(DAY, DAY)

    assert not outcome.success
    assert variable in (outcome.failure or "")
    assert "empty" in (outcome.failure or "")
    assert kept.digests() == before


def test_the_launchpad_never_defaults_the_kraken_resource_to_another_kraken_or_zone() -> None:
    """Run config for a resource replaces its whole config, defaults filling what it omits.

    An operator who sets one Kraken setting in the launchpad (a longer deadline) must not send
    the run to the production Kraken, or land local days of another time zone, because the
    fields they left out fell back to class defaults: each is required or defaults to the
    deployment's own value.
    """
    deployment = PipelineSettings(
        auth_url="https://kraken.test/token/",
        api_url="https://kraken.test/v1/graphql/",
        timezone="Europe/Paris",
    )
    job = build_definitions(deployment).resolve_job_def(MEASUREMENTS_JOB)
    schema = cast(Any, job.run_config_schema.config_type)
    kraken = schema.fields["resources"].config_type.fields["kraken"]
    fields = kraken.config_type.fields["config"].config_type.fields

    wrong = {
        name: fields[name].default_value
        for name in ("auth_url", "api_url", "timezone")
        if not fields[name].is_required and fields[name].default_value != getattr(deployment, name)
    }

    assert wrong == {}
