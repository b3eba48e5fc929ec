"""POST /v1/graphql/: validate, admit, execute and answer in Kraken's envelope.

Parse and validate (cached by query text), admit (faults, token, complexity, nodes, points),
execute (measurement pages by projection.py) and wrap every error with its `errorType`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    execute,
    get_operation_ast,
    parse,
    validate,
)

from kraken_pipeline.emulator.answer_cache import AnswerCache
from kraken_pipeline.emulator.answers import Answer, RawJsonSlots, json_answer
from kraken_pipeline.emulator.complexity import complexity, fields_of, requested_nodes
from kraken_pipeline.emulator.config import ClientGrant
from kraken_pipeline.emulator.errors import CATALOGUE, INTERNAL_ERROR, KrakenError
from kraken_pipeline.emulator.projection import MeasurementsExecutionContext
from kraken_pipeline.emulator.resolvers import RequestContext
from kraken_pipeline.emulator.state import EmulatorState

# Root fields a viewer may always ask for, so a blocked client can still see when it may resume.
_FREE_ROOT_FIELDS = frozenset({"rateLimitInfo", "__typename"})
_KRAKEN_ERROR = frozenset({"kraken_error"})
# Limits checked before execution: with pathless_error_status set, answered without a path.
_PATHLESS_CODES = frozenset({"KT-CT-1188", "KT-CT-1189", "KT-CT-1201", "KT-CT-1202", "KT-CT-1203"})


@dataclass(frozen=True)
class GraphQLRequest:
    """The JSON body of a GraphQL POST."""

    query: str
    variables: Mapping[str, Any]
    operation_name: str | None


@dataclass(frozen=True)
class PreparedDocument:
    """A parsed and validated document with its static cost."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    operation: OperationDefinitionNode | None = None
    fragments: Mapping[str, FragmentDefinitionNode] | None = None
    complexity: int = 0
    root_fields: frozenset[str] = frozenset()


@lru_cache(maxsize=512)
def prepare(schema: GraphQLSchema, query: str, operation_name: str | None) -> PreparedDocument:
    """Parse, validate and cost a document once per (schema, query text, operation name)."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return PreparedDocument(None, (error,))
    errors = validate(schema, document)
    if errors:
        return PreparedDocument(None, tuple(errors))
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return PreparedDocument(document, ())  # execution reports the missing operation
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    cost = complexity(operation.selection_set, fragments)
    roots = frozenset(field.name.value for field in fields_of(operation.selection_set, fragments))
    return PreparedDocument(document, (), operation, fragments, cost, roots)


class GraphQLEndpoint:
    """Answers GraphQL requests for one emulator."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._answers = AnswerCache(state) if state.config.cache_answers else None

    def answer(self, body: bytes, authorization: str | None) -> Answer:
        """The HTTP answer to one POST body."""
        try:
            request = parse_request(body)
        except ValueError as exc:
            return json_answer(400, {"errors": [{"message": str(exc)}]})
        prepared = prepare(self._state.schema, request.query, request.operation_name)
        if prepared.document is None:
            return self._respond({"errors": [_formatted(e, "VALIDATION") for e in prepared.errors]})
        context = self._admit(prepared, request.variables, authorization)
        if _refused_before_execution(context, self._state.config.pathless_error_status):
            assert context.refusal is not None
            return self._respond({"errors": [dict(context.refusal.to_graphql_error().formatted)]})
        render = partial(self._render, prepared, request, context)
        if (
            self._answers is not None
            and context.grant is not None
            and _cacheable(prepared, context)
        ):
            return self._answers.answer(body, context.grant.client_id, context.now, render)
        return render(self._state)[0]

    def _render(
        self,
        prepared: PreparedDocument,
        request: GraphQLRequest,
        context: RequestContext,
        state: EmulatorState,
    ) -> tuple[Answer, bool]:
        """Execute with `state` (the emulator's, or one counting nodes): answer, error-free."""
        assert prepared.document is not None  # answer() returned validation errors already
        result = execute(
            self._state.schema,
            prepared.document,
            context_value=replace(context, state=state),
            variable_values=dict(request.variables),
            operation_name=request.operation_name,
            execution_context_class=MeasurementsExecutionContext,
        )
        assert isinstance(result, ExecutionResult)  # no resolver is asynchronous
        payload = _envelope(result)
        return self._respond(payload, context.raw_json), "errors" not in payload

    def _respond(self, payload: dict[str, Any], raw_json: RawJsonSlots | None = None) -> Answer:
        codes = {
            error["extensions"].get("errorCode") or error["extensions"]["errorType"]
            for error in payload.get("errors", ())
        }
        if codes:
            self._state.stats.count_errors(codes)
        status = 200
        errors = payload.get("errors")
        if errors and "data" not in payload and not any(e.get("path") for e in errors):
            status = self._state.config.pathless_error_status  # graphene-django's 400
        if raw_json is None:
            return json_answer(status, payload)
        return Answer(status, raw_json.dumps(payload).encode())

    def _admit(
        self, prepared: PreparedDocument, variables: Mapping[str, Any], authorization: str | None
    ) -> RequestContext:
        state = self._state
        now = state.clock.now()
        fault = state.faults.take(_KRAKEN_ERROR, "graphql")
        if fault is not None:
            return RequestContext(state, None, KrakenError(fault.code), now)
        try:
            grant = state.tokens.authenticate(authorization)
        except KrakenError as failure:
            return RequestContext(state, None, failure, now)
        refusal = self._limits(prepared, variables, grant, now)
        return RequestContext(state, grant, refusal, now)

    def _limits(
        self,
        prepared: PreparedDocument,
        variables: Mapping[str, Any],
        grant: ClientGrant,
        now: datetime,
    ) -> KrakenError | None:
        config = self._state.config
        if prepared.operation is None or prepared.fragments is None:
            return None
        nodes = requested_nodes(
            prepared.operation.selection_set, prepared.fragments, variables, config.max_page_size
        )
        weighted = prepared.complexity + int(nodes * config.complexity_per_node)
        if weighted > config.max_complexity:
            return KrakenError("KT-CT-1188")
        if config.page_size_error_code and _largest_first(variables) > config.max_page_size:
            return PageSizeRefusedError(config.page_size_error_code, config.max_page_size + 1)
        if nodes > config.max_nodes:
            return KrakenError("KT-CT-1189")
        charged = self._state.allowance.charge(grant.client_id, max(1, prepared.complexity), now)
        if not charged and not prepared.root_fields <= _FREE_ROOT_FIELDS:
            return KrakenError("KT-CT-1199")
        return None


def _refused_before_execution(context: RequestContext, pathless_status: int) -> bool:
    """Whether a refusal is answered without a path, as Kraken does for limits it checks first."""
    refusal = context.refusal
    return pathless_status != 200 and refusal is not None and refusal.code in _PATHLESS_CODES


class PageSizeRefusedError(KrakenError):
    """`first` refused with a KT-CT code, as some tenants do: errorType VALIDATION, the
    argument named in validationErrors, and the bound in the message."""

    def __init__(self, code: str, bound: int) -> None:
        super().__init__(code, f"`first` must be less than {bound}.", ("first",))

    def to_graphql_error(self) -> GraphQLError:
        message = self.description or ""
        extensions = {
            "errorType": "VALIDATION",
            "errorCode": self.code,
            "errorDescription": message,
            "validationErrors": [{"message": message, "inputPath": list(self.input_path)}],
        }
        return GraphQLError(message, extensions=extensions)


def _largest_first(variables: Mapping[str, Any]) -> int:
    value = variables.get("first")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _cacheable(prepared: PreparedDocument, context: RequestContext) -> bool:
    """Whether an admitted request's answer depends only on its body, grant and the clock."""
    # rateLimitInfo reports the allowance, which every request charges.
    return context.refusal is None and "rateLimitInfo" not in prepared.root_fields


def parse_request(body: bytes) -> GraphQLRequest:
    """The query, variables and operation name of a POST body; ValueError when malformed."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("The request body is not valid JSON.") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        raise ValueError("The request body must be a JSON object with a 'query' string.")
    variables = payload.get("variables") or {}
    operation_name = payload.get("operationName")
    if not isinstance(variables, dict) or not isinstance(operation_name, str | None):
        raise ValueError("'variables' must be an object and 'operationName' a string.")
    return GraphQLRequest(payload["query"], variables, operation_name)


def _envelope(result: ExecutionResult) -> dict[str, Any]:
    """Kraken's answer: errors first, then data (absent when the request never executed)."""
    payload: dict[str, Any] = {}
    if result.errors:
        # An error without Kraken extensions either stopped the request before execution
        # (invalid variables: a validation error) or escaped a resolver (an internal error).
        fallback = "VALIDATION" if result.data is None else INTERNAL_ERROR
        payload["errors"] = [_formatted(error, fallback) for error in result.errors]
    if result.data is not None:
        payload["data"] = result.data
    return payload


def _formatted(error: GraphQLError, fallback: str) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    if "errorType" in (formatted.get("extensions") or {}):
        return formatted
    if fallback == INTERNAL_ERROR:
        error_type, _message, description = CATALOGUE[INTERNAL_ERROR]
        formatted["extensions"] = {
            "errorType": error_type,
            "errorCode": INTERNAL_ERROR,
            "errorDescription": description,
        }
    else:
        formatted["extensions"] = {"errorType": fallback}
    return formatted
