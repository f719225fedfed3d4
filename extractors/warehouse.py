"""Access to the warehouse under one cross-process writer lock: the DuckDB file, or PostgreSQL.

connect() and warehouse_lock() take either a DuckDB path or an extractors.postgres.PostgresWarehouse
(settings.warehouse_path() says which); the rest of this docstring is about the DuckDB file.

DuckDB allows one writing process per file, and readers in other processes
only while nobody writes. Every step that opens the warehouse (loads, state
reads, dbt, the gate, publish) takes this lock first, so steps queue instead
of failing with "Could not set lock on file". The Airflow pool
``duckdb_writer`` (one slot) keeps the scheduler from even starting them
together; the lock also covers the CLI and anything run by hand.

A process outside funnelhouse (a BI tool, a notebook) that opens the build file
holds DuckDB's own lock, which this lock cannot see: a writer then waits up to
FUNNELHOUSE_WAREHOUSE_LOCK_WAIT_S for it, saying who holds it, and fails with
that name. BI tools must read the published file, never the build file.
"""

from __future__ import annotations

import fcntl
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from extractors import postgres, settings
from extractors.postgres import PostgresWarehouse

log = logging.getLogger(__name__)


@contextmanager
def warehouse_lock(path: Path | PostgresWarehouse) -> Iterator[None]:
    if isinstance(path, PostgresWarehouse):
        with postgres.writer_lock(path):
            yield
        return
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


class WarehouseBusy(RuntimeError):
    """Another process holds DuckDB's lock on the build file for longer than we wait."""


def _holder(error: duckdb.Error) -> str:
    held = re.search(r"Conflicting lock is held in (.+?) \(PID (\d+)\)", str(error))
    return f"PID {held[2]} ({held[1]})" if held else "another process"


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + settings.warehouse_lock_wait_s()
    pause = 0.5
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "Could not set lock" not in str(exc):
                raise
            holder = _holder(exc)
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"{path} is held by {holder}, outside funnelhouse's writers: close it. BI tools and ad-hoc "
                    f"queries must open the published file ({settings.published_path()}), never the build file"
                ) from None
            log.warning(
                "%s is held by %s (a BI tool or query on the build file?); retrying for up to %.0fs more",
                path.name,
                holder,
                deadline - time.monotonic(),
            )
            time.sleep(pause)
            pause = min(pause * 2, 10.0)


@contextmanager
def connect(path: Path | PostgresWarehouse, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse under the lock; closed (and the lock released) on exit. A PostgreSQL
    warehouse answers through postgres.Connection (the same execute/fetch calls); its readers take no lock."""
    if isinstance(path, PostgresWarehouse):
        if read_only:
            with postgres.connect(path, read_only=True) as con:
                yield con
        else:
            with postgres.writer_lock(path), postgres.connect(path) as con:
                yield con
        return
    with warehouse_lock(path):
        con = _open(path, read_only)
        try:
            con.execute("SET TimeZone = 'UTC'")  # dates derived from timestamps must not follow the host's zone
            yield con
        finally:
            con.close()
