"""End to end: the operator's day in the real Dagster webserver, daemon and a headless browser."""
