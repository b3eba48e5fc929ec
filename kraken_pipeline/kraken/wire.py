"""Answer bodies into values: plain JSON for small answers, straight to Arrow for measurement pages.

A page of 7,000 nodes is about 2 MB of JSON. json.loads builds some 100,000 Python objects from
it that are thrown away right after; Arrow's JSON reader, given the exact schema of the page,
parses the same bytes in about half the time into the columns the parser needs, without holding
the GIL, so worker threads parse in parallel. Answers that carry `errors` (rare, and usually
small) take the json.loads path, whose pages are then turned into the same Arrow form. So do
answers the Arrow reader refuses: there each alias is decoded on its own, so that a wrongly typed
field (a number where the schema says String) fails only its own alias, with the field named.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.json as pa_json

from kraken_pipeline.kraken.errors import ResponseFormatError, RetryableError
from kraken_pipeline.kraken.queries import RATE_LIMIT_FIELD, alias

# The fields measurements_document selects on a node, as strings: casting happens in parsing.py,
# where a value or a time that cannot be read exactly is refused with the property named.
NODE_TYPE = pa.struct(
    [
        ("value", pa.string()),
        ("unit", pa.string()),
        ("source", pa.string()),
        ("startAt", pa.string()),
        ("endAt", pa.string()),
        (
            "metaData",
            pa.struct(
                [
                    (
                        "utilityFilters",
                        pa.struct(
                            [
                                ("marketSupplyPointId", pa.string()),
                                ("readingDirection", pa.string()),
                                ("readingQuality", pa.string()),
                            ]
                        ),
                    )
                ]
            ),
        ),
    ]
)
EDGES_TYPE = pa.list_(pa.struct([("node", NODE_TYPE)]))
PAGE_INFO_TYPE = pa.struct([("hasNextPage", pa.bool_()), ("endCursor", pa.string())])
CONNECTION_TYPE = pa.struct([("pageInfo", PAGE_INFO_TYPE), ("edges", EDGES_TYPE)])
_PROPERTY_TYPE = pa.struct([("measurements", CONNECTION_TYPE)])
# rateLimitInfo as measurements_document(count, with_rate_limit=True) selects it; absent -> null.
_RATE_LIMIT_TYPE = pa.struct(
    [
        (
            "pointsAllowanceRateLimit",
            pa.struct(
                [
                    ("limit", pa.int64()),
                    ("remainingPoints", pa.int64()),
                    ("usedPoints", pa.int64()),
                    ("ttl", pa.int64()),
                    ("isBlocked", pa.bool_()),
                ]
            ),
        )
    ]
)


@dataclass(frozen=True)
class ConnectionPage:
    """One page of one alias's measurements connection, nodes as an Arrow struct array."""

    nodes: pa.StructArray  # NODE_TYPE; null entries for null nodes
    has_next_page: bool
    end_cursor: str | None


@dataclass(frozen=True)
class BadPage:
    """One alias's page that could not be read: `field` is the dotted path of the first wrongly
    typed field (e.g. "measurements.edges[0].node.value"), `problem` what is wrong with it. The
    other aliases of the answer are unaffected; the caller fails this alias's property only."""

    field: str
    problem: str
    protocol: bool = False  # a required field missing or null: retried once before failing

    def describe(self) -> str:
        """`field measurements.edges[0].node.value is the number 0.2 where ... a string`."""
        return f"field {self.field} {self.problem}" if self.field else self.problem


Decoded = tuple[list[Any], Any]  # (the `errors` list, the `data` value)


def decode_json(body: bytes) -> Decoded:
    """The `errors` and `data` of an answer, parsed with json.loads."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise _bad_json(body) from None
    if not isinstance(payload, dict):
        raise ResponseFormatError("the GraphQL API answered JSON that is not an object")
    errors = payload.get("errors")
    return (errors if isinstance(errors, list) else []), payload.get("data") or {}


def measurement_decoder(count: int) -> Any:
    """A decoder for answers of measurements_document(count, ...): data maps each alias to a
    ConnectionPage (None for a null property or connection, a BadPage for one whose fields do
    not have the documented types) and "rateLimitInfo" to its value."""

    def decode(body: bytes) -> Decoded:
        if b'"errors"' in body:
            errors, data = decode_json(body)
            return errors, _pages_from_python(data, count)
        try:
            return [], _pages_from_arrow(body, count)
        except pa.ArrowInvalid:
            errors, data = decode_json(body)  # raises the retryable error if it is not JSON
            return errors, _pages_from_python(data, count)

    return decode


def _pages_from_arrow(body: bytes, count: int) -> dict[str, Any]:
    table = pa_json.read_json(
        io.BytesIO(body),
        read_options=pa_json.ReadOptions(block_size=len(body) + 1, use_threads=False),
        parse_options=pa_json.ParseOptions(
            explicit_schema=_answer_schema(count), unexpected_field_behavior="ignore"
        ),
    )
    if table.num_rows != 1:
        raise ResponseFormatError("the GraphQL API answered more than one JSON object")
    # flatten() carries a null parent down to its children: a null property is a null page.
    fields = table.column("data").chunk(0).flatten()
    pages: dict[str, Any] = {}
    for index in range(count):
        connection = fields[index].flatten()[0]
        pages[alias(index)] = _page(connection) if connection[0].is_valid else None
    pages[RATE_LIMIT_FIELD] = fields[count][0].as_py()
    return pages


def _page(connection: pa.StructArray) -> ConnectionPage | BadPage:
    info = connection.field("pageInfo")
    edges = connection.field("edges")
    if not info[0].is_valid:
        return _missing("measurements.pageInfo")
    has_next = info.field("hasNextPage")[0]
    if not has_next.is_valid:
        return _missing("measurements.pageInfo.hasNextPage")
    if not edges[0].is_valid:
        return _missing("measurements.edges")
    return ConnectionPage(_nodes(edges), has_next.as_py(), info.field("endCursor")[0].as_py())


def _missing(path: str) -> BadPage:
    """A required field of the connection protocol that is missing or null: never "no data"."""
    return BadPage(path, "is missing or null", protocol=True)


def _nodes(edges: pa.ListArray) -> pa.StructArray:
    """The nodes of a one-element list of edges; a null edge becomes a null node."""
    return edges.flatten().flatten()[0]


def _pages_from_python(data: Any, count: int) -> dict[str, Any]:
    pages: dict[str, Any] = {}
    if isinstance(data, dict):
        pages[RATE_LIMIT_FIELD] = data.get(RATE_LIMIT_FIELD)
    for index in range(count):
        name = alias(index)
        pages[name] = _page_from_python(data.get(name) if isinstance(data, dict) else None)
    return pages


def _page_from_python(node: Any) -> ConnectionPage | BadPage | None:
    """One alias's page; a wrongly typed field fails this alias only, naming the field."""
    if node is None:
        return None
    if not isinstance(node, dict):
        return BadPage("", f"the property is a {_json_kind(node)}, not an object")
    connection = node.get("measurements")
    if connection is None:
        return None
    misfit = _misfit(connection, CONNECTION_TYPE, "measurements")
    if misfit is not None:
        return misfit
    info = connection.get("pageInfo")
    if not isinstance(info, dict):
        return _missing("measurements.pageInfo")
    if info.get("hasNextPage") is None:
        return _missing("measurements.pageInfo.hasNextPage")
    if connection.get("edges") is None:
        return _missing("measurements.edges")
    try:
        edges = pa.array([connection["edges"]], EDGES_TYPE)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        return BadPage("measurements.edges", f"cannot be read ({exc})")
    return ConnectionPage(_nodes(edges), bool(info["hasNextPage"]), info.get("endCursor"))


def _misfit(value: Any, expected: pa.DataType, path: str) -> BadPage | None:
    """The first field of `value` (JSON) whose type is not the `expected` Arrow type's; null
    fits any type here (which fields must not be null is checked after: the connection's in
    _page_from_python, the nodes' in parsing.py), unknown fields are ignored."""
    if value is None:
        return None
    if pa.types.is_struct(expected):
        if not isinstance(value, dict):
            return _wrong(path, value, "an object")
        for field in expected:
            found = _misfit(value.get(field.name), field.type, f"{path}.{field.name}")
            if found is not None:
                return found
        return None
    if pa.types.is_list(expected):
        if not isinstance(value, list):
            return _wrong(path, value, "a list")
        for number, item in enumerate(value):
            found = _misfit(item, expected.value_type, f"{path}[{number}]")
            if found is not None:
                return found
        return None
    scalar = _SCALARS.get(str(expected))
    if scalar is None:
        return None  # a type without a rule here: pa.array decides
    wanted, fits = scalar
    return None if fits(value) else _wrong(path, value, wanted)


# The scalar Arrow types of a page, what a message calls them, and which JSON values they take.
_SCALARS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "string": ("a string", lambda value: isinstance(value, str)),
    "bool": ("a boolean", lambda value: isinstance(value, bool)),
}


def _wrong(path: str, value: Any, wanted: str) -> BadPage:
    return BadPage(path, f"is {_json_kind(value)} where the API documents {wanted}")


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


@lru_cache(maxsize=64)
def _answer_schema(count: int) -> pa.Schema:
    fields = [(alias(index), _PROPERTY_TYPE) for index in range(count)]
    data = pa.struct([*fields, (RATE_LIMIT_FIELD, _RATE_LIMIT_TYPE)])
    return pa.schema([("data", data)])


def _bad_json(body: bytes) -> RetryableError:
    return RetryableError(
        f"the GraphQL API answered a truncated or non-JSON body ({len(body)} bytes)",
        code="bad JSON",
    )
