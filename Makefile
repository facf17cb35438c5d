# The two commands of the README: `make run` and `make test`. Both set everything up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: install run test lint test-unit bench schema demo clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

run: $(INSTALLED)
	$(PY) -m tooling.launcher run

test: lint
	$(PY) -m pytest

# the rooms of every service (import-linter contracts in pyproject.toml) and the code style
lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

test-unit: $(INSTALLED)
	$(PY) -m pytest tests/unit

# every benchmark in one run: prints the tables, writes bench/results/latest.json
bench: $(INSTALLED)
	$(PY) bench/run_all.py --json bench/results/latest.json

demo: $(INSTALLED)
	$(PY) -m tooling.journey

schema: $(INSTALLED)
	$(PY) -m shared.events.schema --write
	$(PY) -m tooling.cli events-doc --write

clean:
	rm -rf $(VENV) .shebao .pytest_cache
