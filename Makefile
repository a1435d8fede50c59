# dispute-risk: `make demo` runs the whole job on the embedded default (SQLite + local MLflow);
# `make test` runs the tests. Both set up .venv from nothing on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RISK := $(BIN)/risk
DEMO_DIR ?= data/demo
DEMO_CASES ?= 100000
DEMO_SEED ?= 1
HOLDOUT_DAYS ?= 56
HOST ?= 127.0.0.1
PORT ?= 8000

# Offline: no telemetry from MLflow or anything else that honours DO_NOT_TRACK.
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true

.DEFAULT_GOAL := help
.PHONY: help install demo demo-data train score serve test lint typecheck bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed ## create .venv and install the project with its dev tools

demo: install ## demo data -> validate -> train -> score the held-out weeks -> serve the API
	$(RISK) demo-data --out $(DEMO_DIR) --cases $(DEMO_CASES) --seed $(DEMO_SEED)
	$(RISK) validate $(DEMO_DIR)
	$(RISK) train --data $(DEMO_DIR) --holdout-days $(HOLDOUT_DAYS)
	$(RISK) score --data $(DEMO_DIR) --recent-days $(HOLDOUT_DAYS) --out $(DEMO_DIR)/scores.csv
	$(RISK) serve --host $(HOST) --port $(PORT) --demo

test: install ## lint, layer contracts and the whole test suite (PostgreSQL at 127.0.0.1:5432)
	$(BIN)/ruff check features risk training serving cli tests bench
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

lint: install ## ruff lint + format check, mypy
	$(BIN)/ruff check features risk training serving cli tests bench
	$(BIN)/ruff format --check features risk training serving cli tests bench
	$(BIN)/mypy

bench: install ## benchmarks (minutes): demo data, tokeniser, history, training, API load
	$(BIN)/python bench/bench_demo_data.py
	$(BIN)/python bench/bench_tokenize.py
	$(BIN)/python bench/bench_history.py
	$(BIN)/python bench/bench_train.py
	$(BIN)/python bench/bench_api.py

clean: ## remove demo data and model artefacts (keeps .venv)
	rm -rf data/demo models/mlflow.db models/artifacts models/cards
