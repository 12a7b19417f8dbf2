# zhengwu — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# The two demo unit systems (zhengwu demo_unit_system) listen on loopback; the platform may send
# their back-channel logout there. Only for `make run`'s demo: a real deployment sets its own.
DEMO_LOCAL_SYSTEMS ?= 127.0.0.1:8101,127.0.0.1:8102

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
	ZHENGWU_EGRESS_ALLOW_LOCAL="$(DEMO_LOCAL_SYSTEMS)" $(BIN)/zhengwu load_demo_oidc_clients
	$(BIN)/zhengwu load_demo_sharing
	$(BIN)/zhengwu load_demo_portal
	$(BIN)/zhengwu load_demo_opendata
	ZHENGWU_EGRESS_ALLOW_LOCAL="$(DEMO_LOCAL_SYSTEMS)" $(BIN)/zhengwu serve --host $(HOST) --port $(PORT)

lint: install-test
	$(BIN)/ruff check src tests benchmarks

typecheck: install-test
	$(BIN)/mypy src

pytest: install-test
	$(BIN)/pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
