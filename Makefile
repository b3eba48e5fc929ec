# Every target runs inside .venv, created from this repository's own files on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# pytest-xdist workers for `make test` (CI): one process by default, since under two workers
# test_concurrent_runs' two processes did not overlap their fetches in 2 of 3 suites (its
# precondition fails). WORKERS=2 keeps a module's tests that share a module-scoped fixture on
# one worker, and every test that starts Dagster's daemon or uses the scale-out services on one
# worker (conftest.py).
WORKERS ?= 0
FAST_WORKERS ?= auto

.PHONY: lock run test test-fast test-unit lint format ui emulator check bench clean browser services

$(INSTALLED): pyproject.toml constraints.txt
	@echo "Installing kraken-pipeline and its dependencies into $(VENV) (first time only, a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -c constraints.txt -e '.[dev]'
	@echo "Installed into $(VENV)"
	touch $(INSTALLED)

## The main job: materialise the schedule's window (embedded emulator when KRAKEN_CLIENT_ID is unset).
run: $(INSTALLED)
	$(BIN)/kraken-pipeline run $(ARGS)

## Every test, slow end-to-end ones included (what CI runs).
test: $(INSTALLED) browser services
	$(BIN)/pytest -n $(WORKERS) --dist loadgroup $(ARGS)

## Unit and integration tests, the slow ones left out, for the edit-test loop (no services needed).
test-fast: $(INSTALLED)
	$(BIN)/pytest kraken_pipeline_tests/unit kraken_pipeline_tests/integration -m "not slow" \
		-n $(FAST_WORKERS) --dist loadgroup $(ARGS)

## Unit tests only: pure functions and in-memory objects, in seconds.
test-unit: $(INSTALLED)
	$(BIN)/pytest kraken_pipeline_tests/unit $(ARGS)

## Debian's chromium and chromedriver for the UI test (installs only what is missing).
browser:
	bash scripts/install_browser.sh

## PostgreSQL, Redis and RabbitMQ on loopback for the scale-out tests (starts what is missing).
services:
	bash scripts/ensure_services.sh

## Ruff (lint and format, including the rule that only defs/ and cli/ import dagster), mypy, and
## Dagster's own check that the code location loads (on a throwaway instance, telemetry off).
lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	home=$$(mktemp -d) && printf 'telemetry:\n  enabled: false\n' > $$home/dagster.yaml && \
		PATH="$(CURDIR)/$(BIN):$$PATH" VIRTUAL_ENV="$(CURDIR)/$(VENV)" DAGSTER_HOME=$$home \
		$(BIN)/dg check defs; \
		status=$$?; rm -rf $$home; exit $$status

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## The Dagster UI on the same instance and data as `make run`.
ui: $(INSTALLED)
	$(BIN)/kraken-pipeline ui

emulator: $(INSTALLED)
	$(BIN)/kraken-pipeline emulator $(ARGS)

check: $(INSTALLED)
	$(BIN)/kraken-pipeline check

bench: $(INSTALLED)
	$(BIN)/python benchmarks/bench_client.py

## Record the installed versions in constraints.txt (after changing pyproject.toml's dependencies).
lock: $(INSTALLED)
	{ sed -n '1,3p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
