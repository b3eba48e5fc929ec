"""One GraphQL call with everything around it: token, points budget, retries, re-authentication.

This is the only loop that retries GraphQL requests. A call is tried up to max_attempts times
for retryable trouble, waiting as retry.RetryPolicy says and never past the deadline; a refused
token is replaced once and the request replayed at once (a second refusal is fatal). Errors that
concern one alias of a batched request (a property without permission) do not fail the others:
they come back in GraphQLAnswer.alias_errors next to the data that was served. An answer of any
HTTP status whose body is GraphQL JSON with `errors` is classified by those errors (Kraken, a
graphene-django service, answers 400 for errors without a `path`); only other bodies are judged
by their status. A call charged
to a points budget reserves its cost before each attempt and settles it after, handing the
budget the rateLimitInfo of the answer when the document asked for it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kraken_pipeline.kraken.auth import TokenProvider
from kraken_pipeline.kraken.errors import (
    NO_CODE,
    AuthenticationError,
    FatalError,
    KrakenError,
    ReauthenticateError,
    RetriesExhaustedError,
    RetryableError,
    ShrinkRequestError,
    TargetError,
    graphql_error,
    http_error,
)
from kraken_pipeline.kraken.queries import RATE_LIMIT_FIELD, RATE_LIMIT_INFO
from kraken_pipeline.kraken.ratelimit import PointsAllowance, PointsBucket, allowance_from_graphql
from kraken_pipeline.kraken.redaction import redact
from kraken_pipeline.kraken.retry import Deadline, RetryPolicy
from kraken_pipeline.kraken.settings import KrakenSettings
from kraken_pipeline.kraken.transport import HttpAnswer, HttpTransport
from kraken_pipeline.kraken.wire import Decoded, decode_json

Decoder = Callable[[bytes], Decoded]
# Variables, or a function that builds them when the request is about to leave (after waiting
# for a free slot), so that they reflect the latest page size.
Variables = Mapping[str, Any] | Callable[[], Mapping[str, Any]]

log = logging.getLogger(__name__)

RATE_LIMITED = "KT-CT-1199"

# Which classified error wins when one answer carries several: the one whose reaction fixes
# the most (a new token, then waiting, then a smaller request, then giving up).
_PRECEDENCE = (ReauthenticateError, RetryableError, ShrinkRequestError, FatalError)


@dataclass(frozen=True)
class GraphQLAnswer:
    """The decoded `data` of an answer, the per-alias errors, when it arrived, and the points
    allowance when the document asked rateLimitInfo.

    An alias error is a TargetError (that alias's properties fail) or a RetryableError (the
    alias failed without an error code while the others were served: send it again, at most
    `max_attempts` times).
    """

    data: Any
    alias_errors: Mapping[str, KrakenError]
    received_at: datetime
    allowance: PointsAllowance | None = None


@dataclass
class RequestTally:
    """HTTP requests one logical call made to the GraphQL endpoint, retries included, and when
    the last one left and its answer arrived (time.monotonic, not the injectable clock: these
    order real network events, which is what tells whose charges a reading includes)."""

    sent: int = 0
    sent_at: float | None = None
    answered_at: float | None = None


class GraphQLCaller:
    """Executes GraphQL documents against the configured API for any number of threads."""

    def __init__(
        self,
        settings: KrakenSettings,
        transport: HttpTransport,
        tokens: TokenProvider,
        policy: RetryPolicy,
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._tokens = tokens
        self._policy = policy

    def execute(
        self,
        document: str,
        variables: Variables,
        *,
        operation: str,
        deadline: Deadline,
        bucket: PointsBucket | None = None,
        cost: int = 0,
        aliases: Mapping[str, str] | None = None,
        tally: RequestTally | None = None,
        decode: Decoder = decode_json,
    ) -> GraphQLAnswer:
        """Run a document to an answer, or raise the classified error that ended the attempts.

        `aliases` maps an alias to the property it reads, so errors on that alias stay its own.
        """
        tally = tally if tally is not None else RequestTally()
        attempt = 0
        reauthenticated = False
        while True:
            deadline.check()
            attempt += 1
            try:
                if bucket is None:
                    return self._once(document, variables, deadline, aliases or {}, tally, decode)
                return self._charged(
                    bucket, cost, document, variables, deadline, aliases or {}, tally, decode
                )
            except ReauthenticateError as exc:
                if reauthenticated:
                    raise _refused_twice(exc, self._settings.client_id) from None
                reauthenticated = True
                attempt -= 1  # the replay with a new token is not a retry of the trouble
                log.info("%s: token refused (%s); minted a new one, replaying", operation, exc.code)
            except RetryableError as exc:
                if self._policy.gives_up_after(attempt, exc):
                    raise RetriesExhaustedError(exc, attempt, operation) from None
                log.warning("%s: attempt %d failed (%s); retrying", operation, attempt, exc.code)
                self._policy.wait(attempt, exc, deadline)
                if exc.code == RATE_LIMITED and bucket is not None and bucket.follows_readings:
                    self._learn_allowance(bucket, deadline)

    def _learn_allowance(self, bucket: PointsBucket, deadline: Deadline) -> None:
        """Ask rateLimitInfo alone, so the budget waits for the refill instead of guessing."""
        try:
            answer = self._once(RATE_LIMIT_INFO, {}, deadline, {}, RequestTally(), decode_json)
        except KrakenError as exc:
            log.warning("rateLimitInfo after KT-CT-1199 failed (%s); backing off", exc.code)
            return
        if answer.allowance is not None:
            bucket.observe(answer.allowance, answer.received_at)

    def _charged(
        self,
        bucket: PointsBucket,
        cost: int,
        document: str,
        variables: Variables,
        deadline: Deadline,
        aliases: Mapping[str, str],
        tally: RequestTally,
        decode: Decoder,
    ) -> GraphQLAnswer:
        """One attempt paid from the budget, which learns what is left when the answer says."""
        bucket.take(cost, deadline)
        answer: GraphQLAnswer | None = None
        try:
            answer = self._once(document, variables, deadline, aliases, tally, decode)
            return answer
        finally:
            if answer is None:
                bucket.settle(cost, None, None)
            else:
                bucket.settle(cost, answer.allowance, answer.received_at)

    def _once(
        self,
        document: str,
        variables: Variables,
        deadline: Deadline,
        aliases: Mapping[str, str],
        tally: RequestTally,
        decode: Decoder,
    ) -> GraphQLAnswer:
        # Only sending and reading hold a slot; decoding happens after, beside other requests.
        with self._transport.api_slot():
            token = self._tokens.token(deadline.remaining())
            values = variables() if callable(variables) else variables
            tally.sent += 1
            tally.sent_at, tally.answered_at = time.monotonic(), None
            answer = self._transport.post(
                self._settings.api_url,
                "graphql",
                json_body={"query": document, "variables": dict(values)},
                headers={"Authorization": token.value.get_secret_value()},
                read_timeout=max(0.001, min(self._settings.read_timeout, deadline.remaining())),
            )
            tally.answered_at = time.monotonic()
        errors, data = decode(answer.body) if answer.status == 200 else _error_body(answer, decode)
        alias_errors, request_errors = _sort_errors(errors, aliases, answer.status)
        if request_errors:
            worst = _most_urgent(request_errors)
            if isinstance(worst, ReauthenticateError):
                self._tokens.invalidate(token)
            raise worst
        allowance = allowance_from_graphql(
            data.get(RATE_LIMIT_FIELD) if isinstance(data, dict) else None
        )
        return GraphQLAnswer(data, alias_errors, answer.received_at, allowance)


def _error_body(answer: HttpAnswer, decode: Decoder) -> Decoded:
    """The `errors` and `data` of a non-200 answer, or its status's error for any other body."""
    try:
        errors, data = decode(answer.body)
    except KrakenError:
        errors, data = [], None
    if not any(isinstance(entry, dict) for entry in errors):
        raise http_error(answer.status, answer.content_type, answer.retry_after, "the API")
    return errors, data


def _sort_errors(
    errors: list[Any], aliases: Mapping[str, str], status: int = 200
) -> tuple[dict[str, KrakenError], list[KrakenError]]:
    """Split an `errors` list into errors of single aliases and errors of the request."""
    alias_errors: dict[str, KrakenError] = {}
    request_errors: list[KrakenError] = []
    for entry in errors:
        entry = entry if isinstance(entry, dict) else {}
        path = entry.get("path")
        root = path[0] if isinstance(path, list) and path else None
        if aliases and root == RATE_LIMIT_FIELD:
            # Asked on the side of measurements, it must not fail them; a refusal of the whole
            # request shows on every alias too.
            log.debug(
                "rateLimitInfo failed beside the measurements: %s",
                redact(str(entry.get("message"))),
            )
            continue
        alias = root if root in aliases else None
        error = graphql_error(entry, aliases.get(alias or ""), status)
        if alias is not None and _alias_kind(error):
            alias_errors.setdefault(alias, error)
        else:
            request_errors.append(error)
    return alias_errors, request_errors


def _alias_kind(error: KrakenError) -> bool:
    """Whether an error on one alias stays that alias's: fatal for it, or worth sending again
    without a code. Coded retryable errors (KT-CT-7899, 1199), refused tokens and too large
    requests concern the whole request."""
    return isinstance(error, TargetError) or (
        isinstance(error, RetryableError) and error.code == NO_CODE
    )


def _most_urgent(errors: list[KrakenError]) -> KrakenError:
    for kind in _PRECEDENCE:
        for error in errors:
            if isinstance(error, kind):
                return error
    return errors[0]


def _refused_twice(exc: ReauthenticateError, client_id: str) -> AuthenticationError:
    return AuthenticationError(
        f"the API refused a freshly minted token of client {client_id!r} ({exc.message}); "
        "check that the OAuth application is active and that KRAKEN_AUTH_URL "
        "and KRAKEN_API_URL belong to the same Kraken",
        code=exc.code,
    )
