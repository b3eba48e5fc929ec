"""kraken-pipeline: Kraken smart-meter measurements into Parquet and DuckDB, run by Dagster."""

__version__ = "0.1.0"
