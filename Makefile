# The two commands of the README:
#   make run    set up (venv, pinned install, dbt manifest) and build the warehouse from demo data
#   make test   set up and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false
export DAGSTER_DISABLE_TELEMETRY := true

.PHONY: run test setup test-quick dev docs clean instance report-deps spark-deps

# Where `make run` and `make dev` keep run history (the same default as orchestration/settings.py).
DAGSTER_HOME ?= $(abspath $(or $(DATA_DIR),data))/dagster_home

run: setup instance report-deps
	DAGSTER_HOME=$(DAGSTER_HOME) $(PY) -m orchestration build

# The whole suite includes the slow Spark build (pyspark is ~500 MB and needs Java 17), so only
# `make test` installs the spark extra; `make test-quick` skips the slow tests and does not need it.
test: setup spark-deps
	$(PY) -m pytest

test-quick: setup
	$(PY) -m pytest -m "not slow"

setup: $(VENV)/.installed dbt_project/target/manifest.json

$(VENV)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required, found " + sys.version' 
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

spark-deps: $(VENV)/.installed-spark

$(VENV)/.installed-spark: $(VENV)/.installed
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev,spark]"
	touch $@

# The manifest Dagster loads; prepared here so importing the code location never runs dbt.
dbt_project/target/manifest.json: $(VENV)/.installed $(shell find dbt_project -name '*.sql' -o -name '*.yml' -o -name '*.csv' 2>/dev/null | grep -v -e target/ -e logs/)
	$(VENV)/bin/dbt parse --quiet --project-dir dbt_project --profiles-dir dbt_project

# The instance config (single-writer pool, run queue) goes into DAGSTER_HOME once; an existing one is kept.
instance:
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || cp deploy/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

# The report draws Chinese with fonts-noto-cjk and prints its PDF with Chromium (Debian packages);
# installed when missing and we are root with apt, otherwise say what to install.
report-deps:
	@if ! dpkg -s fonts-noto-cjk >/dev/null 2>&1 || ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q && apt-get install -y -q fonts-noto-cjk chromium; \
	  else echo "The report needs fonts-noto-cjk and chromium: sudo apt-get install fonts-noto-cjk chromium"; fi; \
	fi

# dagster-dbt re-parses the project under `dagster dev` with the `dbt` on PATH: put the venv's first.
dev: setup instance
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH DAGSTER_HOME=$(DAGSTER_HOME) $(VENV)/bin/dagster dev -w workspace.yaml

docs: setup
	$(VENV)/bin/dbt docs generate --project-dir dbt_project --profiles-dir dbt_project
	@echo "Browse with: $(VENV)/bin/dbt docs serve --project-dir dbt_project --profiles-dir dbt_project --port 8081"

clean:
	rm -rf data dbt_project/target dbt_project/logs

# Benchmarks: `make bench SCALE=M` (S, M, L, XL). Demo data is generated once per scale under
# bench/data; the CLV comparison's lifetimes package gets its own venv (it needs pandas < 3).
SCALE ?= M
.PHONY: bench
bench: setup
	$(PY) -m bench setup-lifetimes
	$(PY) -m bench run --scale $(SCALE)
