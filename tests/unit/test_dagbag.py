"""The DAG folder imports cleanly and every DAG follows the project's policy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag():
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"funnelhouse"}


def test_every_dag_follows_policy(dagbag):
    from funnelhouse.notify import ChatWebhookNotifier

    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md and "Why one DAG" in dag.doc_md, f"{dag_id}: doc_md, with the reason for the DAG's shape"
        assert dag.catchup is False, f"{dag_id}: explicit catchup=False"
        assert dag.max_active_runs == 1, f"{dag_id}: one run at a time (one warehouse writer)"
        assert dag.default_args["retries"] >= 1, f"{dag_id}: retries in default_args"
        assert dag.default_args["owner"] == "data-engineering" and dag.owner == "data-engineering", f"{dag_id}: owner"
        assert {"funnelhouse"} <= set(dag.tags), f"{dag_id}: tags"
        assert any(isinstance(n, ChatWebhookNotifier) for n in dag.default_args["on_failure_callback"]), (
            f"{dag_id}: failure alerts"
        )
        for t in dag.tasks:
            assert t.owner == "data-engineering" and t.retries is not None, f"{dag_id}.{t.task_id}: owner and retries"
            assert t.doc_md is None or t.doc_md.strip(), f"{dag_id}.{t.task_id}: empty doc"


def test_the_doc_names_every_connection_the_code_reads(dagbag):
    """The DAG's doc lists each source's Connection, as the source registry names it, and the alerts one."""
    from extractors.sources import registry
    from funnelhouse.notify import ALERTS_CONN_ID

    doc = dagbag.dags["funnelhouse"].doc_md
    assert [s.conn_id for s in registry().values() if f"`{s.conn_id}`" not in doc] == []
    assert f"`{ALERTS_CONN_ID}`" in doc


@pytest.mark.slow
def test_every_dag_file_parses_within_the_budget():
    """The dag-processor parses every file again and again: each stays under 1 s of CPU (Airflow itself
    imported first, as it is in the dag-processor; CPU time, so a busy machine does not count), with no
    import errors."""
    import subprocess
    import sys

    for path in sorted(DAGS.glob("*.py")):
        code = (
            "import time, runpy, sys; import airflow.sdk; t = time.process_time(); runpy.run_path(sys.argv[1]); "
            "print(round(time.process_time() - t, 3))"
        )
        # Three tries, the best counts: the machine may be busy with other work for one of them.
        times = []
        for _ in range(3):
            out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
            assert out.returncode == 0, out.stderr[-2000:]
            times.append(float(out.stdout.strip().splitlines()[-1]))
        assert min(times) < 1.0, f"{path.name} took {min(times)} s to parse (budget 1 s)"


SOURCES = ("hubspot", "meta_ads", "google_ads", "ga4", "mailchimp", "facebook_pages", "cbr")
WAREHOUSE_TASKS = {
    *(f"load_{s}" for s in SOURCES),
    "raw_quality_gate",
    "transform",
    "quality_gate",
    "publish",
    "report",
    "freshness",
}


def test_tasks_that_open_the_warehouse_share_the_one_writer_pool_and_the_warehouse_queue(dagbag):
    dag = dagbag.dags["funnelhouse"]
    writers = {t.task_id for t in dag.tasks if t.pool == "duckdb_writer"}
    assert writers == WAREHOUSE_TASKS
    assert {t.task_id for t in dag.tasks if t.queue == "warehouse"} == WAREHOUSE_TASKS
    extractors = {t.task_id for t in dag.tasks if t.task_id.startswith("extract_")}
    assert extractors == {f"extract_{s}" for s in SOURCES}
    # extraction runs on any worker, each in its platform's own pool
    assert {t.task_id: (t.queue, t.pool) for t in dag.tasks if t.task_id in extractors} == {
        "extract_hubspot": ("default", "api_hubspot"),
        "extract_meta_ads": ("default", "api_meta_marketing"),
        "extract_google_ads": ("default", "api_google_ads"),
        "extract_ga4": ("default", "api_ga4"),
        "extract_mailchimp": ("default", "api_mailchimp"),
        "extract_facebook_pages": ("default", "api_graph_pages"),
        "extract_cbr": ("default", "api_cbr"),
    }
    assert dag.get_task("transform").upstream_task_ids == {"raw_quality_gate"}
    assert dag.get_task("publish").upstream_task_ids == {"quality_gate"}
    assert dag.get_task("report").upstream_task_ids == {"publish"}
    assert [o.name for o in dag.get_task("publish").outlets] == ["funnelhouse_published_marts"]
    assert {s: [o.name for o in dag.get_task(f"load_{s}").outlets] for s in SOURCES} == {
        s: [f"funnelhouse_raw_{s}"] for s in SOURCES
    }


def test_a_failed_source_does_not_hold_back_the_others(dagbag):
    dag = dagbag.dags["funnelhouse"]
    raw_gate, freshness = dag.get_task("raw_quality_gate"), dag.get_task("freshness")
    assert raw_gate.upstream_task_ids == {f"load_{s}" for s in SOURCES}
    assert raw_gate.trigger_rule == "all_done_min_one_success"
    assert freshness.upstream_task_ids == {f"load_{s}" for s in SOURCES}
    # report (after publish) and freshness are the leaves: a failed gate, or a stale source, fails the run
    assert {t.task_id for t in dag.tasks if not t.downstream_task_ids} == {"report", "freshness"}
    assert freshness.trigger_rule == "all_done"


def test_the_warehouse_queue_is_a_setting(monkeypatch):
    """With a server warehouse the warehouse tasks can run anywhere: FUNNELHOUSE_WAREHOUSE_QUEUE moves them."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("FUNNELHOUSE_WAREHOUSE_QUEUE", "default")
    dag = DagBag(dag_folder=str(DAGS)).dags["funnelhouse"]
    assert {t.task_id for t in dag.tasks if t.queue != "default"} == set()


def test_pools_the_dag_uses_are_the_ones_set_up():
    """`python -m funnelhouse pools` (what the demo and the compose init import) holds every pool the DAG names."""
    import json
    import subprocess
    import sys

    from airflow.dag_processing.dagbag import DagBag

    out = subprocess.run(
        [sys.executable, "-m", "funnelhouse", "pools"], capture_output=True, text=True, timeout=120, cwd=DAGS.parent
    )
    pools = json.loads(out.stdout)
    dag = DagBag(dag_folder=str(DAGS)).dags["funnelhouse"]
    assert {t.pool for t in dag.tasks} <= set(pools)
    assert all(p["slots"] == 1 and p["description"] for p in pools.values())


def test_platform_errors_retry_but_findings_do_not(dagbag):
    dag = dagbag.dags["funnelhouse"]
    retries = {t.task_id: t.retries for t in dag.tasks}
    assert retries == {
        **{
            f"{step}_{source}": 2
            for step in ("extract", "load")
            for source in ("hubspot", "meta_ads", "google_ads", "ga4", "mailchimp", "facebook_pages", "cbr")
        },
        "raw_quality_gate": 0,
        "transform": 0,
        "quality_gate": 0,
        "publish": 2,
        "report": 2,
        "freshness": 0,
    }


@pytest.mark.slow
def test_parsing_the_dag_file_loads_no_pipeline_code():
    """The scheduler parses DAG files constantly: the pipeline (duckdb, extractors) loads only when a task runs."""
    import subprocess
    import sys

    code = (
        "import runpy, sys; runpy.run_path(sys.argv[1]); "
        "print(sorted(m for m in ('duckdb', 'extractors', 'funnelhouse.steps', 'great_expectations') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(DAGS / "funnelhouse_pipeline.py")], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
