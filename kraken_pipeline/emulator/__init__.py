"""A faithful local Kraken: an OAuth auth server and the GraphQL measurements API.

It is the target of the tests, the embedded default of the main command when no credentials are
set, and a way to try the pipeline without a Kraken. Start one with `kraken-pipeline emulator`
or in Python:

    with Emulator() as emulator:
        requests.post(emulator.token_url, data={"grant_type": "client_credentials",
                      "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET})

Modules: config (what it serves), runtime (the Emulator), server (HTTP), auth_server (/token/),
graphql_api + resolvers + projection (/v1/graphql/), measurements + connection (windows,
filters, paging), complexity + ratelimit (KT-CT-1188/1189/1199), faults + oddities (scripted
failures and odd payloads), control (/_emulator/), tls (HTTPS with a given certificate),
dataset + loadshapes (the data).
"""

from __future__ import annotations

from kraken_pipeline.emulator.config import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    ClientGrant,
    EmulatorConfig,
)
from kraken_pipeline.emulator.dataset import (
    Dataset,
    DatasetConfig,
    Reading,
    SeriesSpec,
    demo_dataset,
    synthetic_dataset,
)
from kraken_pipeline.emulator.faults import Fault, FaultPlan
from kraken_pipeline.emulator.runtime import Emulator
from kraken_pipeline.emulator.stats import Stats

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "ClientGrant",
    "Dataset",
    "DatasetConfig",
    "Emulator",
    "EmulatorConfig",
    "Fault",
    "FaultPlan",
    "Reading",
    "SeriesSpec",
    "Stats",
    "demo_dataset",
    "synthetic_dataset",
]
