# The funnelhouse image for the production stack (docker-compose.yml): the same
# pinned environment as `make test`, from uv.lock, with the `production` extra
# (Celery provider, celery 5.6.3, psycopg2, asyncpg, redis).
FROM python:3.11-slim-bookworm
ENV UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/opt/venv UV_COMPILE_BYTECODE=1 PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 AIRFLOW_HOME=/opt/airflow FUNNELHOUSE_DATA_DIR=/data FUNNELHOUSE_LANDING_URL=/landing
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
# The containers run as ${AIRFLOW_UID}:0 (docker-compose.yml), as Airflow's own image does: group 0
# owns every folder they write (Airflow home and logs, the warehouse, landing), so named volumes
# created from these folders are writable by any uid.
RUN mkdir -p /opt/airflow/logs /data /landing \
    && chgrp -R 0 /opt/airflow /data /landing /opt/funnelhouse \
    && chmod -R g+rwX /opt/airflow /data /landing /opt/funnelhouse
USER 50000:0
