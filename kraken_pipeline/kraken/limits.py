"""Learned limits: what one Kraken application's refusals taught, kept for its later runs.

A refusal to shrink (a page size, aliases per request) costs a request and, on a tenant that
counts refused requests against the points allowance, points; learning it once per application
is enough. The store is a small JSON object keyed by "api_url client_id" (never a secret):

    {"https://api.example/v1/graphql/ my-client": {"page_size": 99, "aliases_per_request": 1,
     "points_per_node": {"1x99": 0.35}, "updated_at": "2026-12-02T13:00:00+00:00"}}

A missing or unreadable file is no learned limits (a warning says so for an unreadable one);
writes go to a temporary file renamed over the old one, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kraken_pipeline.filesystems import DataRoot
from kraken_pipeline.kraken.redaction import strip_credentials

log = logging.getLogger(__name__)

MAX_APPLICATIONS = 20


@dataclass(frozen=True)
class LearnedLimits:
    """What one application learned: None where nothing was refused."""

    page_size: int | None = None
    aliases_per_request: int | None = None
    # "aliasesxfirst" -> points one node, and one alias, of that request shape cost, as measured.
    points_per_node: dict[str, float] = field(default_factory=dict)
    points_per_alias: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the store."""
        return {
            "page_size": self.page_size,
            "aliases_per_request": self.aliases_per_request,
            "points_per_node": dict(sorted(self.points_per_node.items())),
            "points_per_alias": dict(sorted(self.points_per_alias.items())),
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    @classmethod
    def from_json(cls, payload: Any) -> LearnedLimits:
        """Read one entry, ignoring what does not have the expected type."""
        if not isinstance(payload, dict):
            return cls()
        return cls(
            _positive(payload.get("page_size")),
            _positive(payload.get("aliases_per_request")),
            _costs(payload.get("points_per_node")),
            _costs(payload.get("points_per_alias")),
        )


def learned_limits_path(data_root: DataRoot) -> str | None:
    """Where the pipeline keeps learned limits: <data root>/_state/kraken_limits.json for a
    local data root; an S3 root keeps none (each run learns again)."""
    if isinstance(data_root, Path):
        return str(data_root / "_state" / "kraken_limits.json")
    return None


def application_key(api_url: str, client_id: str) -> str:
    """The store's key of one application of one Kraken (a password in the URL left out: the
    key is printed and stored)."""
    return f"{strip_credentials(api_url)} {client_id}"


class LimitsStore:
    """The learned limits of one application in a JSON file shared by its runs."""

    def __init__(self, path: str | None, key: str) -> None:
        self._path = Path(path) if path else None
        self._key = key
        self._lock = threading.Lock()
        self._limits = LearnedLimits.from_json(_read(self._path).get(key))

    def current(self) -> LearnedLimits:
        """What is known now (loaded at start, updated by this run)."""
        with self._lock:
            return self._limits

    def learn(self, **changes: Any) -> None:
        """Record new limits (page_size, aliases_per_request) and save them."""
        with self._lock:
            self._limits = replace(self._limits, **changes)
            self._save()

    def measured(self, shape: str, per_node: float, per_alias: float) -> None:
        """Record what one node and one alias of a request shape cost, and save it."""
        with self._lock:
            self._limits = replace(
                self._limits,
                points_per_node={**self._limits.points_per_node, shape: round(per_node, 4)},
                points_per_alias={**self._limits.points_per_alias, shape: round(per_alias, 2)},
            )
            self._save()

    def _save(self) -> None:
        if self._path is None:
            return
        store = _read(self._path)
        store[self._key] = self._limits.to_json()
        # Every embedded emulator has a port of its own, so keys accumulate: keep the newest.
        newest = sorted(store, key=lambda k: str(store[k].get("updated_at", "")), reverse=True)
        store = {key: store[key] for key in newest[:MAX_APPLICATIONS]}
        try:
            _write_atomically(self._path, store)
        except OSError as exc:
            log.warning("could not save learned Kraken limits to %s: %s", self._path, exc)


def describe(path: str | Path | None, only: str | None = None) -> list[str]:
    """One line per application of the store (or only the one keyed `only`): what its runs
    learned."""
    store = _read(Path(path) if path else None)
    lines = []
    for key, entry in sorted(store.items()):
        if only is not None and key != only:
            continue
        limits = LearnedLimits.from_json(entry)
        parts = [
            f"page size {limits.page_size}" if limits.page_size else "page size not limited",
            f"{limits.aliases_per_request} aliases per request"
            if limits.aliases_per_request
            else "aliases per request not limited",
        ]
        for shape, points in sorted(limits.points_per_node.items()):
            alias = limits.points_per_alias.get(shape)
            per_alias = f", {alias:g} per alias" if alias is not None else ""
            parts.append(
                f"{points:g} points per node{per_alias} at "
                f"{shape.replace('x', ' aliases x first ')} (measured)"
            )
        lines.append(f"learned Kraken limits of {key}: {'; '.join(parts)}")
    return lines


def _costs(value: Any) -> dict[str, float]:
    pairs = value.items() if isinstance(value, dict) else ()
    return {
        str(shape): float(points)
        for shape, points in pairs
        if isinstance(points, int | float) and not isinstance(points, bool) and points >= 0
    }


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _read(path: Path | None) -> dict[str, Any]:
    if path is None or not path.exists():
        return {}
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("ignoring the learned Kraken limits in %s: %s", path, exc)
        return {}
    return payload if isinstance(payload, dict) else {}


def _write_atomically(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".kraken_limits.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(payload, out, indent=2, sort_keys=True)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
