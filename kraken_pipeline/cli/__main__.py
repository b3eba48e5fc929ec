"""`python -m kraken_pipeline.cli`: the same command as `kraken-pipeline`."""

from kraken_pipeline.cli.main import main

main()
