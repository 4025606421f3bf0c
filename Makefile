# One command each, on a fresh Debian machine: `make demo`, `make test`.
# Both install what is missing (a virtual env with the package, and Chromium when
# no browser is found), then run.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT    := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get

.PHONY: install test-deps system browser replayweb webapp demo test test-pure lint typecheck unit bench clean

install: system $(STAMP) browser webapp

test-deps: replayweb

# Debian tools the tests and the README's openssl check use (redis-server: the queue tests).
system:
	@missing=""; \
	for t in openssl unzip; do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	$(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
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

# --- ReplayWeb.page, for tests/test_replayweb.py ---------------------------------------
# The version is pinned in tests/replayweb/package.json. Only the package's own files are
# needed (ui.js and sw.js are self-contained bundles), so it is fetched with `npm pack`
# (which checks the tarball against the registry's integrity hash) and unpacked into
# node_modules/replaywebpage: `npm install` would also pull the viewer's build-time
# dependency tree (electron, webpack plugins, ...), which replay never loads, and it fails
# outright when that tree does not resolve (2.5.3 on this machine: ETARGET warcio@^2.4.12).
# Node and npm come from Debian when missing.
RWP_DIR := tests/replayweb
RWP_PKG := $(RWP_DIR)/node_modules/replaywebpage

replayweb: $(RWP_PKG)/.installed

$(RWP_PKG)/.installed: $(RWP_DIR)/package.json
	@if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then \
	  echo "installing: nodejs npm"; $(APT) update -qq && $(APT) install -y -qq nodejs npm; \
	fi
	@version=$$(node -p 'require("./$(RWP_DIR)/package.json").dependencies.replaywebpage') && \
	echo "fetching replaywebpage@$$version" && \
	rm -rf $(RWP_PKG) $(RWP_DIR)/.pack && mkdir -p $(RWP_PKG) $(RWP_DIR)/.pack && \
	npm pack --silent --pack-destination $(RWP_DIR)/.pack "replaywebpage@$$version" >/dev/null && \
	tar -xzf $(RWP_DIR)/.pack/replaywebpage-$$version.tgz -C $(RWP_PKG) --strip-components=1 && \
	rm -rf $(RWP_DIR)/.pack && \
	test -s $(RWP_PKG)/ui.js && test -s $(RWP_PKG)/sw.js
	@touch $@

# --- ReplayWeb.page for archiver serve -------------------------------------------------------
# The app replays with the same pinned viewer: its two self-contained bundles are copied
# into the folder the app looks in by default (ARCHIVER_REPLAYWEB points elsewhere).
WEB_RWP := archiver/web/vendor/replaywebpage

webapp: $(WEB_RWP)/.installed

$(WEB_RWP)/.installed: $(RWP_PKG)/.installed
	mkdir -p $(WEB_RWP)
	cp $(RWP_PKG)/ui.js $(RWP_PKG)/sw.js $(RWP_PKG)/LICENSE $(RWP_PKG)/package.json $(WEB_RWP)/
	@touch $@

demo: install
	$(BIN)/python -m fixtures.demo

lint: $(STAMP)
	$(BIN)/ruff check archiver tests fixtures bench
	$(BIN)/ruff format --check archiver tests fixtures bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: install test-deps
	$(BIN)/pytest -q

test: install test-deps lint typecheck
	$(BIN)/pytest -q

# The quick suite: no Chromium, no Redis or S3 server, none of the long tests (about a
# minute here; 610 tests). `make test` runs everything.
# Four test processes on two cores: most of these tests wait on a subprocess they started.
test-pure: system $(STAMP)
	$(BIN)/pytest -q -n 4 -m "not browser and not slow and not services"

# Figures, not tests: each script prints medians and ratios against its baseline.
CORPUS ?= ../shared/corpus/readability-test-pages
bench: install
	$(BIN)/python bench/capture.py $(CORPUS) --runs 3 --pages 4
	$(BIN)/python bench/batch.py $(CORPUS) --runs 2 --pages 6
	$(BIN)/python bench/verify.py
	$(BIN)/python bench/diff_speed.py
	$(BIN)/python bench/diff_quality.py $(CORPUS)
	$(BIN)/python bench/serve.py
	$(BIN)/python bench/scale.py $(CORPUS) --runs 2 --pages 6

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache demo-archive $(RWP_DIR)/node_modules $(WEB_RWP)
