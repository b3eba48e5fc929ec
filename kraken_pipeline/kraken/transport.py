"""HTTP for the client: one requests.Session, explicit timeouts, exceptions turned into our errors.

The session keeps connections alive and its pool holds at least one connection per worker thread.
urllib3's own retries are off (total=0): every retry happens in one place (retry.py, driven by
the callers), so the number of HTTP calls is exactly what the tests count. TLS verification is
always on; a CA bundle path may replace the default trust store.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader
from urllib3.util.retry import Retry

from kraken_pipeline.kraken.errors import FatalError, KrakenError, RetryableError
from kraken_pipeline.kraken.settings import KrakenSettings

USER_AGENT = "kraken-pipeline/0.1 (+client-credentials measurements reader)"
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
        self._session.verify = settings.ca_bundle or True
        adapter = HTTPAdapter(
            pool_connections=2,
            pool_maxsize=settings.concurrency + 2,
            max_retries=Retry(total=0, redirect=0, raise_on_status=False),
        )
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()

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
        """POST and read the whole answer; network trouble raises RetryableError or FatalError."""
        timeout = (self._settings.connect_timeout, read_timeout or self._settings.read_timeout)
        with self._lock:
            self._calls[kind] += 1
        try:
            response = self._session.post(
                url, json=json_body, data=form, headers=headers, auth=auth, timeout=timeout
            )
            body = response.content
        except requests.RequestException as exc:
            raise network_error(exc, kind) from None
        return HttpAnswer(
            status=response.status_code,
            content_type=response.headers.get("Content-Type", ""),
            body=body,
            retry_after=_retry_after(response.headers.get("Retry-After")),
            received_at=self._now(),
        )

    def calls(self, kind: str | None = None) -> int:
        """HTTP requests sent so far, of one kind ("token", "graphql") or of all kinds."""
        with self._lock:
            return self._calls[kind] if kind else sum(self._calls.values())

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()


def network_error(exc: requests.RequestException, kind: str) -> KrakenError:
    """Classify an exception of requests: timeouts and resets retry, TLS and URL problems do not."""
    name = type(exc).__name__
    if isinstance(exc, requests.exceptions.SSLError):
        return FatalError(
            f"TLS verification failed for the {kind} endpoint ({name}); if the Kraken uses a "
            "private CA, set ca_bundle to its certificate file",
            code="tls",
        )
    if isinstance(exc, requests.Timeout):
        return RetryableError(f"the {kind} endpoint timed out ({name})", code="timeout")
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return RetryableError(f"the {kind} connection failed ({name})", code="connection")
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return RetryableError(f"the {kind} answer could not be decoded ({name})", code="bad JSON")
    return FatalError(f"the {kind} request could not be sent ({name}): check the URL", code=name)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(_RETRY_AFTER_PARSER.parse_retry_after(value))
    except InvalidHeader:
        return None  # a malformed header only means "no advice"
