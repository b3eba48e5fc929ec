"""HTTP for the client: one requests.Session, explicit timeouts, exceptions turned into our errors.

The session keeps connections alive and its pool holds at least one connection per request in
flight. At most settings.concurrency API requests are in flight at once, whatever the number of
threads: a caller holds an `api_slot()` while it sends and reads, and parses after releasing it,
so workers parse one answer while others wait on the network. A mint at the token endpoint takes
no slot of its own (it happens inside the slot of the request that needs the token).

urllib3's own retries are off (total=0): every retry happens in one place (retry.py, driven by
the callers), so the number of HTTP calls is exactly what the tests count. TLS verification is
always on; a CA bundle path may replace the default trust store. Redirects are never followed:
a re-sent POST would carry the client secret or the access token to wherever it points.

Every request has one wall-clock bound for connecting, the first byte and the whole body
together: a body that trickles in byte by byte times out like one that never comes (the socket
timeout alone restarts with every byte).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, NameResolutionError
from urllib3.util.retry import Retry

from kraken_pipeline.kraken.bounded_read import BodyTooSlowError, read_within
from kraken_pipeline.kraken.errors import (
    REFUSED_TOKEN_ENDPOINT_ATTEMPTS,
    AuthenticationError,
    FatalError,
    KrakenError,
    RetryableError,
)
from kraken_pipeline.kraken.redaction import redact, strip_credentials
from kraken_pipeline.kraken.settings import ENVIRONMENT_VARIABLES, KrakenSettings

USER_AGENT = "kraken-pipeline/0.1 (+client-credentials measurements reader)"
# What each kind of request is called in messages, and the environment variable of its URL.
_ENDPOINTS = {
    "token": ("the token endpoint", ENVIRONMENT_VARIABLES["auth_url"]),
    "graphql": ("the API", ENVIRONMENT_VARIABLES["api_url"]),
}
# Retry(total=0) is used only to parse Retry-After (seconds or an HTTP date) the urllib3 way.
_RETRY_AFTER_PARSER = Retry(total=0)


@dataclass(frozen=True)
class HttpAnswer:
    """One HTTP answer, read whole."""

    status: int
    content_type: str
    body: bytes
    retry_after: float | None
    received_at: datetime

    def json(self, where: str) -> Any:
        """The body as JSON; a truncated or non-JSON body is retryable trouble."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise RetryableError(
                f"{where} answered HTTP {self.status} with a truncated or non-JSON body "
                f"({len(self.body)} bytes, {self.content_type or 'no content type'})",
                code="bad JSON",
            ) from None


class HttpTransport:
    """Sends POSTs over one keep-alive session and counts them per endpoint kind."""

    def __init__(self, settings: KrakenSettings, now: Callable[[], datetime]) -> None:
        self._settings = settings
        self._now = now
        self._session = requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT
        # Passed on every request, not set on the session: with trust_env on, requests lets
        # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override session.verify, never a per-request one.
        self._verify: str | bool = settings.ca_bundle or True
        adapter = HTTPAdapter(
            pool_connections=2,
            pool_maxsize=settings.concurrency + 2,
            max_retries=Retry(total=0, redirect=0, raise_on_status=False),
        )
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._api_slots = threading.BoundedSemaphore(settings.concurrency)

    def post(
        self,
        url: str,
        kind: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        read_timeout: float | None = None,
    ) -> HttpAnswer:
        """POST and read the whole answer within `read_timeout` seconds of wall-clock time.

        Network trouble raises RetryableError or FatalError; a redirect raises FatalError.
        """
        bound = max(0.001, read_timeout or self._settings.read_timeout)
        ends = time.monotonic() + bound
        timeout = (min(self._settings.connect_timeout, bound), bound)
        with self._lock:
            self._calls[kind] += 1
        try:
            response = self._session.post(
                _without_userinfo(url),
                json=json_body,
                data=form,
                headers=headers,
                auth=auth,
                timeout=timeout,
                verify=self._verify,
                stream=True,
                allow_redirects=False,
            )
            with response:
                if response.is_redirect or 300 <= response.status_code < 400:
                    raise redirect_error(kind, url, response)
                body = read_within(response, ends)
        except requests.RequestException as exc:
            raise network_error(exc, kind, url) from None
        except BodyTooSlowError:
            raise RetryableError(
                f"{_endpoint(kind, url)} did not send its whole answer within {bound:g} s",
                code="timeout",
            ) from None
        return HttpAnswer(
            status=response.status_code,
            content_type=response.headers.get("Content-Type", ""),
            body=body,
            retry_after=_retry_after(response.headers.get("Retry-After")),
            received_at=self._now(),
        )

    def api_slot(self) -> threading.BoundedSemaphore:
        """Held (`with transport.api_slot():`) around each API request: bounds those in flight."""
        return self._api_slots

    def calls(self, kind: str | None = None) -> int:
        """HTTP requests sent so far, of one kind ("token", "graphql") or of all kinds."""
        with self._lock:
            return self._calls[kind] if kind else sum(self._calls.values())

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()


def redirect_error(kind: str, url: str, response: requests.Response) -> FatalError:
    """A 3xx: named with where it pointed (no credentials) and the variable to fix.

    From the token endpoint it is an AuthenticationError: no token can be had, so the run stops
    (and the other workers are told without asking again).
    """
    variable = _ENDPOINTS.get(kind, ("", "the URL"))[1]
    location = response.headers.get("Location") or "nowhere"
    target = strip_credentials(location) if "://" in location else redact(location)
    kind_of_error = AuthenticationError if kind == "token" else FatalError
    return kind_of_error(
        f"{_endpoint(kind, url)} answered HTTP {response.status_code}, redirecting to {target}; "
        f"redirects are not followed (they would re-send credentials): set {variable} to the "
        "address that answers directly",
        code=f"HTTP {response.status_code}",
    )


def network_error(exc: requests.RequestException, kind: str, url: str) -> KrakenError:
    """Classify an exception of requests: timeouts and resets retry, TLS and URL problems do not.

    Messages name the endpoint's URL (without any user info or query) and the environment
    variable that sets it, so that a wrong address is recognised at once.
    """
    name = type(exc).__name__
    where = _endpoint(kind, url)
    if isinstance(exc, requests.exceptions.SSLError):
        return FatalError(
            f"TLS verification failed for {where} ({name}); if the Kraken uses a "
            "private CA, set ca_bundle to its certificate file",
            code="tls",
        )
    if isinstance(exc, requests.Timeout):
        return RetryableError(f"{where} timed out ({name})", code="timeout")
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return _connection_error(exc, kind, where)
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return RetryableError(
            f"the answer of {where} could not be decoded ({name})", code="bad JSON"
        )
    return FatalError(
        f"the request to {where} could not be sent ({name}): check the URL", code=name
    )


def _connection_error(exc: requests.RequestException, kind: str, where: str) -> RetryableError:
    causes = list(_causes(exc))
    if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
        cap = REFUSED_TOKEN_ENDPOINT_ATTEMPTS if kind == "token" else None
        return RetryableError(
            f"could not connect to {where}: connection refused",
            code="connection refused",
            max_attempts=cap,
        )
    if any(isinstance(cause, socket.gaierror | NameResolutionError) for cause in causes):
        return RetryableError(
            f"could not connect to {where}: the host name does not resolve", code="connection"
        )
    return RetryableError(
        f"the connection to {where} failed ({type(exc).__name__})", code="connection"
    )


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (requests and urllib3 nest them several deep)."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        item = pending.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        pending.extend([item.__cause__, item.__context__, getattr(item, "reason", None)])
        pending.extend(item.args)


def _without_userinfo(url: str) -> str:
    """The URL without `user:password@`: requests would send it as Basic credentials, in place
    of the access token or the client's own authentication."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _endpoint(kind: str, url: str) -> str:
    """`the token endpoint https://host/token/ (KRAKEN_AUTH_URL)`, safe to log."""
    label, variable = _ENDPOINTS.get(kind, (f"the {kind} endpoint", None))
    shown = strip_credentials(url)
    return f"{label} {shown} ({variable})" if variable else f"{label} {shown}"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(_RETRY_AFTER_PARSER.parse_retry_after(value))
    except InvalidHeader:
        return None  # a malformed header only means "no advice"
