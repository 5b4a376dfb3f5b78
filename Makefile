# The two set-up commands in the README: `make run` and `make test`.
# Each creates .venv with the Python found as $(PYTHON) (3.11+) and installs what it needs.
# `make test` runs ruff (lint + format check) and mypy before pytest; CI (.ci/run) calls it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test bench clean

run: $(VENV)/.app
	$(BIN)/templar

# Static checks first (seconds), then the suite: ruff lint, ruff format check, mypy (strict on
# engine/, configured in pyproject.toml). CHECKS=0 skips them for a quick local run (not LINT: make predefines it).
CHECKS ?= 1
test: $(VENV)/.dev
ifeq ($(CHECKS),1)
	$(BIN)/ruff check engine tui tests bench
	$(BIN)/ruff format --check engine tui tests bench
	$(BIN)/mypy
endif
	$(BIN)/python -m pytest $(PYTEST_ARGS)

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Templar needs Python 3.11+, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.app: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.app

clean:
	rm -rf $(VENV) build *.egg-info
