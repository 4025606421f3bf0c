# One command each, on a fresh Debian machine: `make demo`, `make test`.
# Both install what is missing (a virtual env with the package, and Chromium when
# no browser is found), then run.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT    := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get

.PHONY: install system browser demo test lint typecheck unit bench clean

install: system $(STAMP) browser

# Debian tools the tests and the README's openssl check use.
system:
	@missing=""; \
	for t in openssl unzip; do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	$(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; $(APT) update -qq && $(APT) install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

# The tool finds a browser by itself (ARCHIVER_BROWSER, Playwright's Chromium,
# system Chromium/Chrome). Install Debian's chromium only when it finds none.
browser: $(STAMP)
	@if ! $(BIN)/archiver browser >/dev/null 2>&1; then \
	  echo "no browser found: installing Debian's chromium"; \
	  $(APT) update -qq && $(APT) install -y -qq chromium; \
	fi
	@$(BIN)/archiver browser

demo: install
	$(BIN)/python -m fixtures.demo

lint: $(STAMP)
	$(BIN)/ruff check archiver tests fixtures bench
	$(BIN)/ruff format --check archiver tests fixtures bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q

test: install lint typecheck
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache demo-archive
