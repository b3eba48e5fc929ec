"""End to end: the product in processes of its own, the `kraken-pipeline` command (run, status,
check, emulator) and the Dagster webserver and daemon, the UI driven in a headless browser."""
