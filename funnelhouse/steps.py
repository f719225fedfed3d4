"""One function per pipeline step. Each returns a small JSON-able summary.

All paths come from extractors.settings (FUNNELHOUSE_DATA_DIR and friends).
Steps that open the warehouse hold its writer lock for their whole duration.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import threading
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from extractors import pipeline, settings
from extractors.errors import PartialFailure
from extractors.postgres import PostgresWarehouse
from extractors.sql import BOOKKEEPING_SCHEMA, table_row_counts
from extractors.warehouse import connect, warehouse_lock
from funnelhouse import PROJECT_ROOT

log = logging.getLogger(__name__)

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
MART_SCHEMA = "marts"
BI_SCHEMA = "bi"
# dbt-core keeps global state (flags, adapters, the event manager) per process: one invocation at a time.
_DBT_LOCK = threading.Lock()
# The progress the task log shows: each model and seed built, each failing test, the verdict.
# Every other line (passing tests, SQL) stays in dbt's own log under the data dir.
_DBT_PROGRESS = frozenset(
    {
        "LogModelResult",
        "LogSeedResult",
        "LogSnapshotResult",
        "LogTestResult",
        "FinishedRunningStats",
        "EndOfRunSummary",
        "StatsLine",
    }
)


def extract(source: str, end: datetime, retries_left: bool = False) -> str:
    """HTTP only: the source's APIs -> a landing batch. Safe to run in parallel with other sources.

    When units failed in a way a retry can mend (5xx, retries exhausted, a quota) and the task has
    tries left, it fails after committing the batch (``PartialFailure``): Airflow retries it, and the
    retry reads only the failed units (the committed batch holds the others until the load). Otherwise
    it succeeds: the load loads what was read and then fails, naming the units that were not."""
    batch = pipeline.extract(source, end=end, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    if retries_left:
        try:
            pipeline.raise_for_failed_units(batch)
        except PartialFailure as exc:
            if exc.retryable:
                raise
    return str(batch)


def load(source: str) -> dict:
    """The single writer: load every complete landing batch of the source."""
    try:
        results = pipeline.load(source, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    except PartialFailure as exc:  # the rest is loaded: say what, then fail
        log.info("loaded despite failed units: %s", _load_summary(source, exc.results))
        raise
    return _load_summary(source, results)


def _load_summary(source: str, results: list) -> dict:
    tables: dict[str, int] = {}
    for r in results:
        tables.update(r.table_rows)
    loaded: Counter[str] = Counter()
    for r in results:
        loaded.update(r.loaded)
    return {
        "source": source,
        "batches": [r.batch_id for r in results],
        "loaded": dict(loaded),
        "quarantined": sum(sum(r.quarantined.values()) for r in results),
        "tables": tables,
        "skipped_streams": {k: v for r in results for k, v in r.skipped_streams.items()},
        "failed_units": {k: v for r in results for k, v in r.failed_units.items()},
    }


def transform(full_refresh: bool = False) -> dict:
    """``dbt build`` (models, seeds, tests) into the warehouse; raises if any node fails."""
    warehouse = settings.warehouse_path()
    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    never_loaded = _never_loaded_sources(warehouse)
    if never_loaded:
        # A source that has never loaded (its first extraction failed, or it is not extracted) has no
        # raw tables: its source tests would error; its staging models read empty (source_or_empty).
        log.warning("no raw tables yet for %s: building without their source tests", ", ".join(never_loaded))
        args += ["--exclude", *(f"source:{s}" for s in never_loaded)]
    with warehouse_lock(warehouse):
        log.info("dbt build: %s", args[0])
        outcome = _invoke_dbt(args, warehouse)
    results = _node_results(outcome)
    counts: dict[str, int] = {}
    for r in results:
        counts[str(r.status)] = counts.get(str(r.status), 0) + 1
    if not outcome.success:
        failed = [r for r in results if str(r.status) in ("error", "fail")]
        # the database's own words (e.g. "no exchange rate from CHF to USD for 2026-06-10: ..."), once each
        reasons = dict.fromkeys(_dbt_reason(r.message) for r in failed if str(r.status) == "error")
        if not failed and outcome.exception is not None:  # dbt stopped before any node (a compilation error, no database)
            reasons = {_dbt_reason(str(outcome.exception)): None}
        raise RuntimeError(
            f"dbt build failed ({counts}); failing nodes: {', '.join(r.node.unique_id for r in failed) or 'see the dbt log above'}"
            + "".join(f"; {reason}" for reason in reasons if reason)
        )
    return {"dbt": counts}


def _invoke_dbt(args: list[str], warehouse):
    """One dbt command in this process (dbt-core's dbtRunner), against the warehouse's target.
    Its progress goes to this module's log (_log_dbt_event); its debug log to the data dir."""
    from dbt.cli.main import dbtRunner  # a few seconds to import: only the steps that run dbt pay it

    target = settings.data_dir() / "dbt"
    variables, target_args = _dbt_target(warehouse)
    args = [
        *args,
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(target / "target"),
        "--log-path",
        str(target / "logs"),
        "--no-use-colors",
        "--log-level",
        "none",
        *target_args,
    ]  # no console output: the callback logs it
    with _DBT_LOCK, _dbt_environment(variables):
        try:
            outcome = dbtRunner(callbacks=[_log_dbt_event]).invoke(args)
        finally:
            _release_duckdb()
        if isinstance(outcome.exception, Exception):  # dbt stopped before or between nodes (e.g. a compilation error)
            from dbt_common.events.functions import env_scrubber

            # scrubbed while the secrets are still in the environment: the text may go into the raised error
            outcome.exception = RuntimeError(env_scrubber(str(outcome.exception)))
            log.error("dbt | %s", outcome.exception)
        elif outcome.exception is not None:  # an interrupt or the task's termination: dbtRunner catches those too
            raise outcome.exception
    return outcome


def _node_results(outcome) -> list:
    """Each node's result (status, node, message) of a build; none when dbt stopped before running any."""
    from dbt.artifacts.schemas.run import RunExecutionResult

    return list(outcome.result.results) if isinstance(outcome.result, RunExecutionResult) else []


def _log_dbt_event(msg) -> None:
    """dbt's events as the task log's lines: progress at INFO, warnings and errors at their level,
    the other console lines at DEBUG. Secrets (DBT_ENV_SECRET_*) are masked, as dbt masks its own."""
    from dbt_common.events.functions import env_scrubber

    level, name = msg.info.level, msg.info.name
    if level == "debug" or name == "MainEncounteredError":  # the exception: _invoke_dbt logs it once
        return
    if level in ("error", "warn"):
        python_level = logging.ERROR if level == "error" else logging.WARNING
    elif name in _DBT_PROGRESS and not (name == "LogTestResult" and msg.data.status == "pass"):
        python_level = logging.INFO
    else:
        python_level = logging.DEBUG
    if log.isEnabledFor(python_level):
        log.log(python_level, "dbt | %s", env_scrubber(msg.info.msg))


@contextmanager
def _dbt_environment(variables: dict[str, str]):
    """The process environment as dbt should read it (dbt reads os.environ), for one invocation:
    the target's variables set, the Connections (AIRFLOW_CONN_*) hidden; all restored after."""
    saved = {k: os.environ.get(k) for k in (*variables, *(k for k in os.environ if k.startswith("AIRFLOW_CONN_")))}
    try:
        for k in saved:
            os.environ.pop(k, None)
        os.environ.update(variables)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _release_duckdb() -> None:
    """dbt-duckdb keeps its DuckDB instance open after a command (keep_open), for the next one in the
    process; until closed, this process could not open the warehouse with other settings (read-only)."""
    connections = sys.modules.get("dbt.adapters.duckdb.connections")
    if connections is None:
        return
    environment = connections.DuckDBConnectionManager._ENV
    connections.DuckDBConnectionManager.close_all_connections()
    if environment is not None:
        environment.close()


def _dbt_target(warehouse) -> tuple[dict[str, str], list[str]]:
    """The environment variables and target arguments dbt needs for the warehouse
    (dbt_project/profiles.yml). dbt needs no platform credentials (_dbt_environment hides them)."""
    if isinstance(warehouse, PostgresWarehouse):
        p = warehouse.parts
        return {
            "PGTZ": "UTC",  # libpq: dbt's sessions in UTC, as the DuckDB target sets TimeZone
            "FUNNELHOUSE_PG_HOST": p["host"],
            "FUNNELHOUSE_PG_PORT": p["port"],
            "FUNNELHOUSE_PG_USER": p["user"],
            "DBT_ENV_SECRET_FUNNELHOUSE_PG_PASSWORD": p["password"],
            "FUNNELHOUSE_PG_DATABASE": p["dbname"],
        }, ["--target", "postgres"]
    return {"FUNNELHOUSE_WAREHOUSE": str(warehouse)}, []


def _dbt_reason(message: str | None) -> str:
    """The last line of a failed node's message: the database error, without dbt's preamble
    (nor, for a compilation error, its trailing "> called by ..." lines)."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip() and not line.strip().startswith("> ")]
    return lines[-1][:500] if lines else ""


def _never_loaded_sources(warehouse: Path) -> list[str]:
    from funnelhouse import DEFAULT_SOURCES

    if not warehouse.exists():
        return list(DEFAULT_SOURCES)
    with connect(warehouse, read_only=True) as con:
        schemas = {s for (s,) in con.execute("SELECT DISTINCT schema_name FROM information_schema.schemata").fetchall()}
    return [s for s in DEFAULT_SOURCES if f"raw_{s}" not in schemas]


def raw_gate(run_id: str | None = None) -> dict:
    """Great Expectations on the raw tables, before dbt: raises (so nothing is built or published) on an error."""
    return _run_gate("raw", run_id, "raw quality gate failed, nothing built or published")


def gate(run_id: str | None = None) -> dict:
    """Great Expectations on the marts of the build warehouse; raises (so nothing publishes) on an error."""
    return _run_gate("marts", run_id, "quality gate failed, nothing published")


def _run_gate(phase: str, run_id: str | None, failure: str) -> dict:
    from expectations.gate import run_gate

    warehouse = settings.warehouse_path()
    if phase == "raw":  # a new run: the last run's marts verdict no longer describes what is being built
        (settings.data_dir() / "run" / "marts_gate.json").unlink(missing_ok=True)
    with warehouse_lock(warehouse):
        result = run_gate(warehouse if isinstance(warehouse, PostgresWarehouse) else str(warehouse), phase=phase, run_id=run_id)
    summary = {
        "phase": phase,
        "run_id": result.run_id,
        "success": result.success,
        "evaluated": result.evaluated,
        "failed": len(result.failing_expectations),
        "warned": len(result.warning_expectations),
        "errors": result.findings("error"),
        "warnings": result.findings("warning"),
        "suites": [s.summary_line() for s in result.suites],
        "skipped": list(result.skipped),
        "data_docs": result.data_docs_url,
    }
    _write_run_file(f"{phase}_gate.json", summary)
    for warning in summary["warnings"]:
        log.warning("%s gate warning (published anyway): %s", phase, warning)
    if not result.success:
        raise RuntimeError(f"{failure}: " + "; ".join(summary["errors"]))
    return summary


def publish(run_id: str | None = None) -> dict:
    """Copy the marts (and the bi views) into a new file and swap it in atomically as the published
    database; the previous versions stay in versions/ for rollback."""
    from funnelhouse.publish import publish as publish_marts

    warehouse, published = settings.warehouse_path(), settings.published_path()
    if isinstance(warehouse, PostgresWarehouse):  # a schema swap inside the warehouse database
        from funnelhouse import publish_postgres

        with warehouse_lock(warehouse):
            with connect(warehouse, read_only=True) as con:
                has_bi = bool(
                    con.execute("SELECT count(*) FROM information_schema.views WHERE table_schema = ?", [BI_SCHEMA]).fetchone()[0]
                )
            result = publish_postgres.publish(
                warehouse, schemas=(MART_SCHEMA,), run_id=run_id, view_schemas=(BI_SCHEMA,) if has_bi else ()
            )
        log.info("published %s (run %s)", result.published_db, result.run_id)
        return {"published": result.published_db, "run_id": result.run_id, "version": result.version, "tables": result.row_counts}
    published.parent.mkdir(parents=True, exist_ok=True)
    with warehouse_lock(warehouse):
        import duckdb  # not connect(): this process holds the lock already

        with duckdb.connect(str(warehouse), read_only=True) as con:
            has_bi = bool(con.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = ?", [BI_SCHEMA]).fetchone()[0])
        result = publish_marts(
            str(warehouse), str(published), schemas=(MART_SCHEMA,), run_id=run_id, view_schemas=(BI_SCHEMA,) if has_bi else ()
        )
    log.info("published %s (run %s)", published, result.run_id)
    return {"published": str(published), "run_id": result.run_id, "version": result.version, "tables": result.row_counts}


def rollback(to_run_id: str | None = None) -> dict:
    """Make an earlier published version current (atomically), under the warehouse lock so no publish races it."""
    from funnelhouse.publish import current_run_id
    from funnelhouse.publish import rollback as rollback_to

    published = settings.published_path()
    if isinstance(settings.warehouse_path(), PostgresWarehouse):
        from funnelhouse import publish_postgres

        published = settings.warehouse_path()
        current_run_id, rollback_to = publish_postgres.current_run_id, publish_postgres.rollback
    with warehouse_lock(settings.warehouse_path()):
        before = current_run_id(published)
        version = rollback_to(published, to_run_id)
    log.info("published file now holds run %s (was %s)", version.run_id, before)
    return {"published": str(published), "run_id": version.run_id, "was": before, "version": str(version.path)}


def report(run_id: str | None = None) -> dict:
    """The HTML report from the published marts, and dbt's docs site beside it."""
    from funnelhouse.report import write_report

    published = settings.published_path()
    published.parent.mkdir(parents=True, exist_ok=True)
    docs = _dbt_docs(published.parent / "dbt-docs.html")
    if isinstance(settings.warehouse_path(), PostgresWarehouse):
        # funnelhouse/report.py reads a published DuckDB file; BI tools read published_marts instead
        log.warning("no HTML report for a PostgreSQL warehouse yet (it reads the published DuckDB file); dbt docs: %s", docs)
        return {"report": None, "dbt_docs": str(docs) if docs else None}
    path = write_report(
        published,
        published.parent / "report.html",
        gate=_read_run_file("marts_gate.json"),
        raw_gate=_read_run_file("raw_gate.json"),
        freshness=_freshness(),
    )
    log.info("report: %s", path)
    return {"report": str(path), "dbt_docs": str(docs) if docs else None}


def _freshness() -> list[dict]:
    """Each source's newest load as the raw gate measured it (empty before the first raw gate)."""
    with connect(settings.warehouse_path(), read_only=True) as con:
        if not con.execute(
            f"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{BOOKKEEPING_SCHEMA}'"
            " AND table_name = 'gate_freshness'"
        ).fetchone()[0]:
            return []
        cursor = con.execute(
            "SELECT source, newest_loaded_at, lag_hours, warn_after_hours, error_after_hours"
            f" FROM {BOOKKEEPING_SCHEMA}.gate_freshness ORDER BY source"
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _dbt_docs(target_file: Path) -> Path | None:
    """``dbt docs generate --static``: one self-contained page (lineage, column meanings) for analysts."""
    warehouse = settings.warehouse_path()
    with warehouse_lock(warehouse):
        outcome = _invoke_dbt(["docs", "generate", "--static"], warehouse)
    site = settings.data_dir() / "dbt" / "target" / "static_index.html"
    if not outcome.success or not site.exists():
        log.error("dbt docs generate failed (%s): see the dbt log above", "no static page" if outcome.success else "dbt failed")
        return None
    temporary = target_file.with_name(target_file.name + ".tmp")
    shutil.copyfile(site, temporary)
    os.replace(temporary, target_file)
    return target_file


def later_run_pending(context, every: timedelta) -> str | None:
    """The logical date of the DAG's next run (``every`` after this one) when that run is already
    queued or running (a backfill or catch-up in progress): it will build the marts from everything
    loaded by then. Manual runs always build: they are asked for now."""
    dag_run = context["dag_run"]
    if dag_run.run_type not in ("backfill", "scheduled") or dag_run.logical_date is None:
        return None
    following = dag_run.logical_date + every
    try:
        pending = context["ti"].get_dr_count(dag_id=dag_run.dag_id, logical_dates=[following], states=["queued", "running"])
    except Exception as exc:  # an executor without the call: build, as a single run would
        log.warning("could not ask Airflow for the next run (%s): building the marts", exc)
        return None
    return following.isoformat() if pending else None


def freshness(sources: tuple[str, ...], interval_end: datetime) -> dict:
    """Which sources the warehouse holds up to this run's interval end, and which are stale."""
    with connect(settings.warehouse_path(), read_only=True) as con:
        has_state = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'stream_state'",
            [BOOKKEEPING_SCHEMA],
        ).fetchone()[0]
        reached = (
            dict(con.execute(f"SELECT source, max(cursor_value) FROM {BOOKKEEPING_SCHEMA}.stream_state GROUP BY 1").fetchall())
            if has_state
            else {}
        )
    sources_report = {
        s: {
            "loaded_up_to": reached[s].isoformat() if s in reached else None,
            "fresh": s in reached and reached[s] >= interval_end,
        }
        for s in sources
    }
    stale = sorted(s for s, r in sources_report.items() if not r["fresh"])
    message = (
        (
            f"stale sources (not loaded up to {interval_end:%Y-%m-%d %H:%M} UTC): "
            + ", ".join(f"{s} (loaded up to {sources_report[s]['loaded_up_to'] or 'never'})" for s in stale)
            + "; the marts were built from the others"
        )
        if stale
        else f"every source is loaded up to {interval_end:%Y-%m-%d %H:%M} UTC"
    )
    (log.error if stale else log.info)("%s", message)
    report = {"interval_end": interval_end.isoformat(), "sources": sources_report, "stale": stale, "message": message}
    _write_run_file("freshness.json", report)
    return report


def summary() -> str:
    """The demo's closing report: rows per raw table and mart, the gates (with warnings), where the
    Data Docs, the report and the docs are, and the published path last."""
    import duckdb

    from funnelhouse.publish import current_run_id, versions

    lines = []
    warehouse, published = settings.warehouse_path(), settings.published_path()
    with connect(warehouse, read_only=True) as con:
        lines.append("raw tables:")
        lines += [f"  {t:<40} {n:>10,} rows" for t, n in table_row_counts(con, "raw_%").items()]
        if isinstance(warehouse, PostgresWarehouse):  # published in the same database (publish_postgres)
            from funnelhouse import publish_postgres

            lines.append("published marts:")
            lines += [f"  {t:<40} {n:>10,} rows" for t, n in table_row_counts(con, "published_marts").items()]
            current_run_id, versions, published = publish_postgres.current_run_id, publish_postgres.versions, warehouse
    if not isinstance(warehouse, PostgresWarehouse):
        with duckdb.connect(str(published), read_only=True) as con:
            lines.append("published marts:")
            lines += [f"  {t:<40} {n:>10,} rows" for t, n in table_row_counts(con, MART_SCHEMA).items()]
    for phase, label in (("raw", "raw quality gate"), ("marts", "quality gate")):
        g = _read_run_file(f"{phase}_gate.json")
        if not g:
            continue
        verdict = "PASSED" if g.get("success") else "FAILED"
        lines.append(
            f"{label}: {verdict} ({g.get('evaluated')} expectations, {g.get('failed')} failed, {g.get('warned', 0)} warnings)"
        )
        lines += [f"  error: {e}" for e in g.get("errors", [])]
        lines += [f"  warning: {w}" for w in g.get("warnings", [])]
        if g.get("data_docs"):
            lines.append(f"  data docs: {g['data_docs']}")
    kept = versions(published)
    lines.append(f"published run: {current_run_id(published)} ({len(kept)} versions kept for rollback)")
    for name, label in (("report.html", "report"), ("dbt-docs.html", "dbt docs")):
        if (settings.published_path().parent / name).exists():
            lines.append(f"{label}: {settings.published_path().parent / name}")
    freshness_file = settings.data_dir() / "run" / "freshness.json"
    if freshness_file.exists():
        lines.append(f"freshness: {json.loads(freshness_file.read_text())['message']}")
    lines.append(str(published))
    return "\n".join(lines)


def _read_run_file(name: str) -> dict:
    path = settings.data_dir() / "run" / name
    return json.loads(path.read_text()) if path.exists() else {}


def _write_run_file(name: str, payload: dict) -> None:
    folder = settings.data_dir() / "run"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(payload, indent=1, default=str))
