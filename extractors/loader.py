"""The one loader: a landed batch -> raw tables, in one DuckDB transaction
(or one PostgreSQL transaction, extractors/postgres.py, with the same rules).

For each (stream, account) unit the NDJSON pages are bulk-read with
``read_ndjson_objects`` (never row by row), keys are pulled out of the JSON,
records without a usable key go to ``raw_<source>._quarantine`` with the reason
and the payload, duplicates inside the batch keep the latest page's copy, and:

- merge streams replace rows with the same (_account_id, key);
- window streams replace every row of the re-read days, so restated and
  vanished rows are both handled.

The stream cursors are written in the same transaction, and the batch id is
recorded so a batch loads once: a crash leaves either the old state or the new
one, never half. Only the units the manifest lists move their cursors; the units
it names as failed are not in the batch and keep theirs. After the commit a copy of the source's cursors goes to the
landing storage (``landing.write_cursors``), where extract tasks on any worker
read them without opening, or waiting for, the warehouse.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from extractors import postgres, settings
from extractors.errors import LandingMismatch
from extractors.landing import Manifest, local_copy, read_cursors, remove_batch, remove_cursors, write_cursors
from extractors.postgres import PostgresWarehouse
from extractors.sources import get_source
from extractors.sql import BOOKKEEPING_SCHEMA, literal, table_row_counts
from extractors.streams import Stream
from extractors.warehouse import connect

log = logging.getLogger(__name__)


@dataclass
class LoadResult:
    batch_id: str
    source: str
    loaded: dict[str, int] = field(default_factory=dict)  # stream -> records loaded (after in-batch dedupe)
    quarantined: dict[str, int] = field(default_factory=dict)
    table_rows: dict[str, int] = field(default_factory=dict)  # raw table -> rows after the load
    failed_accounts: dict[str, str] = field(default_factory=dict)  # account -> reason (manifests before failed_units)
    skipped_streams: dict[str, str] = field(default_factory=dict)  # "stream/account" -> why the platform refused it
    failed_units: dict[str, str] = field(default_factory=dict)  # "stream/account" -> why it was not read (cursor kept)
    units: list[str] = field(default_factory=list)  # "stream/account" of every unit the batch held (cursor moved)
    notes: dict[str, list[str]] = field(default_factory=dict)  # "stream/account" -> the source's remarks (landing.Note)
    already_loaded: bool = False


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def ensure_meta_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {BOOKKEEPING_SCHEMA}")
    con.execute(f"""CREATE TABLE IF NOT EXISTS {BOOKKEEPING_SCHEMA}.stream_state (
        source VARCHAR NOT NULL, stream VARCHAR NOT NULL, account_id VARCHAR NOT NULL,
        cursor_value TIMESTAMPTZ NOT NULL, batch_id VARCHAR NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (source, stream, account_id))""")
    # Which warehouse this is: cursor copies in the landing storage name it, so a batch planned from
    # another (e.g. deleted and rebuilt) warehouse's cursors is refused instead of leaving a gap.
    con.execute(f"CREATE TABLE IF NOT EXISTS {BOOKKEEPING_SCHEMA}.warehouse_info (warehouse_id VARCHAR NOT NULL)")
    con.execute(f"""INSERT INTO {BOOKKEEPING_SCHEMA}.warehouse_info SELECT uuid()::VARCHAR
        WHERE NOT EXISTS (SELECT 1 FROM {BOOKKEEPING_SCHEMA}.warehouse_info)""")
    con.execute(f"""CREATE TABLE IF NOT EXISTS {BOOKKEEPING_SCHEMA}.loaded_batches (
        batch_id VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, loaded_at TIMESTAMPTZ NOT NULL,
        records BIGINT NOT NULL, quarantined BIGINT NOT NULL)""")
    # The days (or instants) each window load deleted and re-read: incremental dbt models rebuild
    # exactly these, including days whose rows all vanished (nothing new in the raw table marks them).
    con.execute(f"""CREATE TABLE IF NOT EXISTS {BOOKKEEPING_SCHEMA}.loaded_windows (
        batch_id VARCHAR NOT NULL, source VARCHAR NOT NULL, stream VARCHAR NOT NULL, account_id VARCHAR NOT NULL,
        window_start TIMESTAMPTZ NOT NULL, window_end TIMESTAMPTZ NOT NULL, first_day DATE, last_day DATE)""")


def _ensure_raw_tables(con, schema: str, stream: Stream) -> str:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(schema)}")
    keys = ", ".join(f"{_q(k.name)} {k.sql_type} NOT NULL" for k in stream.keys)
    table = f"{_q(schema)}.{_q(stream.name)}"
    con.execute(f"""CREATE TABLE IF NOT EXISTS {table} (
        _account_id VARCHAR NOT NULL, {keys}, _record JSON NOT NULL,
        _loaded_at TIMESTAMPTZ NOT NULL, _batch_id VARCHAR NOT NULL)""")
    con.execute(f"""CREATE TABLE IF NOT EXISTS {_q(schema)}._quarantine (
        _batch_id VARCHAR NOT NULL, stream VARCHAR NOT NULL, _account_id VARCHAR NOT NULL,
        reason VARCHAR NOT NULL, raw_payload VARCHAR NOT NULL, _loaded_at TIMESTAMPTZ NOT NULL)""")
    return table


def load_batch(batch_dir, warehouse: Path) -> LoadResult:
    """Load one complete batch (a local folder or an object-store prefix, see extractors.landing)."""
    manifest = Manifest.read(batch_dir)
    source = get_source(manifest.source)
    schema = f"raw_{source.name}"
    result = LoadResult(
        manifest.batch_id,
        source.name,
        failed_accounts=manifest.failed_accounts,
        skipped_streams=manifest.skipped_streams,
        failed_units={f.key: f.reason for f in manifest.failed_units},
        units=[f"{u.stream}/{u.account_id}" for u in manifest.units],
        notes={f"{u.stream}/{u.account_id}": u.notes for u in manifest.units if u.notes},
    )
    try:
        if isinstance(warehouse, PostgresWarehouse):
            return postgres.load(batch_dir, warehouse, manifest, source, schema, result, _PlannedElsewhere)
        return _load(batch_dir, warehouse, manifest, source, schema, result)
    except _PlannedElsewhere as exc:
        remove_cursors(batch_dir.parent.parent, source.name)
        remove_batch(batch_dir)
        raise LandingMismatch(str(exc)) from None


class _PlannedElsewhere(Exception):
    pass


def _load(batch_dir, warehouse: Path, manifest: Manifest, source, schema: str, result: LoadResult) -> LoadResult:
    with local_copy(batch_dir) as local_dir, connect(warehouse) as con:
        for name, value in settings.loader_duckdb_settings().items():
            con.execute(f"SET {name} = {literal(value)}")
        con.execute("BEGIN TRANSACTION")
        try:
            ensure_meta_tables(con)
            warehouse_id = con.execute(f"SELECT warehouse_id FROM {BOOKKEEPING_SCHEMA}.warehouse_info").fetchone()[0]
            if manifest.planned_from not in (None, warehouse_id):
                raise _PlannedElsewhere(
                    f"{manifest.batch_id} was planned from the cursors of another warehouse "
                    f"({manifest.planned_from}; this one is {warehouse_id}), so it may start after "
                    "what this warehouse holds: dropped, with the stale cursor copy; the next run "
                    "extracts from this warehouse's own state"
                )
            if con.execute(
                f"SELECT 1 FROM {BOOKKEEPING_SCHEMA}.loaded_batches WHERE batch_id = {literal(manifest.batch_id)}"
            ).fetchone():
                result.already_loaded = True
            else:
                for unit in manifest.units:
                    stream = source.stream(unit.stream)
                    table = _ensure_raw_tables(con, schema, stream)
                    files = [str(local_dir / f) for f in unit.files]
                    loaded, quarantined = _load_unit(con, schema, table, stream, unit, files, manifest.batch_id)
                    result.loaded[stream.name] = result.loaded.get(stream.name, 0) + loaded
                    result.quarantined[stream.name] = result.quarantined.get(stream.name, 0) + quarantined
                    # The cursor never moves back: a backfill of old days keeps the newer cursor.
                    con.execute(f"""INSERT INTO {BOOKKEEPING_SCHEMA}.stream_state AS s VALUES ({literal(source.name)}, {literal(stream.name)},
                          {literal(unit.account_id)}, {literal(unit.window_end)}::TIMESTAMPTZ, {literal(manifest.batch_id)}, current_timestamp)
                        ON CONFLICT (source, stream, account_id) DO UPDATE SET
                          cursor_value = greatest(s.cursor_value, excluded.cursor_value),
                          batch_id = excluded.batch_id, updated_at = excluded.updated_at""")
                con.execute(f"""INSERT INTO {BOOKKEEPING_SCHEMA}.loaded_batches VALUES ({literal(manifest.batch_id)}, {literal(source.name)},
                    current_timestamp, {literal(sum(result.loaded.values()))}, {literal(sum(result.quarantined.values()))})""")
            result.table_rows = table_row_counts(con, schema)
            cursors = _cursors(con, source.name)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    write_cursors(batch_dir.parent.parent, source.name, cursors, manifest.batch_id, warehouse_id)
    remove_batch(batch_dir)  # loaded (or loaded before): the landing copy has done its job
    log.info("loaded batch %s: %s (quarantined %s)", manifest.batch_id, result.loaded, result.quarantined)
    return result


def _chunks(files: list[str], max_bytes: int) -> list[list[str]]:
    """Consecutive runs of page files of at most ``max_bytes`` together (at least one file each)."""
    chunks: list[list[str]] = []
    size = 0
    for f in files:
        try:
            length = os.path.getsize(f)
        except FileNotFoundError:
            raise LandingMismatch(f"{f} is listed in its batch's manifest but missing: the batch is damaged") from None
        if not chunks or size + length > max_bytes:
            chunks.append([])
            size = 0
        chunks[-1].append(f)
        size += length
    return chunks


def _load_unit(con, schema: str, table: str, stream: Stream, unit, files: list[str], batch_id: str) -> tuple[int, int]:
    """One unit's pages into its raw table, a chunk of pages at a time in page order.

    A later page's copy of a record replaces an earlier one (pages are in request order),
    within a chunk by its dedupe and across chunks by the merge itself, so the
    table ends as one dedupe of the whole unit would leave it, while DuckDB holds one chunk
    (settings.load_chunk_bytes) at a time: memory follows the chunk, not the data.
    """
    key_exprs = ", ".join(f"{k.sql('_record')} AS {_q(k.name)}" for k in stream.keys)
    key_cols = ", ".join(_q(k) for k in stream.key_names)
    any_key_missing = " OR ".join(f"{_q(k)} IS NULL" for k in stream.key_names)
    account, batch = literal(unit.account_id), literal(batch_id)
    if stream.load == "window" and unit.window_start is not None:
        key = next(k for k in stream.keys if k.name == stream.window_key)
        start, end = literal(unit.window_start), literal(unit.window_end)
        if key.sql_type == "DATE":  # exactly the days the source re-read: Window.first_day .. Window.last_day
            first_day, last_day = (
                f"CAST({start}::TIMESTAMPTZ AS DATE)",
                f"CAST({end}::TIMESTAMPTZ - INTERVAL 1 MICROSECOND AS DATE)",
            )
            bounds = f"{_q(key.name)} >= {first_day} AND {_q(key.name)} <= {last_day}"
        else:  # a timestamp key: the instants [start, end); no days recorded
            first_day = last_day = "NULL"
            bounds = f"{_q(key.name)} >= {start}::TIMESTAMPTZ AND {_q(key.name)} < {end}::TIMESTAMPTZ"
        con.execute(f"DELETE FROM {table} WHERE _account_id = {account} AND {bounds}")
        con.execute(f"""INSERT INTO {BOOKKEEPING_SCHEMA}.loaded_windows VALUES ({batch}, {literal(schema.removeprefix("raw_"))},
            {literal(stream.name)}, {account}, {start}::TIMESTAMPTZ, {end}::TIMESTAMPTZ, {first_day}, {last_day})""")
    landed = quarantined = 0
    key_match = " AND ".join(f"t.{_q(k)} = f.{_q(k)}" for k in stream.key_names)
    for chunk in _chunks(files, settings.load_chunk_bytes()):
        # In the files' order, line by line: a materialized table's rowid is that order (DuckDB keeps
        # the order of a single-table SELECT, "Order Preservation" in its docs).
        con.execute(f"""CREATE OR REPLACE TEMP TABLE incoming AS
            SELECT {key_exprs}, _record FROM (SELECT json AS _record FROM read_ndjson_objects({literal(chunk)}))""")
        landed += con.execute("SELECT count(*) FROM incoming").fetchone()[0]
        quarantined += con.execute(f"""INSERT INTO {_q(schema)}._quarantine
            SELECT {batch}, {literal(stream.name)}, {account}, 'missing or invalid key: ' || {literal(key_cols)}, _record::VARCHAR,
                   current_timestamp
            FROM incoming WHERE {any_key_missing}""").fetchone()[0]
        con.execute(f"DELETE FROM {table} t USING incoming f WHERE t._account_id = {account} AND {key_match}")
        # The manifest lists a unit's files in request order, and each holds its pages in that order:
        # the last copy of a record is the newest.
        con.execute(f"""INSERT INTO {table} (_account_id, {key_cols}, _record, _loaded_at, _batch_id)
            SELECT {account}, {key_cols}, _record, current_timestamp, {batch} FROM incoming WHERE NOT ({any_key_missing})
            QUALIFY row_number() OVER (PARTITION BY {key_cols} ORDER BY rowid DESC) = 1""")
    con.execute("DROP TABLE IF EXISTS incoming")
    if landed != unit.records:
        raise LandingMismatch(
            f"{schema}.{stream.name} [{unit.account_id}]: the landing files hold {landed} records "
            f"but the manifest says {unit.records}; the batch in {files[0].rsplit('/', 3)[0] if files else '?'} is damaged"
        )
    # The unit's distinct records: what its chunks inserted, less what later chunks replaced.
    loaded = con.execute(f"SELECT count(*) FROM {table} WHERE _batch_id = {batch} AND _account_id = {account}").fetchone()[0]
    return loaded, quarantined


def _cursors(con, source: str) -> dict[tuple[str, str], object]:
    rows = con.execute(
        f"SELECT stream, account_id, cursor_value FROM {BOOKKEEPING_SCHEMA}.stream_state WHERE source = {literal(source)}"
    ).fetchall()
    return {(stream, account): cursor for stream, account, cursor in rows}


def saved_cursors(landing_root, warehouse: Path, source: str) -> tuple[dict[tuple[str, str], object], str | None]:
    """The cursors extraction plans from, and the id of the warehouse they belong to: the copy in the
    landing storage, which every worker reaches and no writer holds. Only before any load has written
    one (a warehouse from before the copy existed) is the warehouse itself read, when this host has it."""
    copy = read_cursors(landing_root, source)
    return copy if copy is not None else (read_state(warehouse, source), None)


def read_state(warehouse: Path, source: str) -> dict[tuple[str, str], object]:
    """{(stream, account): cursor datetime} saved by earlier loads; empty for a new warehouse."""
    if isinstance(warehouse, PostgresWarehouse):
        return postgres.read_state(warehouse, source)
    if not warehouse.exists():
        return {}
    with connect(warehouse, read_only=True) as con:
        exists = con.execute(f"""SELECT count(*) FROM information_schema.tables
            WHERE table_schema = {literal(BOOKKEEPING_SCHEMA)} AND table_name = 'stream_state'""").fetchone()[0]
        if not exists:
            return {}
        return _cursors(con, source)
