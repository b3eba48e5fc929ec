"""GraphQL documents: constants, and one template expanded by alias count (DESIGN.md decision 5).

No value is ever formatted into a document. Batching several properties into one request uses
aliases p0..pN-1 whose arguments are variables $propertyId0.., $after0.., $startAt0..; only the
count changes the text, so there is one document per count and it is built once.
"""

from __future__ import annotations

from functools import lru_cache

THIRD_PARTY_VIEWER = """
query ThirdPartyViewer {
  thirdPartyViewer { name permissions { permission } }
}
"""
# Older schemas have thirdPartyViewer without `permissions`: asked when the above is refused.
THIRD_PARTY_VIEWER_NAME = """
query ThirdPartyViewerName {
  thirdPartyViewer { name }
}
"""

# The viewer's hourly points allowance. Asked alone by RATE_LIMIT_INFO, and as one more root
# field of measurement requests that have room for it, so the budget learns the allowance from
# answers it gets anyway instead of from a call of its own before the first measurement.
RATE_LIMIT_FIELD = "rateLimitInfo"
_RATE_LIMIT_SELECTION = """
  rateLimitInfo {
    pointsAllowanceRateLimit { limit remainingPoints usedPoints ttl isBlocked }
  }"""
# rateLimitInfo + pointsAllowanceRateLimit + its five fields, by the rule below.
RATE_LIMIT_COMPLEXITY = 7

RATE_LIMIT_INFO = f"""
query RateLimitInfo {{{_RATE_LIMIT_SELECTION}
}}
"""

# Everything a node needs to become a row; metaData.utilityFilters tells apart the series that
# share one connection (meter point and direction; no __typename: it would add 15% to the bytes
# of a page and the direction already tells electricity from gas). wire.Node mirrors this.
MEASUREMENT_PAGE_FRAGMENT = """
fragment MeasurementPage on MeasurementConnection {
  pageInfo { hasNextPage endCursor }
  edges {
    node {
      value
      unit
      source
      ... on IntervalMeasurementType { startAt endAt }
      metaData {
        utilityFilters {
          ... on ElectricityFiltersOutput {
            marketSupplyPointId
            readingDirection
            readingQuality
          }
          ... on GasFiltersOutput { marketSupplyPointId }
        }
      }
    }
  }
}
"""

# Kraken publishes no complexity formula. Counting every selected field once and a connection
# as 10 more (the emulator's rule, tested against this document), one alias costs 28, so seven
# fit under the limit of 200; fewer fields were not possible without losing a contract column.
ALIAS_COMPLEXITY = 28

_ALIAS_TEMPLATE = """
  p{i}: property(id: $propertyId{i}) {{
    measurements(
      first: $first, after: $after{i}, startAt: $startAt{i}, endAt: $endAt{i},
      timezone: $timezone, utilityFilters: $filters{i}
    ) {{ ...MeasurementPage }}
  }}"""

_ALIAS_VARIABLES = (
    "$propertyId{i}: ID!, $after{i}: String, $startAt{i}: DateTime!, $endAt{i}: DateTime!, "
    "$filters{i}: [UtilityFiltersInput!]!"
)


def alias(index: int) -> str:
    """The alias of the index-th property of a batched request."""
    return f"p{index}"


@lru_cache(maxsize=128)
def measurements_document(count: int, with_rate_limit: bool = False) -> str:
    """The measurements query for `count` aliased properties, built once per count; with
    `with_rate_limit`, it asks rateLimitInfo too (RATE_LIMIT_COMPLEXITY more points)."""
    if count < 1:
        raise ValueError(f"a measurements query needs at least one property, not {count}")
    variables = ", ".join(_ALIAS_VARIABLES.format(i=i) for i in range(count))
    selections = "".join(_ALIAS_TEMPLATE.format(i=i) for i in range(count))
    if with_rate_limit:
        selections += _RATE_LIMIT_SELECTION
    return (
        f"query Measurements($first: Int!, $timezone: String!, {variables}) {{{selections}\n}}\n"
        + MEASUREMENT_PAGE_FRAGMENT
    )
