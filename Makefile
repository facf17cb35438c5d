# The two commands of the README: `make run` and `make test`. Both set everything up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: install run test lint test-unit bench schema demo clean chromium

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

run: $(INSTALLED)
	$(PY) -m tooling.launcher run

test: lint chromium
	$(PY) -m pytest

# the browser tests (tests/browser/) drive Debian's chromium: installed here when missing (as root)
# (a fresh image may have no package lists yet: then they are fetched once and the install tried again)
APT_CHROMIUM := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
chromium:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && { $(APT_CHROMIUM) || { apt-get update -qq && $(APT_CHROMIUM); }; }; } \
		|| { echo "chromium is missing: run 'sudo apt-get install -y --no-install-recommends chromium', then make test"; exit 1; }

# the rooms of every service (import-linter contracts in pyproject.toml) and the code style
lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

test-unit: $(INSTALLED)
	$(PY) -m pytest tests/unit

# every benchmark in one run: prints the tables, writes bench/results/latest.json
bench: $(INSTALLED)
	$(PY) bench/run_all.py --json bench/results/latest.json

# one resident's journey against a running `make run`: through the services' APIs, or with
# PORTAL=1 through the portal's pages (PORTAL_URL, default http://127.0.0.1:8100)
demo: $(INSTALLED)
	$(PY) -m $(if $(PORTAL),tooling.portal_journey $(if $(PORTAL_URL),--portal-url $(PORTAL_URL)),tooling.journey)

schema: $(INSTALLED)
	$(PY) -m shared.events.schema --write
	$(PY) -m tooling.cli events-doc --write

clean:
	rm -rf $(VENV) .shebao .pytest_cache
