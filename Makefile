# Tertulia: `make demo` and `make test` are all a newcomer needs. `make help` lists the rest.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= community.example.yml
BI_VENV := .venv-bi
BI_STAMP := $(BI_VENV)/.installed

# Telemetry off everywhere; Prefect keeps its state inside the project's data folder.
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false
export PREFECT_HOME ?= $(CURDIR)/data/prefect

.DEFAULT_GOAL := help
.PHONY: help install demo test test-fast soak fuzz lint format serve stop bench bench-quick quality-report sentiment-eval crisis-eval trends-eval docs dashboards dashboards-serve clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the pinned dependencies

# Tests that need a real program from Debian's packages: chromium (the Prefect UI screenshot test),
# dovecot-imapd (the e-mail connector's IMAP server) and postgresql (the dbt project on PostgreSQL 15,
# tests/postgres). Installed when running as root (CI) and missing; otherwise those tests are skipped
# with a note. apt never starts the services: the tests start their own throwaway servers. The stamp
# depends on this Makefile, so a package added to the list is checked in existing checkouts too.
TEST_DEBS_STAMP := $(VENV)/.test-debs
$(TEST_DEBS_STAMP): Makefile | $(STAMP)
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	test -x /usr/sbin/dovecot || missing="$$missing dovecot-imapd"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing from Debian's packages for the tests:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "not root:$$missing missing; the tests that need them will be skipped"; fi
	@touch $@

demo: $(STAMP) ## Run the whole pipeline once on the bundled sample community and print what it found
	$(BIN)/tertulia demo --config $(CONFIG)

test: $(STAMP) $(TEST_DEBS_STAMP) $(BI_STAMP) ## Run the test suite (unit, dbt, integration, Prefect, IMAP and PostgreSQL servers, Superset, browser)
	$(BIN)/python -m pytest

test-fast: $(STAMP) ## Run the tests that need no dbt build or Prefect server
	$(BIN)/python -m pytest -m "not integration and not browser"

soak: $(STAMP) ## Two simulated days of live sources, watches and Slack from an empty warehouse (part of make test)
	$(BIN)/python -m pytest -m soak tests/soak

fuzz: $(STAMP) ## Property-based bad bundles at length, new ones each time (500 imports, 10 dbt builds; `make test`: 20 and 2, fixed)
	TERTULIA_FUZZ_RANDOM=1 TERTULIA_FUZZ_EXAMPLES=500 TERTULIA_FUZZ_BUILD_EXAMPLES=10 $(BIN)/python -m pytest -p no:cacheprovider \
	  -o timeout=0 tests/connectors/test_connectors_fuzz.py

# sqlfluff's dbt templater compiles the models against a throwaway DuckDB file of its own, never the
# pipeline's warehouse (a running pipeline holds that file's lock).
lint: $(STAMP) ## ruff lint and format check; import-linter checks the layers (.importlinter); sqlfluff the dbt models (.sqlfluff)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports
	TERTULIA_WAREHOUSE=$(CURDIR)/$(VENV)/sqlfluff-lint.duckdb $(BIN)/sqlfluff lint dbt_project/models dbt_project/tests

format: $(STAMP) ## ruff format and fix
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

serve: $(STAMP) ## Start a local Prefect server, worker and the scheduled deployments (UI address printed)
	$(BIN)/tertulia serve --config $(CONFIG)

stop: $(STAMP) ## Stop what `make serve` started
	$(BIN)/tertulia stop

BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[bench]'
	@touch $@

bench: $(BENCH_STAMP) ## Benchmarks at 1M and 10M comments (over an hour); results in bench/results/
	$(BIN)/python bench/run.py

bench-quick: $(BENCH_STAMP) ## Benchmarks at 10k and 50k comments, a few minutes
	$(BIN)/python bench/run.py --quick

sentiment-eval: $(STAMP) ## Accuracy and macro-F1 of the sentiment engine per language
	$(BIN)/python bench/sentiment_eval.py

crisis-eval: $(STAMP) ## Detection delay and false alarms of the crisis watch on the sample
	$(BIN)/python bench/crisis_eval.py

trends-eval: $(STAMP) ## Planted topics found in the weekly top 10 and its noise; figures in docs/trends.md
	$(BIN)/python bench/trends_eval.py

quality-report: $(STAMP) ## Run the bad-input corpus and write docs/quality.md figures
	$(BIN)/python bench/quality_report.py

# The dashboards (Apache Superset over the published marts) live in a virtualenv of their own:
# Superset pins its own Flask/SQLAlchemy stack, which conflicts with the pipeline's pins. Exact versions
# of everything it installs are in dashboards/constraints.txt. docs/bi.md says why Superset.
BI_HOME ?= data/dashboards
BI_PORT ?= 8088
PUBLISHED ?= data/published/tertulia_marts.duckdb
$(BI_STAMP): dashboards/requirements.txt dashboards/constraints.txt
	@test -x $(BI_VENV)/bin/python || $(PYTHON) -m venv $(BI_VENV)
	$(BI_VENV)/bin/python -m pip install --quiet -c dashboards/constraints.txt -r dashboards/requirements.txt
	@touch $@

dashboards: $(BI_STAMP) ## Build the Superset dashboards over the published marts (run make demo or tertulia run first)
	$(BI_VENV)/bin/python dashboards/build.py build --published $(PUBLISHED) --home $(BI_HOME) --config $(CONFIG) $(if $(BI_LANG),--lang $(BI_LANG))

dashboards-serve: $(BI_STAMP) ## Serve the dashboards on http://127.0.0.1:8088 (BI_PORT=...)
	$(BI_VENV)/bin/python dashboards/build.py serve --home $(BI_HOME) --port $(BI_PORT)

docs: $(STAMP) ## dbt docs generate (catalog of every model and column)
	$(BIN)/tertulia build --config $(CONFIG) --docs

clean: ## Remove the warehouse, published marts and dbt artefacts (keeps .venv)
	rm -rf data dbt_project/target dbt_project/logs
