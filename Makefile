# Every target sets itself up: a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export DAGSTER_HOME ?= $(CURDIR)/.dagster

.PHONY: venv lock lock-check postgres chromium fonts demo test dev lint bench clean

# requirements.lock pins every package (dev and k8s extras included) for Python 3.11 on any platform; the image
# (deploy/Dockerfile), CI and this venv install it with the same script. `make lock` refreshes it after a change to
# pyproject.toml; a lock that no longer matches pyproject.toml stops `make venv` with that instruction.
UV_VERSION := 0.13.9
LOCK := requirements.lock
LOCK_COMPILE = $(BIN)/uv pip compile --quiet pyproject.toml --extra dev --extra k8s --universal \
	--python-version 3.11 --custom-compile-command "make lock"

$(STAMP): pyproject.toml $(LOCK) deploy/install-locked.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	@$(MAKE) --no-print-directory lock-check
	deploy/install-locked.sh dependencies $(BIN)/python
	deploy/install-locked.sh project $(BIN)/python
	@touch $(STAMP)

# Re-resolves with the current pins as preferences: only what pyproject.toml changed moves.
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(LOCK_COMPILE) -o $(LOCK)

lock-check:
	@tmp=$$(mktemp -d) && cp $(LOCK) $$tmp/lock && $(LOCK_COMPILE) -o $$tmp/lock \
	  && if cmp -s $(LOCK) $$tmp/lock; then rm -rf $$tmp; else \
	    diff -u $(LOCK) $$tmp/lock | grep -E '^[-+][a-z0-9]' | head -20 >&2; rm -rf $$tmp; \
	    echo "$(LOCK) does not match pyproject.toml: run 'make lock' and commit $(LOCK)" >&2; exit 1; fi

venv: $(STAMP)

demo: venv fonts
	$(BIN)/sgroute demo --time-limit $${SGROUTE_DEMO_TIME_LIMIT_S:-5}

# Tests start their own throwaway PostgreSQL server from Debian's binaries; install them if missing.
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
	  echo "installing PostgreSQL server binaries (Debian package postgresql)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# The exported route_map.html is checked in headless Chromium (tests/test_route_map_html.py); install it if missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "installing headless Chromium (Debian package chromium)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The driver pack's fonts for Chinese, Tamil and symbols (domain/exports/pdf_fonts.py; deploy/Dockerfile has the same).
FONT_PACKAGES := fonts-lohit-taml fonts-droid-fallback fonts-symbola
fonts:
	@test -f /usr/share/fonts/truetype/lohit-tamil/Lohit-Tamil.ttf -a -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf \
	  -a -f /usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf || { \
	  echo "installing the driver pack's fonts (Debian packages $(FONT_PACKAGES))"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(FONT_PACKAGES) >/dev/null; }

test: venv postgres chromium fonts
	$(BIN)/python -m pytest

dev: venv fonts
	$(BIN)/sgroute db upgrade
	@mkdir -p $(DAGSTER_HOME)
	@# One run per partition at a time, run monitoring (dagster/max_runtime), no telemetry: deploy/dagster-dev.yaml,
	@# merged into an existing dagster.yaml (its own settings kept).
	$(BIN)/python -m sgroute_assets.cli.home deploy/dagster-dev.yaml
	@# data/exports/ served read-only (GET/HEAD only) on 127.0.0.1:EXPORTS_PORT, stopped with the UI; the metadata
	@# links of route_exports point there through SGROUTE_EXPORTS_URL.
	@exports=$${SGROUTE_EXPORTS:-data/exports}; port=$${EXPORTS_PORT:-3001}; mkdir -p "$$exports"; \
	  $(BIN)/python -m http.server "$$port" --bind 127.0.0.1 --directory "$$exports" >/dev/null 2>&1 & server=$$!; \
	  trap 'kill $$server 2>/dev/null' EXIT INT TERM; \
	  echo "exports served read-only on http://127.0.0.1:$$port"; \
	  SGROUTE_EXPORTS_URL=http://127.0.0.1:$$port $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $${PORT:-3000}

# ruff, then the import contracts in pyproject.toml ([tool.importlinter]): layers, rooms, no Dagster in domain/,
# no import circles. ARCHITECTURE.md says what they protect.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

bench: venv
	$(BIN)/python benchmarks/matrix_speed.py
	$(BIN)/python benchmarks/vrptw.py '../shared/benchmarks/solomon/[CR]*10[15].vrp' --time-limit 10
	$(BIN)/python benchmarks/partition_1000.py 1000 60
	$(BIN)/python benchmarks/memory_scaling.py
	$(BIN)/python benchmarks/sensor_tick_large_files.py
	$(BIN)/python benchmarks/gcs_sensor_tick.py
	$(BIN)/python benchmarks/exports_speed.py
	$(BIN)/python benchmarks/dev_drop_to_exports.py
	$(BIN)/python benchmarks/refused_file_memory.py
	$(BIN)/python benchmarks/fuzz_corpus.py

clean:
	rm -rf $(VENV) .dagster data/inbox data/exports data/quarantine
