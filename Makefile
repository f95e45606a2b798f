# Every target creates .venv and installs what it needs first, so each works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make dev`'s own venv: langgraph-api pins jsonschema-rs below what schemathesis (dev extra)
# needs, so the two never share one.
STUDIO_VENV := .venv-studio
STUDIO_BIN := $(STUDIO_VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STEMGRAPH_DATA_DIR ?= .data
export STEMGRAPH_DATA_DIR
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: run dev test lint typecheck pytest evals bench token clean js-sdk

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run: pyproject.toml | $(BIN)/python
	$(PIP) -e .
	@touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(PIP) -e ".[dev]"
	@touch $@

$(STUDIO_BIN)/python:
	$(PYTHON) -m venv $(STUDIO_VENV)

$(STUDIO_VENV)/.studio: pyproject.toml | $(STUDIO_BIN)/python
	$(STUDIO_BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[studio]"
	@touch $@

## Serve the API on HOST:PORT with the embedded default (SQLite, offline engine, demo class).
run: $(VENV)/.run
	STEMGRAPH_DEV_MODE=true HOST=$(HOST) PORT=$(PORT) $(BIN)/python -m server

## LangGraph's own dev server on the same graphs for Studio, offline (no analytics, no
## tracing), in dev mode (the demo class in STEMGRAPH_DATA_DIR). No --allow-blocking: the
## graphs make no blocking call on the event loop (the class database's file I/O runs in a thread).
dev: $(STUDIO_VENV)/.studio
	STEMGRAPH_DEV_MODE=true LANGGRAPH_CLI_NO_ANALYTICS=1 LANGSMITH_TRACING=false \
	  LANGCHAIN_TRACING_V2=false $(STUDIO_BIN)/langgraph dev --host $(HOST) --port $(PORT) \
	  --no-browser --no-reload

## Lint, type-check, test and run the eval suite: what CI runs.
test: lint typecheck pytest evals

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.test
	$(BIN)/mypy --strict graphs tools server

# Under CI=true tests/dev must run, so the studio venv is built first (elsewhere it skips).
pytest: $(VENV)/.test $(if $(filter true,$(CI)),$(STUDIO_VENV)/.studio)
	$(BIN)/python -m pytest

evals: $(VENV)/.test
	$(BIN)/python -m evals.run

## Benchmarks in one run (~5 min on 2 vCPU): the server beside its floor (bare Starlette +
## sse-starlette on the same quiz graph), 500 concurrent chat streams, stalled clients, RSS
## over 10,000 runs, offline engine, chat storage, the LangGraph protocol beside the v1 SSE
## route and `make dev` (CI builds .venv-studio for it). Writes bench/out/results.json.
bench: $(VENV)/.test $(if $(filter true,$(CI)),$(STUDIO_VENV)/.studio)
	$(BIN)/python -m bench

## The official JavaScript client (@langchain/langgraph-sdk from npm, pinned in tests/js/package.json,
## no lock file) under this machine's Node.js against a live server: stream a run, resume after an
## event id.
js-sdk: $(VENV)/.test
	cd tests/js && npm install --no-audit --no-fund
	$(BIN)/python -m pytest tests/js -q

## Print a short-lived user token for a demo user: make token USER=<demo id>
token: $(VENV)/.run
	@STEMGRAPH_DEV_MODE=true $(BIN)/python -m server.devtoken $(USER)

clean:
	rm -rf $(VENV) $(STUDIO_VENV) .mypy_cache .ruff_cache .pytest_cache evals/out bench/out tests/js/node_modules
