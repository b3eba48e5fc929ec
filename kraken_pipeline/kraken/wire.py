"""Answer bodies into values: plain JSON for small answers, straight to Arrow for measurement pages.

A page of 7,000 nodes is about 2 MB of JSON. json.loads builds some 100,000 Python objects from
it that are thrown away right after; Arrow's JSON reader, given the exact schema of the page,
parses the same bytes in about half the time into the columns the parser needs, without holding
the GIL, so worker threads parse in parallel. Answers that carry `errors` (rare, and usually
small) take the json.loads path, whose pages are then turned into the same Arrow form.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.json as pa_json

from kraken_pipeline.kraken.errors import ResponseFormatError, RetryableError
from kraken_pipeline.kraken.queries import alias

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


@dataclass(frozen=True)
class ConnectionPage:
    """One page of one alias's measurements connection, nodes as an Arrow struct array."""

    nodes: pa.StructArray  # NODE_TYPE; null entries for null nodes
    has_next_page: bool
    end_cursor: str | None


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
    """A decoder for answers of measurements_document(count): data maps alias -> ConnectionPage."""

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


def _pages_from_arrow(body: bytes, count: int) -> dict[str, ConnectionPage | None]:
    table = pa_json.read_json(
        io.BytesIO(body),
        read_options=pa_json.ReadOptions(block_size=len(body) + 1, use_threads=False),
        parse_options=pa_json.ParseOptions(
            explicit_schema=_answer_schema(count), unexpected_field_behavior="ignore"
        ),
    )
    if table.num_rows != 1:
        raise ResponseFormatError("the GraphQL API answered more than one JSON object")
    data = table.column("data").chunk(0)
    pages: dict[str, ConnectionPage | None] = {}
    for index in range(count):
        name = alias(index)
        # flatten() carries a null parent down to its children: a null property is a null page.
        connection = data.flatten()[index].flatten()[0]
        pages[name] = _page(connection) if connection[0].is_valid else None
    return pages


def _page(connection: pa.StructArray) -> ConnectionPage:
    info = connection.field("pageInfo")[0].as_py() or {}
    edges = connection.field("edges")
    return ConnectionPage(_nodes(edges), bool(info.get("hasNextPage")), info.get("endCursor"))


def _nodes(edges: pa.ListArray) -> pa.StructArray:
    """The nodes of a one-element list of edges; a null edge becomes a null node."""
    if not edges[0].is_valid:
        return pa.nulls(0, NODE_TYPE)
    return edges.flatten().flatten()[0]


def _pages_from_python(data: Any, count: int) -> dict[str, ConnectionPage | None]:
    pages: dict[str, ConnectionPage | None] = {}
    for index in range(count):
        name = alias(index)
        node = data.get(name) if isinstance(data, dict) else None
        connection = node.get("measurements") if isinstance(node, dict) else None
        if not isinstance(connection, dict):
            pages[name] = None
            continue
        try:
            edges = pa.array([connection.get("edges") or []], EDGES_TYPE)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise ResponseFormatError(
                f"a measurements page has an unexpected shape: {exc}"
            ) from None
        info = connection.get("pageInfo") or {}
        pages[name] = ConnectionPage(
            _nodes(edges), bool(info.get("hasNextPage")), info.get("endCursor")
        )
    return pages


@lru_cache(maxsize=64)
def _answer_schema(count: int) -> pa.Schema:
    data = pa.struct([(alias(index), _PROPERTY_TYPE) for index in range(count)])
    return pa.schema([("data", data)])


def _bad_json(body: bytes) -> RetryableError:
    return RetryableError(
        f"the GraphQL API answered a truncated or non-JSON body ({len(body)} bytes)",
        code="bad JSON",
    )
