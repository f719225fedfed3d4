# The funnelhouse image for the production stack (docker-compose.yml): the same
# pinned environment as `make test`, from uv.lock, plus the `production` extra.
FROM python:3.11-slim-bookworm
ENV UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 AIRFLOW_HOME=/opt/airflow FUNNELHOUSE_DATA_DIR=/data
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /opt/funnelhouse
COPY pyproject.toml uv.lock README.md ./
COPY extractors extractors
COPY sandbox sandbox
COPY funnelhouse funnelhouse
COPY expectations expectations
RUN uv sync --frozen --no-dev --extra production
COPY dags dags
COPY dbt_project dbt_project
ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/funnelhouse/dags
