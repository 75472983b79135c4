# Two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/soporte

.PHONY: run test test-sqlite test-postgres lint bench clean messages fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the dependencies change, so a second `make run` starts in seconds.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(VENV)/.installed $@

# The optional extra soporte[semantic] (sentence embeddings), so its tests run too: the
# CPU build of PyTorch first (this machine keeps torch 2.13.0 on disk; elsewhere use
# PyTorch's CPU index, PyPI's build pulls in gigabytes of CUDA), then the extra.
$(VENV)/.installed-semantic: pyproject.toml | $(VENV)/.installed-dev
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev,semantic]"
	touch $@

# Translations are compiled on install and whenever the .po changes, so never stale.
LOCALE_PO := soporte/locale/es/LC_MESSAGES/django.po
LOCALE_MO := $(LOCALE_PO:.po=.mo)

$(LOCALE_MO): $(LOCALE_PO) | $(VENV)/.installed
	@command -v msgfmt >/dev/null || { $(APT_INSTALL) gettext; }
	cd soporte && ../$(BIN)/soporte compilemessages -v0

APT_INSTALL = apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq

# The browser tests drive Debian's chromium; install it when missing.
/usr/bin/chromium:
	$(APT_INSTALL) chromium

# The mail tests start their own throw-away dovecot on a free loopback port; the
# package's system service is not wanted.
/usr/sbin/dovecot:
	$(APT_INSTALL) dovecot-imapd
	service dovecot stop || true

messages: $(VENV)/.installed
	cd soporte && ../$(BIN)/soporte makemessages -l es --no-location --no-wrap

run: $(VENV)/.installed $(LOCALE_MO)
	$(BIN)/soporte run

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check soporte tests bench agent
	$(BIN)/ruff format --check soporte tests bench agent
	$(BIN)/mypy soporte/lib soporte/accounts/services.py soporte/tickets/services.py soporte/jobs/queue.py soporte/jobs/services.py soporte/jobs/registry.py soporte/jobs/worker.py soporte/sla/calendar.py soporte/sla/clock.py soporte/sla/services.py soporte/search/services.py soporte/search/text.py soporte/search/semantic.py soporte/triage/semantic.py \
		soporte/kb/services.py soporte/assets/services.py soporte/tickets/macros.py \
		soporte/ops/archive.py soporte/ops/backup.py soporte/ops/restore.py soporte/ops/sources.py \
		soporte/ops/deploycheck.py soporte/playbooks/services.py soporte/tickets/guards.py \
		soporte/tickets/timelog.py soporte/tickets/satisfaction.py soporte/flows/services.py \
		soporte/flows/graph.py soporte/problems/trackers.py \
		soporte/reports/services.py soporte/reports/rollups.py soporte/reports/histogram.py \
		soporte/mail/outbound.py soporte/training/services.py soporte/evaluations/services.py \
		soporte/triage/services.py soporte/problems/services.py soporte/assets/indexing.py \
		soporte/mail/feedparser.py soporte/mail/parse.py soporte/mail/services.py soporte/triage/ml.py

# The suite runs in two processes (pytest-xdist; a file's tests stay in one process; the
# machines here have 2 cores: one process took 16.8 min for the SQLite run on a quiet one),
# longest files first (tests/conftest.py orders them; xdist's own reordering off),
# then the browser tests alone (a live server still answering at a test's end can keep
# SQLite's in-memory database from flushing under load). PYTEST_WORKERS=0: one process.
PYTEST_WORKERS ?= 2
PARALLEL = $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --ignore tests/e2e)
E2E_ALONE = $(if $(filter 0,$(PYTEST_WORKERS)),,tests/e2e)
# Byte-code caches on even where the environment turns them off: without them every test
# process (and each server or worker a test starts) compiles the project and pytest rewrites
# every test module again (collecting the suite: 42 s of CPU without, 26 s with).
unexport PYTHONDONTWRITEBYTECODE

test-sqlite: $(VENV)/.installed-semantic $(LOCALE_MO) /usr/bin/chromium /usr/sbin/dovecot
	SOPORTE_DATABASE_URL= $(BIN)/python -m pytest -q $(PARALLEL)
	$(if $(E2E_ALONE),SOPORTE_DATABASE_URL= $(BIN)/python -m pytest -q $(E2E_ALONE))

# Only the tests that reach the database (tests/conftest.py): the others ran on SQLite.
test-postgres: $(VENV)/.installed-semantic $(LOCALE_MO) /usr/bin/chromium /usr/sbin/dovecot
	SOPORTE_TESTS_DATABASE_ONLY=1 SOPORTE_DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -q $(PARALLEL)
	$(if $(E2E_ALONE),SOPORTE_DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -q $(E2E_ALONE))

# The whole suite on SQLite, then on PostgreSQL when it answers on 127.0.0.1:5432.
test: lint test-sqlite
	@if $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 2)" 2>/dev/null; then \
		$(MAKE) --no-print-directory test-postgres; \
	else \
		echo "PostgreSQL is not answering on 127.0.0.1:5432: skipped the PostgreSQL run."; \
	fi

# Each at its issue's target size (long: the 1M data sets take minutes to load; search keeps
# its data in var/bench-search for the next run).
bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py
	$(BIN)/python bench/sla.py
	$(BIN)/python bench/search.py --messages 1000000 --reuse var/bench-search
	$(BIN)/python bench/assets.py
	$(BIN)/python bench/inventory_load.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/triage.py
	$(BIN)/python bench/load.py

# The long fuzzing run of the mail parser (the suite runs a short one).
fuzz: $(VENV)/.installed-dev
	SOPORTE_FUZZ_EXAMPLES=100000 SOPORTE_DATABASE_URL= $(BIN)/python -m pytest -q tests/mail/test_parse_fuzz.py

clean:
	rm -rf $(VENV) var .pytest_cache
