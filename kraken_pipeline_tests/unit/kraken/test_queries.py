"""GraphQL documents are constants, valid against the schema, and inside the complexity limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    ValueNode,
    VariableNode,
    build_schema,
    parse,
    validate,
    visit,
)
from graphql.language import Visitor

import kraken_pipeline.emulator as emulator_package
from kraken_pipeline.emulator.complexity import complexity, requested_nodes
from kraken_pipeline.kraken.planning import MAX_COMPLEXITY, aliases_per_request
from kraken_pipeline.kraken.queries import (
    ALIAS_COMPLEXITY,
    RATE_LIMIT_COMPLEXITY,
    RATE_LIMIT_INFO,
    THIRD_PARTY_VIEWER,
    measurements_document,
)

SCHEMA = build_schema((Path(emulator_package.__file__).parent / "schema.graphql").read_text())


def split(document: str) -> tuple[OperationDefinitionNode, dict[str, FragmentDefinitionNode]]:
    ast = parse(document)
    operation = next(d for d in ast.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in ast.definitions if isinstance(d, FragmentDefinitionNode)}
    return operation, fragments


def cost(document: str) -> int:
    operation, fragments = split(document)
    return complexity(operation.selection_set, fragments)


class _LiteralArguments(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.literals: list[str] = []

    def enter_field(self, node: FieldNode, *_: object) -> None:
        for argument in node.arguments:
            value: ValueNode = argument.value
            if not isinstance(value, VariableNode):
                self.literals.append(argument.name.value)


@pytest.mark.parametrize(
    "document",
    [
        THIRD_PARTY_VIEWER,
        RATE_LIMIT_INFO,
        *map(measurements_document, (1, 7)),
        measurements_document(6, with_rate_limit=True),
    ],
)
def test_documents_are_valid_against_the_schema(document: str) -> None:
    assert validate(SCHEMA, parse(document)) == []


@pytest.mark.parametrize("count", [1, 3, 7])
def test_every_argument_value_is_a_variable(count: int) -> None:
    finder = _LiteralArguments()
    visit(parse(measurements_document(count)), finder)
    assert finder.literals == []


def test_the_document_for_a_count_is_built_once() -> None:
    assert measurements_document(4) is measurements_document(4)


def test_aliases_and_variables_follow_the_template() -> None:
    document = measurements_document(3)
    for index in range(3):
        assert f"p{index}: property(id: $propertyId{index})" in document
        assert f"$filters{index}: [UtilityFiltersInput!]!" in document
    assert "p3:" not in document


def test_the_complexity_per_alias_is_what_the_emulator_counts() -> None:
    for count in (1, 2, 7):
        assert cost(measurements_document(count)) == count * ALIAS_COMPLEXITY


def test_the_largest_batch_stays_under_the_complexity_limit() -> None:
    largest = aliases_per_request(page_size=1000, properties_per_request=100)
    assert cost(measurements_document(largest)) <= MAX_COMPLEXITY
    assert cost(measurements_document(largest + 1)) > MAX_COMPLEXITY


def test_the_largest_batch_stays_under_the_node_limit() -> None:
    for page_size in (1000, 2500, 100):
        count = aliases_per_request(page_size=page_size, properties_per_request=100)
        operation, fragments = split(measurements_document(count))
        nodes = requested_nodes(operation.selection_set, fragments, {"first": page_size}, 1000)
        assert nodes <= 10_000


def test_rate_limit_info_beside_the_measurements_costs_what_the_emulator_counts() -> None:
    assert cost(RATE_LIMIT_INFO) == RATE_LIMIT_COMPLEXITY
    for count in (1, 6):
        document = measurements_document(count, with_rate_limit=True)
        assert cost(document) == count * ALIAS_COMPLEXITY + RATE_LIMIT_COMPLEXITY
    largest = aliases_per_request(1000, 100, reserved=RATE_LIMIT_COMPLEXITY)
    assert cost(measurements_document(largest, with_rate_limit=True)) <= MAX_COMPLEXITY
    assert cost(measurements_document(largest + 1, with_rate_limit=True)) > MAX_COMPLEXITY
