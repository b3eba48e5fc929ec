"""The code location Dagster loads (`dagster dev -m kraken_pipeline.definitions`, workspace.yaml).

Settings are read from the environment and `.env` here, once (settings.py); secrets reach the
resources as EnvVars.
"""

import warnings

from dagster import BetaWarning, PreviewWarning

from kraken_pipeline.defs.location import build_definitions
from kraken_pipeline.settings import PipelineSettings

# Partitioned asset checks and single-run backfills are preview/beta features used on purpose
# (see defs/checks.py); without this every code server and run worker repeats the warnings.
warnings.filterwarnings("ignore", category=PreviewWarning)
warnings.filterwarnings("ignore", category=BetaWarning)

defs = build_definitions(PipelineSettings.from_environ())
