"""The emulator's GraphQL API against kraken_api.md: shapes, validation, limits and data.

Guards §3 (validation and Kraken errors with HTTP 200, complexity/node/points limits), §4
(measurement arguments, filters, wire forms of values and timestamps, clock-change days, late
and restated data) and §5 (the documented exchange).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from kraken_pipeline.emulator import DatasetConfig, Emulator, demo_dataset
from kraken_pipeline.local_days import day_bounds
from kraken_pipeline_tests.support.emulator_http import GraphQLCall
from kraken_pipeline_tests.support.graphql_queries import (
    HOUSE,
    RATE_LIMIT_QUERY,
    SECTION_5_COMPLEXITY,
    SECTION_5_QUERY,
    day_variables,
    electricity,
)

HOUSE_IMPORT = "1200012345679"
HOUSE_EXPORT = "1200012345688"
HOUSE_GAS = "7654321"
FLAT = "1000003"
FLAT_15MIN = "1400055512348"

RATE_LIMIT_QUERY_COMPLEXITY = 7


def edges_of(answer: requests.Response, alias: str = "property") -> list[dict[str, Any]]:
    body = answer.json()
    assert "errors" not in body, body["errors"]
    edges: list[dict[str, Any]] = body["data"][alias]["measurements"]["edges"]
    return edges


def error_of(answer: requests.Response) -> dict[str, Any]:
    assert answer.status_code == 200
    (error,) = answer.json()["errors"]
    return dict(error)


def test_the_documented_exchange_gets_the_documented_shapes(graphql: GraphQLCall) -> None:
    variables = day_variables(
        date(2026, 5, 7), [electricity(HOUSE_IMPORT, readingFrequencyType="THIRTY_MIN_INTERVAL")]
    )
    variables["first"] = 100

    answer = graphql(SECTION_5_QUERY, variables)

    assert answer.status_code == 200
    connection = answer.json()["data"]["property"]["measurements"]
    assert answer.json()["data"]["property"]["id"] == HOUSE
    assert set(connection) == {"pageInfo", "edges"}
    assert connection["pageInfo"]["hasNextPage"] is False
    assert isinstance(connection["pageInfo"]["endCursor"], str)
    node = connection["edges"][0]["node"]
    assert set(node) == {
        "value",
        "unit",
        "readAt",
        "startAt",
        "endAt",
        "durationInSeconds",
        "metaData",
    }
    assert node["startAt"] == "2026-05-07T00:00:00+01:00"
    assert node["endAt"] == node["readAt"] == "2026-05-07T00:30:00+01:00"
    assert node["durationInSeconds"] == 1800
    assert isinstance(node["value"], str)
    Decimal(node["value"])
    assert node["unit"] in {"kWh", "kwh"}
    assert node["metaData"]["utilityFilters"] == {
        "__typename": "ElectricityFiltersOutput",
        "marketSupplyPointId": HOUSE_IMPORT,
        "deviceId": "12-AB-34-CD-56-EF-78-01",
        "readingDirection": "CONSUMPTION",
        "readingQuality": "ACTUAL",
    }


@pytest.mark.parametrize(
    ("local_date", "half_hours"),
    [(date(2026, 5, 7), 48), (date(2026, 3, 29), 46), (date(2026, 10, 25), 50)],
)
def test_a_london_day_has_the_half_hours_its_clocks_give_it(
    graphql: GraphQLCall, local_date: date, half_hours: int
) -> None:
    answer = graphql(SECTION_5_QUERY, day_variables(local_date, [electricity(HOUSE_IMPORT)]))

    edges = edges_of(answer)
    assert len(edges) == half_hours
    assert (
        edges[0]["node"]["startAt"]
        == f"{local_date.isoformat()}T00:00:00{edges[0]['node']['startAt'][-6:]}"
    )


@pytest.mark.parametrize(
    ("local_date", "quarter_hours"),
    [(date(2026, 5, 7), 96), (date(2026, 3, 29), 92), (date(2026, 10, 25), 100)],
)
def test_a_fifteen_minute_series_has_96_92_or_100_intervals_a_day(
    graphql: GraphQLCall, local_date: date, quarter_hours: int
) -> None:
    filters = [electricity(FLAT_15MIN, readingFrequencyType="FIFTEEN_MIN_INTERVAL")]

    edges = edges_of(graphql(SECTION_5_QUERY, day_variables(local_date, filters, FLAT)))

    assert len(edges) == quarter_hours
    assert {edge["node"]["durationInSeconds"] for edge in edges} == {900}


def test_a_frequency_the_series_does_not_have_selects_nothing(graphql: GraphQLCall) -> None:
    filters = [electricity(HOUSE_IMPORT, readingFrequencyType="FIFTEEN_MIN_INTERVAL")]

    assert edges_of(graphql(SECTION_5_QUERY, day_variables(date(2026, 5, 7), filters))) == []


def test_timestamps_carry_the_offset_of_the_timezone_argument(graphql: GraphQLCall) -> None:
    variables = day_variables(date(2026, 5, 7), [electricity(HOUSE_IMPORT)])
    variables["timezone"] = "UTC"

    node = edges_of(graphql(SECTION_5_QUERY, variables))[0]["node"]

    assert node["startAt"] == "2026-05-06T23:00:00+00:00"


def test_several_filters_return_several_series_in_one_connection_told_apart_by_metadata(
    graphql: GraphQLCall,
) -> None:
    filters = [
        electricity(HOUSE_IMPORT),
        electricity(HOUSE_EXPORT, "GENERATION"),
        {"gasFilters": {"marketSupplyPointId": HOUSE_GAS}},
    ]

    edges = edges_of(graphql(SECTION_5_QUERY, day_variables(date(2026, 6, 21), filters)))

    series = [edge["node"]["metaData"]["utilityFilters"] for edge in edges]
    keys = [(f["__typename"], f["marketSupplyPointId"], f.get("readingDirection")) for f in series]
    assert keys == (
        [("ElectricityFiltersOutput", HOUSE_IMPORT, "CONSUMPTION")] * 48
        + [("ElectricityFiltersOutput", HOUSE_EXPORT, "GENERATION")] * 48
        + [("GasFiltersOutput", HOUSE_GAS, None)] * 48
    )
    export = [edge["node"] for edge in edges[48:96]]
    assert Decimal(export[0]["value"]) == 0  # no sun at midnight
    assert sum(Decimal(node["value"]) for node in export) > 0
    assert {edge["node"]["unit"] for edge in edges[96:]} == {"m3"}


def test_aliases_read_several_properties_in_one_request(graphql: GraphQLCall) -> None:
    query = """
    query Two($start: DateTime!, $end: DateTime!) {
      house: property(id: "1000001") { measurements(startAt: $start, endAt: $end) { totalCount } }
      office: property(id: "1000002") { measurements(startAt: $start, endAt: $end) { totalCount } }
    }
    """
    start, end = day_bounds(date(2026, 5, 7), "Europe/London")

    answer = graphql(query, {"start": start.isoformat(), "end": end.isoformat()})

    data = answer.json()["data"]
    assert data["house"]["measurements"]["totalCount"] == 3 * 48  # import, export, gas
    assert data["office"]["measurements"]["totalCount"] == 48


def test_start_on_and_end_on_select_whole_local_days_end_inclusive(graphql: GraphQLCall) -> None:
    query = """
    query Days($filters: [UtilityFiltersInput]) {
      property(id: "1000001") {
        measurements(startOn: "2026-10-24", endOn: "2026-10-25", utilityFilters: $filters) {
          totalCount
        }
      }
    }
    """

    answer = graphql(query, {"filters": [electricity(HOUSE_IMPORT)]})

    assert answer.json()["data"]["property"]["measurements"]["totalCount"] == 48 + 50


def test_a_property_lists_its_meter_points(graphql: GraphQLCall) -> None:
    query = """
    { property(id: "1000001") {
        electricityMeterPoints { mpan meters { serialNumber smartDevices { deviceId } } }
        gasMeterPoints { mprn }
    } }
    """

    data = graphql(query).json()["data"]["property"]

    assert {point["mpan"] for point in data["electricityMeterPoints"]} == {
        HOUSE_IMPORT,
        HOUSE_EXPORT,
    }
    assert data["gasMeterPoints"] == [{"mprn": HOUSE_GAS}]


def test_a_typo_in_the_query_fails_validation_with_http_200(graphql: GraphQLCall) -> None:
    answer = graphql('{ property(id: "1000001") { id measurement { totalCount } } }')

    error = error_of(answer)
    assert "measurement" in error["message"]
    assert error["extensions"]["errorType"] == "VALIDATION"
    assert "data" not in answer.json()


def test_an_unknown_enum_value_such_as_half_hour_interval_fails_validation(
    graphql: GraphQLCall,
) -> None:
    filters = [electricity(HOUSE_IMPORT, readingFrequencyType="HALF_HOUR_INTERVAL")]

    answer = graphql(SECTION_5_QUERY, day_variables(date(2026, 5, 7), filters))

    assert error_of(answer)["extensions"]["errorType"] == "VALIDATION"


def test_a_date_time_without_offset_gets_kt_ct_4237(graphql: GraphQLCall) -> None:
    variables = day_variables(date(2026, 5, 7), [electricity(HOUSE_IMPORT)])
    variables["startAt"] = "2026-05-07T00:00:00"

    error = error_of(graphql(SECTION_5_QUERY, variables))

    assert error["extensions"]["errorCode"] == "KT-CT-4237"
    assert error["path"] == ["property", "measurements"]


def test_an_unknown_time_zone_fails_validation(graphql: GraphQLCall) -> None:
    variables = day_variables(date(2026, 5, 7), [electricity(HOUSE_IMPORT)])
    variables["timezone"] = "Europe/Atlantis"

    error = error_of(graphql(SECTION_5_QUERY, variables))

    assert error["extensions"]["errorType"] == "VALIDATION"


def test_first_above_the_maximum_page_size_is_a_validation_error(graphql: GraphQLCall) -> None:
    accepted = graphql(SECTION_5_QUERY, day_variables(date(2026, 5, 7), [], first=1000))
    refused = graphql(SECTION_5_QUERY, day_variables(date(2026, 5, 7), [], first=1001))

    assert "errors" not in accepted.json()
    error = error_of(refused)
    assert error["extensions"]["errorType"] == "VALIDATION"
    assert error["extensions"]["validationErrors"][0]["inputPath"] == ["first"]
    assert refused.json()["data"] == {"property": {"id": HOUSE, "measurements": None}}


def aliased_section_5(count: int) -> str:
    """The §5 selection of `property` repeated under `count` aliases."""
    selection = SECTION_5_QUERY[SECTION_5_QUERY.index("{ property") + 1 : -1]
    aliased = " ".join(f"a{i}: {selection.strip()}" for i in range(count))
    return SECTION_5_QUERY[: SECTION_5_QUERY.index("{ property")] + "{ " + aliased + " }"


def test_the_section_5_query_costs_32_points(graphql: GraphQLCall) -> None:
    graphql(SECTION_5_QUERY, day_variables(date(2026, 5, 7), []))

    limits = graphql(RATE_LIMIT_QUERY).json()["data"]["rateLimitInfo"]["pointsAllowanceRateLimit"]

    assert limits["usedPoints"] == SECTION_5_COMPLEXITY + RATE_LIMIT_QUERY_COMPLEXITY
    assert limits["limit"] == 300_000
    assert limits["isBlocked"] is False


def test_six_aliased_section_5_queries_pass_and_seven_are_too_complex(graphql: GraphQLCall) -> None:
    variables = day_variables(date(2026, 5, 7), [], first=10)

    six = graphql(aliased_section_5(6), variables)
    seven = graphql(aliased_section_5(7), variables)

    assert "errors" not in six.json()
    assert len(seven.json()["errors"]) == 7
    assert {e["extensions"]["errorCode"] for e in seven.json()["errors"]} == {"KT-CT-1188"}
    assert seven.json()["data"] == {f"a{i}": None for i in range(7)}


def test_more_than_10000_nodes_in_one_request_get_kt_ct_1189(graphql: GraphQLCall) -> None:
    def query(count: int) -> str:
        fields = " ".join(
            f'p{i}: property(id: "1000001") {{ measurements(first: 1000, startAt: '
            f'"2026-05-07T00:00:00Z") {{ totalCount }} }}'
            for i in range(count)
        )
        return "{ " + fields + " }"

    assert "errors" not in graphql(query(10)).json()
    errors = graphql(query(11)).json()["errors"]
    assert {error["extensions"]["errorCode"] for error in errors} == {"KT-CT-1189"}


def test_an_exhausted_points_allowance_gets_kt_ct_1199_until_the_hour_is_over(
    start_emulator: Callable[..., Emulator], mint_token: Callable[[Emulator], str]
) -> None:
    emulator = start_emulator(points_allowance_per_hour=100)
    session = requests.Session()
    session.headers["Authorization"] = mint_token(emulator)

    def send(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = {"query": query, "variables": variables or {}}
        return dict(session.post(emulator.graphql_url, json=body, timeout=10).json())

    variables = day_variables(date(2026, 5, 7), [], first=1)
    answers = [send(SECTION_5_QUERY, variables) for _ in range(4)]

    assert ["errors" in answer for answer in answers] == [False, False, False, True]
    assert answers[3]["errors"][0]["extensions"]["errorCode"] == "KT-CT-1199"
    assert answers[3]["data"] == {"property": None}
    limits = send(RATE_LIMIT_QUERY)["data"]["rateLimitInfo"]["pointsAllowanceRateLimit"]
    assert limits["isBlocked"] is True
    # Reading the state is always allowed, and not charged when the points are not there.
    assert limits["remainingPoints"] == 100 - 3 * SECTION_5_COMPLEXITY
    emulator.advance_clock(timedelta(hours=1))
    session.headers["Authorization"] = mint_token(emulator)  # the old one expired meanwhile
    assert "errors" not in send(SECTION_5_QUERY, variables)


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(
    start_emulator: Callable[..., Emulator], mint_token: Callable[[Emulator], str]
) -> None:
    def day_of(emulator: Emulator) -> list[dict[str, Any]]:
        variables = day_variables(date(2026, 5, 7), [electricity(HOUSE_IMPORT)])
        headers = {"Authorization": mint_token(emulator)}
        body = {"query": SECTION_5_QUERY, "variables": variables}
        return edges_of(requests.post(emulator.graphql_url, json=body, headers=headers, timeout=10))

    first = day_of(start_emulator(dataset=demo_dataset(DatasetConfig(seed=7))))
    again = day_of(start_emulator(dataset=demo_dataset(DatasetConfig(seed=7))))
    other = day_of(start_emulator(dataset=demo_dataset(DatasetConfig(seed=8))))

    assert first == again
    assert [e["node"]["value"] for e in first] != [e["node"]["value"] for e in other]


def test_a_day_is_absent_before_its_publication_lag_and_present_after(
    emulator: Emulator, graphql: GraphQLCall
) -> None:
    variables = day_variables(date(2026, 11, 19), [electricity(HOUSE_IMPORT)])
    published = day_bounds(date(2026, 11, 19), "Europe/London")[1] + timedelta(hours=6)

    emulator.set_clock(published - timedelta(minutes=1))
    before = edges_of(graphql(SECTION_5_QUERY, variables))
    emulator.set_clock(published)
    after = edges_of(graphql(SECTION_5_QUERY, variables))

    assert before == []
    assert len(after) == 48


def test_an_estimated_day_is_later_restated_with_different_actual_values(
    emulator: Emulator, graphql: GraphQLCall
) -> None:
    estimated: list[dict[str, Any]] = []
    for offset in range(10):  # the house import has an estimated day in every 5-day block
        local_date = date(2026, 11, 1) + timedelta(days=offset)
        emulator.set_clock(day_bounds(local_date, "Europe/London")[1] + timedelta(hours=6))
        variables = day_variables(local_date, [electricity(HOUSE_IMPORT)])
        estimated = edges_of(graphql(SECTION_5_QUERY, variables))
        if estimated[0]["node"]["metaData"]["utilityFilters"]["readingQuality"] == "ESTIMATE":
            break

    emulator.advance_clock(timedelta(days=2))
    restated = edges_of(graphql(SECTION_5_QUERY, variables))

    assert {e["node"]["metaData"]["utilityFilters"]["readingQuality"] for e in estimated} == {
        "ESTIMATE"
    }
    assert {e["node"]["metaData"]["utilityFilters"]["readingQuality"] for e in restated} == {
        "ACTUAL"
    }
    assert [e["node"]["value"] for e in estimated] != [e["node"]["value"] for e in restated]


def test_reading_quality_filter_serves_only_that_quality(
    start_emulator: Callable[..., Emulator], mint_token: Callable[[Emulator], str]
) -> None:
    # Estimates stay unrestated for a month, so November holds both qualities.
    config = DatasetConfig(restatement_lag=timedelta(days=30))
    emulator = start_emulator(dataset=demo_dataset(config))
    headers = {"Authorization": mint_token(emulator)}
    query = """
    query Q($filters: [UtilityFiltersInput]) { property(id: "1000001") {
      measurements(startOn: "2026-11-01", endOn: "2026-11-19", utilityFilters: $filters) {
        edges { node { metaData { utilityFilters {
          ... on ElectricityFiltersOutput { readingQuality }
        } } } }
    } } }
    """

    def qualities(quality: str) -> set[str]:
        variables = {"filters": [electricity(HOUSE_IMPORT, readingQuality=quality)]}
        body = {"query": query, "variables": variables}
        answer = requests.post(emulator.graphql_url, json=body, headers=headers, timeout=10)
        return {e["node"]["metaData"]["utilityFilters"]["readingQuality"] for e in edges_of(answer)}

    assert qualities("COMBINED") == {"ACTUAL", "ESTIMATE"}
    assert qualities("ESTIMATE") == {"ESTIMATE"}
    assert qualities("ACTUAL") == {"ACTUAL"}


def test_errors_are_counted_by_code(emulator: Emulator, graphql: GraphQLCall) -> None:
    graphql('{ property(id: "1000001") { id } }', headers={})
    graphql('{ property(id: "1000001") { nope } }')

    assert emulator.stats.errors == {"KT-CT-1112": 1, "VALIDATION": 1}
    assert emulator.stats.requests == {"token": 1, "graphql": 2}
