# Two entry points: `make dashboard` (install and open the dashboard on the sample
# data) and `make test` (install everything the tests need and run the whole suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
PORT ?= 8501

.PHONY: dashboard test install install-test chromium lint sample bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -e . 2>&1 | grep -v "is ignored" || true
	$(PY) -c "import consistency, streamlit, duckdb, ibis"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -e ".[test]" 2>&1 | grep -v "is ignored" || true
	$(PY) -c "import consistency, pytest, krippendorff, crowdkit, nltk, playwright, pyspark"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Debian's chromium for the real-browser tests (never `playwright install`).
chromium:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@chromium --version

dashboard: install
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --browser.gatherUsageStats false

test: install-test chromium
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n 2 --dist loadgroup -q

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check consistency tests

sample: install
	$(PY) sample_data/generate.py

bench: install-test
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) test-artifacts
