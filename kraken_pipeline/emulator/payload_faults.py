"""Payload faults: answers that break the connection protocol or bend the data's shape.

Each kind spoils the first non-empty `measurements` connection of one answer; `too_many_edges`
and `cursor_loop` need the request's arguments and are applied by resolvers.py instead.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

Connection = dict[str, Any]

_HOUR = timedelta(hours=1)


def _nodes(connection: Connection) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection.get("edges") or [] if isinstance(edge, dict)]


def _page_info(connection: Connection) -> dict[str, Any]:
    info: dict[str, Any] = connection.setdefault("pageInfo", {}) or {}
    connection["pageInfo"] = info
    return info


def _drop_page_info(connection: Connection, _field: str) -> None:
    connection.pop("pageInfo", None)


def _null_page_info(connection: Connection, _field: str) -> None:
    connection["pageInfo"] = None


def _null_has_next_page(connection: Connection, _field: str) -> None:
    _page_info(connection)["hasNextPage"] = None


def _drop_edges(connection: Connection, _field: str) -> None:
    connection.pop("edges", None)


def _null_edges(connection: Connection, _field: str) -> None:
    connection["edges"] = None


def _drop_node_field(connection: Connection, field: str) -> None:
    _nodes(connection)[0].pop(field, None)


def _shift_nodes(connection: Connection, _field: str) -> None:
    for node in _nodes(connection):
        for key in ("startAt", "endAt"):
            if isinstance(node.get(key), str):
                node[key] = (datetime.fromisoformat(node[key]) + _HOUR).isoformat()


def _repeat_first(connection: Connection, change: Callable[[dict[str, Any]], None]) -> None:
    edges = connection["edges"]
    twin = copy.deepcopy(edges[0])
    change(twin["node"])
    edges.insert(1, twin)


def _conflicting_duplicate(connection: Connection, _field: str) -> None:
    def other_value(node: dict[str, Any]) -> None:
        node["value"] = "999.5"

    _repeat_first(connection, other_value)


def _identical_duplicate(connection: Connection, _field: str) -> None:
    _repeat_first(connection, lambda _node: None)


def _next_without_cursor(connection: Connection, _field: str) -> None:
    info = _page_info(connection)
    info["hasNextPage"] = True
    info["endCursor"] = None


def _set_filter(key: str, value: str) -> Callable[[Connection, str], None]:
    def change(connection: Connection, _field: str) -> None:
        for node in _nodes(connection):
            filters = (node.get("metaData") or {}).get("utilityFilters")
            if isinstance(filters, dict) and key in filters:
                filters[key] = value

    return change


def _long_decimals(connection: Connection, _field: str) -> None:
    for node in _nodes(connection):
        if isinstance(node.get("value"), str):  # "0E-18" as "0.000000000000000000" first
            node["value"] = format(Decimal(node["value"]), "f")
        if isinstance(node.get("value"), str) and "." not in node["value"]:
            node["value"] += "."
        if isinstance(node.get("value"), str):
            node["value"] = (node["value"] + "0" * 30)[: node["value"].index(".") + 31]
    nodes = _nodes(connection)
    if nodes and isinstance(nodes[0].get("value"), str):
        nodes[0]["value"] = nodes[0]["value"][:-1] + "5"  # a digit that rounding must carry


def _embedded_filters(connection: Connection, _field: str) -> None:
    # The query selects fields on ElectricityFiltersOutput and GasFiltersOutput only, so an
    # EmbeddedElectricityFiltersOutput echo reaches the client as an empty object.
    for node in _nodes(connection):
        metadata = node.get("metaData")
        if isinstance(metadata, dict):
            metadata["utilityFilters"] = {}


PAYLOAD_FAULTS: dict[str, Callable[[Connection, str], None]] = {
    "page_info_missing": _drop_page_info,
    "page_info_null": _null_page_info,
    "has_next_page_null": _null_has_next_page,
    "edges_missing": _drop_edges,
    "edges_null": _null_edges,
    "node_field_missing": _drop_node_field,
    "nodes_shifted": _shift_nodes,
    "conflicting_duplicate": _conflicting_duplicate,
    "identical_duplicate": _identical_duplicate,
    "next_without_cursor": _next_without_cursor,
    "quality_combined": _set_filter("readingQuality", "COMBINED"),
    "long_decimals": _long_decimals,
    "embedded_filters": _embedded_filters,
}
# Applied while the document executes, where the request's arguments are known.
RESOLVER_FAULTS = frozenset({"too_many_edges", "cursor_loop"})


def spoil(data: Any, kind: str, field: str) -> bool:
    """Spoil the first non-empty connection among the answer's root fields; whether one was."""
    if not isinstance(data, dict):
        return False
    for value in data.values():
        connection = value.get("measurements") if isinstance(value, dict) else None
        if isinstance(connection, dict) and _nodes(connection):
            PAYLOAD_FAULTS[kind](connection, field)
            return True
    return False
