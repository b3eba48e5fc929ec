"""What the Dagster UI shows about runs and resources, asked through its own GraphQL API.

The webserver answers the UI from this schema, so a value absent from these answers is absent
from every page of the UI: run config, events with their messages, errors and metadata, and
the resources' configured values. The code location is loaded in process (no webserver), from
the same module `dagster dev` loads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from dagster import DagsterInstance
from dagster._core.test_utils import in_process_test_workspace
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster_graphql.test.utils import execute_dagster_graphql, infer_resource_selector

RUN_QUERY = """
query RunAsTheUiShowsIt($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      status
      runConfigYaml
      tags { key value }
      eventConnection(limit: 100000) {
        events {
          __typename
          ... on MessageEvent { message }
          ... on ErrorEvent { error { message stack causes { message stack } } }
          ... on DisplayableEvent {
            label
            description
            metadataEntries {
              label
              description
              ... on TextMetadataEntry { text }
              ... on MarkdownMetadataEntry { mdStr }
              ... on PathMetadataEntry { path }
              ... on JsonMetadataEntry { jsonString }
            }
          }
        }
      }
    }
  }
}
"""

RESOURCE_QUERY = """
query ResourceAsTheUiShowsIt($selector: ResourceSelector!) {
  topLevelResourceDetailsOrError(resourceSelector: $selector) {
    __typename
    ... on ResourceDetails {
      configuredValues { key value type }
      configFields { name description defaultValueAsJson }
    }
  }
}
"""


def ui_answers(instance: DagsterInstance) -> Iterator[tuple[str, dict[str, Any]]]:
    """(what, GraphQL data) for every run in the instance and for the kraken resource."""
    origin = LoadableTargetOrigin(module_name="kraken_pipeline.definitions")
    with in_process_test_workspace(instance, origin) as context:
        for run in instance.get_runs():
            answer = execute_dagster_graphql(context, RUN_QUERY, {"runId": run.run_id})
            yield f"run {run.run_id}", dict(answer.data)
        selector = infer_resource_selector(context, "kraken")
        answer = execute_dagster_graphql(context, RESOURCE_QUERY, {"selector": selector})
        yield "the kraken resource", dict(answer.data)


def as_text(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True)
