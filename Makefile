# Leadline: `make run` serves the demo, `make test` runs the whole suite, `make bench` measures.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench venv clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/leadline migrate --no-input
	HOST=$(HOST) PORT=$(PORT) $(BIN)/leadline demo
	# The demo may deliver webhooks to a receiver on this machine; never set this in production.
	LEADLINE_WEBHOOK_ALLOW_PRIVATE=1 HOST=$(HOST) PORT=$(PORT) $(BIN)/leadline serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/leadline makemigrations --check --dry-run

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
