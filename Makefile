# CWI: two commands do everything on a fresh machine.
#   make render   set up .venv, build the demo region, the site and one PDF per LA
#   make test     set up .venv and system packages, run every test
#   make quarto   the same site through `quarto render` (a quarto on PATH, else the offline one)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cwi-installed
SYS_PACKAGES := chromium poppler-utils fonts-dejavu-core npm

# The offline Quarto 1.7.34 (not part of the project) and the npm tools it needs, pinned in
# package.json / package-lock.json (node_modules/ is git-ignored). Deno comes from the `deno` wheel.
QUARTO_OFFLINE := ../shared/tools/quarto
NODE_STAMP := node_modules/.cwi-installed
NATIVE_SASS := node_modules/sass-embedded-linux-x64/dart-sass/sass
QUARTO ?= $(or $(shell command -v quarto 2>/dev/null),$(QUARTO_OFFLINE)/bin/quarto)

.PHONY: render test setup sysdeps quarto-tools quarto lint bench clean

render: setup
	$(BIN)/cwi build

test: setup sysdeps quarto-tools
	$(BIN)/python -m pytest

# esbuild and Sass for the offline Quarto, installed when ../shared/tools/quarto exists, so that
# `make test` renders the project with Quarto too (tests/integration/test_quarto_render.py).
quarto-tools:
	@if [ -d $(QUARTO_OFFLINE) ]; then $(MAKE) --no-print-directory $(NODE_STAMP); fi

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is missing (apt-get install -y npm): no site search; the Quarto and axe-core tests will be skipped."; exit 0; }; \
	npm ci --no-audit --no-fund --loglevel=error && touch $@

# Render with Quarto from a fresh tree: pre-render builds everything, post-render writes PDFs.
quarto: setup quarto-tools
	PATH="$(abspath $(BIN)):$$PATH" \
	$(if $(wildcard $(NATIVE_SASS)),QUARTO_DART_SASS="$(abspath $(NATIVE_SASS))") \
	$(QUARTO) render

# (Re)create the virtual environment whenever the pinned lists change.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

# npm packages pinned in package.json / package-lock.json: lunr (site search, index built at
# build time) and axe-core (accessibility tests) for everyone; esbuild and Sass for the offline
# Quarto. Without npm the site is built without search and the axe-core test is skipped.
setup: $(STAMP) $(NODE_STAMP)

# System packages the browser and PDF tests need. Installed when missing and running as root;
# otherwise the exact command to run is printed and the tests that need them are skipped.
sysdeps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	fc-list 2>/dev/null | grep -qi "DejaVu Sans" || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing system packages:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	      || echo "WARNING: apt-get install failed; browser/PDF-image tests will be skipped."; \
	  else \
	    echo "Missing system packages:$$missing. Run: sudo apt-get install -y$$missing"; \
	  fi; \
	fi

lint: setup
	$(BIN)/ruff check cwi tests benchmarks
	$(BIN)/ruff format --check cwi tests benchmarks

bench: setup
	$(BIN)/cwi bench

clean:
	rm -rf _site build data/demo la_profiles/X*.qmd la_profiles/E*.qmd la_profiles/_generated \
	  report/_generated downloads _variables.yml .quarto .pytest_cache
