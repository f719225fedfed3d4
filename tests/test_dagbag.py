"""The DAG folder imports cleanly and every DAG follows the project's policy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[1] / "dags"


@pytest.fixture(scope="module")
def dagbag():
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"funnelhouse"}


def test_every_dag_follows_policy(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md, f"{dag_id}: doc_md"
        assert dag.catchup is False, f"{dag_id}: explicit catchup=False"
        assert dag.max_active_runs == 1, f"{dag_id}: one run at a time (one warehouse writer)"
        assert dag.default_args["retries"] >= 1, f"{dag_id}: retries in default_args"


def test_tasks_that_open_the_warehouse_share_the_one_writer_pool(dagbag):
    dag = dagbag.dags["funnelhouse"]
    writers = {t.task_id for t in dag.tasks if t.pool == "duckdb_writer"}
    assert writers == {"load_hubspot", "load_meta_ads", "load_google_ads", "load_ga4", "load_mailchimp", "load_facebook_pages",
                       "load_cbr", "transform", "quality_gate",
                       "publish"}
    extractors = {t.task_id for t in dag.tasks if t.task_id.startswith("extract_")}
    assert extractors == {"extract_hubspot", "extract_meta_ads", "extract_google_ads", "extract_ga4", "extract_mailchimp",
                          "extract_facebook_pages", "extract_cbr"}
    assert dag.get_task("publish").upstream_task_ids == {"quality_gate"}
    assert [o.name for o in dag.get_task("publish").outlets] == ["funnelhouse_published_marts"]


def test_platform_errors_retry_but_findings_do_not(dagbag):
    dag = dagbag.dags["funnelhouse"]
    retries = {t.task_id: t.retries for t in dag.tasks}
    assert retries == {**{f"{step}_{source}": 2 for step in ("extract", "load") for source in ("hubspot", "meta_ads", "google_ads", "ga4", "mailchimp",
                                                                                         "facebook_pages", "cbr")},
                       "transform": 0, "quality_gate": 0, "publish": 2}


def test_parsing_the_dag_file_loads_no_pipeline_code():
    """The scheduler parses DAG files constantly: the pipeline (duckdb, extractors) loads only when a task runs."""
    import subprocess
    import sys

    code = ("import runpy, sys; runpy.run_path(sys.argv[1]); "
            "print(sorted(m for m in ('duckdb', 'extractors', 'funnelhouse.steps', 'great_expectations') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(DAGS / "funnelhouse_pipeline.py")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
