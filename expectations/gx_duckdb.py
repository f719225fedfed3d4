"""Make Great Expectations keep one persisted connection for DuckDB, as it does for SQLite.

Why: GX's SqlAlchemyExecutionEngine.execute_query() runs a query inside
``with engine.connect()``, returns the CursorResult and only then fetches the rows,
after the connection has gone back to the pool. Returning it to the pool issues a
ROLLBACK, and a duckdb-engine cursor is the DuckDB connection itself, so that
ROLLBACK replaces the pending result: GX fetches an empty list and fails with
"IndexError: list index out of range" (upstream GX issues 11579 and 10738).

GX already avoids this for SQLite, SQL Server, BigQuery and Databricks: dialects
named in ``_PERSISTED_CONNECTION_DIALECTS`` get a StaticPool engine and one
connection that stays open for the engine's life (closed by
``SqlAlchemyExecutionEngine.close()``). We add "duckdb" to that tuple. This is a
private GX name, so tests/gate/test_gate.py checks both that the bug is still there
without this patch and that the gate passes with it: when GX fixes the bug
upstream, the first test turns red and this module can be deleted.
"""

from __future__ import annotations

from great_expectations.execution_engine import sqlalchemy_execution_engine as _gx_engine


class _DialectName(str):
    """A dialect name usable where GX expects a GXSqlDialect member.

    GX compares tuple members with the engine's dialect name (``"duckdb" in dialects``)
    and reads ``member.value`` to match connection strings; GXSqlDialect has no DuckDB
    member, and an Enum cannot be extended, so a str with a ``value`` does both.
    """

    @property
    def value(self) -> str:
        return str(self)


DUCKDB = _DialectName("duckdb")


def keep_duckdb_connection_open() -> None:
    """Add DuckDB to GX's persisted-connection dialects (idempotent)."""
    dialects = _gx_engine._PERSISTED_CONNECTION_DIALECTS
    if DUCKDB not in dialects:
        _gx_engine._PERSISTED_CONNECTION_DIALECTS = (*dialects, DUCKDB)


def duckdb_connection_is_kept_open() -> bool:
    return DUCKDB in _gx_engine._PERSISTED_CONNECTION_DIALECTS
