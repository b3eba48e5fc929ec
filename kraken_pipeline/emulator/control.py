"""The JSON control API under /_emulator/, for tests driving an emulator in another process.

Faults (objects with the fields of faults.Fault), the clock, the counters, token expiry and a
reset; errors answer 400 {"error": "..."}.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from kraken_pipeline.emulator.answers import Answer, json_answer
from kraken_pipeline.emulator.faults import Fault
from kraken_pipeline.emulator.state import EmulatorState

Route = Callable[[Any], Answer]


class ControlApi:
    """Answers control requests for one emulator."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._routes: dict[tuple[str, str], Route] = {
            ("GET", "stats"): lambda _body: json_answer(200, state.stats.snapshot()),
            ("GET", "faults"): lambda _body: self._faults(),
            ("POST", "faults"): self._add_fault,
            ("DELETE", "faults"): self._clear_faults,
            ("GET", "clock"): lambda _body: self._clock(),
            ("POST", "clock"): self._move_clock,
            ("POST", "expire-tokens"): self._expire_tokens,
            ("POST", "reset"): self._reset,
        }

    def answer(self, method: str, route: str, body: bytes) -> Answer:
        """The answer to `method` on /_emulator/<route> with a JSON body (or none)."""
        handler = self._routes.get((method, route.strip("/")))
        if handler is None:
            return json_answer(404, {"error": f"no control route {method} /_emulator/{route}"})
        try:
            payload = json.loads(body) if body.strip() else {}
            return handler(payload)
        except (ValueError, TypeError) as exc:
            return json_answer(400, {"error": str(exc)})

    def _faults(self) -> Answer:
        return json_answer(
            200, {"faults": [fault.to_json() for fault in self._state.faults.pending()]}
        )

    def _add_fault(self, payload: Any) -> Answer:
        if not isinstance(payload, dict):
            raise ValueError("a fault is a JSON object")
        fault = Fault.from_json(payload)
        self._state.faults.add(fault)
        return json_answer(201, {"added": fault.to_json()})

    def _clear_faults(self, _payload: Any) -> Answer:
        self._state.faults.clear()
        return self._faults()

    def _clock(self) -> Answer:
        return json_answer(200, {"now": self._state.clock.now().isoformat()})

    def _move_clock(self, payload: Any) -> Answer:
        if isinstance(payload, dict) and "now" in payload:
            self._state.clock.set(datetime.fromisoformat(str(payload["now"])))
        elif isinstance(payload, dict) and "advance_seconds" in payload:
            self._state.clock.advance(timedelta(seconds=float(payload["advance_seconds"])))
        else:
            raise ValueError('send {"now": "<ISO 8601 with offset>"} or {"advance_seconds": N}')
        return self._clock()

    def _expire_tokens(self, _payload: Any) -> Answer:
        self._state.tokens.expire_all()
        return json_answer(200, {"expired": True})

    def _reset(self, _payload: Any) -> Answer:
        self._state.reset()
        return json_answer(200, {"reset": True})
