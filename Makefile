# Two commands for users: `make run` serves the bundled course, `make test` runs the suite.
# Everything else here is for contributors.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
WORKERS ?= 2
export FLASK_APP := app:create_app
# Settings come from the environment only: a stray .env or .flaskenv never changes which
# database `flask db upgrade` migrates (gunicorn would not read it).
export FLASK_SKIP_DOTENV := 1

.PHONY: prepare run dev test test-postgres bench loadtest loadtest-postgres lighthouse audit \
	lint format check-content css clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# A stamp per requirements file: pip runs again only when the file changes.
$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

# Schema, secret key and rendered-lesson cache, so that every gunicorn worker starts warm.
prepare: $(VENV)/.runtime-installed
	$(BIN)/flask db upgrade
	$(BIN)/flask content build

run: prepare
	@echo "Serving on http://127.0.0.1:$(PORT)/"
	$(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --workers $(WORKERS) --no-control-socket --preload \
		app.wsgi:app

dev: prepare
	$(BIN)/flask --debug run --port $(PORT)

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The same suite (without the browser tests) on a throwaway PostgreSQL server: tests/pg.sh
# starts it, sets TEST_DATABASE_URL and deletes it afterwards. Needs Debian's postgresql.
test-postgres: $(VENV)/.dev-installed
	tests/pg.sh run -- $(BIN)/python -m pytest --ignore=tests/browser $(PYTEST_ARGS)

# wrk (installed with apt when missing) against gunicorn -w $(WORKERS), alternating with a bare
# Flask hello-world in the same rounds: catalog, lesson pages, quiz answers, progress sync and
# the instructor view (medians of 5 runs of 10 s), worker memory with 200 generated lessons
# and start times against `mkdocs build`. Prints a table, writes tests/perf/results/*.json;
# exit status 1 when a target is missed. BENCH_ARGS="--duration 2 --rounds 1" for a quick run.
bench: $(VENV)/.dev-installed
	@if ! command -v wrk >/dev/null 2>&1; then \
		sudo=""; \
		if [ "$$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi; \
		$$sudo env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends wrk \
		|| { $$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends wrk; }; \
	fi
	$(BIN)/python -m tests.perf.bench --workers $(WORKERS) $(BENCH_ARGS)

# 50 guest learners x 20 answers through gunicorn ($(WORKERS) workers); ends with one line,
# "loadtest: attempts=... expected=1000 5xx=... locked=... p50=... p95=... p99=...".
loadtest: $(VENV)/.dev-installed
	$(BIN)/python -m tests.perf.loadtest --workers $(WORKERS) $(LOADTEST_ARGS)

# The same against a throwaway PostgreSQL server (tests/pg.sh sets TEST_DATABASE_URL).
loadtest-postgres: $(VENV)/.dev-installed
	tests/pg.sh run -- sh -c 'DATABASE_URL="$$TEST_DATABASE_URL" \
		exec $(BIN)/python -m tests.perf.loadtest --workers $(WORKERS) $(LOADTEST_ARGS)'

# Lighthouse's npm project: `npm ci` again only when its lock changes; Debian's nodejs and
# npm are installed with apt when npm is missing.
LIGHTHOUSE_DIR := tests/perf/lighthouse
$(LIGHTHOUSE_DIR)/node_modules/.installed: $(LIGHTHOUSE_DIR)/package-lock.json \
		$(LIGHTHOUSE_DIR)/package.json
	@if ! command -v npm >/dev/null 2>&1; then \
		sudo=""; \
		if [ "$$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi; \
		$$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends nodejs npm; \
	fi
	cd $(LIGHTHOUSE_DIR) && npm ci --no-audit --no-fund
	touch $@

# Lighthouse 12 (desktop and mobile) on the catalog, a lesson and a learner's dashboard; fails
# below performance 95, accessibility 100, best practices 100, SEO 95. Takes a few minutes;
# LIGHTHOUSE_ARGS="--reports DIR" keeps the full reports.
lighthouse: $(VENV)/.dev-installed $(LIGHTHOUSE_DIR)/node_modules/.installed
	CHROME_PATH="$${CHROME_PATH:-/usr/bin/chromium}" \
		$(BIN)/python -m tests.perf.lighthouse $(LIGHTHOUSE_ARGS)

# Known vulnerabilities in the pinned packages (pip-audit). Exit status: 0 clean,
# 1 vulnerable, 2 pip-audit could not run, 3 some packages could not be audited.
audit: $(VENV)/.dev-installed
	$(BIN)/python .ci/audit.py

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-content: $(VENV)/.runtime-installed
	$(BIN)/flask content check --strict

# The generated stylesheet and script (app/static/css/site.css, app/static/js/app.js).
css: $(VENV)/.runtime-installed
	$(BIN)/flask assets build

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-results
