"""The code location Dagster loads (`dagster dev -m kraken_pipeline.definitions`, workspace.yaml).

Non-secret settings are read from the environment here, once; see settings.py.
"""

from kraken_pipeline.pipeline import build_definitions
from kraken_pipeline.settings import PipelineSettings

defs = build_definitions(PipelineSettings.from_environ())
