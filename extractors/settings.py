"""Where funnelhouse keeps its files. Everything generated lives under one data dir.

FUNNELHOUSE_DATA_DIR (default ./data) holds the build warehouse, landing files,
the published database, dbt's target and the gate's Data Docs;
FUNNELHOUSE_WAREHOUSE and FUNNELHOUSE_PUBLISHED override the two database paths.
FUNNELHOUSE_WAREHOUSE=postgresql://user:password@host:port/database (or
FUNNELHOUSE_WAREHOUSE_CONN_ID naming an Airflow Connection of that database)
puts the warehouse in PostgreSQL instead (extractors/postgres.py): raw, build
and published schemas in that one database; DuckDB stays the default.

FUNNELHOUSE_LANDING_URL puts the landing batches where every worker can reach
them: a local or shared directory (a plain path: pages fsynced, manifests
renamed into place), or a URL (``s3://bucket/prefix``, ``gs://...``, ``file://``)
through Airflow's ObjectStoragePath, with the Airflow Connection named by
FUNNELHOUSE_LANDING_CONN_ID for its credentials (each object is written whole by
one PUT; the manifest last). Extract tasks write there from any worker; the warehouse worker
loads from there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from extractors.errors import ConfigError
from extractors.postgres import PostgresWarehouse, is_postgres_url


def data_dir() -> Path:
    return Path(os.environ.get("FUNNELHOUSE_DATA_DIR", "data")).absolute()


def warehouse_path() -> Path | PostgresWarehouse:
    """The build database: raw tables, state, and everything dbt builds. A DuckDB file's path, or a
    PostgresWarehouse when FUNNELHOUSE_WAREHOUSE is a postgresql:// URL or FUNNELHOUSE_WAREHOUSE_CONN_ID is set."""
    conn_id = os.environ.get("FUNNELHOUSE_WAREHOUSE_CONN_ID", "").strip()
    if conn_id:
        return PostgresWarehouse(_connection_url(conn_id))
    value = os.environ.get("FUNNELHOUSE_WAREHOUSE", "").strip()
    if is_postgres_url(value):
        return PostgresWarehouse(value)
    return Path(value or data_dir() / "warehouse.duckdb").absolute()


def _connection_url(conn_id: str) -> str:
    from airflow.sdk import Connection

    try:
        conn = Connection.get(conn_id)
    except Exception:
        raise ConfigError(
            f"FUNNELHOUSE_WAREHOUSE_CONN_ID names connection '{conn_id}', which is not defined: set "
            f"AIRFLOW_CONN_{conn_id.upper()}=postgresql://user:password@host:5432/database"
        ) from None
    uri = conn.get_uri()
    return "postgresql://" + uri.split("://", 1)[1] if "://" in uri else uri


def published_path() -> Path:
    """The database BI tools read; replaced atomically after the gate passes."""
    return Path(os.environ.get("FUNNELHOUSE_PUBLISHED") or data_dir() / "published" / "funnelhouse.duckdb").absolute()


def landing_dir() -> Any:
    """The landing root: a local Path, or an ObjectStoragePath for an object-store URL."""
    url = os.environ.get("FUNNELHOUSE_LANDING_URL", "").strip()
    if not url:
        return data_dir() / "landing"
    if "://" not in url:
        return Path(url).absolute()
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(url, conn_id=os.environ.get("FUNNELHOUSE_LANDING_CONN_ID") or None)


def gate_results_dir() -> Path:
    """Where each gate run writes its validation results and Data Docs (the last few are kept)."""
    return data_dir() / "gate"


def gate_results_kept() -> int:
    """How many gate runs' Data Docs to keep (FUNNELHOUSE_GATE_RUNS_KEPT, default 20)."""
    return max(1, int(os.environ.get("FUNNELHOUSE_GATE_RUNS_KEPT", "20")))


def warehouse_lock_wait_s() -> float:
    """How long a writer waits for another process (e.g. a BI tool) to release the build file."""
    return float(os.environ.get("FUNNELHOUSE_WAREHOUSE_LOCK_WAIT_S", "120"))


def load_chunk_bytes() -> int:
    """How much NDJSON the loader reads into DuckDB at once (FUNNELHOUSE_LOAD_CHUNK_MB, default 32):
    a load holds one chunk, so its memory follows this, not the size of the batch."""
    return max(1, int(float(os.environ.get("FUNNELHOUSE_LOAD_CHUNK_MB", "32")) * 1024 * 1024))


def loader_duckdb_settings() -> dict[str, str]:
    """DuckDB's memory limit and threads for loads, set deliberately rather than DuckDB's defaults
    (80% of the machine's memory, every core): FUNNELHOUSE_DUCKDB_MEMORY_LIMIT (default 256MB, room for a
    chunk; DuckDB spills to disk beyond it, and its cache of the table it writes stays within it) and
    FUNNELHOUSE_DUCKDB_THREADS (default: the cores)."""
    return {
        "memory_limit": os.environ.get("FUNNELHOUSE_DUCKDB_MEMORY_LIMIT", "256MB"),
        "threads": os.environ.get("FUNNELHOUSE_DUCKDB_THREADS") or str(os.cpu_count() or 1),
    }
