"""Odd measurement payloads: the first node of an answer bent the way a field report says.

An `odd_payload` fault (faults.py) makes one answer show one oddity, so a test can prove that
the pipeline names the culprit or quarantines the row, and never lands a wrong value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kraken_pipeline.emulator.answers import Answer
from kraken_pipeline.emulator.payload_faults import PAYLOAD_FAULTS, spoil

if TYPE_CHECKING:
    from kraken_pipeline.emulator.faults import Fault

Node = dict[str, Any]


def _filters(node: Node) -> dict[str, Any]:
    metadata = node.setdefault("metaData", {}) or {}
    node["metaData"] = metadata
    filters = metadata.setdefault("utilityFilters", {}) or {}
    metadata["utilityFilters"] = filters
    return filters


def _without_offset(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    return datetime.fromisoformat(text).replace(tzinfo=None).isoformat()


def _set(key: str, value: Any) -> Callable[[Node], None]:
    def change(node: Node) -> None:
        node[key] = value

    return change


def _set_filter(key: str, value: str) -> Callable[[Node], None]:
    def change(node: Node) -> None:
        _filters(node)[key] = value

    return change


def _value_as_number(node: Node) -> None:
    node["value"] = float(node["value"])


def _naive_times(node: Node) -> None:
    node["startAt"] = _without_offset(node.get("startAt"))
    node["endAt"] = _without_offset(node.get("endAt"))


def _unknown_typenames(node: Node) -> None:
    node["__typename"] = "FutureMeasurementType"
    _filters(node)["__typename"] = "WaterFiltersOutput"


def _drop(key: str) -> Callable[[Node], None]:
    def change(node: Node) -> None:
        node.pop(key, None)

    return change


ODDITIES: dict[str, Callable[[Node], None]] = {
    "value_null": _set("value", None),
    "value_missing": _drop("value"),
    "value_number": _value_as_number,  # a JSON number where the schema says String
    "value_huge": _set("value", "1" + "0" * 40),  # 41 digits: no decimal(38, 18) holds it
    "value_too_precise": _set("value", "0.1234567890123456789"),  # 19 decimal places
    "unit_missing": _drop("unit"),
    "unknown_unit": _set("unit", "kVArh"),
    "naive_timestamp": _naive_times,
    "unknown_quality": _set_filter("readingQuality", "PROVISIONAL"),
    "unknown_direction": _set_filter("readingDirection", "BIDIRECTIONAL"),
    "unknown_typename": _unknown_typenames,
}


def carries_nodes(answer: Answer) -> bool:
    """Whether an answer may hold measurement nodes (cheap: a look at the bytes)."""
    return answer.status == 200 and b'"node"' in answer.body


def apply_oddity(answer: Answer, fault: Fault | None) -> Answer:
    """The answer with its first measurement node made odd as the fault says (or unchanged)."""
    if fault is None:
        return answer
    payload = json.loads(answer.body)
    if fault.kind in PAYLOAD_FAULTS:
        if not spoil(payload.get("data"), fault.kind, fault.field_name):
            return answer
    else:
        node = _first_node(payload.get("data"))
        if node is None:
            return answer
        ODDITIES[fault.oddity](node)
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Answer(answer.status, body, answer.content_type, answer.headers)


def _first_node(data: Any) -> Node | None:
    """The first node of the first non-empty measurements connection among the root fields."""
    if not isinstance(data, dict):
        return None
    for value in data.values():
        connection = value.get("measurements") if isinstance(value, dict) else None
        edges = connection.get("edges") if isinstance(connection, dict) else None
        if isinstance(edges, list) and edges and isinstance(edges[0].get("node"), dict):
            node: Node = edges[0]["node"]
            return node
    return None
