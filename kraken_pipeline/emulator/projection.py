"""The fast path: a measurement page written as JSON text without graphql-core per field.

Validation still covers the whole document; only the completion of a `MeasurementConnection`
value is taken over here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any, cast
from zoneinfo import ZoneInfo

from graphql import (
    ExecutionContext,
    FieldNode,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
)
from graphql.pyutils import AwaitableOrValue, Path

from kraken_pipeline.emulator.connection import MeasurementPage, encode_cursor
from kraken_pipeline.emulator.dataset import Reading
from kraken_pipeline.emulator.resolvers import RequestContext

TextGetter = Callable[[int, Reading], str]
Collected = dict[str, list[FieldNode]]
_FILTER_TYPES = {"electricity": "ElectricityFiltersOutput", "gas": "GasFiltersOutput"}


class MeasurementsExecutionContext(ExecutionContext):
    """graphql-core execution with the measurement connection completed by the fast path."""

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
    ) -> AwaitableOrValue[Any]:
        if isinstance(result, MeasurementPage):
            return _Projector(self, result).connection(field_nodes)
        return super().complete_value(return_type, field_nodes, info, path, result)


@lru_cache(maxsize=1 << 18)
def wire_time(instant: datetime, tz: ZoneInfo) -> str:
    """An instant as Kraken sends it: ISO 8601 with the offset of the requested zone."""
    return instant.astimezone(tz).isoformat()


@lru_cache(maxsize=1024)
def _json_text(value: str) -> str:
    return json.dumps(value)


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _cursor_text(index: int, reading: Reading) -> str:
    return f'"{encode_cursor(index, reading)}"'


def _edge_typename_text(_index: int, _reading: Reading) -> str:
    return '"MeasurementEdge"'


_EDGE_GETTERS: dict[str, TextGetter] = {"cursor": _cursor_text, "__typename": _edge_typename_text}


class _Projector:
    """Builds the value of one page for the fields a query selected on it."""

    def __init__(self, context: ExecutionContext, page: MeasurementPage) -> None:
        self._context = context
        self._page = page

    def _collect(self, type_name: str, field_nodes: list[FieldNode]) -> Collected:
        object_type = cast(GraphQLObjectType, self._context.schema.get_type(type_name))
        return self._context.collect_subfields(object_type, field_nodes)

    def connection(self, field_nodes: list[FieldNode]) -> dict[str, Any]:
        """The MeasurementConnection value; its edges are a placeholder for spliced JSON."""
        page = self._page
        request = self._context.context_value
        assert isinstance(request, RequestContext)
        out: dict[str, Any] = {}
        for key, nodes in self._collect("MeasurementConnection", field_nodes).items():
            name = nodes[0].name.value
            if name == "edges":
                out[key] = request.raw_json.add(self._edges_text(nodes))
            elif name == "pageInfo":
                out[key] = self._page_info(nodes)
            elif name == "totalCount":
                out[key] = page.total_count
            elif name == "edgeCount":
                out[key] = len(page.items)
            elif name == "__typename":
                out[key] = "MeasurementConnection"
        return out

    def _page_info(self, field_nodes: list[FieldNode]) -> dict[str, Any]:
        items = self._page.items
        values = {
            "hasNextPage": self._page.has_next_page,
            "hasPreviousPage": self._page.has_previous_page,
            "startCursor": encode_cursor(*items[0]) if items else None,
            "endCursor": self._page.end_cursor or (encode_cursor(*items[-1]) if items else None),
            "__typename": "PageInfo",
        }
        collected = self._collect("PageInfo", field_nodes)
        return {key: values[nodes[0].name.value] for key, nodes in collected.items()}

    def _edges_text(self, field_nodes: list[FieldNode]) -> str:
        getters: list[tuple[str, TextGetter]] = []
        for key, nodes in self._collect("MeasurementEdge", field_nodes).items():
            name = nodes[0].name.value
            getter = self._node_getter(nodes) if name == "node" else _EDGE_GETTERS[name]
            getters.append((_json_text(key) + ":", getter))
        edges = [
            "{" + ",".join([k + get(i, r) for k, get in getters]) + "}" for i, r in self._page.items
        ]
        return "[" + ",".join(edges) + "]"

    def _node_getter(self, field_nodes: list[FieldNode]) -> TextGetter:
        tz = self._page.window.timezone
        durations = [str(entry.series.spec.interval_seconds) for entry in self._page.series]
        by_name: dict[str, TextGetter] = {
            "value": lambda _i, r: f'"{r.value_text}"',
            "unit": lambda _i, r: _json_text(r.unit),
            "source": lambda _i, r: _json_text(r.source),
            "readAt": lambda _i, r: f'"{wire_time(r.end, tz)}"',
            "startAt": lambda _i, r: f'"{wire_time(r.start, tz)}"',
            "endAt": lambda _i, r: f'"{wire_time(r.end, tz)}"',
            "durationInSeconds": lambda i, _r: durations[i],
            "__typename": lambda _i, _r: '"IntervalMeasurementType"',
        }
        getters: list[tuple[str, TextGetter]] = []
        for key, nodes in self._collect("IntervalMeasurementType", field_nodes).items():
            name = nodes[0].name.value
            getter = self._metadata_getter(nodes) if name == "metaData" else by_name[name]
            getters.append((_json_text(key) + ":", getter))
        return lambda i, r: "{" + ",".join([k + get(i, r) for k, get in getters]) + "}"

    def _metadata_getter(self, field_nodes: list[FieldNode]) -> TextGetter:
        """The metaData text of a node, encoded once per (series, quality)."""
        shared: dict[tuple[int, str], str] = {}

        def metadata(index: int, reading: Reading) -> str:
            text = shared.get((index, reading.quality))
            if text is None:
                text = _compact_json(self._metadata(field_nodes, index, reading.quality))
                shared[(index, reading.quality)] = text
            return text

        return metadata

    def _metadata(self, field_nodes: list[FieldNode], index: int, quality: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, nodes in self._collect("MeasurementsMetadataOutput", field_nodes).items():
            name = nodes[0].name.value
            if name == "utilityFilters":
                out[key] = self._filters(nodes, index, quality)
            elif name == "__typename":
                out[key] = "MeasurementsMetadataOutput"
            else:
                out[key] = []  # statistics and extras: interval nodes carry none
        return out

    def _filters(self, field_nodes: list[FieldNode], index: int, quality: str) -> dict[str, Any]:
        series = self._page.series[index].series
        spec = series.spec
        type_name = _FILTER_TYPES[spec.utility]
        values = {
            "__typename": type_name,
            "readingDirection": spec.reading_direction,
            "readingQuality": quality,
            "readingFrequencyType": series.frequency,
            "marketSupplyPointId": spec.market_supply_point_id,
            "deviceId": spec.device_id,
            "registerId": None,
        }
        collected = self._collect(type_name, field_nodes)
        return {key: values[nodes[0].name.value] for key, nodes in collected.items()}
