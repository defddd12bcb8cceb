# CWI: two commands do everything on a fresh machine.
#   make render   set up .venv, build the demo region, the site and one PDF per LA
#   make test     set up .venv and system packages, run every test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cwi-installed
SYS_PACKAGES := chromium poppler-utils fonts-dejavu-core

.PHONY: render test setup sysdeps lint bench clean

render: setup
	$(BIN)/cwi build

test: setup sysdeps
	$(BIN)/python -m pytest

# (Re)create the virtual environment whenever the pinned lists change.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)

# System packages the browser and PDF tests need. Installed when missing and running as root;
# otherwise the exact command to run is printed and the tests that need them are skipped.
sysdeps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
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
	rm -rf _site build data/demo la_profiles/X*.qmd la_profiles/E*.qmd report/_generated .pytest_cache
