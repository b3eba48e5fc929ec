"""What a query costs: its complexity (KT-CT-1188 and rate-limit points) and its nodes (KT-CT-1189).

Kraken publishes no formula; the emulator's (docs/architecture.md, "The emulator") lets a
client stay under the limit of 200 by construction.
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
    """The complexity of a selection set: 1 per field selected (after fragments are expanded),
    CONNECTION_COST more per `measurements`, nothing for `__typename` and introspection.
    """
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
