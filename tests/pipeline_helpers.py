"""Small helpers the extractor tests share: run a source end to end, read the warehouse."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import duckdb

from extractors import pipeline, settings


def run(source: str, end: datetime, start: datetime | None = None, streams: list[str] | None = None):
    """Extract one source into a landing batch and load it, as the CLI does."""
    pipeline.extract(
        source,
        end=end,
        start=start,
        stream_names=streams,
        warehouse=settings.warehouse_path(),
        landing_root=settings.landing_dir(),
    )
    return pipeline.load(source, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())


def rows(sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        return con.execute(sql).fetchall()


def table_checksums(path: Path, schema_like: str) -> dict[str, tuple[int, str]]:
    """{schema.table: (rows, sha256 of the rows)} for the base tables of the schemas matching
    ``schema_like``, load bookkeeping (_loaded_at, _batch_id) left out: equal when the data is."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [
            f"{s}.{t}"
            for s, t in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema LIKE ? ESCAPE '\\' AND table_type = 'BASE TABLE' AND table_name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY 1, 2",
                [schema_like],
            ).fetchall()
        ]
        out = {}
        for table in tables:
            # Doubles are compared at 1e-6: parallel aggregation may add them in another order.
            columns = [
                f"round({c}, 6)" if t in ("DOUBLE", "FLOAT") else c
                for c, t in con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall()
                if c not in ("_loaded_at", "_batch_id")
            ]
            rows = con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL").fetchall()
            out[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
        return out


def column_hashes(path: Path, schema: str) -> dict[str, dict[str, object]]:
    """{schema.table: {"rows": n, column: (type, hash)}} for the base tables of ``schema``: each column's
    hash is the sum of DuckDB's hash() of its values, so it does not depend on the order of the rows,
    and it sees every bit of a value (no rounding): equal hashes mean byte-identical columns."""
    out: dict[str, dict[str, object]] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY 1",
                [schema],
            ).fetchall()
        ]
        for table in tables:
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [schema, table],
            ).fetchall()
            sums = ", ".join(f'sum(hash("{c}")::HUGEINT)' for c, _ in columns)
            values = con.execute(f'SELECT count(*), {sums} FROM "{schema}"."{table}"').fetchone()
            out[f"{schema}.{table}"] = {"rows": values[0], **{c: (t, h) for (c, t), h in zip(columns, values[1:], strict=True)}}
    return out
