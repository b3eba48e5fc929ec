"""Client-credentials access tokens: mint, cache, refresh early, one mint at a time.

A token is refreshed five minutes before it expires; one that lives less than that (or whose `exp`
has already passed) is used for a share of its own lifetime, at least MIN_TOKEN_USE, so that
short tokens do not cost a mint per request. All threads share one provider; a lock makes
minting single-flight, so four workers that find the token stale at once cause one mint. When
the token endpoint throttles (429, 5xx, an HTML 403 from its CDN) the provider cools down: for
the Retry-After the endpoint asked the first time, else (and on repeated failures) one minute,
doubling, capped at 30 minutes, and keeps handing out the cached token while it has not
expired: clients that re-mint on every failure make an outage worse. A refusal of the credentials
(invalid_client and the like) is remembered: the other workers of a fetch get the same error
without asking the token endpoint again, which would only be retrying it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pydantic import SecretStr

from kraken_pipeline.kraken.errors import (
    AuthenticationError,
    InvalidClientError,
    ResponseFormatError,
    RetryableError,
    TokenEndpointThrottledError,
    TokenUnavailableError,
    token_endpoint_error,
)
from kraken_pipeline.kraken.redaction import register_secret
from kraken_pipeline.kraken.settings import KrakenSettings
from kraken_pipeline.kraken.transport import HttpAnswer, HttpTransport

log = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(minutes=5)
DEFAULT_LIFETIME = timedelta(seconds=3600)
COOL_DOWN_FIRST = 60.0
COOL_DOWN_MAX = 1800.0
# A token is refreshed after this share of its lifetime when five minutes would be too much.
SHORT_TOKEN_SHARE = 0.8
MIN_TOKEN_USE = timedelta(seconds=30)


@dataclass(frozen=True)
class AccessToken:
    """A minted token, the instant it expires and when to replace it; repr never shows the token."""

    value: SecretStr
    expires_at: datetime
    refresh_at: datetime | None = None  # None: REFRESH_MARGIN before expires_at


class TokenProvider:
    """Hands out a valid access token to any thread, minting only when needed."""

    def __init__(
        self,
        settings: KrakenSettings,
        transport: HttpTransport,
        now: Callable[[], datetime],
        monotonic: Callable[[], float],
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._now = now
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._current: AccessToken | None = None
        self._cool_down = 0.0
        self._cool_until = 0.0
        self._failures = 0  # consecutive failed mints
        self._refusal: InvalidClientError | AuthenticationError | None = None
        self.mints = 0

    def token(self, within: float | None = None) -> AccessToken:
        """A token that is valid now; mints (once, across threads) when it is due for refresh.

        `within` bounds a mint's wall-clock time (the caller's remaining deadline).
        """
        current = self._current
        if current is not None and self._fresh(current):
            return current
        with self._lock:
            current = self._current
            if current is not None and self._fresh(current):
                return current
            return self._refresh(current, within)

    def invalidate(self, rejected: AccessToken) -> None:
        """Forget a token the API refused, unless another thread already replaced it."""
        with self._lock:
            if self._current is rejected:
                self._current = None

    def _fresh(self, token: AccessToken) -> bool:
        refresh_at = token.refresh_at or token.expires_at - REFRESH_MARGIN
        return self._now() < refresh_at

    def _usable(self, token: AccessToken | None) -> bool:
        if token is None:
            return False
        return self._now() < max(token.expires_at, token.refresh_at or token.expires_at)

    def _refresh(self, current: AccessToken | None, within: float | None) -> AccessToken:
        if self._refusal is not None:
            raise type(self._refusal)(self._refusal.message, code=self._refusal.code)
        waited = self._cool_until - self._monotonic()
        if waited > 0:
            if current is not None and self._usable(current):
                return current
            raise TokenEndpointThrottledError(
                f"the token endpoint is cooling down for {waited:.0f} s after throttling",
                code="throttled",
                retry_after=waited,
            )
        try:
            minted = self._mint(within)
        except (InvalidClientError, AuthenticationError) as exc:
            self._refusal = exc
            raise
        except RetryableError as exc:
            usable = current is not None and self._usable(current)
            # Throttling always cools down; other trouble only while a token still works, so
            # that every request does not try the endpoint again. Without one, backoff decides.
            if usable or isinstance(exc, TokenEndpointThrottledError):
                self._start_cool_down(exc)
            if current is not None and usable:
                log.warning("token refresh failed (%s); using the cached token", exc.code)
                return current
            raise
        self._cool_down = 0.0
        self._failures = 0
        self._current = minted
        return minted

    def _start_cool_down(self, exc: RetryableError) -> None:
        """Wait what the endpoint asked the first time; the long, doubling wait after that."""
        self._failures += 1
        if exc.retry_after is not None and self._failures == 1:
            pause = max(0.0, exc.retry_after)
        else:
            self._cool_down = min(COOL_DOWN_MAX, self._cool_down * 2 or COOL_DOWN_FIRST)
            pause = max(self._cool_down, exc.retry_after or 0.0)
        self._cool_until = self._monotonic() + pause
        exc.retry_after = pause
        log.warning("token endpoint failed (%s); cooling down %.0f s", exc.code, pause)

    def _mint(self, within: float | None) -> AccessToken:
        settings = self._settings
        form = {"grant_type": "client_credentials"}
        auth: tuple[str, str] | None = None
        if settings.use_basic_auth:
            auth = (settings.client_id, settings.client_secret.get_secret_value())
        else:
            form["client_id"] = settings.client_id
            form["client_secret"] = settings.client_secret.get_secret_value()
        try:
            bound = min(settings.read_timeout, within) if within is not None else None
            answer = self._transport.post(
                settings.auth_url, "token", form=form, auth=auth, read_timeout=bound
            )
            token = self._parse(answer)
        except TokenUnavailableError:
            raise
        except RetryableError as exc:
            raise TokenUnavailableError(
                exc.message, code=exc.code, max_attempts=exc.max_attempts
            ) from None
        self.mints += 1
        log.info(
            "minted an access token for client %s, valid until %s",
            settings.client_id,
            token.expires_at.isoformat(),
        )
        return token

    def _parse(self, answer: HttpAnswer) -> AccessToken:
        if answer.status != 200:
            body = _json_or_none(answer)
            oauth_error = body.get("error") if isinstance(body, dict) else None
            raise token_endpoint_error(
                answer.status,
                answer.content_type,
                oauth_error,
                self._settings.client_id,
                answer.retry_after,
            )
        body = answer.json("the token endpoint")
        value = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise ResponseFormatError("the token endpoint answered 200 without an access_token")
        expires_at = _expiry(body.get("expires_in"), value, answer.received_at)
        register_secret(value)  # so that redaction masks it wherever it turns up
        return AccessToken(
            SecretStr(value), expires_at, _refresh_at(expires_at, answer.received_at)
        )


def _refresh_at(expires_at: datetime, received_at: datetime) -> datetime:
    """REFRESH_MARGIN before expiry, or a share of a short lifetime, never before MIN_TOKEN_USE.

    A token whose `exp` already passed (a skewed clock) is used until MIN_TOKEN_USE, or until
    the API says it expired, whichever comes first.
    """
    lifetime = expires_at - received_at
    early = min(REFRESH_MARGIN, max(lifetime, timedelta(0)) * (1 - SHORT_TOKEN_SHARE))
    return max(expires_at - early, received_at + MIN_TOKEN_USE)


def _json_or_none(answer: HttpAnswer) -> Any:
    try:
        return answer.json("the token endpoint")
    except RetryableError:
        return None


def _expiry(expires_in: object, token: str, received_at: datetime) -> datetime:
    """From `expires_in` when given, else the JWT's own claims (read unverified), else an hour.

    A JWT's `exp - iat` is preferred to its bare `exp` so that a skewed clock on either side does
    not make a fresh token look expired.
    """
    if isinstance(expires_in, int | float | str) and not isinstance(expires_in, bool):
        try:
            return received_at + timedelta(seconds=float(expires_in))
        except ValueError:
            pass
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return received_at + DEFAULT_LIFETIME
    expires, issued = claims.get("exp"), claims.get("iat")
    if isinstance(expires, int | float) and isinstance(issued, int | float):
        return received_at + timedelta(seconds=expires - issued)
    if isinstance(expires, int | float):
        return datetime.fromtimestamp(expires, UTC)
    return received_at + DEFAULT_LIFETIME
