"""GraphQL answer bodies of measurements as Kraken sends them, for the decoder's tests."""

from __future__ import annotations

import json
from typing import Any

NODE = {
    "value": "0.201000",
    "unit": "kwh",
    "source": "SMART_METER",
    "readAt": "2026-05-07T00:30:00+01:00",
    "startAt": "2026-05-07T00:00:00+01:00",
    "endAt": "2026-05-07T00:30:00+01:00",
    "metaData": {
        "utilityFilters": {
            "__typename": "ElectricityFiltersOutput",
            "marketSupplyPointId": "1200012345679",
            "readingDirection": "CONSUMPTION",
            "readingQuality": "ACTUAL",
        }
    },
}


def body(data: dict[str, Any], errors: list[Any] | None = None) -> bytes:
    payload: dict[str, Any] = {"data": data}
    if errors is not None:
        payload["errors"] = errors
    return json.dumps(payload).encode()


def connection(*nodes: Any, has_next: bool = False) -> dict[str, Any]:
    return {
        "measurements": {
            "pageInfo": {"hasNextPage": has_next, "endCursor": "abc"},
            "edges": [{"node": node} for node in nodes],
        }
    }
