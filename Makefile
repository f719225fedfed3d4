# funnelhouse: `make demo` and `make test` need only Python 3.11+ on the machine.
# The environment is created from uv.lock (exact pins) on first use.

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .uv/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo run test test-fast lint benchmark summary rollback clean

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --compile-bytecode: with PYTHONDONTWRITEBYTECODE set (as in these sessions and CI) every process would
# compile its imports from source (40% of `python -m extractors`' samples, under py-spy, before Airflow left it).
# The `benchmark` group (dlt, py-spy) is for `make benchmark` and its test; the production image leaves it out.
$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --extra production --group benchmark --compile-bytecode --python $(PYTHON)
	@touch $@

demo: $(VENV)/.synced  ## run the whole pipeline against the embedded sandbox
	$(VENV)/bin/python -m funnelhouse demo

run: $(VENV)/.synced  ## run the DAG against the Connections in your environment (AIRFLOW_CONN_*)
	$(VENV)/bin/python -m funnelhouse run $(if $(DATE),--date $(DATE)) $(if $(FULL_REFRESH),--full-refresh)

summary: $(VENV)/.synced
	$(VENV)/bin/python -m funnelhouse summary

rollback: $(VENV)/.synced  ## publish the version before the current one again (TO=<run id> for a chosen one)
	$(VENV)/bin/python -m funnelhouse rollback $(if $(TO),--to '$(TO)')

# The report test drives Debian's Chromium through Playwright (never a browser download).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

test: lint $(CHROMIUM)  ## lint, then the whole test suite (CI runs exactly this)
	$(VENV)/bin/python -m pytest

# ruff (format and lint) on the Python, sqlfluff on dbt's SQL (dbt_project/.sqlfluff).
lint: $(VENV)/.synced
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	mkdir -p data/lint
	cd dbt_project && FUNNELHOUSE_WAREHOUSE=$(CURDIR)/data/lint/warehouse.duckdb $(CURDIR)/$(VENV)/bin/sqlfluff lint models

# The unit, sandbox and extractor layers without the tests marked slow: the loop while editing (under 2 minutes).
test-fast: $(VENV)/.synced
	$(VENV)/bin/python -m pytest tests/unit tests/sandbox tests/extractors -m "not slow and not e2e" --durations=10

benchmark: $(VENV)/.synced
	$(VENV)/bin/python -m benchmarks

clean:
	rm -rf data .pytest_cache
