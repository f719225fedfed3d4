"""The PostgreSQL warehouse: FUNNELHOUSE_WAREHOUSE=postgresql://user:password@host:port/database.

Everything the DuckDB file holds lives here in one database: the raw schemas
(``raw_<source>``), the loader's bookkeeping (``_funnelhouse``), what dbt builds
(staging, intermediate, marts, bi) and, after the gate passes, the published
schemas BI tools read (funnelhouse.publish_postgres).

Writers (loads, dbt, the gate, publish) take a session advisory lock instead of
DuckDB's file lock, so they queue on any host; readers never wait. The loader
lands a batch with COPY (each page file streamed as it is, never row by row),
pulls the keys out with SQL and merges in the same transaction as the cursors,
with the DuckDB loader's semantics (extractors.loader): the last page's copy of
a record wins, window streams replace the days they re-read, records without a
usable key are quarantined, a batch loads once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from extractors.errors import LandingMismatch
from extractors.landing import local_copy, remove_batch, write_cursors
from extractors.sql import BOOKKEEPING_SCHEMA, table_row_counts

log = logging.getLogger(__name__)

SCHEMES = ("postgresql://", "postgres://")
# One key for every funnelhouse writer of a database (pg_advisory_lock takes a bigint).
WRITER_LOCK = 0x66756E6E656C  # "funnel"


def is_postgres_url(value: str) -> bool:
    return value.startswith(SCHEMES)


@dataclass(frozen=True)
class PostgresWarehouse:
    """A PostgreSQL database as the warehouse. ``str()`` hides the password (it is logged)."""

    url: str

    def __post_init__(self):
        if not is_postgres_url(self.url) or not urlsplit(self.url).path.strip("/"):
            raise ValueError(
                "FUNNELHOUSE_WAREHOUSE must be postgresql://user[:password]@host[:port]/database (the database name is missing)"
            )

    @property
    def parts(self) -> dict[str, str]:
        """host, port, user, password, dbname: what dbt's postgres profile and psycopg2 need."""
        url = urlsplit(self.url)
        return {
            "host": url.hostname or "127.0.0.1",
            "port": str(url.port or 5432),
            "user": unquote(url.username or "postgres"),
            "password": unquote(url.password or ""),
            "dbname": unquote(url.path.strip("/")),
        }

    @property
    def dbname(self) -> str:
        return self.parts["dbname"]

    def exists(self) -> bool:
        """The database is there (the DuckDB side asks whether the file exists)."""
        return True

    def __str__(self) -> str:
        p = self.parts
        return f"postgresql://{p['user']}@{p['host']}:{p['port']}/{p['dbname']}"

    def connect(self):
        import psycopg2

        p = self.parts
        con = psycopg2.connect(
            host=p["host"],
            port=p["port"],
            user=p["user"],
            password=p["password"] or None,
            dbname=p["dbname"],
            application_name="funnelhouse",
        )
        with con.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")  # dates derived from timestamps must not follow the server's zone
        con.commit()
        return con


@contextmanager
def writer_lock(warehouse: PostgresWarehouse) -> Iterator[None]:
    """Serialise funnelhouse's writers of this database, across hosts (a session advisory lock)."""
    con = warehouse.connect()
    try:
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", [WRITER_LOCK])
            if not cur.fetchone()[0]:
                log.info("waiting for another funnelhouse writer of %s", warehouse)
                cur.execute("SELECT pg_advisory_lock(%s)", [WRITER_LOCK])
        yield
    finally:
        con.close()  # ends the session, which releases the lock


class Connection:
    """A psycopg2 connection that answers ``execute(sql, params)`` as DuckDB's does (``?``
    placeholders, the result fetched from what execute returns), so the few statements the
    pipeline's steps share (counts, state reads) run on either warehouse. Commits on a clean exit."""

    def __init__(self, con):
        self._con = con

    def execute(self, sql: str, params=None):
        cur = self._con.cursor()
        if params is None:
            cur.execute(sql)
        else:
            cur.execute(sql.replace("%", "%%").replace("?", "%s"), list(params))
        return cur

    def commit(self) -> None:
        self._con.commit()

    @property
    def raw(self):
        return self._con


@contextmanager
def connect(warehouse: PostgresWarehouse, read_only: bool = False) -> Iterator[Connection]:
    con = warehouse.connect()
    try:
        con.set_session(readonly=read_only)
        yield Connection(con)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        con.close()


def _qualified(table: str) -> str:
    return ".".join(_q(part) for part in table.split(".", 1))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ---- the loader --------------------------------------------------------------------------------------

_META_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {BOOKKEEPING_SCHEMA};
CREATE TABLE IF NOT EXISTS {BOOKKEEPING_SCHEMA}.stream_state (
    source VARCHAR NOT NULL, stream VARCHAR NOT NULL, account_id VARCHAR NOT NULL,
    cursor_value TIMESTAMPTZ NOT NULL, batch_id VARCHAR NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, stream, account_id));
CREATE TABLE IF NOT EXISTS {BOOKKEEPING_SCHEMA}.warehouse_info (warehouse_id VARCHAR NOT NULL);
INSERT INTO {BOOKKEEPING_SCHEMA}.warehouse_info SELECT gen_random_uuid()::VARCHAR
    WHERE NOT EXISTS (SELECT 1 FROM {BOOKKEEPING_SCHEMA}.warehouse_info);
CREATE TABLE IF NOT EXISTS {BOOKKEEPING_SCHEMA}.loaded_batches (
    batch_id VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, loaded_at TIMESTAMPTZ NOT NULL,
    records BIGINT NOT NULL, quarantined BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS {BOOKKEEPING_SCHEMA}.loaded_windows (
    batch_id VARCHAR NOT NULL, source VARCHAR NOT NULL, stream VARCHAR NOT NULL, account_id VARCHAR NOT NULL,
    window_start TIMESTAMPTZ NOT NULL, window_end TIMESTAMPTZ NOT NULL, first_day DATE, last_day DATE);
-- TRY_CAST and try_strptime, which PostgreSQL lacks (keys here, the raw gate's measures): NULL (so the record is quarantined), never an error.
CREATE OR REPLACE FUNCTION {BOOKKEEPING_SCHEMA}.try_date(value TEXT, format TEXT DEFAULT NULL) RETURNS DATE
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE parsed DATE;
BEGIN
    IF format IS NULL THEN RETURN value::DATE; END IF;
    parsed := to_date(value, format);
    -- to_date is lenient (it reads '2026-1-5' as YYYYMMDD); a strict parse writes the same text back
    RETURN CASE WHEN to_char(parsed, format) = value THEN parsed END;
EXCEPTION WHEN others THEN RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION {BOOKKEEPING_SCHEMA}.try_timestamptz(value TEXT) RETURNS TIMESTAMPTZ
    LANGUAGE plpgsql STABLE AS $$
BEGIN RETURN value::TIMESTAMPTZ;
EXCEPTION WHEN others THEN RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION {BOOKKEEPING_SCHEMA}.try_double(value TEXT) RETURNS DOUBLE PRECISION
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN RETURN value::DOUBLE PRECISION;
EXCEPTION WHEN others THEN RETURN NULL;
END $$;
"""

_STRPTIME = re.compile(r"^try_strptime\(\{\}, '([^']+)'\)::\{type\}$")
_PG_DATE_FIELDS = {"%Y": "YYYY", "%m": "MM", "%d": "DD"}


def key_sql(key, record_column: str = "_record") -> str:
    """The PostgreSQL form of a stream key (extractors.streams.KeyColumn, written for DuckDB):
    its JSON path as a jsonb path, its parse template as a NULL-on-bad-input function."""
    path = key.json_path
    if not re.fullmatch(r"\$(\.\w+)+", path):
        raise ValueError(f"key {key.name}: JSON path {path!r} has no PostgreSQL form yet (extractors/postgres.py)")
    text = f"({record_column} #>> '{{{','.join(path[2:].split('.'))}}}')"
    kind = key.sql_type.upper()
    if key.parse == "TRY_CAST({} AS {type})":
        return {
            "VARCHAR": text,
            "DATE": f"{BOOKKEEPING_SCHEMA}.try_date({text})",
            "TIMESTAMPTZ": f"{BOOKKEEPING_SCHEMA}.try_timestamptz({text})",
        }[kind]
    if key.parse == "COALESCE({}, '')" and kind == "VARCHAR":
        return f"COALESCE({text}, '')"
    strptime = _STRPTIME.match(key.parse)
    if strptime and kind == "DATE":
        fmt = strptime[1]
        for duckdb_field, pg_field in _PG_DATE_FIELDS.items():
            fmt = fmt.replace(duckdb_field, pg_field)
        if "%" not in fmt:
            return f"{BOOKKEEPING_SCHEMA}.try_date({text}, '{fmt}')"
    raise ValueError(f"key {key.name}: parse {key.parse!r} ({key.sql_type}) has no PostgreSQL form yet (extractors/postgres.py)")


def _ensure_raw_tables(cur, schema: str, stream) -> str:
    keys = ", ".join(f"{_q(k.name)} {k.sql_type} NOT NULL" for k in stream.keys)
    table = f"{_q(schema)}.{_q(stream.name)}"
    cur.execute(f"""CREATE SCHEMA IF NOT EXISTS {_q(schema)};
        CREATE TABLE IF NOT EXISTS {table} (
            _account_id VARCHAR NOT NULL, {keys}, _record JSONB NOT NULL,
            _loaded_at TIMESTAMPTZ NOT NULL, _batch_id VARCHAR NOT NULL);
        CREATE TABLE IF NOT EXISTS {_q(schema)}._quarantine (
            _batch_id VARCHAR NOT NULL, stream VARCHAR NOT NULL, _account_id VARCHAR NOT NULL,
            reason VARCHAR NOT NULL, raw_payload VARCHAR NOT NULL, _loaded_at TIMESTAMPTZ NOT NULL)""")
    return table


def load(batch_dir, warehouse: PostgresWarehouse, manifest, source, schema: str, result, planned_elsewhere):
    """extractors.loader.load_batch on PostgreSQL: the whole batch in one transaction."""
    with local_copy(batch_dir) as local_dir, writer_lock(warehouse), connect(warehouse) as con:
        cur = con.raw.cursor()
        cur.execute(_META_DDL)
        cur.execute(f"SELECT warehouse_id FROM {BOOKKEEPING_SCHEMA}.warehouse_info")
        warehouse_id = cur.fetchone()[0]
        if manifest.planned_from not in (None, warehouse_id):
            raise planned_elsewhere(
                f"{manifest.batch_id} was planned from the cursors of another warehouse "
                f"({manifest.planned_from}; this one is {warehouse_id}), so it may start after "
                "what this warehouse holds: dropped, with the stale cursor copy; the next run "
                "extracts from this warehouse's own state"
            )
        cur.execute(f"SELECT 1 FROM {BOOKKEEPING_SCHEMA}.loaded_batches WHERE batch_id = %s", [manifest.batch_id])
        if cur.fetchone():
            result.already_loaded = True
        else:
            for unit in manifest.units:
                stream = source.stream(unit.stream)
                table = _ensure_raw_tables(cur, schema, stream)
                loaded, quarantined = _load_unit(
                    cur, schema, table, stream, unit, [local_dir / f for f in unit.files], manifest.batch_id
                )
                result.loaded[stream.name] = result.loaded.get(stream.name, 0) + loaded
                result.quarantined[stream.name] = result.quarantined.get(stream.name, 0) + quarantined
                # The cursor never moves back: a backfill of old days keeps the newer cursor.
                cur.execute(
                    f"""INSERT INTO {BOOKKEEPING_SCHEMA}.stream_state AS s VALUES (%s, %s, %s, %s::TIMESTAMPTZ, %s, current_timestamp)
                    ON CONFLICT (source, stream, account_id) DO UPDATE SET
                      cursor_value = greatest(s.cursor_value, excluded.cursor_value),
                      batch_id = excluded.batch_id, updated_at = excluded.updated_at""",
                    [source.name, stream.name, unit.account_id, unit.window_end, manifest.batch_id],
                )
            cur.execute(
                f"INSERT INTO {BOOKKEEPING_SCHEMA}.loaded_batches VALUES (%s, %s, current_timestamp, %s, %s)",
                [manifest.batch_id, source.name, sum(result.loaded.values()), sum(result.quarantined.values())],
            )
        result.table_rows = table_row_counts(con, schema)  # the DuckDB side's query, through Connection
        cursors = read_cursors_in(cur, source.name)
    # committed: from here on a crash only makes the next run re-read (the batch id is recorded)
    write_cursors(batch_dir.parent.parent, source.name, cursors, manifest.batch_id, warehouse_id)
    remove_batch(batch_dir)
    log.info("loaded batch %s into %s: %s (quarantined %s)", manifest.batch_id, warehouse, result.loaded, result.quarantined)
    return result


def _copy_pages(cur, files) -> None:
    """Every page file into pg_temp.landed_lines, one COPY per file, the lines as they are: CSV with a
    quote and delimiter that JSON text never holds (control characters are escaped in JSON)."""
    cur.execute("""CREATE TEMP TABLE IF NOT EXISTS landed_lines (line_no BIGSERIAL, filename TEXT, line TEXT);
        TRUNCATE landed_lines""")
    for path in files:
        cur.execute("ALTER TABLE landed_lines ALTER COLUMN filename SET DEFAULT " + _literal(str(path)))
        with open(path, "rb") as fh:
            cur.copy_expert("COPY landed_lines (line) FROM STDIN WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')", fh)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _load_unit(cur, schema: str, table: str, stream, unit, files, batch_id: str) -> tuple[int, int]:
    key_exprs = ", ".join(f"{key_sql(k)} AS {_q(k.name)}" for k in stream.keys)
    key_cols = ", ".join(_q(k) for k in stream.key_names)
    any_key_missing = " OR ".join(f"{_q(k)} IS NULL" for k in stream.key_names)
    _copy_pages(cur, files)
    cur.execute(
        f"""DROP TABLE IF EXISTS incoming;
        CREATE TEMP TABLE incoming AS
        SELECT %s::VARCHAR AS _account_id, {key_exprs}, _record, filename, line_no
        FROM (SELECT line::JSONB AS _record, filename, line_no FROM landed_lines WHERE btrim(line) <> '') lines""",
        [unit.account_id],
    )
    cur.execute("SELECT count(*) FROM incoming")
    landed = cur.fetchone()[0]
    if landed != unit.records:
        raise LandingMismatch(
            f"{schema}.{stream.name} [{unit.account_id}]: the landing files hold {landed} records "
            f"but the manifest says {unit.records}; the batch in {str(files[0]).rsplit('/', 3)[0] if files else '?'} is damaged"
        )
    cur.execute(
        f"""INSERT INTO {_q(schema)}._quarantine
        SELECT %s, %s, _account_id, 'missing or invalid key: ' || %s, _record::VARCHAR, current_timestamp
        FROM incoming WHERE {any_key_missing}""",
        [batch_id, stream.name, key_cols],
    )
    quarantined = cur.rowcount
    # Page files are numbered in request order, so the last page's copy of a record is the newest.
    cur.execute(f"""DROP TABLE IF EXISTS fresh;
        CREATE TEMP TABLE fresh AS
        SELECT DISTINCT ON ({key_cols}) _account_id, {key_cols}, _record FROM incoming WHERE NOT ({any_key_missing})
        ORDER BY {key_cols}, filename DESC, line_no DESC""")
    if stream.load == "window" and unit.window_start is not None:
        key = next(k for k in stream.keys if k.name == stream.window_key)
        day_bounds = ("CAST(%(start)s::TIMESTAMPTZ AS DATE)", "CAST(%(end)s::TIMESTAMPTZ - INTERVAL '1 microsecond' AS DATE)")
        if key.sql_type == "DATE":  # exactly the days the source re-read: Window.first_day .. Window.last_day
            bounds = f"{_q(key.name)} >= {day_bounds[0]} AND {_q(key.name)} <= {day_bounds[1]}"
        else:  # a timestamp key: the instants [start, end)
            bounds = f"{_q(key.name)} >= %(start)s::TIMESTAMPTZ AND {_q(key.name)} < %(end)s::TIMESTAMPTZ"
        params = {
            "account": unit.account_id,
            "start": unit.window_start,
            "end": unit.window_end,
            "batch": batch_id,
            "source": schema.removeprefix("raw_"),
            "stream": stream.name,
        }
        cur.execute(f"DELETE FROM {table} WHERE _account_id = %(account)s AND {bounds}", params)
        days = ", ".join(day_bounds) if key.sql_type == "DATE" else "NULL, NULL"
        cur.execute(
            f"""INSERT INTO {BOOKKEEPING_SCHEMA}.loaded_windows VALUES (%(batch)s, %(source)s, %(stream)s, %(account)s,
            %(start)s::TIMESTAMPTZ, %(end)s::TIMESTAMPTZ, {days})""",
            params,
        )
    key_match = " AND ".join(f"t.{_q(k)} = f.{_q(k)}" for k in stream.key_names)
    cur.execute(f"DELETE FROM {table} t USING fresh f WHERE t._account_id = f._account_id AND {key_match}")
    cur.execute(
        f"""INSERT INTO {table} (_account_id, {key_cols}, _record, _loaded_at, _batch_id)
        SELECT _account_id, {key_cols}, _record, current_timestamp, %s FROM fresh""",
        [batch_id],
    )
    return cur.rowcount, quarantined


def read_cursors_in(cur, source: str) -> dict[tuple[str, str], object]:
    cur.execute(f"SELECT stream, account_id, cursor_value FROM {BOOKKEEPING_SCHEMA}.stream_state WHERE source = %s", [source])
    return {(stream, account): cursor for stream, account, cursor in cur.fetchall()}


def read_state(warehouse: PostgresWarehouse, source: str) -> dict[tuple[str, str], object]:
    with connect(warehouse, read_only=True) as con:
        if not con.execute("SELECT to_regclass(?)", [f"{BOOKKEEPING_SCHEMA}.stream_state"]).fetchone()[0]:
            return {}
        return read_cursors_in(con.raw.cursor(), source)
