"""Answer bodies into values: the measurement page as msgspec Structs that state Kraken's schema.

A field the schema makes non-null for us is required, one it lets be null is optional, so a
connection without pageInfo or a node without a value is refused with its path instead of read
as an empty page. The envelope keeps each alias as raw JSON, decoded on its own: a wrongly typed
field fails only its own alias's property. Values and times stay strings; parsing.py casts them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from kraken_pipeline.kraken.errors import ResponseFormatError, RetryableError
from kraken_pipeline.kraken.queries import RATE_LIMIT_FIELD, alias

T = TypeVar("T")


# The selection of queries.MEASUREMENT_PAGE_FRAGMENT. gc=False: these hold no cycles, and a page
# makes tens of thousands of them that the garbage collector need not track.
class Filters(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """metaData.utilityFilters, a union: gas echoes no direction or quality, others nothing."""

    market_supply_point_id: str | None = None
    reading_direction: str | None = None
    reading_quality: str | None = None


class MetaData(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    utility_filters: Filters | None = None


class Node(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """An interval measurement. `unit` and `source` are String! in the schema but optional here:
    a node without a unit is dropped and counted (parsing.py), a null source lands as null."""

    value: str
    start_at: str
    end_at: str
    unit: str | None = None
    source: str | None = None
    meta_data: MetaData | None = None


class Edge(msgspec.Struct, frozen=True, gc=False):
    node: Node | None = None


class PageInfo(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    has_next_page: bool
    end_cursor: str | None = None


class Connection(msgspec.Struct, frozen=True, rename="camel"):
    """One page of one alias's measurements connection."""

    page_info: PageInfo
    edges: list[Edge | None]

    @property
    def nodes(self) -> list[Node]:
        """The nodes of the page; null edges and null nodes left out."""
        return [edge.node for edge in self.edges if edge is not None and edge.node is not None]


class _Property(msgspec.Struct, frozen=True):
    measurements: Connection | None = None  # nullable in the schema: a failure, not a page


class _Answer(msgspec.Struct, frozen=True):
    errors: list[Any] | None = None
    data: Any = None


class _MeasurementAnswer(msgspec.Struct, frozen=True):
    errors: list[Any] | None = None
    data: dict[str, msgspec.Raw] | None = None


@dataclass(frozen=True)
class BadPage:
    """One alias's page that does not fit the schema: `field` is the path of the first bad field
    (e.g. "$.data.p0.measurements.pageInfo"), `problem` what is wrong with it. The other aliases
    of the answer are unaffected; the caller fails this alias's property only."""

    field: str
    problem: str
    protocol: bool = False  # a required field missing or null: retried once before failing

    def describe(self) -> str:
        """`field $.data.p0.measurements.pageInfo is missing`."""
        return f"field {self.field} {self.problem}"


Decoded = tuple[list[Any], Any]  # (the `errors` list, the `data` value)

_ANSWER = msgspec.json.Decoder(_Answer)
_MEASUREMENT_ANSWER = msgspec.json.Decoder(_MeasurementAnswer)
_PROPERTY = msgspec.json.Decoder(_Property | None)
_MISSING = re.compile(r"Object missing required field `(?P<name>[^`]+)`")


def decode_json(body: bytes) -> Decoded:
    """The `errors` and `data` (plain JSON values) of an answer."""
    answer = _decode(_ANSWER, body)
    return answer.errors or [], answer.data or {}


def measurement_decoder(count: int) -> Callable[[bytes], Decoded]:
    """A decoder for answers of measurements_document(count, ...): data maps each alias to a
    Connection (None for a null property or connection, a BadPage for one that does not fit
    the schema) and "rateLimitInfo" to its plain JSON value."""

    def decode(body: bytes) -> Decoded:
        answer = _decode(_MEASUREMENT_ANSWER, body)
        data = answer.data or {}
        pages: dict[str, Any] = {name: _page(data, name) for name in map(alias, range(count))}
        rate_limit = data.get(RATE_LIMIT_FIELD)
        pages[RATE_LIMIT_FIELD] = None if rate_limit is None else msgspec.json.decode(rate_limit)
        return answer.errors or [], pages

    return decode


def _page(data: dict[str, msgspec.Raw], name: str) -> Connection | BadPage | None:
    raw = data.get(name)
    if raw is None:
        return None
    try:
        found = _PROPERTY.decode(raw)
    except msgspec.ValidationError as exc:
        return _bad_page(str(exc), name)
    return found.measurements if found is not None else None


def _bad_page(message: str, name: str) -> BadPage:
    """msgspec's "Expected `bool`, got `null` - at `$.measurements.pageInfo.hasNextPage`" as a
    BadPage naming the field from the answer's root; a missing or null field is a protocol one."""
    problem, _, where = message.partition(" - at `$")
    path = f"$.data.{name}{where.rstrip('`')}"
    if missing := _MISSING.fullmatch(problem):
        return BadPage(f"{path}.{missing['name']}", "is missing", protocol=True)
    if problem.endswith("got `null`"):
        return BadPage(path, "is null", protocol=True)
    return BadPage(path, f"does not fit the schema ({problem[0].lower()}{problem[1:]})")


def _decode(decoder: msgspec.json.Decoder[T], body: bytes) -> T:
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise ResponseFormatError(
            f"the GraphQL API answered JSON of another shape ({exc})"
        ) from None
    except msgspec.DecodeError:
        raise RetryableError(
            f"the GraphQL API answered a truncated or non-JSON body ({len(body)} bytes)",
            code="bad JSON",
        ) from None
