"""Every error the Kraken client raises, and the one place where answers are classified.

DESIGN.md decision 6: an answer is classified once, here, into four kinds, and each kind has one
reaction elsewhere:

- RetryableError: transient trouble; try again with backoff, bounded by attempts and a deadline.
- ReauthenticateError: the API refused the token; mint a new one once and replay the request.
- ShrinkRequestError: the request asked for too much; make its `dimension` smaller and go on.
- FatalError: trying again cannot help; the message says what to fix. TargetError is the fatal
  kind that concerns one property only, so the other properties of a run still land.

A GraphQL error is classified by its errorCode whatever the HTTP status it came with; one without
a code by the status (for the request) or as worth sending again (for one alias). Messages name
the operation, the property or the client id, and are redacted when made (redaction.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from kraken_pipeline.kraken.redaction import redact

INTERNAL_ERROR = "KT-CT-7899"
RETRYABLE_CODES = frozenset({"KT-CT-1199", "KT-CT-1147", INTERNAL_ERROR})
REAUTHENTICATE_CODES = frozenset(
    {
        "KT-CT-1120",
        "KT-CT-1124",
        "KT-CT-1125",
        "KT-CT-1126",
        "KT-CT-1127",
        "KT-CT-1143",
        "KT-CT-1144",
        "KT-CT-1162",
        "KT-CT-1163",
    }
)
TOO_COMPLEX = "KT-CT-1188"
TOO_MANY_NODES = "KT-CT-1189"
PAGE_SIZE_CODES = frozenset({"KT-CT-1201", "KT-CT-1202", "KT-CT-1203"})
SHRINK_CODES = frozenset({TOO_COMPLEX, TOO_MANY_NODES}) | PAGE_SIZE_CODES
# What a ShrinkRequestError asks to make smaller: properties per request (a too complex query),
# nodes per request (page size times properties), or the page size alone.
ShrinkDimension = Literal["aliases", "nodes", "page_size"]
PERMISSION_CODES = frozenset(
    {"KT-CT-1111", "KT-CT-1128", "KT-CT-1129", "KT-CT-1130", "KT-CT-1131", "KT-CT-1132"}
)
TARGET_CODES = PERMISSION_CODES | {"KT-CT-4177", "KT-CT-4178", "KT-CT-1113", "KT-CT-1114"}

# A token endpoint that refuses connections is nearly always a wrong KRAKEN_AUTH_URL or a host
# that is down: one more try rides out a restart without minutes of backoff before the message.
REFUSED_TOKEN_ENDPOINT_ATTEMPTS = 2

# Kraken sends no Retry-After with KT-CT-1199 and some per-field limits tighten on repeated
# breaches, so a rate-limited request waits at least this long before it is tried again.
RATE_LIMITED_MIN_DELAY = 10.0

# KT-CT-7899 has been seen to persist for hours on one field: a few tries, then that part fails.
INTERNAL_ERROR_ATTEMPTS = 3
# The code of a RetryableError for one alias that failed without an errorCode.
NO_CODE = "no code"


class KrakenError(Exception):
    """Base of every error of the client; `code` is a short tag, e.g. "KT-CT-1111" or "HTTP 502".

    The message is redacted when the error is made (redaction.py), so no secret, token or URL
    password can reach a log, a fetch log or a traceback through an error of the client.
    """

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(redact(message))
        self.code = code

    @property
    def message(self) -> str:
        """The human-readable, secret-free explanation."""
        return str(self.args[0]) if self.args else ""


class ConfigurationError(KrakenError, ValueError):
    """A setting is missing or invalid; the message names the setting or environment variable."""


class RetryableError(KrakenError):
    """Transient trouble (5xx, timeout, reset, truncated JSON, 429, CDN 403, KT-CT-1199/7899).

    `retry_after` is the server's requested wait in seconds (Retry-After), `min_delay` a floor
    for the backoff of this kind of trouble, `max_attempts` a cap below the policy's attempts for
    trouble that rarely passes by itself (None: the policy decides).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retry_after: float | None = None,
        min_delay: float = 0.0,
        max_attempts: int | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
        self.min_delay = min_delay
        self.max_attempts = max_attempts


class TokenUnavailableError(RetryableError):
    """No token could be had: the token endpoint failed, timed out or is cooling down."""


class TokenEndpointThrottledError(TokenUnavailableError):
    """The token endpoint is throttling (429, 5xx, HTML 403) and no unexpired token is cached."""


class ReauthenticateError(KrakenError):
    """The API refused the access token (expired, rotated keys, not a credential): mint once."""


class ShrinkRequestError(KrakenError):
    """The request was too large: make `dimension` smaller and send it again.

    "aliases": too complex (KT-CT-1188), fewer properties per request; "nodes": too many nodes
    (KT-CT-1189), fewer nodes per request; "page_size": KT-CT-1201/1202/1203 or a validation
    error naming `first`, a smaller page size.
    """

    def __init__(
        self, message: str, *, code: str | None = None, dimension: ShrinkDimension | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.dimension: ShrinkDimension = (
            dimension or _shrink_dimension(code, {}, "") or "page_size"
        )


class FatalError(KrakenError):
    """Trying again cannot help; the run stops and the message says what to fix."""


class InvalidClientError(FatalError):
    """The token endpoint refused the client id or secret (`invalid_client`)."""


class AuthenticationError(FatalError):
    """Authentication failed for another reason, or a freshly minted token was refused too."""


class DeadlineExceededError(FatalError):
    """The overall deadline of the operation passed before it could finish."""


class RetriesExhaustedError(FatalError):
    """A request kept failing with retryable trouble until its attempts ran out."""

    def __init__(self, last: RetryableError, attempts: int, operation: str) -> None:
        super().__init__(
            f"{operation} failed after {attempts} attempts; last error: {last.message}",
            code=last.code,
        )
        self.last = last
        self.attempts = attempts


class TargetError(FatalError):
    """Fatal for one property only (no permission, not found, field disabled): others go on."""

    def __init__(self, message: str, *, code: str | None, property_id: str | None) -> None:
        super().__init__(message, code=code)
        self.property_id = property_id


class ResponseFormatError(FatalError):
    """The API answered 200 with JSON that does not have the documented shape."""


class ProtocolViolationError(ResponseFormatError):
    """An answer that breaks the connection protocol (a required field missing or null, more
    edges than asked for, a cursor that does not move on): retried once, then the alias fails."""


def stops_everything(error: KrakenError) -> bool:
    """Whether an error ends the whole run, rather than the part of it one property needs.

    Without a token or time nothing can succeed; everything else fails its own properties only.
    """
    if isinstance(error, RetriesExhaustedError):
        return isinstance(error.last, TokenUnavailableError)
    fatal_for_all = InvalidClientError | AuthenticationError | DeadlineExceededError
    return isinstance(error, fatal_for_all) or error.code == "tls"


def invalid_client_error(client_id: str) -> InvalidClientError:
    """The error for an `invalid_client` answer: names the client id, never the secret."""
    return InvalidClientError(
        f"the token endpoint refused client id {client_id!r} (invalid_client): check "
        "KRAKEN_CLIENT_ID and KRAKEN_CLIENT_SECRET. If the secret was regenerated on the Kraken "
        "support site, the old one stopped working at once: set the new secret.",
        code="invalid_client",
    )


def http_error(
    status: int, content_type: str, retry_after: float | None, where: str
) -> KrakenError:
    """Classify a non-200 HTTP answer of the GraphQL API whose body holds no GraphQL errors."""
    code = f"HTTP {status}"
    is_html = "html" in content_type.lower()
    if _transient_status(status) or (status == 403 and is_html):
        return RetryableError(f"{where} answered {code}", code=code, retry_after=retry_after)
    return FatalError(f"{where} answered {code}; this client cannot go on", code=code)


def graphql_error(
    error: Mapping[str, Any], property_id: str | None, status: int = 200
) -> KrakenError:
    """Classify one entry of a GraphQL `errors` list, whatever the HTTP status it came with.

    `property_id` is the property of the alias the error's path names (None: the error concerns
    the whole request). An error without an errorCode is judged by the HTTP status when it
    concerns the request, and is worth sending again when it concerns one alias.
    """
    extensions = error.get("extensions")
    extensions = extensions if isinstance(extensions, Mapping) else {}
    code = extensions.get("errorCode")
    code = str(code) if code else None
    text = str(error.get("message") or "no message")
    subject = f"property {property_id}" if property_id else "the request"
    if code in RETRYABLE_CODES:
        return _retryable_code(code, subject, text)
    if code in REAUTHENTICATE_CODES:
        return ReauthenticateError(f"{code}: {text}", code=code)
    dimension = _shrink_dimension(code, extensions, text)
    if dimension is not None:
        return ShrinkRequestError(
            f"{code or 'VALIDATION'} for {subject}: {text}", code=code, dimension=dimension
        )
    if code in PERMISSION_CODES:
        return TargetError(
            _permission_message(code, property_id), code=code, property_id=property_id
        )
    if code is None:
        return _codeless_error(subject, text, property_id, status)
    if code in TARGET_CODES:
        return TargetError(f"{code} for {subject}: {text}", code=code, property_id=property_id)
    if property_id is not None:
        return TargetError(
            f"{subject} failed with {code}, a code this client does not know: {text}",
            code=code,
            property_id=property_id,
        )
    # Fatal for the properties of this request only (stops_everything says no), not the run.
    return FatalError(
        f"the API refused the request with {code}, a code this client does not know: {text}",
        code=code,
    )


def _retryable_code(code: str, subject: str, text: str) -> RetryableError:
    floor = RATE_LIMITED_MIN_DELAY if code == "KT-CT-1199" else 0.0
    cap = INTERNAL_ERROR_ATTEMPTS if code == INTERNAL_ERROR else None
    return RetryableError(
        f"{code} for {subject}: {text}", code=code, min_delay=floor, max_attempts=cap
    )


def _codeless_error(subject: str, text: str, property_id: str | None, status: int) -> KrakenError:
    if property_id is not None:
        # Raised while resolving one alias: the others' data is good, this alias is sent again.
        return RetryableError(
            f"{subject} failed without an error code: {text}",
            code=NO_CODE,
            max_attempts=INTERNAL_ERROR_ATTEMPTS,
        )
    if _transient_status(status):
        return RetryableError(f"the API answered HTTP {status}: {text}", code=f"HTTP {status}")
    return FatalError(f"the API refused the request (no error code): {text}", code=None)


def _transient_status(status: int) -> bool:
    return status == 429 or status >= 500


def _shrink_dimension(
    code: str | None, extensions: Mapping[str, Any], text: str
) -> ShrinkDimension | None:
    if code == TOO_COMPLEX:
        return "aliases"
    if code == TOO_MANY_NODES:
        return "nodes"
    if code in PAGE_SIZE_CODES or _is_page_size_error(extensions, text):
        return "page_size"
    return None


def _permission_message(code: str, property_id: str | None) -> str:
    target = f"property {property_id}" if property_id else "the request"
    return (
        f"{code}: not authorised to read {target}. The OAuth application's role probably lacks "
        "CAN_VIEW_DETAILED_USAGE or CAN_QUERY_PROPERTY, or the property is not granted to it: "
        "ask the Kraken operator to add the permission or grant the property."
    )


def _is_page_size_error(extensions: Mapping[str, Any], text: str) -> bool:
    # Tenants that cap `first` answer a VALIDATION error naming the argument, not a KT-CT code.
    if extensions.get("errorType") != "VALIDATION":
        return False
    details = extensions.get("validationErrors")
    details = details if isinstance(details, list) else []
    paths = [str(item.get("inputPath")) for item in details if isinstance(item, Mapping)]
    return "first" in text.lower() or any("first" in path for path in paths)


def token_endpoint_error(
    status: int,
    content_type: str,
    oauth_error: str | None,
    client_id: str,
    retry_after: float | None = None,
) -> KrakenError:
    """Classify a non-200 answer of the token endpoint (RFC 6749 section 5.2 error bodies)."""
    if oauth_error == "invalid_client" or status == 401:
        return invalid_client_error(client_id)
    if status == 429 or status >= 500 or (status == 403 and "html" in content_type.lower()):
        return TokenEndpointThrottledError(
            f"the token endpoint is throttling (HTTP {status})",
            code=f"HTTP {status}",
            retry_after=retry_after,
        )
    return AuthenticationError(
        f"the token endpoint refused client id {client_id!r} with HTTP {status} "
        f"({oauth_error or 'no OAuth error code'}): check KRAKEN_AUTH_URL and that the OAuth "
        "application uses the client-credentials grant",
        code=oauth_error or f"HTTP {status}",
    )
