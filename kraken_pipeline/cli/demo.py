"""The embedded emulator: what `run` and `ui` use when no Kraken credentials are set."""

from __future__ import annotations

import os
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass

from pydantic import SecretStr

from kraken_pipeline.kraken.redaction import redact
from kraken_pipeline.settings import PipelineSettings, variable_of


@dataclass(frozen=True)
class KrakenTarget:
    """The Kraken a command talks to, and a line for the operator saying which."""

    settings: PipelineSettings
    description: str
    embedded: bool


@contextmanager
def kraken_target(
    settings: PipelineSettings, environ: MutableMapping[str, str] | None = None
) -> Iterator[KrakenTarget]:
    """The configured Kraken, or, without KRAKEN_CLIENT_ID, an emulator serving the demo data.

    For the emulator the demo client's id and secret are put in the environment (where the
    Kraken resource's EnvVars read them) and taken out again afterwards.
    """
    env = os.environ if environ is None else environ
    if settings.client_id:
        yield KrakenTarget(settings, f"Kraken at {redact(settings.api_url)}", embedded=False)
        return
    from kraken_pipeline.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator
    from kraken_pipeline.emulator.config import EmulatorConfig
    from kraken_pipeline.emulator.profiles import PROFILE_VARIABLE, with_profile

    config = with_profile(EmulatorConfig(), env.get(PROFILE_VARIABLE))
    with Emulator(config) as emulator:
        demo = settings.model_copy(
            update={
                "client_id": DEMO_CLIENT_ID,
                "client_secret": SecretStr(DEMO_CLIENT_SECRET),
                "auth_url": emulator.token_url,
                "api_url": emulator.graphql_url,
            }
        )
        saved = {variable_of(name): env.get(variable_of(name)) for name in _DEMO_FIELDS}
        env.update({variable_of(name): _text(getattr(demo, name)) for name in _DEMO_FIELDS})
        try:
            yield KrakenTarget(
                demo,
                "no KRAKEN_CLIENT_ID set: using the embedded Kraken emulator at "
                f"{emulator.base_url} (demo data; supply points {demo.supply_points_path})",
                embedded=True,
            )
        finally:
            for name, value in saved.items():
                if value is None:
                    env.pop(name, None)
                else:
                    env[name] = value


_DEMO_FIELDS = ("client_id", "client_secret", "auth_url", "api_url", "supply_points_path")


def _text(value: object) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)
