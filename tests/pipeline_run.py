"""The real DAG run twice over the same interval against one sandbox, shared by every test
module that checks the published marts (tests/test_end_to_end.py, tests/test_social_engagement.py):
session-scoped, so a test session pays for the two runs (~3 minutes) once.
"""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

import duckdb
import pytest

from extractors import settings


def _table_checksums(path, schema_like: str) -> dict[str, tuple[int, str]]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [f"{s}.{t}" for s, t in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema LIKE ? ESCAPE '\\' AND table_type = 'BASE TABLE' AND table_name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY 1, 2",
            [schema_like]).fetchall()]
        out = {}
        for table in tables:
            # Doubles are compared at 1e-6: parallel aggregation may add them in another order.
            columns = [f"round({c}, 6)" if t in ("DOUBLE", "FLOAT") else c
                       for c, t in con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall()
                       if c not in ("_loaded_at", "_batch_id")]
            rows = con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL").fetchall()
            out[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
        return out


@pytest.fixture(scope="session")
def pipeline_runs(tmp_path_factory, world):
    """Run the DAG twice over the same interval against one sandbox. The environment is
    restored before the tests read the results, so later tests see none of it."""
    from funnelhouse.__main__ import run_dag  # heavy (Airflow): only when a session needs the runs
    from sandbox.server import SandboxServer

    data = tmp_path_factory.mktemp("e2e") / "data"
    saved = dict(os.environ)
    with SandboxServer(world) as server:
        os.environ.update(server.connections())
        os.environ["FUNNELHOUSE_DATA_DIR"] = str(data)
        try:
            logical_date = world.end + timedelta(days=1)
            first_code = run_dag(logical_date, data)
            first = {"raw": _table_checksums(settings.warehouse_path(), "raw\\_%"),
                     "marts": _table_checksums(settings.published_path(), "marts")}
            second_code = run_dag(logical_date, data)
            second = {"raw": _table_checksums(settings.warehouse_path(), "raw\\_%"),
                      "marts": _table_checksums(settings.published_path(), "marts")}
            runs = {"codes": (first_code, second_code), "first": first, "second": second,
                    "published": settings.published_path(), "warehouse": settings.warehouse_path()}
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return runs


@pytest.fixture(scope="session")
def marts(pipeline_runs):
    con = duckdb.connect(str(pipeline_runs["published"]), read_only=True)
    yield con
    con.close()
