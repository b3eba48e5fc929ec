"""Counters of what an emulator served, so client tests can assert exact call counts."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Stats:
    """Thread-safe counters: requests per endpoint, tokens minted, errors, nodes, faults.

    `errors` counts answers, not error entries: a GraphQL answer carrying KT-CT-1124 on three
    aliased fields counts once under "KT-CT-1124". Token endpoint errors count under their OAuth
    name ("invalid_client", ...); HTTP error statuses sent by faults under "HTTP <status>";
    GraphQL validation errors without a KT-CT code under "VALIDATION".
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._tokens_minted = 0
        self._nodes_served = 0

    def count_request(self, endpoint: str) -> None:
        """One HTTP request to an endpoint."""
        with self._lock:
            self._requests[endpoint] += 1

    def count_errors(self, codes: set[str]) -> None:
        """One answer carrying these error codes."""
        with self._lock:
            self._errors.update(codes)

    def count_fault(self, kind: str) -> None:
        """One fault of this kind fired."""
        with self._lock:
            self._faults[kind] += 1

    def count_token(self) -> None:
        """One access token minted."""
        with self._lock:
            self._tokens_minted += 1

    def count_nodes(self, count: int) -> None:
        """Measurement nodes put into an answer."""
        with self._lock:
            self._nodes_served += count

    @property
    def requests(self) -> dict[str, int]:
        """HTTP requests received per endpoint ("token", "graphql"); control calls excluded."""
        with self._lock:
            return dict(self._requests)

    @property
    def errors(self) -> dict[str, int]:
        """Answers carrying each error code (see the class docstring)."""
        with self._lock:
            return dict(self._errors)

    @property
    def faults(self) -> dict[str, int]:
        """Faults that fired, per kind."""
        with self._lock:
            return dict(self._faults)

    @property
    def tokens_minted(self) -> int:
        """Access tokens the auth server issued."""
        with self._lock:
            return self._tokens_minted

    @property
    def nodes_served(self) -> int:
        """Measurement nodes sent in answers (edges of every page)."""
        with self._lock:
            return self._nodes_served

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self._requests.clear()
            self._errors.clear()
            self._faults.clear()
            self._tokens_minted = 0
            self._nodes_served = 0

    def snapshot(self) -> dict[str, Any]:
        """Every counter, as the control API answers it."""
        return {
            "requests": self.requests,
            "errors": self.errors,
            "faults": self.faults,
            "tokens_minted": self.tokens_minted,
            "nodes_served": self.nodes_served,
        }
