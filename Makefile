# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := dpa_tracker

.PHONY: run test test-sqlite test-postgres deps dev-deps chromium axe lint bench clean-demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.deps $@

deps: $(VENV)/.deps
dev-deps: $(VENV)/.dev-deps

## run: install, migrate, load the demo into an empty SQLite database, print the sign-ins, serve.
run: deps
	$(BIN)/flask init-db
	@$(BIN)/flask seed-demo --if-empty --credentials-file instance/demo-sign-ins.txt
	@echo "Serving on http://$(HOST):$(PORT)/"
	$(BIN)/flask run --host $(HOST) --port $(PORT)

## chromium: Debian's Chromium for the browser tests (never a downloaded browser).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi
	@/usr/bin/chromium --version

## axe: axe-core for the browser tests' accessibility checks, from the npm registry at the version
## pinned in tests/browser/package-lock.json (never a CDN); the tests fail, not skip, without it.
AXE := tests/browser/node_modules/axe-core/axe.min.js
$(AXE): tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund
	@touch $@
axe: $(AXE)

## test: the whole suite, on SQLite and on PostgreSQL at the same time (one process each on the two cores; each
## run's output is printed when it ends), browser tests included. `make test-sqlite` / `make test-postgres` run one.
test: dev-deps chromium axe lint
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

test-sqlite: dev-deps
	$(BIN)/python -m pytest -p no:cacheprovider

test-postgres: dev-deps
	TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -p no:cacheprovider

## lint: ruff's rules and its formatting, checked (not changed), then mypy on the package (setup.cfg
## [mypy]); part of `make test` and so of CI.
lint: dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## bench: the performance benchmarks (see docs/performance.md): pages and API at full and tenth
## scale, then the Art. 30(2) record PDF of a 200-activity client. BENCH_DB=postgresql+psycopg://...
BENCH_DB ?= sqlite:///bench/out/bench.sqlite3
bench: dev-deps
	$(BIN)/python bench/run.py --database-url $(BENCH_DB)
	$(BIN)/python bench/record_pdf.py $(if $(findstring postgresql,$(BENCH_DB)),--database-url $(BENCH_DB))

clean-demo:
	rm -rf instance/dpa_tracker.sqlite3* instance/evidence instance/demo-sign-ins.txt
