"""Named limit profiles: EmulatorConfig overrides for behaviours the public record allows.

The defaults are lenient guesses; the stricter profiles (README, "The emulator") are what the
end-to-end tests and the benchmark also run against.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from kraken_pipeline.emulator.config import EmulatorConfig

_STRICT_PAGES: Mapping[str, Any] = {"max_page_size": 99, "page_size_error_code": "KT-CT-1203"}
_STRICT_COMPLEXITY: Mapping[str, Any] = {"complexity_per_node": 0.1}
_SMALL_NODES: Mapping[str, Any] = {"max_nodes": 2_000}
_GRAPHENE_400: Mapping[str, Any] = {"pathless_error_status": 400}

PROFILES: Mapping[str, Mapping[str, Any]] = {
    "lenient": {},
    "strict-pages": _STRICT_PAGES,
    "strict-complexity": _STRICT_COMPLEXITY,
    "small-nodes": _SMALL_NODES,
    "graphene-400": {**_STRICT_PAGES, **_STRICT_COMPLEXITY, **_GRAPHENE_400},
    "strictest": {**_STRICT_PAGES, **_STRICT_COMPLEXITY, **_SMALL_NODES, **_GRAPHENE_400},
}
PROFILE_VARIABLE = "KRAKEN_EMULATOR_PROFILE"


def profile_overrides(name: str) -> Mapping[str, Any]:
    """The EmulatorConfig fields a profile sets; ValueError naming the known ones."""
    try:
        return PROFILES[name.strip()]
    except KeyError:
        raise ValueError(
            f"unknown emulator profile {name!r}: use one of {', '.join(PROFILES)}"
        ) from None


def with_profile(config: EmulatorConfig, name: str | None) -> EmulatorConfig:
    """The config with a profile's limits applied (None or "": unchanged)."""
    if not name:
        return config
    return dataclasses.replace(config, **profile_overrides(name))
