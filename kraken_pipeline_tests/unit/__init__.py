"""Unit tests: pure functions and in-memory objects; no server, no subprocess, no Dagster run."""
