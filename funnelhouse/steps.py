"""One function per pipeline step. Each returns a small JSON-able summary.

All paths come from extractors.settings (FUNNELHOUSE_DATA_DIR and friends).
Steps that open the warehouse hold its writer lock for their whole duration.
"""

from __future__ import annotations

import json
from collections import Counter
import logging
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from extractors import pipeline, settings
from extractors.warehouse import connect, table_row_counts, warehouse_lock

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT = PROJECT_ROOT / "dbt_project"
MART_SCHEMA = "marts"
_DBT_HEADLINE = re.compile(r"OK created|OK loaded|ERROR|FAIL|Finished running|Done\.|Completed|Database Error|Compilation Error")


def extract(source: str, end: datetime) -> str:
    """HTTP only: the source's APIs -> a landing batch. Safe to run in parallel with other sources."""
    batch = pipeline.extract(source, end=end, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    return str(batch)


def load(source: str) -> dict:
    """The single writer: load every complete landing batch of the source."""
    results = pipeline.load(source, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    tables: dict[str, int] = {}
    for r in results:
        tables.update(r.table_rows)
    loaded: Counter[str] = Counter()
    for r in results:
        loaded.update(r.loaded)
    return {"source": source, "batches": [r.batch_id for r in results], "loaded": dict(loaded),
            "quarantined": sum(sum(r.quarantined.values()) for r in results), "tables": tables,
            "skipped_streams": {k: v for r in results for k, v in r.skipped_streams.items()}}


def transform(full_refresh: bool = False) -> dict:
    """``dbt build`` (models, seeds, tests) into the warehouse; raises if any node fails."""
    warehouse = settings.warehouse_path()
    target = settings.data_dir() / "dbt"
    dbt = Path(sys.executable).with_name("dbt")
    cmd = [str(dbt), "build", "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
           "--target-path", str(target / "target"), "--log-path", str(target / "logs"), "--no-use-colors"]
    if full_refresh:
        cmd.append("--full-refresh")
    never_loaded = _never_loaded_sources(warehouse)
    if never_loaded:
        # A source that has never loaded (its first extraction failed, or it is not extracted) has no
        # raw tables: its source tests would error; its staging models read empty (source_or_empty).
        log.warning("no raw tables yet for %s: building without their source tests", ", ".join(never_loaded))
        cmd += ["--exclude", *(f"source:{s}" for s in never_loaded)]
    # dbt needs no platform credentials: keep the Connections out of its environment.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env["FUNNELHOUSE_WAREHOUSE"] = str(warehouse)
    with warehouse_lock(warehouse):
        log.info("dbt build: %s", " ".join(cmd[1:2]))
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=DBT_PROJECT)
        for line in proc.stdout:
            # Progress shows models built and the verdict; every test line stays in the debug log.
            level = logging.INFO if _DBT_HEADLINE.search(line) else logging.DEBUG
            log.log(level, "dbt | %s", line.rstrip())
        code = proc.wait()
    results = json.loads((target / "target" / "run_results.json").read_text())["results"] if (target / "target" / "run_results.json").exists() else []
    counts: dict[str, int] = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    if code != 0:
        failed = [r["unique_id"] for r in results if r["status"] in ("error", "fail")]
        raise RuntimeError(f"dbt build failed ({counts}); failing nodes: {', '.join(failed) or 'see the dbt log above'}")
    return {"dbt": counts}


def _never_loaded_sources(warehouse: Path) -> list[str]:
    from funnelhouse import DEFAULT_SOURCES

    if not warehouse.exists():
        return list(DEFAULT_SOURCES)
    with connect(warehouse, read_only=True) as con:
        schemas = {s for (s,) in con.execute("SELECT DISTINCT schema_name FROM information_schema.schemata").fetchall()}
    return [s for s in DEFAULT_SOURCES if f"raw_{s}" not in schemas]


def gate() -> dict:
    """Great Expectations on the marts of the build warehouse; raises (so nothing publishes) on failure."""
    from expectations.gate import run_gate

    warehouse = settings.warehouse_path()
    with warehouse_lock(warehouse):
        result = run_gate(str(warehouse))
    summary = {
        "success": result.success,
        "evaluated": sum(s.evaluated for s in result.suites),
        "failed": sum(s.failed for s in result.suites),
        "suites": [s.summary_line() for s in result.suites],
        "data_docs": result.data_docs_url,
    }
    _write_run_file("gate.json", summary)
    if not result.success:
        raise RuntimeError("quality gate failed, nothing published: " + "; ".join(result.failing_expectations))
    return summary


def publish() -> dict:
    """Copy the marts into a new file and swap it in atomically as the published database."""
    from funnelhouse.publish import publish as publish_marts

    warehouse, published = settings.warehouse_path(), settings.published_path()
    published.parent.mkdir(parents=True, exist_ok=True)
    with warehouse_lock(warehouse):
        result = publish_marts(str(warehouse), str(published), schemas=(MART_SCHEMA,))
    log.info("published %s", published)
    return {"published": str(published), "tables": result.row_counts}


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
    from extractors.loader import META_SCHEMA

    with connect(settings.warehouse_path(), read_only=True) as con:
        has_state = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'stream_state'",
                                [META_SCHEMA]).fetchone()[0]
        reached = dict(con.execute(f"SELECT source, max(cursor_value) FROM {META_SCHEMA}.stream_state GROUP BY 1").fetchall()) if has_state else {}
    sources_report = {s: {"loaded_up_to": reached[s].isoformat() if s in reached else None,
                          "fresh": s in reached and reached[s] >= interval_end} for s in sources}
    stale = sorted(s for s, r in sources_report.items() if not r["fresh"])
    message = (f"stale sources (not loaded up to {interval_end:%Y-%m-%d %H:%M} UTC): "
               + ", ".join(f"{s} (loaded up to {sources_report[s]['loaded_up_to'] or 'never'})" for s in stale)
               + "; the marts were built from the others") if stale else f"every source is loaded up to {interval_end:%Y-%m-%d %H:%M} UTC"
    (log.error if stale else log.info)("%s", message)
    report = {"interval_end": interval_end.isoformat(), "sources": sources_report, "stale": stale, "message": message}
    _write_run_file("freshness.json", report)
    return report


def summary() -> str:
    """The demo's closing report: rows per raw table and mart, the gate result, the published path last."""
    import duckdb

    lines = []
    warehouse, published = settings.warehouse_path(), settings.published_path()
    with connect(warehouse, read_only=True) as con:
        lines.append("raw tables:")
        lines += [f"  {t:<40} {n:>10,} rows" for t, n in table_row_counts(con, "raw_%").items()]
    with duckdb.connect(str(published), read_only=True) as con:
        lines.append("published marts:")
        lines += [f"  {t:<40} {n:>10,} rows" for t, n in table_row_counts(con, MART_SCHEMA).items()]
    gate_file = settings.data_dir() / "run" / "gate.json"
    if gate_file.exists():
        g = json.loads(gate_file.read_text())
        lines.append(f"quality gate: {'PASSED' if g.get('success') else 'FAILED'}"
                     + (f" ({g.get('evaluated')} expectations, {g.get('failed')} failed)" if "evaluated" in g else ""))
    freshness_file = settings.data_dir() / "run" / "freshness.json"
    if freshness_file.exists():
        lines.append(f"freshness: {json.loads(freshness_file.read_text())['message']}")
    lines.append(str(published))
    return "\n".join(lines)


def _write_run_file(name: str, payload: dict) -> None:
    folder = settings.data_dir() / "run"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(payload, indent=1, default=str))
