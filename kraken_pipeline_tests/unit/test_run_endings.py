"""What an interrupted run prints: the days that landed, those that did not, the repair command."""

from datetime import date

from kraken_pipeline.cli.run_endings import day_ranges, interrupted_lines

FIRST, LAST = date(2026, 11, 1), date(2026, 11, 10)


def test_a_few_days_not_landed_are_listed_one_per_line_with_the_repair_command() -> None:
    landed = [date(2026, 11, day) for day in range(1, 8)]

    lines = interrupted_lines(FIRST, LAST, landed, ["sp-1"])

    assert lines == [
        "interrupted: 7 of 10 day(s) landed (2026-11-01..2026-11-07)",
        "not landed: 2026-11-08",
        "not landed: 2026-11-09",
        "not landed: 2026-11-10",
        "re-run: kraken-pipeline run --start 2026-11-08 --end 2026-11-10 --supply-point sp-1",
    ]


def test_many_days_not_landed_are_named_as_a_range() -> None:
    lines = interrupted_lines(FIRST, LAST, [FIRST], [])

    assert lines[1:] == [
        "not landed: 9 day(s), 2026-11-02..2026-11-10",
        "re-run: kraken-pipeline run --start 2026-11-02 --end 2026-11-10",
    ]


def test_nothing_landed_repeats_the_whole_range() -> None:
    lines = interrupted_lines(FIRST, LAST, [], [])

    assert lines[0] == "interrupted: 0 of 10 day(s) landed"
    assert lines[-1] == "re-run: kraken-pipeline run --start 2026-11-01 --end 2026-11-10"


def test_every_day_landed_still_repeats_the_range_for_its_checks_and_daily_totals() -> None:
    assert interrupted_lines(FIRST, FIRST, [FIRST], []) == [
        "interrupted: 1 of 1 day(s) landed (2026-11-01)",
        "not finished: the checks and daily consumption of these days",
        "re-run: kraken-pipeline run --start 2026-11-01 --end 2026-11-01",
    ]


def test_days_are_grouped_into_runs_of_consecutive_days() -> None:
    days = [date(2026, 11, 5), date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]

    assert day_ranges(days) == "2026-11-01..2026-11-03, 2026-11-05"
