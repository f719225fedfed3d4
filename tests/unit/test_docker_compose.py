"""docker-compose.yml describes the stack tests/e2e/test_celery_stack.py runs: the same settings, queues and storage.

No Docker engine runs here, so the file is parsed and checked against tests/airflow_stack.py, the
settings the Celery integration test starts its real processes with: if one changes without the
other, this fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.airflow_stack import WORKER_QUEUES, celery_stack_settings

PROJECT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker-warehouse",
    "airflow-worker",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((PROJECT / "docker-compose.yml").read_text())


def _env(service: dict) -> dict[str, str]:
    return {k: str(v) for k, v in service["environment"].items()}


def _volumes(service: dict) -> dict[str, str]:
    return dict(v.split(":", 1) for v in service.get("volumes", []))


def test_services_are_the_official_stacks_with_two_workers(compose):
    assert set(compose["services"]) == AIRFLOW_SERVICES | {"postgres", "redis", "sandbox"}
    assert compose["services"]["sandbox"]["profiles"] == ["sandbox"]  # optional


def test_every_airflow_service_gets_the_celery_stacks_settings(compose):
    expected = celery_stack_settings(
        postgres="airflow:airflow@postgres/airflow", redis="redis:6379/0", api_server="http://airflow-apiserver:8080"
    )
    for name in AIRFLOW_SERVICES:
        env = _env(compose["services"][name])
        assert {k: env.get(k) for k in expected} == expected, name
        # the landing storage every worker reaches, and the secrets the file refuses to start without
        assert env["FUNNELHOUSE_LANDING_URL"] == "/landing" and env["FUNNELHOUSE_DATA_DIR"] == "/data", name
        assert env["AIRFLOW__CORE__FERNET_KEY"].startswith("${FERNET_KEY:?"), name
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"].startswith("${JWT_SECRET:?"), name
        for conn in ("HUBSPOT", "META_ADS", "GOOGLE_ADS", "GA4", "MAILCHIMP", "FACEBOOK_PAGES", "FUNNELHOUSE_ALERTS"):
            assert env[f"AIRFLOW_CONN_{conn}"] == f"${{AIRFLOW_CONN_{conn}:-}}", (name, conn)


def test_workers_serve_the_queues_of_the_celery_test_and_only_the_warehouse_worker_holds_the_warehouse(compose):
    services = compose["services"]
    for service, kind in (("airflow-worker-warehouse", "warehouse"), ("airflow-worker", "extract")):
        command = services[service]["command"]
        assert command[:3] == ["airflow", "celery", "worker"]
        assert command[command.index("--queues") + 1] == WORKER_QUEUES[kind], service
        assert "--skip-serve-logs" in command, service
    assert _volumes(services["airflow-worker-warehouse"]) == {
        "logs": "/opt/airflow/logs",
        "warehouse": "/data",
        "landing": "/landing",
    }
    assert _volumes(services["airflow-worker"]) == {"logs": "/opt/airflow/logs", "landing": "/landing"}
    assert set(compose["volumes"]) == {"pgdata", "logs", "warehouse", "landing"}


def test_nothing_listens_unauthenticated_or_beyond_loopback(compose):
    services = compose["services"]
    published = {name: s["ports"] for name, s in services.items() if s.get("ports")}
    assert published == {"airflow-apiserver": ["127.0.0.1:8080:8080"]}
    env = _env(services["airflow-apiserver"])
    assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("SimpleAuthManager")
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"
    assert "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS" not in env  # every request logs in
    assert services["airflow-scheduler"]["command"] == ["airflow", "scheduler", "--skip-serve-logs"]  # no 0.0.0.0:8793


def test_every_service_has_a_healthcheck_and_waits_for_init(compose):
    services = compose["services"]
    for name, service in services.items():
        if name != "airflow-init":
            assert service.get("healthcheck", {}).get("test"), name
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        depends = services[name]["depends_on"]
        assert depends["airflow-init"] == {"condition": "service_completed_successfully"}, name
        assert depends["postgres"] == depends["redis"] == {"condition": "service_healthy"}, name
        assert services[name]["user"] == "${AIRFLOW_UID:-50000}:0", name  # not root
        assert "logs" in _volumes(services[name]), name  # one log folder for every component
    health = {name: " ".join(services[name]["healthcheck"]["test"]) for name in AIRFLOW_SERVICES - {"airflow-init"}}
    assert "/api/v2/version" in health["airflow-apiserver"] and ":8974/health" in health["airflow-scheduler"]
    assert "DagProcessorJob" in health["airflow-dag-processor"] and "TriggererJob" in health["airflow-triggerer"]
    assert all("inspect ping" in health[w] for w in ("airflow-worker-warehouse", "airflow-worker"))


def test_init_migrates_creates_the_admin_and_imports_the_dags_pools(compose):
    init = compose["services"]["airflow-init"]
    script = init["command"][-1]
    assert [line for line in script.splitlines() if line.startswith(("airflow", "python"))] == [
        "airflow db migrate",
        """python -c 'import json, os; print(json.dumps({"admin": os.environ["AIRFLOW_ADMIN_PASSWORD"]}))' > "$${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE}\"""",
        "python -m funnelhouse pools > /tmp/pools.json",
        "airflow pools import /tmp/pools.json",
    ]
    assert init["restart"] == "no"


def test_the_image_installs_exactly_the_lock_with_the_production_extra():
    dockerfile = (PROJECT / "Dockerfile").read_text()
    assert "RUN uv sync --frozen --no-dev --extra production" in dockerfile
    assert re.search(r"^USER 50000:0$", dockerfile, re.M)
    makefile = (PROJECT / "Makefile").read_text()
    assert "sync --frozen --extra production" in makefile  # the tests run on the same install
