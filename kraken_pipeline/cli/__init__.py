"""The `kraken-pipeline` command: run, status, check, ui and the emulator."""

from kraken_pipeline.cli.main import main

__all__ = ["main"]
