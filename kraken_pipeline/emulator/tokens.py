"""Access tokens: signed JWTs (HS256, with exp, iat, sub) minted and checked against the clock.

Expiry is judged by the emulator's clock, not the wall clock, so tests can move time.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt

from kraken_pipeline.emulator.clock import EmulatorClock
from kraken_pipeline.emulator.config import ClientGrant
from kraken_pipeline.emulator.errors import KrakenError

_ALGORITHM = "HS256"
_DECODE_OPTIONS: Any = {
    # Time claims are judged against the emulator's clock below, not the wall clock.
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
    "require": ["exp", "iat", "sub", "jti"],
}
_CLAIMS_CACHE_SIZE = 4096
_ACCEPTED_PREFIXES = ("jwt", "bearer")
_MINTED_KEPT = 1000


@dataclass(frozen=True)
class MintedToken:
    """What the auth server answers for a successful client-credentials grant."""

    access_token: str
    expires_in: int
    scope: str


class TokenIssuer:
    """Mints access tokens for known clients and authenticates the Authorization header."""

    def __init__(
        self,
        clients: tuple[ClientGrant, ...],
        lifetime: timedelta,
        clock: EmulatorClock,
        expiry_skew: timedelta = timedelta(0),
    ) -> None:
        self._clients = {grant.client_id: grant for grant in clients}
        self._lifetime = lifetime
        self._skew = int(expiry_skew.total_seconds())
        self._clock = clock
        self._key = secrets.token_bytes(32)  # per emulator: another emulator's tokens are garbage
        self._lock = threading.Lock()
        self._next_serial = 1
        self._valid_from_serial = 1
        self._claims: dict[str, dict[str, Any]] = {}
        self._minted: deque[str] = deque(maxlen=_MINTED_KEPT)

    def mint(self, grant: ClientGrant) -> MintedToken:
        """A fresh token for a client, living `lifetime` from the emulator's now."""
        with self._lock:
            serial = self._next_serial
            self._next_serial += 1
        issued = int(self._clock.now().timestamp())
        lifetime = int(self._lifetime.total_seconds())
        claims = {
            "sub": grant.client_id,
            "iat": issued,
            "exp": issued + lifetime + self._skew,
            "jti": str(serial),
        }
        token = jwt.encode(claims, self._key, algorithm=_ALGORITHM)
        with self._lock:
            self._minted.append(token)
        shown = lifetime + self._skew
        return MintedToken(token, shown, " ".join(sorted(grant.permissions)))

    def minted(self) -> tuple[str, ...]:
        """The latest tokens minted, oldest first (leak tests search for them)."""
        with self._lock:
            return tuple(self._minted)

    def expire_all(self) -> None:
        """Make every token issued so far answer KT-CT-1124 from now on."""
        with self._lock:
            self._valid_from_serial = self._next_serial

    def authenticate(self, header: str | None) -> ClientGrant:
        """The client behind an Authorization header, or KrakenError(1112/1143/1124)."""
        token = _token_of(header)
        claims = self._verified_claims(token)
        grant = self._clients.get(str(claims["sub"]))
        if grant is None:
            raise KrakenError("KT-CT-1143")
        with self._lock:
            revoked = int(claims["jti"]) < self._valid_from_serial
        accepted_until = int(claims["exp"]) - self._skew
        if revoked or accepted_until <= self._clock.now().timestamp():
            raise KrakenError("KT-CT-1124")
        return grant

    def _verified_claims(self, token: str) -> dict[str, Any]:
        cached = self._claims.get(token)
        if cached is not None:
            return cached
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._key, algorithms=[_ALGORITHM], options=_DECODE_OPTIONS
            )
        except jwt.PyJWTError as exc:
            raise KrakenError("KT-CT-1143") from exc
        if len(self._claims) >= _CLAIMS_CACHE_SIZE:
            self._claims.clear()  # a crude bound; re-verifying a token is cheap
        self._claims[token] = claims
        return claims


def _token_of(header: str | None) -> str:
    """The token in an Authorization header: bare, `JWT <token>` or `Bearer <token>`."""
    if header is None or not header.strip():
        raise KrakenError("KT-CT-1112")
    parts = header.split()
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2 and parts[0].lower() in _ACCEPTED_PREFIXES:
        return parts[1]
    raise KrakenError("KT-CT-1143")
