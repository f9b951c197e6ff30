# The README's set-up commands. Everything installs into .venv; nothing global.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Reinstall whenever the package metadata changes.
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run demo test bench lint format install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## make run: install, log realistic demo runs, then serve the web UI over them (Ctrl-C stops it)
run: install
	$(BIN)/ragtrack demo
	$(BIN)/ragtrack ui

## make test: install with test extras and run the whole suite (lint included: it is fast)
test: install
	$(BIN)/ruff check ragtrack tests benchmarks tools
	$(BIN)/python -m pytest -q

## make bench: the speed and size targets (results go to docs/benchmarks.md by hand)
bench: install
	$(BIN)/python benchmarks/run.py

lint: install
	$(BIN)/ruff check ragtrack tests benchmarks tools
	$(BIN)/ruff format --check ragtrack tests benchmarks tools
	$(BIN)/mypy

format: install
	$(BIN)/ruff format ragtrack tests benchmarks tools
	$(BIN)/ruff check --fix ragtrack tests benchmarks tools

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
