"""Integration tests: the emulator over loopback HTTP, the Dagster job in process, real lakes."""
