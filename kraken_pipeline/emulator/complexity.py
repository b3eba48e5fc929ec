"""What a query costs: its complexity (KT-CT-1188 and rate-limit points) and its nodes (KT-CT-1189).

Kraken does not publish its complexity formula, so the emulator uses one simple enough for a
client to stay under the limit of 200 by construction:

- every field selected in the operation costs 1, counted once per place it appears after
  fragments are expanded (a fragment spread twice counts twice; each alias counts);
- a `measurements` field, being a connection, costs CONNECTION_COST (10) more;
- `__typename` and introspection (`__schema`, `__type` and all below them) cost nothing.

The query of kraken_api.md §5 costs 32: 1 property + 1 id + 11 measurements + 3 pageInfo
(hasNextPage, endCursor) + 1 edges + 1 node + 3 (value, unit, readAt) + 3 (startAt, endAt,
durationInSeconds) + 1 metaData + 1 utilityFilters + 4 electricity + 2 gas filter fields. Six
aliased copies of its `property` field cost 192 (allowed); seven cost 224 (KT-CT-1188).

Nodes: the sum over every `measurements` field of its `first` (else `last`, else the default
page size, which is the emulator's max_page_size), taken from literals or variables.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    SelectionSetNode,
    VariableNode,
)

CONNECTION_FIELD = "measurements"
CONNECTION_COST = 10

Fragments = Mapping[str, FragmentDefinitionNode]


def fields_of(selection_set: SelectionSetNode, fragments: Fragments) -> Iterator[FieldNode]:
    """The fields a selection set selects, with inline fragments and spreads expanded."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from fields_of(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from fields_of(fragment.selection_set, fragments)


def complexity(selection_set: SelectionSetNode, fragments: Fragments) -> int:
    """The complexity of a selection set under the rule in the module docstring."""
    total = 0
    for field in fields_of(selection_set, fragments):
        name = field.name.value
        if name.startswith("__"):
            continue  # __typename, and introspection with everything below it
        total += 1 + (CONNECTION_COST if name == CONNECTION_FIELD else 0)
        if field.selection_set is not None:
            total += complexity(field.selection_set, fragments)
    return total


def requested_nodes(
    selection_set: SelectionSetNode,
    fragments: Fragments,
    variables: Mapping[str, Any],
    default_page_size: int,
) -> int:
    """How many measurement nodes a selection set may return: the sum of its page sizes."""
    total = 0
    for field in fields_of(selection_set, fragments):
        if field.name.value == CONNECTION_FIELD:
            total += _page_size(field, variables, default_page_size)
        elif field.selection_set is not None:
            total += requested_nodes(field.selection_set, fragments, variables, default_page_size)
    return total


def _page_size(field: FieldNode, variables: Mapping[str, Any], default: int) -> int:
    arguments = {argument.name.value: argument.value for argument in field.arguments}
    for name in ("first", "last"):
        node = arguments.get(name)
        value: Any = None
        if isinstance(node, IntValueNode):
            value = int(node.value)
        elif isinstance(node, VariableNode):
            value = variables.get(node.name.value)
        if isinstance(value, int) and not isinstance(value, bool):
            return max(0, value)
    return default
