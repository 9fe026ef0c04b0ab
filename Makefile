# The README's two commands are `make demo` and `make test`; both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Setup reruns only when what it installs changes.
STAMP := $(VENV)/.setup-$(shell cat pyproject.toml requirements/*.txt scripts/setup.sh | sha256sum | cut -c1-16)
PYTEST_ARGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup browser demo check test test-fast bench gpu-check ui clean

setup: $(STAMP)

$(STAMP):
	PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/setup.sh
	rm -f $(VENV)/.setup-*
	touch $@

## Debian's Chromium, for the test that opens the MLflow UI in a real browser.
browser:
	@command -v chromium >/dev/null || { echo "[setup] Debian chromium (MLflow UI test)"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## The main job on the embedded default: the `demo` benchmark on the simulated cohort.
demo: setup
	$(BIN)/cookiebench corpus inspect
	$(BIN)/cookiebench models prepare
	$(BIN)/cookiebench benchmark --config demo

## Lint, format, types and the layering (configured in pyproject.toml); `make test` runs it first.
check: setup
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/mypy
	$(BIN)/lint-imports

## The test suite, after the checks (slow tests train and serve real models; all run) and the doctests.
test: setup browser check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The edit loop (under 3 minutes): no training, no servers or subprocesses, no benchmark runs.
test-fast: setup
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

## Benchmarks: results land in bench-results/*.json.
bench: setup
	$(BIN)/python -m bench

## On a machine with an NVIDIA GPU: GPU setup, tiny profile, `make bench` and GPU timings (bench-results/gpu/).
gpu-check:
	bash scripts/gpu_check.sh

## The MLflow UI over the local store, on loopback.
ui: setup
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow/mlflow.db \
		--default-artifact-root $(CURDIR)/mlflow/artifacts --host 127.0.0.1 --port $${PORT:-5000}

clean:
	rm -rf $(VENV) .pytest_cache bench-results/*.json
