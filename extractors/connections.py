"""Credentials come from Airflow Connections, inside and outside Airflow alike.

``airflow.sdk.Connection.get`` reads ``AIRFLOW_CONN_<CONN_ID>`` (URI or JSON)
and, inside a task, any configured secrets backend or the metadata database.
The connection's host is the base URL (scheme optional, https by default),
its password the token, its extra a JSON object of account ids and options.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from extractors.errors import ConfigError


@dataclass(frozen=True)
class PlatformConnection:
    conn_id: str
    base_url: str
    login: str | None
    password: str
    extra: dict

    def require_extra(self, key: str, example: str):
        value = self.extra.get(key)
        if value in (None, "", []):
            raise ConfigError(f"connection '{self.conn_id}' has no extra '{key}': add it, e.g. {example}")
        return value

    def list_extra(self, key: str, example: str) -> list[str]:
        """An extra that holds ids: a JSON list or a comma-separated string."""
        value = self.require_extra(key, example)
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(v).strip() for v in items if str(v).strip()]


def get_connection(conn_id: str, needs_password: bool = True) -> PlatformConnection:
    """The connection ``conn_id``; ``needs_password`` False for a public API that takes no token."""
    from airflow.sdk import Connection  # heavy import: only when a run needs credentials
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = Connection.get(conn_id)
    except AirflowNotFoundException:
        raise ConfigError(f"connection '{conn_id}' is not defined: set AIRFLOW_CONN_{conn_id.upper()} "
                          "(or add it in Airflow) with the API base URL as host and the token as password") from None
    if not conn.host:
        raise ConfigError(f"connection '{conn_id}' has no host: set it to the API base URL")
    extra_raw = conn.extra_dejson if isinstance(conn.extra_dejson, dict) else {}
    if needs_password and not conn.password and not extra_raw.get("refresh_token") and not extra_raw.get("service_account_key"):
        raise ConfigError(f"connection '{conn_id}' has no password: set it to the API token")
    host = conn.host if "://" in conn.host else f"https://{conn.host}"
    if conn.port and host.count(":") < 2:
        host = f"{host}:{conn.port}"
    try:
        extra = conn.extra_dejson if isinstance(conn.extra_dejson, dict) else json.loads(conn.extra or "{}")
    except ValueError:
        raise ConfigError(f"connection '{conn_id}' has an extra that is not a JSON object") from None
    # Pasted tokens often carry a newline, which requests would reject (quoting the token).
    return PlatformConnection(conn_id, host.rstrip("/"), conn.login, (conn.password or "").strip(), extra)
