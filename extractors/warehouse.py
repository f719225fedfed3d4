"""Access to the DuckDB warehouse file under one cross-process writer lock.

DuckDB allows one writing process per file, and readers in other processes
only while nobody writes. Every step that opens the warehouse (loads, state
reads, dbt, the gate, publish) takes this lock first, so steps queue instead
of failing with "Could not set lock on file". The Airflow pool
``duckdb_writer`` (one slot) keeps the scheduler from even starting them
together; the lock also covers the CLI and anything run by hand.
"""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)


@contextmanager
def warehouse_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a") as fh:
        started = time.monotonic()
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process to finish with %s", path.name)
            fcntl.flock(fh, fcntl.LOCK_EX)
            log.info("got the warehouse after %.1fs", time.monotonic() - started)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse under the lock; closed (and the lock released) on exit."""
    with warehouse_lock(path):
        con = duckdb.connect(str(path), read_only=read_only)
        try:
            con.execute("SET TimeZone = 'UTC'")  # dates derived from timestamps must not follow the host's zone
            yield con
        finally:
            con.close()


def table_row_counts(con: duckdb.DuckDBPyConnection, schema_pattern: str) -> dict[str, int]:
    """Rows per table in the schemas matching a LIKE pattern; internal tables (``_name``) left out."""
    tables = con.execute("""SELECT table_schema || '.' || table_name FROM information_schema.tables
        WHERE table_schema LIKE ? AND NOT starts_with(table_name, '_') ORDER BY 1""", [schema_pattern]).fetchall()
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for (t,) in tables}
