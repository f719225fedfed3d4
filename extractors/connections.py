"""Credentials come from Airflow Connections, inside and outside Airflow alike.

``airflow.sdk.Connection.get`` reads ``AIRFLOW_CONN_<CONN_ID>`` (URI or JSON)
and, inside a task, any configured secrets backend or the metadata database.
The connection's host is the base URL (scheme optional, https by default),
its password the token, its extra a JSON object of account ids and options.

Outside Airflow (``python -m extractors``) with no secrets backend configured, Airflow
would read the environment variable and nothing else; importing Airflow for that costs
seconds before the first request, so the variable is parsed here, by Airflow's own rules
(``Connection.from_json`` / ``from_uri``, airflow/sdk/definitions/connection.py, 3.3).
Inside Airflow, or with a secrets backend (which Airflow asks before the environment),
Airflow reads the connection.
"""

from __future__ import annotations

import configparser
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qsl, unquote, urlsplit

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


def _secrets_backend_configured() -> bool:
    """Whether Airflow would ask a secrets backend (e.g. Vault) before the environment."""
    if any(k.startswith("AIRFLOW__SECRETS__BACKEND") and v.strip() for k, v in os.environ.items()):
        return True
    home = Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")
    config = Path(os.environ.get("AIRFLOW_CONFIG") or home / "airflow.cfg")
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read(config)
    except (OSError, configparser.Error):
        return True  # unreadable: let Airflow decide
    return bool(parser.get("secrets", "backend", fallback="").strip())


def _conn_from_environment(conn_id: str):
    """AIRFLOW_CONN_<ID> parsed as Airflow parses it, when only the environment would be read; else None."""
    value = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}", "").strip()
    if not value or "airflow.sdk" in sys.modules or _secrets_backend_configured():
        return None
    if value.startswith("{"):  # Connection.from_json
        try:
            fields = json.loads(value)
        except ValueError:
            raise ConfigError(f"AIRFLOW_CONN_{conn_id.upper()} is neither a connection URI nor a JSON object") from None
        extra = fields.get("extra")
        try:
            port = int(fields["port"]) if fields.get("port") else None
        except ValueError:
            raise ConfigError(f"connection '{conn_id}' has a port that is not a number: {fields['port']!r}") from None
        return SimpleNamespace(
            host=fields.get("host"),
            port=port,
            login=fields.get("login"),
            password=fields.get("password"),
            extra=(extra if isinstance(extra, str) else json.dumps(extra)) if extra else None,
        )
    # Connection.from_uri: type://login:password@host:port/schema?extra, the host may carry its own scheme
    schemes = value.count("://")
    if schemes > 2 or schemes == 0:
        raise ConfigError(f"AIRFLOW_CONN_{conn_id.upper()} is not a valid connection URI")
    scheme = urlsplit(value).scheme
    rest = value.replace(f"{scheme}://", "" if schemes == 2 else "//")
    protocol = None
    if schemes == 2:
        protocol, _, after = rest.partition("://")
        if "@" in protocol or ":" in protocol:
            raise ConfigError(f"AIRFLOW_CONN_{conn_id.upper()} is not a valid connection URI")
    parts = urlsplit(rest)
    host = unquote(parts.hostname or "")
    if "/" in host:  # a quoted path in the host: urlsplit lower-cases and cuts it (Airflow's _parse_netloc_to_hostname)
        host = parts.netloc.rsplit("@", 1)[-1].split(":", 1)[0]
        host = unquote(host)
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"connection '{conn_id}' has a port that is not a number") from None
    query = dict(parse_qsl(parts.query, keep_blank_values=True)) if parts.query else None
    extra = (query["__extra__"] if "__extra__" in query else json.dumps(query)) if query else None
    return SimpleNamespace(
        host=(f"{protocol}://{host}" if protocol else host) if host else host,
        port=port,
        login=unquote(parts.username) if parts.username else parts.username,
        password=unquote(parts.password) if parts.password else parts.password,
        extra=extra,
    )


def _conn_from_airflow(conn_id: str):
    from airflow.sdk import Connection  # heavy import: only inside Airflow or for a secrets backend
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        raise ConfigError(
            f"connection '{conn_id}' is not defined: set AIRFLOW_CONN_{conn_id.upper()} "
            "(or add it in Airflow) with the API base URL as host and the token as password"
        ) from None


def _extra_dejson(conn) -> dict:
    """Airflow's ``extra_dejson``: the extra as a dict, {} when it is not JSON."""
    if hasattr(conn, "extra_dejson"):
        return conn.extra_dejson
    try:
        return json.loads(conn.extra) if conn.extra else {}
    except ValueError:
        return {}


def get_connection(conn_id: str, needs_password: bool = True) -> PlatformConnection:
    """The connection ``conn_id``; ``needs_password`` False for a public API that takes no token."""
    conn = _conn_from_environment(conn_id) or _conn_from_airflow(conn_id)
    if not conn.host:
        raise ConfigError(f"connection '{conn_id}' has no host: set it to the API base URL")
    extra_dejson = _extra_dejson(conn)
    extra_raw = extra_dejson if isinstance(extra_dejson, dict) else {}
    if needs_password and not conn.password and not extra_raw.get("refresh_token") and not extra_raw.get("service_account_key"):
        raise ConfigError(f"connection '{conn_id}' has no password: set it to the API token")
    host = conn.host if "://" in conn.host else f"https://{conn.host}"
    if conn.port and host.count(":") < 2:
        host = f"{host}:{conn.port}"
    try:
        extra = extra_dejson if isinstance(extra_dejson, dict) else json.loads(conn.extra or "{}")
    except ValueError:
        raise ConfigError(f"connection '{conn_id}' has an extra that is not a JSON object") from None
    # Pasted tokens often carry a newline, which requests would reject (quoting the token).
    return PlatformConnection(conn_id, host.rstrip("/"), conn.login, (conn.password or "").strip(), extra)
