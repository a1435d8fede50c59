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
# The suite runs in this many processes (pytest-xdist; one test file per process at a time).
TEST_WORKERS ?= 2

# Offline: no telemetry from MLflow or anything else that honours DO_NOT_TRACK.
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true

.DEFAULT_GOAL := help
.PHONY: help install demo demo-data train score serve test lint typecheck bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	# uv installs the pinned set in ~20 s where pip takes ~4 minutes (same versions, same venv)
	$(BIN)/pip install --quiet "uv==0.9.30"
	# --compile-bytecode: with PYTHONDONTWRITEBYTECODE set (as on CI machines) every process would
	# otherwise compile mlflow, pandas, sklearn ... from source at each import: ~9 s of CPU per
	# `risk` process instead of ~3.5 s, and the suite starts dozens of them
	VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/uv pip install --quiet --compile-bytecode -c constraints.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed ## create .venv and install the project with its dev tools

demo: install browser-deps ## demo data -> validate -> train -> score -> area index -> weekly report -> serve the API and the console
	$(RISK) demo-data --out $(DEMO_DIR) --cases $(DEMO_CASES) --seed $(DEMO_SEED)
	$(RISK) validate $(DEMO_DIR)
	$(RISK) train --data $(DEMO_DIR) --holdout-days $(HOLDOUT_DAYS)
	$(RISK) score --data $(DEMO_DIR) --recent-days $(HOLDOUT_DAYS) --out $(DEMO_DIR)/scores.csv
	$(RISK) index --data $(DEMO_DIR) --out $(DEMO_DIR)/area_index.parquet --store
	$(RISK) report --data $(DEMO_DIR) --week latest --out $(DEMO_DIR)/reports --store --per-county $$(command -v chromium >/dev/null && echo --pdf)
	$(RISK) areas load $(DEMO_DIR)/areas.csv
	$(RISK) user demo --url http://$(HOST):$(PORT)
	$(RISK) serve --host $(HOST) --port $(PORT) --demo

test: install browser-deps ## lint, format check, mypy, layer contracts and the whole suite (PostgreSQL at 127.0.0.1:5432)
	$(BIN)/ruff check features risk training serving cli tests bench
	$(BIN)/ruff format --check features risk training serving cli tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m compileall -q -j 0 features risk training serving cli  # see --compile-bytecode above
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=15

# The browser tests (tests/browser) open and print pages with headless Chromium. Noto CJK draws the
# Chinese on screen; WenQuanYi Micro Hei (TrueType) is the print font, because Chromium's PDF writer
# maps the glyphs an OpenType/CFF CJK font shares with radicals (风, 白, 一) to the radicals' code
# points, so a PDF printed with Noto CJK reads "⻛险" when searched or copied. pdffonts checks the
# embedding. Installed only when missing, only as root (CI); otherwise say what is missing and go
# on: the browser tests then skip naming the fix (with CI=true they fail instead).
BROWSER_DEBS := chromium chromium-driver fonts-noto-cjk fonts-wqy-microhei fontconfig poppler-utils
.PHONY: browser-deps
browser-deps: ## headless Chromium, CJK fonts and pdffonts for the browser tests (apt-get as root)
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	fc-list -q "Noto Sans CJK SC" 2>/dev/null || missing="$$missing fonts-noto-cjk"; \
	fc-list -q "WenQuanYi Micro Hei" 2>/dev/null || missing="$$missing fonts-wqy-microhei"; \
	command -v pdffonts >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "browser-deps: installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$(BROWSER_DEBS) >/dev/null; \
	else \
		echo "browser-deps: missing$$missing; as root run: apt-get install $(BROWSER_DEBS)" \
			"(the browser tests skip until then)"; \
	fi

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
