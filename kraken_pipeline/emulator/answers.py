"""HTTP answers as plain values, built by the endpoints and written by the server."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Answer:
    """One HTTP response: status, body and headers (Content-Length is added when written)."""

    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def json_answer(status: int, payload: Any, *headers: tuple[str, str]) -> Answer:
    """An answer whose body is `payload` as compact JSON."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Answer(status, body, JSON_TYPE, headers)


def html_answer(status: int, title: str, *headers: tuple[str, str]) -> Answer:
    """An HTML error page, as a CDN in front of Kraken answers when it throttles or fails."""
    page = (
        f"<!DOCTYPE html><html><head><title>{status} {title}</title></head>"
        f"<body><h1>{title}</h1><p>Request blocked or failed at the edge.</p></body></html>"
    )
    return Answer(status, page.encode(), HTML_TYPE, headers)


class RawJsonSlots:
    """JSON texts written ahead of time, spliced into an answer in place of placeholder strings.

    `json` cannot embed raw text, so the fast path's edges stand in as placeholders until `dumps`.
    """

    def __init__(self) -> None:
        # Per request: a placeholder never collides with a string a client made the emulator echo.
        self._nonce = secrets.token_hex(8)
        self._texts: dict[str, str] = {}

    def add(self, text: str) -> str:
        """The placeholder that stands for `text` until `dumps` splices it in."""
        placeholder = f"\x00{self._nonce}:{len(self._texts)}\x00"
        self._texts[placeholder] = text
        return placeholder

    def dumps(self, payload: Any) -> str:
        """`payload` as compact JSON, every placeholder replaced by its text."""
        serialised = json.dumps(payload, separators=(",", ":"))
        for placeholder, text in self._texts.items():
            serialised = serialised.replace(json.dumps(placeholder), text, 1)
        return serialised
