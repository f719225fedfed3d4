"""Write-audit-publish for the DuckDB warehouse: swap a checked copy in by rename, keep the last few.

publish() copies the given schemas of the build database into a new DuckDB file
beside the published one, then renames it over the published file. Readers that
already hold the old file open keep reading the old data (POSIX keeps a renamed-over
file alive for its open handles); new connections see the new file whole. On any
error the new file is removed and the published one is left untouched.

The published file holds only those schemas, every view materialised as a table except
those of the view schemas (``bi``: stable views over the marts for BI tools, recreated as
views with their column comments), plus ``meta.published_tables`` (one row per table: row
count, published_at in UTC, build database) and ``meta.publication`` (the run id).

Each publish also keeps a copy in ``versions/`` beside the published file, named by time and
run id; the newest ``keep`` (FUNNELHOUSE_PUBLISH_KEEP, default 7) stay. rollback() makes one of
them current by the same atomic rename.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote

import duckdb

from extractors.landing import fsync

logger = logging.getLogger(__name__)

PUBLISHED_META_SCHEMA = "meta"  # in the published file: published_tables and publication
VERSIONS_DIR = "versions"
KEEP_VERSIONS = 7
_TARGET = "publish_target"  # catalog alias of the new file while it is written


@dataclass(frozen=True)
class PublishResult:
    published_db: str
    published_at: datetime  # UTC
    row_counts: dict[str, int]  # "schema.table" -> rows
    run_id: str | None = None
    version: str | None = None  # the kept copy


@dataclass(frozen=True)
class Version:
    run_id: str
    published_at: str  # as in the file name, e.g. 20260830T000512123456Z
    path: Path


class RollbackError(ValueError):
    """No such version, or no earlier one."""


def keep_versions() -> int:
    return int(os.environ.get("FUNNELHOUSE_PUBLISH_KEEP", KEEP_VERSIONS))


def publish(
    build_db: str,
    published_db: str,
    schemas: Sequence[str] = ("marts",),
    *,
    run_id: str | None = None,
    view_schemas: Sequence[str] = (),
    keep: int | None = None,
) -> PublishResult:
    """Publish ``schemas`` (and the views of ``view_schemas``) of ``build_db`` as the DuckDB file
    ``published_db``, atomically, keeping a copy under ``versions/`` with ``run_id``."""
    build = Path(build_db).resolve()
    target = Path(published_db).resolve()
    if not build.is_file():
        raise FileNotFoundError(f"no build database at {build}")
    if PUBLISHED_META_SCHEMA in schemas:
        raise ValueError(f"schema {PUBLISHED_META_SCHEMA!r} is reserved for publish metadata")

    temporary = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    published_at = datetime.now(UTC)
    run_id = run_id or f"manual__{published_at:%Y-%m-%dT%H:%M:%S.%f}"
    try:
        _remove(temporary)  # left by a crashed run that had our pid
        tables = _write_copy(build, temporary, schemas, published_at, run_id, view_schemas)
        fsync(temporary)
        version = _keep_copy(temporary, target, run_id, published_at)
        _swap_in(temporary, target)
    except BaseException:
        _remove(temporary)
        raise
    _prune_versions(target, keep_versions() if keep is None else keep)

    row_counts = {f"{schema}.{table}": rows for schema, table, rows in tables}
    logger.info("published %s from %s to %s (run %s)", row_counts, build, target, run_id)
    return PublishResult(
        published_db=str(target), published_at=published_at, row_counts=row_counts, run_id=run_id, version=str(version)
    )


def versions(published_db: str | Path) -> list[Version]:
    """The kept published versions, oldest first."""
    folder = Path(published_db).resolve().parent / VERSIONS_DIR
    found = []
    for path in folder.glob("*__*.duckdb"):
        stamp, _, encoded = path.stem.partition("__")
        found.append(Version(run_id=unquote(encoded), published_at=stamp, path=path))
    return sorted(found, key=lambda v: v.published_at)


def current_run_id(published_db: str | Path) -> str | None:
    """The run id of the published file (None before anything was published)."""
    path = Path(published_db)
    if not path.is_file():
        return None
    with duckdb.connect(str(path), read_only=True) as connection:
        exists = connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'publication'",
            [PUBLISHED_META_SCHEMA],
        ).fetchone()[0]
        if not exists:
            return None
        row = connection.execute(f"SELECT run_id FROM {PUBLISHED_META_SCHEMA}.publication").fetchone()
    return row[0] if row else None


def rollback(published_db: str | Path, to_run_id: str | None = None) -> Version:
    """Make a kept version current, atomically: ``to_run_id``'s, else the one before the current."""
    target = Path(published_db).resolve()
    chosen = rollback_choice(versions(target), to_run_id, lambda: current_run_id(target))
    temporary = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    try:
        _remove(temporary)
        shutil.copyfile(chosen.path, temporary)
        fsync(temporary)
        _swap_in(temporary, target)
    except BaseException:
        _remove(temporary)
        raise
    logger.info("rolled %s back to run %s (published %s)", target, chosen.run_id, chosen.published_at)
    return chosen


def rollback_choice(kept: list[Version], to_run_id: str | None, current: Callable[[], str | None]) -> Version:
    """The kept version (oldest first) a rollback makes current, for either warehouse: ``to_run_id``'s
    newest, else the one before the current run's (``current()``, asked only then)."""
    if to_run_id is not None:
        chosen = next((v for v in reversed(kept) if v.run_id == to_run_id), None)
        if chosen is None:
            raise RollbackError(f"no kept version of run {to_run_id!r}; kept: {', '.join(v.run_id for v in kept) or 'none'}")
        return chosen
    current_id = current()
    positions = [i for i, v in enumerate(kept) if v.run_id == current_id]
    earlier = kept[: positions[-1]] if positions else kept[:-1]
    if not earlier:
        raise RollbackError(f"no version before the current one ({current_id or 'nothing published'}) is kept")
    return earlier[-1]


def _swap_in(temporary: Path, target: Path) -> None:
    stale_wal = _wal(target)
    if stale_wal.exists():
        # DuckDB would replay it onto the new file. Only a writer on the published
        # file leaves one, and nothing may write there.
        logger.warning("removing stale %s", stale_wal)
        stale_wal.unlink()
    os.replace(temporary, target)
    fsync(target.parent)  # the rename itself durable, not only the new file's contents


def _keep_copy(temporary: Path, target: Path, run_id: str, published_at: datetime) -> Path:
    """Copy the new file into versions/ (a copy, not a link: the kept one stays as published)."""
    folder = target.parent / VERSIONS_DIR
    folder.mkdir(exist_ok=True)
    version = folder / f"{published_at:%Y%m%dT%H%M%S%fZ}__{quote(run_id, safe='')}.duckdb"
    partial = version.with_name(version.name + ".partial")
    shutil.copyfile(temporary, partial)
    fsync(partial)
    os.replace(partial, version)
    fsync(folder)
    return version


def _prune_versions(target: Path, keep: int) -> None:
    kept = versions(target)
    for old in kept[: max(len(kept) - max(keep, 1), 0)]:
        old.path.unlink(missing_ok=True)


def _write_copy(
    build: Path,
    temporary: Path,
    schemas: Sequence[str],
    published_at: datetime,
    run_id: str,
    view_schemas: Sequence[str] = (),
) -> list[tuple[str, str, int]]:
    """Write the new file; return (schema, table, row count) for each table copied."""
    # An in-memory connection attaches both files, the build one under its default
    # alias (from its file name): dbt writes views that name that catalog.
    with duckdb.connect() as connection:
        connection.execute(f"ATTACH {_literal(build)} (READ_ONLY)")
        (source,) = connection.execute("SELECT database_name FROM duckdb_databases() WHERE path = ?", [str(build)]).fetchone()
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
                connection.execute(f"CREATE TABLE {_TARGET}.{relation} AS SELECT * FROM {_identifier(source)}.{relation}")
                (rows,) = connection.execute(f"SELECT count(*) FROM {_TARGET}.{relation}").fetchone()
                tables.append((schema, name, rows))

        for schema in view_schemas:
            _copy_views(connection, source, schema, build)
        _write_metadata(connection, tables, published_at, build, run_id)
        connection.execute(f"CHECKPOINT {_TARGET}")
        connection.execute(f"DETACH {_TARGET}")
    return tables


def _copy_views(connection: duckdb.DuckDBPyConnection, source: str, schema: str, build: Path) -> None:
    """Recreate the views of ``schema`` in the new file, as views, with their comments.

    Their SQL names schemas without a catalog (dbt_project/macros/ref_and_source_without_database.sql),
    so inside the new file they read its own, published, tables."""
    views = connection.execute(
        "SELECT view_name, sql, comment FROM duckdb_views() WHERE database_name = ? AND schema_name = ? ORDER BY view_name",
        [source, schema],
    ).fetchall()
    if not views:
        raise ValueError(f"schema {schema!r} has no views in {build}")
    connection.execute(f"CREATE SCHEMA {_TARGET}.{_identifier(schema)}")
    connection.execute(f"USE {_TARGET}")  # the views' unqualified schemas bind in the new file
    try:
        for name, sql, comment in views:
            connection.execute(sql)
            if comment:
                connection.execute(f"COMMENT ON VIEW {_identifier(schema)}.{_identifier(name)} IS {_text(comment)}")
        for name, column, comment in connection.execute(
            "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE database_name = ?"
            " AND schema_name = ? AND comment IS NOT NULL",
            [source, schema],
        ).fetchall():
            connection.execute(
                f"COMMENT ON COLUMN {_identifier(schema)}.{_identifier(name)}.{_identifier(column)} IS {_text(comment)}"
            )
    finally:
        connection.execute("USE memory")


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _write_metadata(
    connection: duckdb.DuckDBPyConnection,
    tables: list[tuple[str, str, int]],
    published_at: datetime,
    build: Path,
    run_id: str,
) -> None:
    meta = f"{_TARGET}.{PUBLISHED_META_SCHEMA}.published_tables"
    connection.execute(
        f"CREATE SCHEMA {_TARGET}.{PUBLISHED_META_SCHEMA};"
        f" CREATE TABLE {meta} (table_schema VARCHAR, table_name VARCHAR, row_count BIGINT,"
        " published_at TIMESTAMP, build_database VARCHAR)"
    )
    published_at_utc = published_at.replace(tzinfo=None)
    rows = [(*table, published_at_utc, str(build)) for table in tables]
    # One statement for the few rows (one per table), not a row-by-row executemany.
    placeholders = ", ".join(["(?, ?, ?, ?, ?)"] * len(rows))
    connection.execute(f"INSERT INTO {meta} VALUES {placeholders}", [value for row in rows for value in row])
    publication = f"{_TARGET}.{PUBLISHED_META_SCHEMA}.publication"
    connection.execute(f"CREATE TABLE {publication} (run_id VARCHAR, published_at TIMESTAMP, build_database VARCHAR)")
    connection.execute(f"INSERT INTO {publication} VALUES (?, ?, ?)", [run_id, published_at_utc, str(build)])


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _wal(database: Path) -> Path:
    return database.with_name(database.name + ".wal")


def _remove(database: Path) -> None:
    database.unlink(missing_ok=True)
    _wal(database).unlink(missing_ok=True)
