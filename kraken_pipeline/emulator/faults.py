"""Faults on demand: scripted failures a test adds to an emulator, in Python or over JSON.

A Fault names what goes wrong (a FaultKind), where (the token or the GraphQL endpoint) and how
often: the next `times` matching requests after `skip`, each with a seeded `probability`.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kraken_pipeline.emulator.errors import INTERNAL_ERROR
from kraken_pipeline.emulator.oddities import ODDITIES
from kraken_pipeline.emulator.payload_faults import PAYLOAD_FAULTS, RESOLVER_FAULTS

FaultKind = Literal[
    # Transport, answered instead of (or around) the real answer.
    "http_status",  # `status` with an HTML body: 429 with `retry_after`, 5xx, a CDN's 403
    "delay",  # the answer after `delay_seconds`
    "cut_body",  # the full Content-Length, half the body, then the connection closed
    "truncated_json",  # a complete HTTP response whose JSON is cut in half
    # GraphQL.
    "kraken_error",  # every root field fails with `code` (with `property_id`, only that one)
    "data_and_errors",  # one `measurements` field fails with `code` (empty: no errorCode)
    "duplicate_nodes",  # a page after a cursor repeats the previous page's last node
    "outside_window",  # a page gains a node that ends where the window starts
    "odd_payload",  # the first node of an answer made odd as `oddity` names (oddities.py)
    # Hostile transport, on either endpoint (echo_authorization: GraphQL only).
    "slow_drip",  # headers at once, then a byte every `delay_seconds` (1 s by default)
    "redirect",  # `status` 307 or 308 (another status: 307) to `location`
    "echo_authorization",  # a pathless error with `code` repeating the Authorization header
    # Protocol and shape (payload_faults.py).
    "page_info_missing",
    "page_info_null",
    "has_next_page_null",
    "edges_missing",
    "edges_null",
    "node_field_missing",
    "nodes_shifted",
    "conflicting_duplicate",
    "identical_duplicate",
    "next_without_cursor",
    "quality_combined",
    "long_decimals",
    "embedded_filters",
    "too_many_edges",
    "cursor_loop",
]
Endpoint = Literal["token", "graphql"]
TRANSPORT_KINDS = frozenset(
    {"http_status", "delay", "cut_body", "truncated_json", "slow_drip", "redirect"}
)
ECHO_KINDS = frozenset({"echo_authorization"})
ODD_PAYLOAD_KINDS = frozenset({"odd_payload"})
GRAPHQL_KINDS = frozenset(
    {"kraken_error", "data_and_errors", "duplicate_nodes", "outside_window", "odd_payload"}
    | ECHO_KINDS
)
ENDPOINTS = frozenset({"token", "graphql"})
ODD_PAYLOAD_KINDS = ODD_PAYLOAD_KINDS | frozenset(PAYLOAD_FAULTS)
GRAPHQL_KINDS = GRAPHQL_KINDS | frozenset(PAYLOAD_FAULTS) | RESOLVER_FAULTS


_NODE_FIELDS = frozenset({"startAt", "endAt", "value"})


@dataclass(frozen=True)
class Fault:
    """One scripted failure; FaultKind lists the kinds."""

    kind: FaultKind
    endpoint: Endpoint = "graphql"
    times: int | None = 1  # None: every matching request until the plan is cleared
    probability: float = 1.0
    skip: int = 0  # matching requests to let through before the fault starts
    status: int = 503  # http_status
    retry_after: int | None = None  # http_status: the Retry-After header, in seconds
    delay_seconds: float = 0.0  # delay
    code: str = INTERNAL_ERROR  # kraken_error, data_and_errors
    property_id: str | None = None  # kraken_error: only this property's field fails
    oddity: str = ""  # odd_payload: one of oddities.ODDITIES
    location: str = "http://127.0.0.1:9/elsewhere/"  # redirect: where the answer points
    field_name: str = "startAt"  # node_field_missing: the node field left out

    def __post_init__(self) -> None:
        if self.kind not in TRANSPORT_KINDS | GRAPHQL_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {self.endpoint!r}: use 'token' or 'graphql'")
        if self.kind in GRAPHQL_KINDS and self.endpoint != "graphql":
            raise ValueError(f"a {self.kind} fault applies to the graphql endpoint only")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1, or None for every request")
        if not 0.0 <= self.probability <= 1.0 or self.skip < 0 or self.delay_seconds < 0:
            raise ValueError("probability must lie in [0, 1]; skip and delay_seconds >= 0")
        if self.kind != "redirect" and not 400 <= self.status <= 599:
            raise ValueError(f"status {self.status} is not an HTTP error status")
        if self.kind == "odd_payload" and self.oddity not in ODDITIES:
            raise ValueError(f"oddity {self.oddity!r} is unknown; use one of {sorted(ODDITIES)}")
        if self.kind == "node_field_missing" and self.field_name not in _NODE_FIELDS:
            raise ValueError(f"field_name {self.field_name!r}: use one of {sorted(_NODE_FIELDS)}")

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> Fault:
        """A fault from the control API's JSON object (the same field names)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(payload) - known)
        if unknown:
            raise ValueError(f"unknown fault fields {unknown}; known: {sorted(known)}")
        if "kind" not in payload:
            raise ValueError("a fault needs a 'kind'")
        return cls(**payload)

    def to_json(self) -> dict[str, Any]:
        """The fault as the control API shows it."""
        return dataclasses.asdict(self)


@dataclass
class _Armed:
    fault: Fault
    skipped: int = 0
    fired: int = 0


class FaultPlan:
    """The faults armed on one emulator; thread-safe, consumed as requests match them."""

    def __init__(self, seed: int = 0, on_fire: Callable[[str], None] | None = None) -> None:
        self._seed = seed
        self._on_fire = on_fire  # told the kind of every fault that fires (the emulator's stats)
        self._rng = random.Random(seed)
        self._armed: list[_Armed] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        """Arm a fault; faults are tried in the order they were added."""
        with self._lock:
            self._armed.append(_Armed(fault))

    def clear(self) -> None:
        """Disarm every fault and restart the random sequence."""
        with self._lock:
            self._armed.clear()
            self._rng = random.Random(self._seed)

    def pending(self) -> list[Fault]:
        """The faults still armed, in order."""
        with self._lock:
            return [armed.fault for armed in self._armed]

    def take(
        self, kinds: frozenset[str], endpoint: str, property_id: str | None = None
    ) -> Fault | None:
        """The first armed fault of one of `kinds` that fires for this request, consuming it.

        A kraken_error fault with a property_id matches only when that property is asked for;
        one without matches only the request-wide call (property_id None).
        """
        with self._lock:
            for armed in self._armed:
                fault = armed.fault
                if fault.kind not in kinds or fault.endpoint != endpoint:
                    continue
                if fault.kind == "kraken_error" and fault.property_id != property_id:
                    continue
                if self._fires(armed):
                    break
            else:
                return None
        if self._on_fire is not None:
            self._on_fire(fault.kind)
        return fault

    def _fires(self, armed: _Armed) -> bool:
        if armed.skipped < armed.fault.skip:
            armed.skipped += 1
            return False
        if armed.fault.probability < 1.0 and self._rng.random() >= armed.fault.probability:
            return False
        armed.fired += 1
        if armed.fault.times is not None and armed.fired >= armed.fault.times:
            self._armed.remove(armed)
        return True
