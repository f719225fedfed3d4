"""Write-audit-publish for the DuckDB warehouse: swap a checked copy in by rename.

publish() copies the given schemas of the build database into a new DuckDB file
beside the published one, then renames it over the published file. Readers that
already hold the old file open keep reading the old data (POSIX keeps a renamed-over
file alive for its open handles); new connections see the new file whole. On any
error the new file is removed and the published one is left untouched.

The published file holds only those schemas, every view materialised as a table,
plus ``meta.published_tables`` (one row per table: row count, published_at in UTC,
build database).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

logger = logging.getLogger(__name__)

META_SCHEMA = "meta"
_TARGET = "publish_target"  # catalog alias of the new file while it is written


@dataclass(frozen=True)
class PublishResult:
    published_db: str
    published_at: datetime  # UTC
    row_counts: dict[str, int]  # "schema.table" -> rows


def publish(build_db: str, published_db: str, schemas: Sequence[str] = ("marts",)) -> PublishResult:
    """Publish ``schemas`` of ``build_db`` as the DuckDB file ``published_db``, atomically."""
    build = Path(build_db).resolve()
    target = Path(published_db).resolve()
    if not build.is_file():
        raise FileNotFoundError(f"no build database at {build}")
    if META_SCHEMA in schemas:
        raise ValueError(f"schema {META_SCHEMA!r} is reserved for publish metadata")

    temporary = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    published_at = datetime.now(timezone.utc)
    try:
        _remove(temporary)  # left by a crashed run that had our pid
        tables = _write_copy(build, temporary, schemas, published_at)
        _fsync_file(temporary)
        stale_wal = _wal(target)
        if stale_wal.exists():
            # DuckDB would replay it onto the new file. Only a writer on the published
            # file leaves one, and nothing may write there.
            logger.warning("removing stale %s", stale_wal)
            stale_wal.unlink()
        os.replace(temporary, target)
    except BaseException:
        _remove(temporary)
        raise
    _fsync_directory(target.parent)

    row_counts = {f"{schema}.{table}": rows for schema, table, rows in tables}
    logger.info("published %s from %s to %s", row_counts, build, target)
    return PublishResult(published_db=str(target), published_at=published_at, row_counts=row_counts)


def _write_copy(
    build: Path, temporary: Path, schemas: Sequence[str], published_at: datetime
) -> list[tuple[str, str, int]]:
    """Write the new file; return (schema, table, row count) for each table copied."""
    # An in-memory connection attaches both files, the build one under its default
    # alias (from its file name): dbt writes views that name that catalog.
    with duckdb.connect() as connection:
        connection.execute(f"ATTACH {_literal(build)} (READ_ONLY)")
        (source,) = connection.execute(
            "SELECT database_name FROM duckdb_databases() WHERE path = ?", [str(build)]
        ).fetchone()
        connection.execute(f"ATTACH {_literal(temporary)} AS {_TARGET}")

        tables = []
        for schema in schemas:
            names = connection.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_catalog = ? AND table_schema = ? ORDER BY table_name",
                [source, schema],
            ).fetchall()
            if not names:
                raise ValueError(f"schema {schema!r} has no tables or views in {build}")
            connection.execute(f"CREATE SCHEMA {_TARGET}.{_identifier(schema)}")
            for (name,) in names:
                relation = f"{_identifier(schema)}.{_identifier(name)}"
                # CREATE TABLE AS materialises views too: a view would still point into
                # the build database, which readers of the published file never open.
                connection.execute(
                    f"CREATE TABLE {_TARGET}.{relation} AS SELECT * FROM {_identifier(source)}.{relation}"
                )
                (rows,) = connection.execute(f"SELECT count(*) FROM {_TARGET}.{relation}").fetchone()
                tables.append((schema, name, rows))

        _write_metadata(connection, tables, published_at, build)
        connection.execute(f"CHECKPOINT {_TARGET}")
        connection.execute(f"DETACH {_TARGET}")
    return tables


def _write_metadata(
    connection: duckdb.DuckDBPyConnection,
    tables: list[tuple[str, str, int]],
    published_at: datetime,
    build: Path,
) -> None:
    meta = f"{_TARGET}.{META_SCHEMA}.published_tables"
    connection.execute(
        f"CREATE SCHEMA {_TARGET}.{META_SCHEMA};"
        f" CREATE TABLE {meta} (table_schema VARCHAR, table_name VARCHAR, row_count BIGINT,"
        " published_at TIMESTAMP, build_database VARCHAR)"
    )
    published_at_utc = published_at.replace(tzinfo=None)
    rows = [(*table, published_at_utc, str(build)) for table in tables]
    # One statement for the few rows (one per table), not a row-by-row executemany.
    placeholders = ", ".join(["(?, ?, ?, ?, ?)"] * len(rows))
    connection.execute(f"INSERT INTO {meta} VALUES {placeholders}", [value for row in rows for value in row])


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _wal(database: Path) -> Path:
    return database.with_name(database.name + ".wal")


def _remove(database: Path) -> None:
    database.unlink(missing_ok=True)
    _wal(database).unlink(missing_ok=True)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as file:
        os.fsync(file.fileno())


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable, not only the new file's contents.
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
