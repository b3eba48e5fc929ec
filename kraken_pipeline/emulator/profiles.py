"""Named limit profiles: EmulatorConfig overrides for behaviours the public record allows.

The emulator's defaults are lenient guesses. A client that only works on them is worthless, so
the end-to-end tests and the benchmark also run against stricter readings of kraken_api.md:

- `lenient`: the defaults (pages of up to 1,000, complexity 200 by field count, 10,000 nodes);
- `strict-pages`: a `first` of 100 or more is refused with KT-CT-1203 (VALIDATION, inputPath
  ["first"]), as tenants that cap pages below the documented 1,000 do;
- `strict-complexity`: pagination arguments weigh, one point per ten requested nodes, so more
  than one alias of a 1,000-node page is KT-CT-1188;
- `small-nodes`: at most 2,000 nodes per request (KT-CT-1189);
- `graphene-400`: strict pages and complexity, with every error found before execution (page
  size, complexity, node count, validation) answered HTTP 400 without a `path`, as
  graphene-django, and so Kraken, answers them;
- `strictest`: all of these at once.
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
