# Two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/soporte

.PHONY: run test test-sqlite test-postgres lint bench clean

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

run: $(VENV)/.installed
	$(BIN)/soporte run

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check soporte tests bench
	$(BIN)/ruff format --check soporte tests bench
	$(BIN)/mypy soporte/lib soporte/accounts/services.py soporte/tickets/services.py

test-sqlite: $(VENV)/.installed-dev
	SOPORTE_DATABASE_URL= $(BIN)/python -m pytest

test-postgres: $(VENV)/.installed-dev
	SOPORTE_DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest

# The whole suite on SQLite, then on PostgreSQL when it answers on 127.0.0.1:5432.
test: lint test-sqlite
	@if $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 2)" 2>/dev/null; then \
		$(MAKE) --no-print-directory test-postgres; \
	else \
		echo "PostgreSQL is not answering on 127.0.0.1:5432: skipped the PostgreSQL run."; \
	fi

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache
