"""The PostgreSQL warehouse gives the DuckDB warehouse's numbers, row for row.

GIVEN one sandbox world extracted once (the same landing batches, copied), loaded into a
DuckDB file and into a throwaway PostgreSQL database (COPY, extractors/postgres.py),
WHEN dbt builds both (the duckdb and the postgres targets of dbt_project/profiles.yml),
THEN every staging view, intermediate model and mart holds the same rows with the same values:
money, counts, ids, dates and timestamps exactly (money is DECIMAL); DOUBLE ratios to 12
significant digits (see _plain); only the load bookkeeping (when and in which batch a row was
loaded) left out. The raw gate and the marts gate pass on both with the same expectations,
and publish on PostgreSQL is a schema swap that a failure leaves untouched and rollback reverses.

PostgreSQL is started if it is down, as .ci/run does; the database is dropped afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from sandbox.server import SandboxServer
from sandbox.world import World

PG = "postgresql://postgres@127.0.0.1:5432"
DAYS = 30  # a month of the world: every mart has rows, the build stays short
BOOKKEEPING = {"_loaded_at", "_batch_id", "loaded_at", "batch_id"}  # when/which batch: differs by design


def ensure_postgres() -> None:
    if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode != 0:
        version = sorted(os.listdir("/etc/postgresql"))[-1]
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False)
    for _ in range(60):
        if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0:
            return
        time.sleep(1)
    raise RuntimeError("PostgreSQL (127.0.0.1:5432) did not come up")


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
        capture_output=True,
    )


class environment:
    """os.environ with some variables set, restored on exit (the steps read settings from it)."""

    def __init__(self, **values: str):
        self.values = values

    def __enter__(self):
        self.saved = dict(os.environ)
        os.environ.update(self.values)

    def __exit__(self, *exc):
        os.environ.clear()
        os.environ.update(self.saved)


def _gate(step) -> dict:
    """A gate step's summary, or its failure (the DAG would stop there)."""
    try:
        return step()
    except RuntimeError as exc:
        return {"success": False, "error": str(exc)}


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory):
    """(DuckDB path, PostgreSQL URL, gate summaries per warehouse) holding the same world, each
    loaded, checked by the raw gate, built by dbt and checked by the marts gate, as the DAG does."""
    from extractors import pipeline, settings
    from funnelhouse import DEFAULT_SOURCES, steps

    ensure_postgres()
    database = f"funnelhouse_parity_{uuid.uuid4().hex[:8]}"
    psql(f"CREATE DATABASE {database}")
    root = tmp_path_factory.mktemp("parity")
    duck_dir, pg_dir = root / "duckdb", root / "postgres"
    url = f"{PG}/{database}"
    world = World(seed=7, days=DAYS)
    try:
        with SandboxServer(world) as server, environment(**server.connections(), FUNNELHOUSE_DATA_DIR=str(duck_dir)):
            end = datetime.combine(world.end + timedelta(days=1), datetime.min.time(), UTC)
            for source in DEFAULT_SOURCES:
                pipeline.extract(source, end=end, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
        shutil.copytree(duck_dir / "landing", pg_dir / "landing")
        gates = {}
        for name, data_dir, warehouse in (("duckdb", duck_dir, None), ("postgres", pg_dir, url)):
            with environment(FUNNELHOUSE_DATA_DIR=str(data_dir), **({"FUNNELHOUSE_WAREHOUSE": warehouse} if warehouse else {})):
                for source in DEFAULT_SOURCES:
                    steps.load(source)
                raw = _gate(steps.raw_gate)
                steps.transform()
                gates[name] = {"raw": raw, "marts": _gate(steps.gate)}
        yield duck_dir / "warehouse.duckdb", url, gates
    finally:
        psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def _plain(value):
    """A value as both drivers' results compare: exact decimals by value, JSON as parsed, DOUBLE
    ratios to 12 significant digits (sum_exactly, macros/currency.sql, takes a DOUBLE through a
    DECIMAL, and the engines round that conversion differently in the last binary digit)."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, Decimal):
        return value.normalize()  # 1.50 (DECIMAL(38, 2)) and 1.5 (a NUMERIC without scale) are one value
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return value


def _duckdb_rows(path: Path, relation: str) -> tuple[list[str], list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(f"SELECT * FROM {relation}")
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()  # before the next query: a DuckDB connection holds one result
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema || '.' || table_name = ?",
                [relation],
            ).fetchall()
        )
    json_columns = {c for c, t in types.items() if t == "JSON"}
    return columns, [
        tuple(_plain(json.loads(v) if c in json_columns and v is not None else v) for c, v in zip(columns, row, strict=True))
        for row in rows
    ]


def _postgres_rows(url: str, relation: str) -> tuple[list[str], list[tuple]]:
    import psycopg2

    con = psycopg2.connect(url)
    try:
        with con.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
            cur.execute(f"SELECT * FROM {relation}")
            columns = [d[0] for d in cur.description]
            rows = cur.fetchall()
    finally:
        con.close()
    return columns, [tuple(_plain(v) for v in row) for row in rows]


def _comparable(columns: list[str], rows: list[tuple]) -> list[tuple]:
    kept = [i for i, c in enumerate(columns) if c not in BOOKKEEPING]
    return sorted((tuple(row[i] for i in kept) for row in rows), key=repr)


def _relations(path: Path, schema: str) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [
            f"{schema}.{t}"
            for (t,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY 1", [schema]
            ).fetchall()
        ]


@pytest.mark.parametrize("schema", ["staging", "intermediate", "marts"])
def test_every_model_holds_the_same_rows_on_postgresql(warehouses, schema):
    duck, url, _ = warehouses
    relations = _relations(duck, schema)
    assert relations, f"DuckDB built nothing in {schema}"
    different = []
    for relation in relations:
        duck_columns, duck_rows = _duckdb_rows(duck, relation)
        pg_columns, pg_rows = _postgres_rows(url, relation)
        assert pg_columns == duck_columns, f"{relation}: columns differ"
        left, right = _comparable(duck_columns, duck_rows), _comparable(pg_columns, pg_rows)
        if left != right:
            only_duck = [r for r in left if r not in set(right)][:2]
            only_pg = [r for r in right if r not in set(left)][:2]
            different.append(
                f"{relation}: {len(left)} rows on DuckDB, {len(right)} on PostgreSQL; "
                f"only on DuckDB e.g. {only_duck}; only on PostgreSQL e.g. {only_pg}"
            )
    assert not different, "\n".join(different)


def test_every_mart_has_rows(warehouses):
    duck, url, _ = warehouses
    empty = [r for r in _relations(duck, "marts") if not _postgres_rows(url, r)[1]]
    assert not empty, f"marts without rows on PostgreSQL (the comparison proves little for them): {empty}"


@pytest.mark.parametrize("phase", ["raw", "marts"])
def test_the_gate_passes_on_both_with_the_same_expectations(warehouses, phase):
    duck, pg = warehouses[2]["duckdb"][phase], warehouses[2]["postgres"][phase]
    assert duck["success"], duck
    assert pg["success"], pg.get("error") or pg["errors"]
    assert (pg["evaluated"], pg["failed"], pg["skipped"]) == (duck["evaluated"], duck["failed"], duck["skipped"])
    assert sorted(pg["suites"]) == sorted(duck["suites"])  # every suite, its passes and its row count


def _pg(url: str, sql: str) -> list[tuple]:
    import psycopg2

    con = psycopg2.connect(url)
    try:
        with con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        con.close()


def test_publish_is_a_schema_swap_and_rollback_swaps_back(warehouses, monkeypatch, tmp_path):
    from funnelhouse import publish_postgres, steps

    duck, url, _ = warehouses
    with environment(FUNNELHOUSE_DATA_DIR=str(tmp_path), FUNNELHOUSE_WAREHOUSE=url):
        first = steps.publish(run_id="run-1")
        marts = {r.split(".", 1)[1] for r in _relations(duck, "marts")}
        published = {
            t for (t,) in _pg(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'published_marts'")
        }
        assert published == marts
        for name in marts:  # the published copy is the build, row for row
            assert _comparable(*_postgres_rows(url, f"published_marts.{name}")) == _comparable(
                *_postgres_rows(url, f"marts.{name}")
            )
        assert first["tables"] == {f"marts.{n}": len(_postgres_rows(url, f"marts.{n}")[1]) for n in marts}
        bi_views = {t for (t,) in _pg(url, "SELECT table_name FROM information_schema.views WHERE table_schema = 'published_bi'")}
        assert bi_views == {t for (t,) in _pg(url, "SELECT table_name FROM information_schema.views WHERE table_schema = 'bi'")}
        # the bi views read the published tables, not the build's
        assert not _pg(
            url,
            "SELECT 1 FROM information_schema.view_table_usage WHERE view_schema = 'published_bi'"
            " AND table_schema <> 'published_marts'",
        )
        assert _pg(url, "SELECT run_id FROM published_meta.publication") == [("run-1",)]

        steps.publish(run_id="run-2")
        assert _pg(url, "SELECT run_id FROM published_meta.publication") == [("run-2",)]
        assert [v.run_id for v in publish_postgres.versions(publish_postgres.PostgresWarehouse(url))] == ["run-1", "run-2"]

        # a publish that fails half way (after the copy, before the swap) changes nothing readers see
        def broken(*args, **kwargs):
            raise RuntimeError("disk full")

        monkeypatch.setattr(publish_postgres, "_write_metadata", broken)
        with pytest.raises(RuntimeError, match="disk full"):
            steps.publish(run_id="run-3")
        monkeypatch.undo()
        assert _pg(url, "SELECT run_id FROM published_meta.publication") == [("run-2",)]
        assert len(_pg(url, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'fh\\_v%'")) == 3  # run-1's three schemas

        rolled = steps.rollback()
        assert (rolled["run_id"], rolled["was"]) == ("run-1", "run-2")
        assert _pg(url, "SELECT run_id FROM published_meta.publication") == [("run-1",)]
        assert _pg(url, "SELECT count(*) FROM published_bi.leads") == _pg(url, "SELECT count(*) FROM marts.leads")
