"""pytest-xdist groups (`--dist loadgroup`) that span modules."""

# Every test that starts Dagster's daemon (`dagster dev`, `dagster-daemon`) or uses the scale-out
# services: two webservers and daemons at once would starve each other on 2 cores.
DAEMONS = "daemons"
