"""Failure alerts through Airflow's notifier interface, against a local webhook receiver.

The Celery stack test (tests/e2e/test_celery_stack.py) sees the same notifier fire from real failed tasks
on a worker; these cases pin the message, the secret handling and the silence when nothing is set.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from funnelhouse.notify import ChatWebhookNotifier


@pytest.fixture
def receiver():
    got: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            got.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", got
    server.shutdown()


def _context(error: Exception) -> dict:
    # What Airflow hands a failure callback: the failed try and its exception.
    ti = SimpleNamespace(
        task_id="extract_meta_ads",
        dag_id="funnelhouse",
        run_id="scheduled__2026-08-30",
        try_number=3,
        log_url="http://airflow.example/dags/funnelhouse/runs/x/tasks/extract_meta_ads",
    )
    return {"ti": ti, "exception": error}


def test_a_failed_task_posts_one_line_to_the_webhook_of_the_connection(receiver, monkeypatch):
    url, got = receiver
    monkeypatch.setenv(
        "AIRFLOW_CONN_FUNNELHOUSE_ALERTS",
        json.dumps({"conn_type": "http", "host": f"{url}/services", "password": "T000/B000/secret"}),
    )
    ChatWebhookNotifier().notify(_context(RuntimeError("meta_ads: the token was refused (HTTP 401)\nmore detail")))
    assert got == [
        (
            "/services/T000/B000/secret",
            {
                "text": (
                    "funnelhouse: task extract_meta_ads failed (try 3) in DAG run funnelhouse / scheduled__2026-08-30: "
                    "meta_ads: the token was refused (HTTP 401). Log: http://airflow.example/dags/funnelhouse/runs/x/tasks/extract_meta_ads"
                )
            },
        )
    ]


def test_without_the_connection_nothing_is_sent(receiver, monkeypatch):
    _, got = receiver
    monkeypatch.delenv("AIRFLOW_CONN_FUNNELHOUSE_ALERTS", raising=False)
    ChatWebhookNotifier().notify(_context(RuntimeError("boom")))
    assert got == []


def test_an_unreachable_webhook_never_masks_the_failure_nor_logs_the_secret(monkeypatch, caplog):
    monkeypatch.setenv(
        "AIRFLOW_CONN_FUNNELHOUSE_ALERTS",
        json.dumps({"conn_type": "http", "host": "http://127.0.0.1:9", "password": "the-secret-part"}),
    )
    with caplog.at_level("WARNING", logger="funnelhouse.notify"):
        ChatWebhookNotifier(timeout_s=2).notify(_context(RuntimeError("boom")))
    assert any("could not post the failure alert" in r.getMessage() for r in caplog.records)
    assert not any("the-secret-part" in r.getMessage() for r in caplog.records)
