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
from datetime import datetime
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
        failed = [r for r in results if r["status"] in ("error", "fail")]
        # the database's own words (e.g. "no exchange rate from CHF to USD for 2026-06-10: ..."), once each
        reasons = dict.fromkeys(_dbt_reason(r.get("message")) for r in failed if r["status"] == "error")
        raise RuntimeError(f"dbt build failed ({counts}); failing nodes: {', '.join(r['unique_id'] for r in failed) or 'see the dbt log above'}"
                           + "".join(f"; {reason}" for reason in reasons if reason))
    return {"dbt": counts}


def _dbt_reason(message: str | None) -> str:
    """The last line of a failed node's message: the database error, without dbt's preamble."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


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
    lines.append(str(published))
    return "\n".join(lines)


def _write_run_file(name: str, payload: dict) -> None:
    folder = settings.data_dir() / "run"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(payload, indent=1, default=str))
