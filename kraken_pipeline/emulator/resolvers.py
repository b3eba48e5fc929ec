"""The schema with its resolvers: who may read which property, and what a property holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    build_schema,
)

from kraken_pipeline.emulator.answers import RawJsonSlots
from kraken_pipeline.emulator.config import CAN_QUERY_PROPERTY, CAN_VIEW_DETAILED_USAGE, ClientGrant
from kraken_pipeline.emulator.connection import MeasurementPage, SeriesReadings, paginate
from kraken_pipeline.emulator.dataset import SeriesSpec
from kraken_pipeline.emulator.errors import KrakenError
from kraken_pipeline.emulator.measurements import (
    SelectedSeries,
    Window,
    parse_window,
    select_series,
)
from kraken_pipeline.emulator.state import EmulatorState

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")
_DATA_FAULTS = frozenset({"duplicate_nodes", "outside_window", "too_many_edges", "cursor_loop"})
_FIRST_PAGE_FAULTS = frozenset({"outside_window", "too_many_edges"})


@dataclass(frozen=True)
class RequestContext:
    """What the resolvers of one GraphQL request know."""

    state: EmulatorState
    grant: ClientGrant | None
    refusal: KrakenError | None
    now: datetime
    raw_json: RawJsonSlots = field(default_factory=RawJsonSlots)  # texts the fast path wrote

    def admitted(self) -> ClientGrant:
        """The viewer, or the request-wide refusal raised as a GraphQL error."""
        # Raised by every root field: Kraken's envelope, one error per root field, `data` null.
        if self.refusal is not None:
            raise self.refusal.to_graphql_error()
        if self.grant is None:
            raise KrakenError("KT-CT-1112").to_graphql_error()
        return self.grant


@dataclass(frozen=True)
class PropertyView:
    """A property as the viewer sees it: its id and its series."""

    property_id: str
    series: tuple[SeriesSpec, ...]


@lru_cache(maxsize=2)
def load_schema(viewer_reports_permissions: bool = True) -> GraphQLSchema:
    """The SDL schema with the emulator's resolvers attached; stateless, so built once.

    Without `viewer_reports_permissions`, thirdPartyViewer lacks `permissions`, as on older
    Kraken schemas: a query asking for it fails validation there.
    """
    schema = build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))
    if not viewer_reports_permissions:
        viewer_type = schema.get_type("ThirdPartyViewerType")
        assert isinstance(viewer_type, GraphQLObjectType)
        del viewer_type.fields["permissions"]
    resolvers = {
        ("Query", "property"): _property,
        ("Query", "thirdPartyViewer"): _third_party_viewer,
        ("Query", "rateLimitInfo"): _rate_limit_info,
        ("PropertyType", "id"): lambda view, _info: view.property_id,
        ("PropertyType", "address"): lambda view, _info: f"{view.property_id} Emulator Street",
        ("PropertyType", "postcode"): lambda _view, _info: "EM1 1AA",
        ("PropertyType", "electricityMeterPoints"): _electricity_meter_points,
        ("PropertyType", "gasMeterPoints"): _gas_meter_points,
        ("PropertyType", "measurements"): _measurements,
    }
    for (type_name, field_name), resolve in resolvers.items():
        object_type = schema.get_type(type_name)
        assert isinstance(object_type, GraphQLObjectType)
        object_type.fields[field_name].resolve = resolve
    return schema


def _context(info: GraphQLResolveInfo) -> RequestContext:
    context = info.context
    assert isinstance(context, RequestContext)
    return context


def _property(_root: None, info: GraphQLResolveInfo, id: str) -> PropertyView:
    context = _context(info)
    grant = context.admitted()
    series = context.state.properties.get(id, ())
    # An unknown property is refused like a forbidden one: Kraken does not reveal what exists.
    if CAN_QUERY_PROPERTY not in grant.permissions or not grant.may_read(id) or not series:
        raise KrakenError("KT-CT-1111").to_graphql_error()
    fault = context.state.faults.take(frozenset({"kraken_error"}), "graphql", property_id=id)
    if fault is not None:
        raise KrakenError(fault.code).to_graphql_error()
    return PropertyView(id, series)


def _third_party_viewer(_root: None, info: GraphQLResolveInfo) -> dict[str, Any]:
    grant = _context(info).admitted()
    permissions = [{"permission": name} for name in sorted(grant.permissions)]
    return {"name": grant.name, "permissions": permissions}


def _rate_limit_info(_root: None, info: GraphQLResolveInfo) -> dict[str, Any]:
    context = _context(info)
    grant = context.admitted()
    state = context.state.allowance.state(grant.client_id, context.now)
    return {"pointsAllowanceRateLimit": state.to_graphql()}


def _electricity_meter_points(view: PropertyView, _info: GraphQLResolveInfo) -> list[Any]:
    return _meter_points(view, "electricity", "mpan")


def _gas_meter_points(view: PropertyView, _info: GraphQLResolveInfo) -> list[Any]:
    return _meter_points(view, "gas", "mprn")


def _meter_points(view: PropertyView, utility: str, id_field: str) -> list[dict[str, Any]]:
    """One meter point per market id, with one meter carrying the series' smart device."""
    points: dict[str, dict[str, Any]] = {}
    for spec in view.series:
        if spec.utility != utility or spec.market_supply_point_id in points:
            continue
        market_id = spec.market_supply_point_id
        serial = f"{'E' if utility == 'electricity' else 'G'}{market_id[-8:]:0>8}"
        devices = [{"deviceId": spec.device_id}] if spec.device_id else []
        meter = {"id": serial, "serialNumber": serial, "smartDevices": devices}
        points[market_id] = {"id": market_id, id_field: market_id, "meters": [meter]}
    return list(points.values())


def _measurements(view: PropertyView, info: GraphQLResolveInfo, **args: Any) -> MeasurementPage:
    context = _context(info)
    state = context.state
    if CAN_VIEW_DETAILED_USAGE not in context.admitted().permissions:
        raise KrakenError("KT-CT-1111").to_graphql_error()
    fault = state.faults.take(frozenset({"data_and_errors"}), "graphql")
    if fault is not None and not fault.code:
        # An error escaping a resolver with no Kraken code, as a field failing in a way the
        # tenant's error catalogue does not name.
        raise GraphQLError("Something went wrong.", extensions={"errorType": "APPLICATION"})
    if fault is not None:
        raise KrakenError(fault.code).to_graphql_error()
    try:
        window = parse_window(args, context.now)
        selected = select_series(view.series, args.get("utilityFilters"))
        series = [_readings(state, one, window, context.now) for one in selected]
        page = paginate(series, window, args, state.config.max_page_size)
    except KrakenError as failure:
        raise failure.to_graphql_error() from failure
    page = _with_data_faults(state, page, args.get("first") or state.config.max_page_size)
    state.stats.count_nodes(len(page.items))
    return page


def _readings(
    state: EmulatorState, series: SelectedSeries, window: Window, now: datetime
) -> SeriesReadings:
    """A selected series with its readings in the window, as visible at `now`."""
    return SeriesReadings(series, state.readings.readings(series, window.start, window.end, now))


def _with_data_faults(state: EmulatorState, page: MeasurementPage, first: int) -> MeasurementPage:
    """The page as a scripted data fault spoils it; a fault that cannot apply stays armed."""
    if not page.items:
        return page
    kinds = _DATA_FAULTS if page.follows_cursor else _FIRST_PAGE_FAULTS
    fault = state.faults.take(kinds, "graphql")
    if fault is None:
        return page
    if fault.kind == "duplicate_nodes":
        return page.with_previous_node_repeated(first)
    if fault.kind == "too_many_edges":
        return page.with_one_edge_too_many(first)
    if fault.kind == "cursor_loop":
        return page.with_cursor_back_to_start()
    return page.with_node_before_window()
