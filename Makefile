# zhengwu — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test install install-test lint typecheck pytest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/zhengwu migrate --noinput
	$(BIN)/zhengwu load_demo_city
	$(BIN)/zhengwu load_demo_catalog
	$(BIN)/zhengwu load_demo_data
	$(BIN)/zhengwu load_demo_public_accounts
	$(BIN)/zhengwu load_demo_oidc_clients
	$(BIN)/zhengwu load_demo_sharing
	$(BIN)/zhengwu load_demo_portal
	$(BIN)/zhengwu serve --host $(HOST) --port $(PORT)

lint: install-test
	$(BIN)/ruff check src tests benchmarks

typecheck: install-test
	$(BIN)/mypy src

pytest: install-test
	$(BIN)/pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
