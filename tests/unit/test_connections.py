"""Start-up outside Airflow: AIRFLOW_CONN_* parsed without importing Airflow, exactly as Airflow parses it;
only the source a run needs is imported."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from extractors.connections import _conn_from_environment, get_connection
from extractors.errors import ConfigError

VALUES = [
    json.dumps({"conn_type": "http", "host": "http://127.0.0.1:8080", "password": "tok", "extra": {"portal_id": "1"}}),
    json.dumps(
        {
            "conn_type": "http",
            "host": "api.hubapi.com",
            "port": "8443",
            "login": "me",
            "password": "p",
            "extra": json.dumps({"account_ids": ["1", "2"]}),
        }
    ),
    json.dumps({"conn_type": "http", "host": "example.com"}),
    "http://user:p%40ss%2Fword@api.example.com:8443/schema?portal_id=9&flag=",
    "https://:tok%0A@https%3A%2F%2Fapi.hubapi.com",
    "http://https://api.example.com/v3?__extra__=%7B%22account_ids%22%3A+%5B%221001%22%5D%7D",
    "google-cloud-platform://?key_path=%2Fkeys%2Fkey.json",
    "http://api.Example.com",
]


def _airflow(value: str):
    from airflow.sdk.definitions.connection import Connection

    conn = Connection.from_json(value, conn_id="x") if value.startswith("{") else Connection.from_uri(value, conn_id="x")
    return conn.host, conn.port, conn.login, conn.password, conn.extra


@pytest.mark.parametrize("value", VALUES)
def test_environment_connection_is_parsed_as_airflow_parses_it(monkeypatch, value):
    # GIVEN a connection in the environment, no secrets backend, Airflow not yet imported in the parse
    monkeypatch.setenv("AIRFLOW_CONN_X", value)
    monkeypatch.delitem(sys.modules, "airflow.sdk", raising=False)
    ours = _conn_from_environment("x")
    # THEN every field is Airflow's
    assert ours is not None
    assert (ours.host, ours.port, ours.login, ours.password, ours.extra) == _airflow(value)


def test_a_secrets_backend_or_airflow_itself_reads_the_connection(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_X", VALUES[0])
    monkeypatch.delitem(sys.modules, "airflow.sdk", raising=False)
    monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND", "airflow.providers.hashicorp.secrets.vault.VaultBackend")
    assert _conn_from_environment("x") is None  # Airflow asks the backend before the environment
    monkeypatch.delenv("AIRFLOW__SECRETS__BACKEND")
    import airflow.sdk  # noqa: F401 - inside Airflow, Airflow reads it

    assert _conn_from_environment("x") is None
    assert get_connection("x").extra == {"portal_id": "1"}


@pytest.mark.parametrize(
    "value, message",
    [
        ('{"host": "example.com", ', "AIRFLOW_CONN_X is neither a connection URI nor a JSON object"),
        ("http://:tok@https://api.example.com", "AIRFLOW_CONN_X is not a valid connection URI"),  # Airflow refuses it too
        ("http://a:b:c://d://e", "AIRFLOW_CONN_X is not a valid connection URI"),
    ],
)
def test_a_broken_connection_variable_fails_with_one_line(monkeypatch, value, message):
    monkeypatch.setenv("AIRFLOW_CONN_X", value)
    monkeypatch.delitem(sys.modules, "airflow.sdk", raising=False)
    with pytest.raises(ConfigError, match=message):
        get_connection("x")


def test_the_cli_reads_a_connection_without_importing_airflow(tmp_path):
    # WHEN the CLI's own modules plan a run from an environment connection
    code = (
        "import sys, extractors.__main__, extractors.pipeline; from extractors.connections import get_connection;"
        "from extractors.sources import get_source; get_source('hubspot');"
        "c = get_connection('hubspot'); print(c.base_url, 'airflow' in sys.modules, 'jwt' in sys.modules)"
    )
    env = {"AIRFLOW_CONN_HUBSPOT": VALUES[0], "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    # THEN neither Airflow nor another source's libraries (Google's JWT signing) are imported
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["http://127.0.0.1:8080", "False", "False"]


def test_the_lazy_source_table_names_every_source_by_its_own_name():
    from extractors.sources import SOURCES, registry

    assert [s.name for s in registry().values()] == list(SOURCES)
