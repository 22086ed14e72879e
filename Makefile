# Two commands: `make run` and `make test`. Everything else is installed into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run lint browser test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

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
	$(BIN)/python bench/events_append.py
	$(BIN)/python bench/registry_import.py
	$(BIN)/python bench/ledger_post.py
	$(BIN)/python bench/disbursements_load.py
	$(BIN)/python bench/audit_replay.py
	$(BIN)/python bench/registry_county.py

clean:
	rm -rf $(VENV) .data .pytest_cache .hypothesis
