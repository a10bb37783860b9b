# smartpark: two commands for users (`make demo`, `make test`) and a few for developers.
#
# Every target creates the virtual environment in .venv when it is missing and installs the
# project into it only when pyproject.toml changed since the last install (stamp files), so a
# second run goes straight to the work. Run `make help` for the list.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
# Extra arguments for `smartpark demo`, e.g. make demo ARGS="--duration 60".
ARGS ?=
# Extra arguments for pytest, e.g. make test PYTEST_ARGS="-k codec -x".
PYTEST_ARGS ?=

# Servers the integration tests start (mosquitto, victoria-metrics), the MQTT command-line
# clients for poking at a broker, and Debian's docker-compose to validate docker-compose.yml.
APT_PACKAGES := mosquitto mosquitto-clients victoria-metrics docker-compose

RUNTIME_STAMP := $(VENV)/.smartpark-runtime.stamp
TEST_STAMP := $(VENV)/.smartpark-test.stamp

.PHONY: help demo test check lint typecheck imports pytest unit system-deps venv docs figures clean

help: ## List the targets
	@echo "smartpark make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | \
		awk -F'\t' '{ printf "  make %-12s %s\n", $$1, $$2 }'

demo: $(RUNTIME_STAMP) ## Run the self-contained demo (no servers needed); extra flags via ARGS=...
	$(BIN)/smartpark demo $(ARGS)

test: system-deps $(TEST_STAMP) ## Install what the tests need, then lint, type-check and test
	@$(MAKE) check

check: lint typecheck imports pytest ## The checks alone (assumes `make test` installed things)

lint: $(TEST_STAMP) ## ruff on the whole repository
	$(BIN)/ruff check .

typecheck: $(TEST_STAMP) ## mypy --strict (files and settings from pyproject.toml)
	$(BIN)/mypy

imports: $(TEST_STAMP) ## import-linter: the contract is I/O-free, the apps stay independent
	$(BIN)/lint-imports

# pytest exits 5 when it collects no tests; make treats any non-zero status as failure, so an
# empty suite fails the build. Coverage settings (branch, parallel data, 90 % floor) come from
# pyproject.toml; pytest-cov combines the per-process data files before reporting.
pytest: $(TEST_STAMP) ## The test suite with branch coverage (floor from pyproject.toml)
	$(BIN)/python -m pytest --cov --cov-report=term-missing:skip-covered $(PYTEST_ARGS)

unit: $(TEST_STAMP) ## Only the fast tests (no real servers), without coverage
	$(BIN)/python -m pytest -m "not integration" $(PYTEST_ARGS)

docs: $(TEST_STAMP) ## Regenerate the generated parts of docs/ from the code
	$(BIN)/python scripts/gen_contract_doc.py

figures: $(TEST_STAMP) ## Redraw docs/models/img/*-day.png from a simulated day (about a minute)
	$(BIN)/python scripts/plot_day.py

venv: $(BIN)/python ## Create .venv (if missing)

$(BIN)/python:
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
		echo "error: $(PYTHON) cannot create virtual environments (no ensurepip)." >&2; \
		echo "On Debian/Ubuntu: apt-get install python3-venv (or set PYTHON=/path/to/python3.11)" >&2; \
		exit 1; }
	$(PYTHON) -m venv $(VENV)

# One stamp per install flavour; pyproject.toml changing is what makes them stale.
$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	@touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[test]'
	@touch $@ $(RUNTIME_STAMP)

# apt-get update runs once, and only when a package is missing. As root (CI) apt-get runs
# directly; otherwise through sudo. A failure stops the build with the command to run by hand.
system-deps: ## Install the Debian packages the tests need (skipped when all are present)
	@missing=""; \
	for pkg in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' "$$pkg" 2>/dev/null | grep -q "install ok installed" \
			|| missing="$$missing $$pkg"; \
	done; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -z "$$missing" ]; then \
		echo "system packages present: $(APT_PACKAGES)"; exit 0; \
	fi; \
	if ! command -v apt-get >/dev/null; then \
		echo "error: missing system packages:$$missing, and apt-get is not available." >&2; \
		echo "Install them with your package manager, then run make test again." >&2; \
		exit 1; \
	fi; \
	sudo=""; \
	if [ "$$(id -u)" -ne 0 ]; then \
		if command -v sudo >/dev/null; then sudo="sudo"; else \
			echo "error: missing system packages:$$missing; not root and sudo is not installed." >&2; \
			echo "Run as root: apt-get update && apt-get install -y$$missing" >&2; \
			exit 1; \
		fi; \
	fi; \
	echo "installing system packages:$$missing"; \
	if ! { $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q \
		&& $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; }; then \
		echo "error: could not install:$$missing" >&2; \
		echo "Run by hand: $$sudo apt-get update && $$sudo apt-get install -y$$missing" >&2; \
		exit 1; \
	fi

clean: ## Remove caches and coverage data (keeps .venv)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis htmlcov .coverage .coverage.*
