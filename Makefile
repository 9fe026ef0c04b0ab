# The README's two commands are `make demo` and `make test`; both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Setup reruns only when what it installs changes.
STAMP := $(VENV)/.setup-$(shell cat pyproject.toml requirements/*.txt scripts/setup.sh | sha256sum | cut -c1-16)
PYTEST_ARGS ?=

.PHONY: setup demo test bench ui clean

setup: $(STAMP)

$(STAMP):
	PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/setup.sh
	rm -f $(VENV)/.setup-*
	touch $@

## The main job on the embedded default (the simulated cohort).
demo: setup
	$(BIN)/cookiebench corpus inspect

## The test suite (slow tests train and serve real models; all run).
test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Benchmarks: results land in bench-results/*.json.
bench: setup
	$(BIN)/python -m bench

## The MLflow UI over the local store, on loopback.
ui: setup
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow/mlflow.db \
		--default-artifact-root $(CURDIR)/mlflow/artifacts --host 127.0.0.1 --port $${PORT:-5000}

clean:
	rm -rf $(VENV) bench-results .pytest_cache
