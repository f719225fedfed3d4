"""Write-audit-publish for the PostgreSQL warehouse: a schema swap in one transaction.

dbt builds into ``marts`` and ``bi`` of the warehouse database. publish() copies them into
new schemas of one version (``fh_v<published at>_marts``, ``_bi``, ``_meta``): the marts as
tables, the bi views recreated over the copied tables, with their comments, and the same
``meta.published_tables`` / ``meta.publication`` the DuckDB file carries. Then, in one
transaction (BEGIN ... ALTER SCHEMA ... RENAME ... COMMIT), the version that was published
takes back its version names and the new one takes the names BI tools read:

    published_marts   published_bi   published_meta

A reader sees the old schemas or the new ones, never half of each: the renames commit
together, and a query already running keeps the tables it opened. A view points at its
tables, not their names, so the bi views follow the swap. The versions stay as schemas (the
newest FUNNELHOUSE_PUBLISH_KEEP); rollback() swaps one back in the same way, no copy made.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from extractors.postgres import PostgresWarehouse, connect
from extractors.sql import BOOKKEEPING_SCHEMA
from funnelhouse.publish import PublishResult, Version, keep_versions, rollback_choice

logger = logging.getLogger(__name__)

PUBLISHED_PREFIX = "published_"
PARTS = ("marts", "bi", "meta")  # the published schemas, as the DuckDB file names them
REGISTRY = f"{BOOKKEEPING_SCHEMA}.published_versions"


def _version_schema(stamp: str, part: str) -> str:
    return f"fh_v{stamp.lower()}_{part}"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ensure_registry(con) -> None:
    con.execute(f"""CREATE SCHEMA IF NOT EXISTS {BOOKKEEPING_SCHEMA};
        CREATE TABLE IF NOT EXISTS {REGISTRY} (stamp VARCHAR PRIMARY KEY, run_id VARCHAR NOT NULL,
            published_at TIMESTAMPTZ NOT NULL, is_current BOOLEAN NOT NULL)""")


def publish(
    warehouse: PostgresWarehouse,
    schemas: Sequence[str] = ("marts",),
    *,
    run_id: str | None = None,
    view_schemas: Sequence[str] = (),
    keep: int | None = None,
) -> PublishResult:
    """Publish ``schemas`` (tables) and ``view_schemas`` (views) of the warehouse; the caller holds the writer lock."""
    if tuple(schemas) != ("marts",) or tuple(view_schemas) not in ((), ("bi",)):
        raise ValueError("the PostgreSQL publish knows the marts and bi schemas only")
    published_at = datetime.now(UTC)
    run_id = run_id or f"manual__{published_at:%Y-%m-%dT%H:%M:%S.%f}"
    stamp = f"{published_at:%Y%m%dT%H%M%S%fZ}"
    with connect(warehouse) as con:  # one transaction: copy, then swap; any error rolls all of it back
        _ensure_registry(con)
        tables = _copy_marts(con, stamp)
        _copy_views(con, stamp, bool(view_schemas))
        _write_metadata(con, stamp, tables, published_at, warehouse, run_id)
        con.execute(f"INSERT INTO {REGISTRY} VALUES (?, ?, ?, false)", [stamp, run_id, published_at])
        _swap_in(con, stamp)
    _prune(warehouse, keep_versions() if keep is None else keep)
    row_counts = {f"marts.{name}": rows for name, rows in tables}
    logger.info("published %s into %s (run %s)", row_counts, warehouse, run_id)
    return PublishResult(
        published_db=f"{warehouse} schemas {', '.join(PUBLISHED_PREFIX + p for p in PARTS)}",
        published_at=published_at,
        row_counts=row_counts,
        run_id=run_id,
        version=_version_schema(stamp, "marts"),
    )


def _copy_marts(con, stamp: str) -> list[tuple[str, int]]:
    names = [
        n
        for (n,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY table_name"
        ).fetchall()
    ]
    if not names:
        raise ValueError(f"schema 'marts' has no tables or views in {con}")
    target = _q(_version_schema(stamp, "marts"))
    con.execute(f"CREATE SCHEMA {target}")
    tables = []
    for name in names:
        con.execute(f"CREATE TABLE {target}.{_q(name)} AS SELECT * FROM marts.{_q(name)}")
        tables.append((name, con.execute(f"SELECT count(*) FROM {target}.{_q(name)}").fetchone()[0]))
    return tables


def _copy_views(con, stamp: str, with_bi: bool) -> None:
    """The bi views over the copied marts. Their SQL is read with ``marts`` on the search path, so
    PostgreSQL prints the marts' names unqualified, and created with the copy on it, so they bind there."""
    target = _version_schema(stamp, "bi")
    con.execute(f"CREATE SCHEMA {_q(target)}")
    if not with_bi:
        return
    con.execute("SET LOCAL search_path = marts")
    views = con.execute("""SELECT c.relname, pg_get_viewdef(c.oid), obj_description(c.oid, 'pg_class')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'bi' AND c.relkind = 'v' ORDER BY c.relname""").fetchall()
    columns = con.execute("""SELECT c.relname, a.attname, col_description(c.oid, a.attnum)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
        WHERE n.nspname = 'bi' AND c.relkind = 'v' AND a.attnum > 0 AND col_description(c.oid, a.attnum) IS NOT NULL""").fetchall()
    con.execute(f"SET LOCAL search_path = {_q(_version_schema(stamp, 'marts'))}")
    for name, sql, comment in views:
        con.execute(f"CREATE VIEW {_q(target)}.{_q(name)} AS {sql}")
        if comment:
            con.execute(f"COMMENT ON VIEW {_q(target)}.{_q(name)} IS {_text(comment)}")
    for name, column, comment in columns:
        con.execute(f"COMMENT ON COLUMN {_q(target)}.{_q(name)}.{_q(column)} IS {_text(comment)}")
    con.execute("SET LOCAL search_path = public")


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _write_metadata(con, stamp: str, tables, published_at: datetime, warehouse: PostgresWarehouse, run_id: str) -> None:
    meta = _q(_version_schema(stamp, "meta"))
    published_at_utc = published_at.replace(tzinfo=None)
    con.execute(f"""CREATE SCHEMA {meta};
        CREATE TABLE {meta}.published_tables (table_schema VARCHAR, table_name VARCHAR, row_count BIGINT,
            published_at TIMESTAMP, build_database VARCHAR);
        CREATE TABLE {meta}.publication (run_id VARCHAR, published_at TIMESTAMP, build_database VARCHAR)""")
    rows = [("marts", name, count, published_at_utc, str(warehouse)) for name, count in tables]
    con.execute(
        f"INSERT INTO {meta}.published_tables VALUES " + ", ".join(["(?, ?, ?, ?, ?)"] * len(rows)),
        [value for row in rows for value in row],
    )
    con.execute(f"INSERT INTO {meta}.publication VALUES (?, ?, ?)", [run_id, published_at_utc, str(warehouse)])


def _swap_in(con, stamp: str) -> None:
    """Inside the caller's transaction: the current version back to its own names, ``stamp``'s to the published ones."""
    current = con.execute(f"SELECT stamp FROM {REGISTRY} WHERE is_current").fetchone()
    for part in PARTS:
        if current:
            con.execute(f"ALTER SCHEMA {_q(PUBLISHED_PREFIX + part)} RENAME TO {_q(_version_schema(current[0], part))}")
        con.execute(f"ALTER SCHEMA {_q(_version_schema(stamp, part))} RENAME TO {_q(PUBLISHED_PREFIX + part)}")
    con.execute(f"UPDATE {REGISTRY} SET is_current = (stamp = ?)", [stamp])


def _prune(warehouse: PostgresWarehouse, keep: int) -> None:
    with connect(warehouse) as con:
        old = con.execute(
            f"SELECT stamp FROM {REGISTRY} WHERE NOT is_current ORDER BY stamp DESC OFFSET ?", [max(keep, 1) - 1]
        ).fetchall()
        for (stamp,) in old:
            for part in PARTS:
                con.execute(f"DROP SCHEMA IF EXISTS {_q(_version_schema(stamp, part))} CASCADE")
            con.execute(f"DELETE FROM {REGISTRY} WHERE stamp = ?", [stamp])


def versions(warehouse: PostgresWarehouse) -> list[Version]:
    """The kept versions (the published one among them), oldest first."""
    with connect(warehouse, read_only=True) as con:
        if not con.execute("SELECT to_regclass(?)", [REGISTRY]).fetchone()[0]:
            return []
        rows = con.execute(f"SELECT run_id, stamp FROM {REGISTRY} ORDER BY stamp").fetchall()
    return [Version(run_id=run_id, published_at=stamp, path=_version_schema(stamp, "marts")) for run_id, stamp in rows]


def current_run_id(warehouse: PostgresWarehouse) -> str | None:
    with connect(warehouse, read_only=True) as con:
        if not con.execute("SELECT to_regclass(?)", [REGISTRY]).fetchone()[0]:
            return None
        row = con.execute(f"SELECT run_id FROM {REGISTRY} WHERE is_current").fetchone()
    return row[0] if row else None


def rollback(warehouse: PostgresWarehouse, to_run_id: str | None = None) -> Version:
    """Make a kept version the published one: ``to_run_id``'s, else the one before the current, by the same swap."""
    kept = versions(warehouse)
    current = current_run_id(warehouse)
    chosen = rollback_choice(kept, to_run_id, lambda: current)
    with connect(warehouse) as con:
        if chosen.run_id != current:
            _swap_in(con, chosen.published_at)
    logger.info("rolled %s back to run %s (published %s)", warehouse, chosen.run_id, chosen.published_at)
    return chosen
