# Assay: two commands do all the set-up.
#   make run   install what is missing, prepare the embedded deployment, start Airflow standalone
#   make test  install what is missing and run the whole test suite
#   make stop  stop everything make run started (Ctrl-C or SIGTERM on make run does the same)
#   make lint  ruff check and ruff format --check
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
LINT_PATHS := include plugins dags tests benchmarks scripts

export ASSAY_HOME ?= $(CURDIR)/.assay
export AIRFLOW_HOME ?= $(ASSAY_HOME)/airflow
export PYTHONPATH := $(CURDIR)/include:$(CURDIR)/plugins
# airflow standalone starts its components as `airflow ...` from PATH
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION := False
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS := admin:admin
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE := $(AIRFLOW_HOME)/passwords.json
export AIRFLOW__API__HOST := 127.0.0.1
export AIRFLOW__API__PORT := 8080
export AIRFLOW__API__BASE_URL := http://127.0.0.1:8080
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL := http://127.0.0.1:8080/execution/
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL := 30
# embedded: SQLite metadata and 2 cores; a few tasks at a time keeps both unsaturated
export AIRFLOW__CORE__PARALLELISM := 3
# make run's supervisor (scripts/standalone.py) records its PIDs here for make stop
PID_FILE := $(ASSAY_HOME)/standalone.pid
# what Assay keeps to test the bundled demo platform, the default target (repo set-up, assets, ...)
DEMO_ASSAY := include/demo_platform/assay
STANDALONE ?= $(VENV)/bin/airflow standalone
STOP_GRACE_S ?= 20

.PHONY: help install bwrap setup run stop test lint bench clean

help:
	@echo "make run    start Assay on embedded defaults (Airflow standalone, SQLite, demo platform)"
	@echo "make stop   stop everything make run started (scheduler, API server, dag-processor, triggerer)"
	@echo "make test   install what is missing and run the whole test suite"
	@echo "make lint   ruff check and ruff format --check over $(LINT_PATHS)"
	@echo "make bench  run the benchmarks/ (DAG parse; drift, A/B, fairness at 1M rows; compliance; security scan; test data; dashboard; demo data; serving CPU; load agreement; per-commit overhead; sandbox overhead)"

$(PYTHON):
	$(PY) -m venv $(VENV)

# runtime + demo platform + test tools, every transitive version held by constraints.txt
REQUIREMENTS := requirements.txt requirements-dev.txt include/demo_platform/requirements.txt constraints.txt
$(STAMP): $(REQUIREMENTS) | $(PYTHON)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -r requirements-dev.txt -c constraints.txt
	touch $@

install: $(STAMP) bwrap

# a commit's code runs under bubblewrap (include/assay/sandbox.py): installed where we can (root + apt-get)
bwrap:
	@command -v bwrap >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& (apt-get update -qq && apt-get install -y -qq bubblewrap) >/dev/null 2>&1; } \
		|| echo "bubblewrap is missing: apt-get install bubblewrap (or mark targets trusted: sandbox: {enabled: false})"

# Airflow, the metrics DB, connections and the timing measurements' one-slot pool (performance_isolation.pool);
# then the demo target: its git repository (without $(DEMO_ASSAY), which is Assay's), model versions and data
# exports (files that exist are reused).
setup: install
	$(PYTHON) scripts/setup_embedded.py
	@sha=$$($(PYTHON) $(DEMO_ASSAY)/demo_repo.py) && echo "demo platform repository: $(ASSAY_HOME)/demo-platform at $${sha:0:12}"
	@echo "demo model versions and data (first time: about a minute) ..."
	$(PYTHON) $(DEMO_ASSAY)/demo_assets.py

# The supervisor stops the whole process tree on Ctrl-C, SIGTERM (make passes it on) or make stop.
run: setup
	@echo
	@echo "Assay is starting: http://127.0.0.1:8080  (login admin / $${ASSAY_ADMIN_PASSWORD:-admin})"
	@echo "DAGs: assay_per_commit (trigger with the form), assay_commit_watch (every 5 min). Ctrl-C or make stop stops."
	@echo
	exec $(PYTHON) scripts/standalone.py run --pid-file $(PID_FILE) --grace $(STOP_GRACE_S) -- $(STANDALONE)

stop:
	@if [ -x $(PYTHON) ]; then $(PYTHON) scripts/standalone.py stop --pid-file $(PID_FILE) --airflow-home $(AIRFLOW_HOME) --grace $(STOP_GRACE_S); \
	else echo "nothing to stop ($(PYTHON) does not exist: make run never ran here)"; fi

# every core (pytest-xdist; each worker has its own Airflow home, metrics DBs and free ports)
test: install
	$(PYTHON) -m pytest -n auto

lint: install
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)

bench: install
	$(PYTHON) benchmarks/dag_parse.py
	$(PYTHON) benchmarks/drift.py
	$(PYTHON) benchmarks/ab_fairness.py
	$(PYTHON) benchmarks/compliance.py
	$(PYTHON) benchmarks/security_scan.py
	$(PYTHON) benchmarks/test_data.py
	$(PYTHON) benchmarks/dashboard.py
	$(PYTHON) benchmarks/synthetic_data.py
	$(PYTHON) benchmarks/serving_cpu.py
	$(PYTHON) benchmarks/load_agreement.py
	$(PYTHON) benchmarks/per_commit_overhead.py
	$(PYTHON) benchmarks/sharding.py
	$(PYTHON) benchmarks/sandbox_overhead.py

clean:
	rm -rf $(ASSAY_HOME)
