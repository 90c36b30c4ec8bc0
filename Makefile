# Bilten: two commands.
#   make run    install what is missing, migrate, load demo data, serve http://localhost:3000 (SQLite)
#   make test   install what the tests need, start PostgreSQL and Redis if down, run the whole suite

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BUN_VERSION := 1.4.4
BUN := .tools/node_modules/@oven/bun-linux-x64/bin/bun
# axe-core for the browser accessibility tests (tests/e2e/test_accessibility.py), from the npm
# registry into its own prefix (never a CDN); a separate prefix so neither install prunes the other.
AXE_VERSION := 4.14.1
AXE := .tools/axe/node_modules/axe-core/axe.min.js

# Reflex: bun from the npm registry (its own installer downloads from the web), no telemetry.
export REFLEX_BUN_PATH := $(CURDIR)/$(BUN)
export REFLEX_TELEMETRY_ENABLED := false
export REFLEX_CHECK_LATEST_VERSION := false
export NPM_CONFIG_REGISTRY ?= https://registry.npmjs.org

# `make run` is the demo: SQLite, an auto-generated secret key, demo accounts. Override in .env or here.
BILTEN_DEMO ?= 1
export BILTEN_DEMO

.PHONY: run install test test-deps services clean

run: install
	$(BIN)/bilten migrate
	$(BIN)/bilten seed-demo
	$(BIN)/reflex run --env prod

install: $(VENV)/.installed $(BUN)

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(BUN):
	@command -v npm >/dev/null || { echo "npm (Node.js 20+) is needed to fetch bun: apt-get install -y nodejs npm"; exit 1; }
	npm install --no-save --silent --prefix .tools @oven/bun-linux-x64@$(BUN_VERSION)
	test -x $(BUN)

test: test-deps services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy  # bilten/services, as configured in pyproject.toml
	$(BIN)/pytest
	@echo "Unit suite again with the calendar moved 400 days ahead:"
	FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f +400d $(BIN)/pytest tests/unit -q -p no:cacheprovider

test-deps: install $(VENV)/.test-installed $(AXE)
	scripts/install-system-deps.sh

$(AXE):
	@command -v npm >/dev/null || { echo "npm (Node.js 20+) is needed to fetch axe-core: apt-get install -y nodejs npm"; exit 1; }
	npm install --no-save --silent --prefix .tools/axe axe-core@$(AXE_VERSION)
	test -f $(AXE)

$(VENV)/.test-installed: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

services:
	scripts/start-services.sh

clean:
	rm -rf .web .states $(VENV) .tools
