"""Payload faults are armed like every other fault and refuse what they cannot do."""

from __future__ import annotations

import pytest

from kraken_pipeline.emulator import Fault


def test_a_payload_fault_comes_from_the_control_apis_json() -> None:
    fault = Fault.from_json({"kind": "node_field_missing", "field_name": "endAt", "times": 2})
    assert (fault.kind, fault.field_name, fault.times) == ("node_field_missing", "endAt", 2)


def test_a_node_field_fault_refuses_a_field_the_client_does_not_need() -> None:
    with pytest.raises(ValueError, match="field_name 'unit'"):
        Fault("node_field_missing", field_name="unit")


def test_a_payload_fault_applies_to_the_graphql_endpoint_only() -> None:
    with pytest.raises(ValueError, match="graphql endpoint only"):
        Fault("cursor_loop", endpoint="token")
