# Two commands do everything on a fresh machine:
#   make pna    create the virtual environment if needed, install, run the Leicester assessment
#   make test   the same set-up, then the whole test suite (browser tests in Debian's chromium)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= config/leicester.yaml
PYTEST_ARGS ?=
# Two workers: CI has two cores. --durations keeps the slowest tests in view.
PYTEST_WORKERS ?= 2

.PHONY: pna test lint install browser bench newport england fetch clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pna.report.vendor
	touch $(STAMP)

install: $(STAMP)

pna: $(STAMP)
	$(BIN)/pna run --config $(CONFIG)

newport: $(STAMP)
	$(BIN)/pna run --config config/newport.yaml

england: $(STAMP)
	$(BIN)/pna england --config config/england.yaml

# Downloads (needs internet) and clips the street network and timetable for CONFIG; writes config/<area>.fetched.yaml.
fetch: $(STAMP)
	$(BIN)/pna fetch --config $(CONFIG)

# Installs Debian's chromium for the browser tests when it is missing (needs root; a no-op otherwise).
browser:
	@bash .ci/install-browser.sh

# Lint and types first (seconds), then the suite in parallel.
lint: $(STAMP)
	$(BIN)/ruff check pna
	$(BIN)/mypy

test: $(STAMP) browser lint
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadgroup --durations=15 $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_network.py
	$(BIN)/python benchmarks/bench_transit.py
	$(BIN)/python benchmarks/bench_transit_scale.py
	$(BIN)/python benchmarks/bench_england.py
	$(BIN)/python benchmarks/bench_scale.py --tiles 1 5 18
	$(BIN)/python benchmarks/readme_table.py

clean:
	rm -rf outputs .cache
