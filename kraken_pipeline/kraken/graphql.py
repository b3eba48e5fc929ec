"""One GraphQL call with everything around it: token, points budget, retries, re-authentication.

This is the only loop that retries GraphQL requests. A call is tried up to max_attempts times
for retryable trouble, waiting as retry.RetryPolicy says and never past the deadline; a refused
token is replaced once and the request replayed at once (a second refusal is fatal). Errors that
concern one alias of a batched request (a property without permission) do not fail the others:
they come back in GraphQLAnswer.alias_errors next to the data that was served.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kraken_pipeline.kraken.auth import TokenProvider
from kraken_pipeline.kraken.errors import (
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
from kraken_pipeline.kraken.ratelimit import PointsBucket
from kraken_pipeline.kraken.retry import Deadline, RetryPolicy
from kraken_pipeline.kraken.settings import KrakenSettings
from kraken_pipeline.kraken.transport import HttpTransport
from kraken_pipeline.kraken.wire import Decoded, decode_json

Decoder = Callable[[bytes], Decoded]

log = logging.getLogger(__name__)

# Which classified error wins when one answer carries several: the one whose reaction fixes
# the most (a new token, then waiting, then a smaller request, then giving up).
_PRECEDENCE = (ReauthenticateError, RetryableError, ShrinkRequestError, FatalError)


@dataclass(frozen=True)
class GraphQLAnswer:
    """The decoded `data` of an answer, the per-alias fatal errors, and when it arrived."""

    data: Any
    alias_errors: Mapping[str, TargetError]
    received_at: datetime


@dataclass
class RequestTally:
    """HTTP requests one logical call made to the GraphQL endpoint, retries included."""

    sent: int = 0


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
        variables: Mapping[str, Any],
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
                if bucket is not None:
                    bucket.take(cost, deadline)
                return self._once(document, variables, deadline, aliases or {}, tally, decode)
            except ReauthenticateError as exc:
                if reauthenticated:
                    raise _refused_twice(exc, self._settings.client_id) from None
                reauthenticated = True
                attempt -= 1  # the replay with a new token is not a retry of the trouble
                log.info("%s: token refused (%s); minted a new one, replaying", operation, exc.code)
            except RetryableError as exc:
                if self._policy.gives_up_after(attempt):
                    raise RetriesExhaustedError(exc, attempt, operation) from None
                log.warning("%s: attempt %d failed (%s); retrying", operation, attempt, exc.code)
                self._policy.wait(attempt, exc, deadline)

    def _once(
        self,
        document: str,
        variables: Mapping[str, Any],
        deadline: Deadline,
        aliases: Mapping[str, str],
        tally: RequestTally,
        decode: Decoder,
    ) -> GraphQLAnswer:
        token = self._tokens.token()
        tally.sent += 1
        answer = self._transport.post(
            self._settings.api_url,
            "graphql",
            json_body={"query": document, "variables": dict(variables)},
            headers={"Authorization": token.value.reveal()},
            read_timeout=max(0.001, min(self._settings.read_timeout, deadline.remaining())),
        )
        if answer.status != 200:
            raise http_error(answer.status, answer.content_type, answer.retry_after, "the API")
        errors, data = decode(answer.body)
        alias_errors, request_errors = _sort_errors(errors, aliases)
        if request_errors:
            worst = _most_urgent(request_errors)
            if isinstance(worst, ReauthenticateError):
                self._tokens.invalidate(token)
            raise worst
        return GraphQLAnswer(data, alias_errors, answer.received_at)


def _sort_errors(
    errors: list[Any], aliases: Mapping[str, str]
) -> tuple[dict[str, TargetError], list[KrakenError]]:
    """Split an `errors` list into fatal errors of single aliases and errors of the request."""
    alias_errors: dict[str, TargetError] = {}
    request_errors: list[KrakenError] = []
    for entry in errors:
        entry = entry if isinstance(entry, dict) else {}
        path = entry.get("path")
        alias = path[0] if isinstance(path, list) and path and path[0] in aliases else None
        error = graphql_error(entry, aliases.get(alias or ""))
        if alias is not None and isinstance(error, TargetError):
            alias_errors.setdefault(alias, error)
        else:
            request_errors.append(error)
    return alias_errors, request_errors


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
