"""The one redaction step: secrets never leave the client in a message, a log line or a URL.

`redact` replaces what is registered as secret (the client secret, every access token minted),
anything shaped like a JWT, the password of `user:password@` in a URL, and the values of query
parameters that look like credentials. Every KrakenError passes its message through it when it
is made, and the client's log lines of server text do too.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
# Shorter values would mask ordinary words; no real secret or token is this short.
_MIN_SECRET_LENGTH = 8
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s@]+)@")
_CREDENTIAL_PARAMETER = re.compile(
    r"(?P<name>(?<![A-Za-z0-9_])(?:access_token|token|client_secret|secret|password|api_key|key"
    r"|signature|sig|code)=)(?P<value>[^&\s#\"']+)",
    re.IGNORECASE,
)

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Remember a value that must never be shown (a client secret, a minted token)."""
    if len(value) < _MIN_SECRET_LENGTH:
        return
    with _lock:
        _secrets.add(value)


def redact(text: str) -> str:
    """`text` with every secret, JWT, URL password and credential parameter replaced by ***."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _JWT.sub(MASK, text)
    text = _URL_USERINFO.sub(_mask_userinfo, text)
    return _CREDENTIAL_PARAMETER.sub(lambda match: match.group("name") + MASK, text)


def redact_url(url: str) -> str:
    """A URL safe to show: no password, no credential-looking query values."""
    return redact(url)


def strip_credentials(url: str) -> str:
    """A URL without any user info or query, for naming where something was sent."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _mask_userinfo(match: re.Match[str]) -> str:
    user, separator, _password = match.group("userinfo").partition(":")
    shown = f"{user}:{MASK}" if separator else MASK
    return f"{match.group('scheme')}{shown}@"
