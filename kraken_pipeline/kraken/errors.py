"""Every error the Kraken client raises, and the one place where answers are classified.

DESIGN.md decision 6: an answer is classified once, here, into four kinds, and each kind has one
reaction elsewhere:

- RetryableError: transient trouble; try again with backoff, bounded by attempts and a deadline.
- ReauthenticateError: the API refused the token; mint a new one once and replay the request.
- ShrinkRequestError: the request asked for too much; halve the page size and go on.
- FatalError: trying again cannot help; the message says what to fix. TargetError is the fatal
  kind that concerns one property only, so the other properties of a run still land.

Messages name the operation, the property or the client id, never a secret or a token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RETRYABLE_CODES = frozenset({"KT-CT-1199", "KT-CT-7899"})
REAUTHENTICATE_CODES = frozenset(
    {
        "KT-CT-1120",
        "KT-CT-1124",
        "KT-CT-1125",
        "KT-CT-1126",
        "KT-CT-1127",
        "KT-CT-1143",
        "KT-CT-1144",
    }
)
SHRINK_CODES = frozenset({"KT-CT-1188", "KT-CT-1189"})
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


class KrakenError(Exception):
    """Base of every error of the client; `code` is a short tag, e.g. "KT-CT-1111" or "HTTP 502"."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
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
    """The request was too large (KT-CT-1188/1189 or a page-size validation error): halve it."""


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
    """Classify a non-200 HTTP answer of the GraphQL API."""
    code = f"HTTP {status}"
    is_html = "html" in content_type.lower()
    if status == 429 or status >= 500 or (status == 403 and is_html):
        return RetryableError(f"{where} answered {code}", code=code, retry_after=retry_after)
    return FatalError(f"{where} answered {code}; this client cannot go on", code=code)


def graphql_error(error: Mapping[str, Any], property_id: str | None) -> KrakenError:
    """Classify one entry of a GraphQL `errors` list; `property_id` is the property it concerns."""
    extensions = error.get("extensions") or {}
    code = extensions.get("errorCode")
    text = str(error.get("message") or "no message")
    subject = f"property {property_id}" if property_id else "the request"
    if code in RETRYABLE_CODES:
        floor = RATE_LIMITED_MIN_DELAY if code == "KT-CT-1199" else 0.0
        return RetryableError(f"{code} for {subject}: {text}", code=code, min_delay=floor)
    if code in REAUTHENTICATE_CODES:
        return ReauthenticateError(f"{code}: {text}", code=code)
    if code in SHRINK_CODES or _is_page_size_error(extensions, text):
        return ShrinkRequestError(f"{code or 'VALIDATION'} for {subject}: {text}", code=code)
    if code in PERMISSION_CODES:
        return TargetError(
            _permission_message(code, property_id), code=code, property_id=property_id
        )
    if code in TARGET_CODES or property_id is not None:
        return TargetError(
            f"{code or 'error'} for {subject}: {text}", code=code, property_id=property_id
        )
    return FatalError(f"the API refused the request ({code or 'no code'}): {text}", code=code)


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
    paths = [str(item.get("inputPath")) for item in extensions.get("validationErrors") or ()]
    return "first" in text.lower() or any("first" in path for path in paths)


def token_endpoint_error(
    status: int, content_type: str, oauth_error: str | None, client_id: str
) -> KrakenError:
    """Classify a non-200 answer of the token endpoint (RFC 6749 section 5.2 error bodies)."""
    if oauth_error == "invalid_client" or status == 401:
        return invalid_client_error(client_id)
    if status == 429 or status >= 500 or (status == 403 and "html" in content_type.lower()):
        return TokenEndpointThrottledError(
            f"the token endpoint is throttling (HTTP {status})", code=f"HTTP {status}"
        )
    return AuthenticationError(
        f"the token endpoint refused client id {client_id!r} with HTTP {status} "
        f"({oauth_error or 'no OAuth error code'}): check KRAKEN_AUTH_URL and that the OAuth "
        "application uses the client-credentials grant",
        code=oauth_error or f"HTTP {status}",
    )
