"""POST /token/: the OAuth 2.0 client-credentials grant, as Kraken's auth server answers it.

Client authentication by form fields or HTTP Basic; errors as RFC 6749 §5.2 words them.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import parse_qs, unquote_plus

from kraken_pipeline.emulator.answers import Answer, json_answer
from kraken_pipeline.emulator.config import ClientGrant
from kraken_pipeline.emulator.state import EmulatorState

GRANT_TYPE = "client_credentials"
_NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))
_CHALLENGE = ("WWW-Authenticate", 'Basic realm="kraken"')


class TokenEndpoint:
    """Answers token requests for one emulator."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    def answer(self, body: bytes, authorization: str | None) -> Answer:
        """The HTTP answer to one POST /token/ body."""
        form = {key: values[0] for key, values in parse_qs(body.decode("latin-1")).items()}
        try:
            basic = _basic_credentials(authorization)
        except ValueError as exc:
            return self._error(401, "invalid_client", str(exc), _CHALLENGE)
        client_id = basic[0] if basic else form.get("client_id")
        client_secret = basic[1] if basic else form.get("client_secret")
        grant_type = form.get("grant_type")
        if grant_type is None:
            return self._error(400, "invalid_request", "The grant_type parameter is missing.")
        if grant_type != GRANT_TYPE:
            return self._error(400, "unsupported_grant_type", f"Use {GRANT_TYPE}.")
        if not client_id or not client_secret:
            missing = "client_id" if not client_id else "client_secret"
            return self._error(400, "invalid_request", f"The {missing} parameter is missing.")
        grant = self._grant(client_id, client_secret)
        if grant is None:
            challenge = _CHALLENGE if basic else None
            return self._error(401, "invalid_client", "Unknown client or wrong secret.", challenge)
        return self._mint(grant)

    def _mint(self, grant: ClientGrant) -> Answer:
        token = self._state.tokens.mint(grant)
        self._state.stats.count_token()
        payload = {
            "access_token": token.access_token,
            "token_type": "Bearer",
            "expires_in": token.expires_in,
            "scope": token.scope,
        }
        return json_answer(200, payload, *_NO_STORE)

    def _grant(self, client_id: str, client_secret: str) -> ClientGrant | None:
        grant = self._state.config.client(client_id)
        if grant is None:
            return None
        if not hmac.compare_digest(grant.client_secret.encode(), client_secret.encode()):
            return None
        return grant

    def _error(
        self, status: int, error: str, description: str, header: tuple[str, str] | None = None
    ) -> Answer:
        self._state.stats.count_errors({error})
        headers = (*_NO_STORE, header) if header else _NO_STORE
        return json_answer(status, {"error": error, "error_description": description}, *headers)


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(client_id, client_secret) from an HTTP Basic header, form-decoded per RFC 6749 §2.3.1.

    None without a Basic header; ValueError when the header is Basic but malformed.
    """
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("The Basic credentials are not base64 text.") from exc
    client_id, separator, client_secret = decoded.partition(":")
    if not separator:
        raise ValueError("The Basic credentials lack the ':' between id and secret.")
    return unquote_plus(client_id), unquote_plus(client_secret)
