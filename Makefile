# Every target sets itself up: a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export DAGSTER_HOME ?= $(CURDIR)/.dagster

.PHONY: venv postgres demo test dev lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/pip install -q --disable-pip-version-check uv
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/sgroute demo --time-limit $${SGROUTE_DEMO_TIME_LIMIT_S:-5}

# Tests start their own throwaway PostgreSQL server from Debian's binaries; install them if missing.
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
	  echo "installing PostgreSQL server binaries (Debian package postgresql)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

test: venv postgres
	$(BIN)/python -m pytest

dev: venv
	$(BIN)/sgroute db upgrade
	@mkdir -p $(DAGSTER_HOME)
	@test -f $(DAGSTER_HOME)/dagster.yaml || printf 'telemetry:\n  enabled: false\nnux:\n  enabled: false\n' > $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $${PORT:-3000}

lint: venv
	$(BIN)/ruff check .

bench: venv
	$(BIN)/python benchmarks/matrix_speed.py
	$(BIN)/python benchmarks/solomon_quality.py
	$(BIN)/python benchmarks/gcs_sensor_tick.py

clean:
	rm -rf $(VENV) .dagster data/inbox data/exports data/quarantine
