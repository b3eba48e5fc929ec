"""Everything Dagster: assets, checks, partitions, schedules, sensors, resources, the locations.

The only package that imports dagster (with `kraken_pipeline.definitions` and the command line);
its assets turn a partition window into plain arguments and call the plain pipeline steps.
"""
