"""Failure alerts through Airflow's notifier interface: a chat webhook, silent when unset.

Point it at an incoming webhook with the Airflow Connection ``funnelhouse_alerts``: host = the
webhook URL, and optionally password = its secret last path segment (Airflow masks passwords in
every log, not hosts). The message is posted as ``{"text": ...}``, which the incoming webhooks of
Slack, Mattermost, Rocket.Chat and Google Chat accept. Without the Connection nothing is sent.
E-mail users can put Airflow's SmtpNotifier (apache-airflow-providers-smtp) in the same place.
"""

from __future__ import annotations

import logging

from airflow.sdk import BaseNotifier

log = logging.getLogger(__name__)

ALERTS_CONN_ID = "funnelhouse_alerts"


class ChatWebhookNotifier(BaseNotifier):
    """on_failure_callback: one line saying which task of which run failed, why, and where its log is."""

    template_fields = ("conn_id",)

    def __init__(self, conn_id: str = ALERTS_CONN_ID, timeout_s: float = 10.0):
        super().__init__()
        self.conn_id = conn_id
        self.timeout_s = timeout_s

    def webhook_url(self) -> str | None:
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            conn = Connection.get(self.conn_id)
        except AirflowNotFoundException:
            return None
        if not conn.host:
            return None
        url = conn.host if "://" in conn.host else f"https://{conn.host}"
        return f"{url.rstrip('/')}/{conn.password.strip('/')}" if conn.password else url

    @staticmethod
    def message(context) -> str:
        ti = context["ti"]
        error = context.get("exception")
        reason = (
            str(error).strip().splitlines()[0]
            if error and str(error).strip()
            else type(error).__name__
            if error
            else "no error text"
        )
        return (
            f"funnelhouse: task {ti.task_id} failed (try {ti.try_number}) in DAG run {ti.dag_id} / {ti.run_id}: "
            f"{reason[:500]}. Log: {getattr(ti, 'log_url', '') or 'see Airflow'}"
        )

    def notify(self, context) -> None:
        url = self.webhook_url()
        if not url:
            return  # no alerts configured: say nothing
        import requests

        try:
            requests.post(url, json={"text": self.message(context)}, timeout=self.timeout_s).raise_for_status()
        except requests.RequestException as exc:
            # The alert must never mask the failure it reports; no URL in the line (it holds the secret).
            log.warning("could not post the failure alert to connection %s: %s", self.conn_id, type(exc).__name__)
