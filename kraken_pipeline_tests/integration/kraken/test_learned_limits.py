"""Refusals shrink the dimension they name, once per run, and later runs of the same
application start from what was learned (a JSON file next to the data)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from kraken_pipeline.emulator import Emulator
from kraken_pipeline.kraken import KrakenClient
from kraken_pipeline.kraken.diagnostics import run_check
from kraken_pipeline.kraken.errors import FatalError, ShrinkRequestError
from kraken_pipeline.kraken.limits import LimitsStore, application_key, describe
from kraken_pipeline.kraken.progress import RequestShape, suggested_page_size
from kraken_pipeline_tests.support.kraken_client import (
    DEMO_POINTS,
    FakeClock,
    assert_matches_emulator,
    window,
)

MakeClient = Callable[..., KrakenClient]
WEEK = window(date(2026, 11, 1), date(2026, 11, 7))


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("`first` must be less than 100.", 99),
        ("Requesting 1000 records exceeds the `first` limit of 300 records.", 300),
        ("first: ensure this value is < 100", 99),
        ("the page is too large", 500),
        ("exceeds the `first` limit of 5000 records", 500),  # not smaller: halve instead
    ],
)
def test_a_refused_page_size_becomes_what_the_refusal_names_or_half(
    message: str, expected: int
) -> None:
    assert suggested_page_size(message, 1000) == expected


def test_too_complex_takes_fewer_aliases_down_to_one_before_a_smaller_page() -> None:
    shape = RequestShape(1000, 7)
    refusal = ShrinkRequestError("KT-CT-1188: too complex", code="KT-CT-1188")
    sizes = []
    for _ in range(4):
        shape.shrink(shape.current(), shape.aliases(), refusal)
        sizes.append((shape.aliases(), shape.current()))
    assert sizes == [(3, 1000), (1, 1000), (1, 500), (1, 250)]


def test_too_many_nodes_takes_fewer_aliases_and_a_page_size_refusal_a_smaller_page() -> None:
    shape = RequestShape(1000, 7)
    shape.shrink(1000, 7, ShrinkRequestError("KT-CT-1189: too many nodes", code="KT-CT-1189"))
    assert (shape.aliases(), shape.current()) == (3, 1000)
    shape.shrink(1000, 3, ShrinkRequestError("`first` must be less than 600", code=None))
    assert (shape.aliases(), shape.current()) == (5, 599)


def test_a_page_a_tenth_the_size_lets_the_aliases_grow_back_up_to_the_configured_most(
    caplog: pytest.LogCaptureFixture,
) -> None:
    shape = RequestShape(1000, 7)
    too_complex = ShrinkRequestError("KT-CT-1188: too complex", code="KT-CT-1188")
    shape.shrink(1000, 7, too_complex)
    shape.shrink(1000, 3, too_complex)
    assert (shape.aliases(), shape.current()) == (1, 1000)
    shape.shrink(1000, 1, ShrinkRequestError("`first` must be less than 100", code=None))
    assert (shape.aliases(), shape.current()) == (7, 99)
    assert "page size 1000 refused (VALIDATION); using 99 and up to 7 aliases" in caplog.text
    shape.shrink(99, 7, too_complex)
    assert (shape.aliases(), shape.current()) == (3, 99)


def test_a_refusal_of_a_shape_already_shrunk_by_another_worker_shrinks_nothing() -> None:
    shape = RequestShape(1000, 7)
    refusal = ShrinkRequestError("too big", code=None)
    shape.shrink(1000, 7, refusal)
    shape.shrink(1000, 7, refusal)
    assert shape.current() == 500


def test_a_refusal_of_one_node_per_page_fails_clearly() -> None:
    shape = RequestShape(1, 1)
    with pytest.raises(FatalError, match="even one node per page"):
        shape.shrink(1, 1, ShrinkRequestError("too big", code="KT-CT-1189"))


def test_a_later_run_of_the_application_starts_from_the_learned_limits(
    start_emulator: Callable[..., Emulator], make_client: MakeClient, tmp_path: Path
) -> None:
    path = str(tmp_path / "_state" / "kraken_limits.json")
    emulator = start_emulator(max_page_size=99)
    first = make_client(emulator, learned_limits_path=path).fetch_measurements(DEMO_POINTS, *WEEK)
    refused = emulator.stats.errors["VALIDATION"]
    assert refused >= 1
    assert_matches_emulator(emulator, first, *WEEK)

    second = make_client(emulator, learned_limits_path=path).fetch_measurements(DEMO_POINTS, *WEEK)
    assert emulator.stats.errors["VALIDATION"] == refused  # no refusal the second time
    assert_matches_emulator(emulator, second, *WEEK)
    assert any("page size 99" in line for line in describe(path))


def test_what_one_application_learned_does_not_limit_another(tmp_path: Path) -> None:
    path = str(tmp_path / "limits.json")
    LimitsStore(path, application_key("https://k/graphql/", "a")).learn(page_size=99)
    other = RequestShape(1000, 7, LimitsStore(path, application_key("https://k/graphql/", "b")))
    mine = RequestShape(1000, 7, LimitsStore(path, application_key("https://k/graphql/", "a")))
    assert (other.current(), mine.current()) == (1000, 99)


def test_an_unreadable_limits_file_is_no_learned_limits(tmp_path: Path) -> None:
    path = tmp_path / "limits.json"
    path.write_text("{not json", encoding="utf-8")
    store = LimitsStore(str(path), "k")
    assert RequestShape(1000, 7, store).current() == 1000
    store.learn(page_size=250)
    assert json.loads(path.read_text(encoding="utf-8"))["k"]["page_size"] == 250


def test_describe_says_when_nothing_was_learned(tmp_path: Path) -> None:
    assert describe(tmp_path / "missing.json") == []
    assert describe(None) == []


def test_check_prints_what_earlier_runs_of_the_application_learned(
    start_emulator: Callable[..., Emulator],
    make_client: MakeClient,
    tmp_path: Path,
    clock: FakeClock,
) -> None:
    path = str(tmp_path / "kraken_limits.json")
    emulator = start_emulator(max_page_size=99)
    make_client(emulator, learned_limits_path=path).fetch_measurements(DEMO_POINTS, *WEEK)

    report = run_check(make_client(emulator, learned_limits_path=path), DEMO_POINTS, now=clock.now)

    learned = [line.text for line in report.lines if "learned Kraken limits" in line.text]
    assert len(learned) == 1
    assert "page size 99" in learned[0]
    assert emulator.graphql_url in learned[0]


def test_check_prints_no_learned_limits_when_nothing_was_refused(
    emulator: Emulator, make_client: MakeClient, tmp_path: Path, clock: FakeClock
) -> None:
    path = str(tmp_path / "kraken_limits.json")
    report = run_check(make_client(emulator, learned_limits_path=path), DEMO_POINTS, now=clock.now)
    assert not [line for line in report.lines if "learned Kraken limits" in line.text]
