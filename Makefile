# Leadline: `make run` serves the demo, `make test` runs the whole suite, `make bench` measures.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint audit lock bench venv clean

# Everything comes from requirements.lock, hash-checked, pip and setuptools included: the venv's
# bundled pip (from CPython's ensurepip, no download) installs only the locked pip, hash-checked,
# and that pip installs the rest. The project goes in without dependencies and without a build
# env, so the locked setuptools builds it and nothing unhashed is fetched.
$(STAMP): pyproject.toml $(LOCK) clients/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The locked pip goes in first, on its own: the bundled pip (23.2 on Python 3.11) mishandles a
	# dependency asked for with an extra (pip-audit's CacheControl[filecache]) in hash mode, taking
	# the newest release from the index and then refusing it as unpinned.
	sed -n '/^pip==/,/# via/p' $(LOCK) > $(VENV)/pip.lock
	$(BIN)/python -m pip install --quiet --require-hashes -r $(VENV)/pip.lock
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	# The Python client, for its tests and the bench; its one dependency (httpx) is locked.
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e ./clients/python
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
	# The client ships py.typed, so its users' type checkers see exactly what mypy --strict saw.
	cd clients/python && ../../$(BIN)/mypy --strict src
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/leadline makemigrations --check --dry-run

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench

# Audits exactly the locked versions against PyPI's advisory data. --strict fails the run when a
# package cannot be audited (service unreachable, version unknown) instead of skipping it.
AUDIT := $(BIN)/pip-audit --requirement $(LOCK) --require-hashes --disable-pip --strict \
	--vulnerability-service pypi --progress-spinner off
audit: $(STAMP)
	$(AUDIT)

# Regenerates requirements.lock from pyproject.toml (runtime + dev, Python 3.11, with hashes of
# every file PyPI has for each pin, so the other platforms' wheels are covered). Keeps the current
# pins where they still fit; `make lock UPGRADE=1` moves everything to the newest allowed.
# The machine's pip config (local mirrors, find-links, constraints) is left out: PyPI only.
lock:
	test -x $(BIN)/pip-compile || $(MAKE) venv
	env -u PIP_FIND_LINKS -u PIP_CONSTRAINT -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL \
		PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="make lock" \
		$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --extra dev \
		--no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade) -o $(LOCK) pyproject.toml

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
