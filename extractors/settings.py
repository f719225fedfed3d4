"""Where funnelhouse keeps its files. Everything generated lives under one data dir.

FUNNELHOUSE_DATA_DIR (default ./data) holds the build warehouse, landing files
and the published database; FUNNELHOUSE_WAREHOUSE and
FUNNELHOUSE_PUBLISHED override the two database paths.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    return Path(os.environ.get("FUNNELHOUSE_DATA_DIR", "data")).absolute()


def warehouse_path() -> Path:
    """The build database: raw tables, state, and everything dbt builds."""
    return Path(os.environ.get("FUNNELHOUSE_WAREHOUSE") or data_dir() / "warehouse.duckdb").absolute()


def published_path() -> Path:
    """The database BI tools read; replaced atomically after the gate passes."""
    return Path(os.environ.get("FUNNELHOUSE_PUBLISHED") or data_dir() / "published" / "funnelhouse.duckdb").absolute()


def landing_dir() -> Path:
    return data_dir() / "landing"
