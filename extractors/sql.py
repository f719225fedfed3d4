"""SQL text the warehouse code shares on DuckDB and PostgreSQL: literals, the bookkeeping schema, row counts.

It imports nothing of funnelhouse's, so the loaders, the warehouse access and the PostgreSQL
module all build on it without importing each other.
"""

from __future__ import annotations

# Funnelhouse's bookkeeping in the build warehouse: the loader's cursors, batches, windows and the
# warehouse's id, the gates' runs, findings and volume history (on PostgreSQL also the key-parsing
# try_* functions and the published versions). Not the published file's ``meta`` schema (funnelhouse.publish).
BOOKKEEPING_SCHEMA = "_funnelhouse"


def literal(value) -> str:
    """``value`` (text, a number, None or a list of them) as a SQL literal.

    The loader writes its values into its statements instead of binding them: DuckDB's
    Python client imports pandas (numpy, pyarrow) for the first bound parameter of a process,
    which took 4-20 s on this project's shared 2-core machine (load average 6-12) before every load.
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"  # standard SQL strings: no backslash escapes
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def table_row_counts(con, schema_pattern: str) -> dict[str, int]:
    """Rows per table in the schemas matching a LIKE pattern; internal tables (``_name``) left out.
    ``con`` is a DuckDB connection or an extractors.postgres.Connection (the same execute/fetch calls)."""
    tables = con.execute(f"""SELECT table_schema || '.' || table_name FROM information_schema.tables
        WHERE table_schema LIKE {literal(schema_pattern)} AND NOT starts_with(table_name, '_') ORDER BY 1""").fetchall()
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for (t,) in tables}
