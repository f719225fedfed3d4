"""dbt in the pipeline's own process (funnelhouse/steps.py runs it through dbt-core's dbtRunner):
the environment it reads is set for the call only, its secrets stay out of the log, a failed
command leaves the next one working, and the warehouse is free again once dbt returns."""

from __future__ import annotations

import logging
import os

import duckdb
import pytest

from funnelhouse import steps


def test_the_environment_is_dbts_for_the_call_only(monkeypatch):
    """GIVEN Connections and a warehouse variable in the environment,
    WHEN dbt's environment is in place, THEN it holds the target's variables and no Connection;
    THEN after (even after an error) the environment is what it was."""
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT", "http://:token@localhost")
    monkeypatch.setenv("FUNNELHOUSE_WAREHOUSE", "/elsewhere.duckdb")
    monkeypatch.delenv("PGTZ", raising=False)
    before = dict(os.environ)
    with pytest.raises(RuntimeError, match="inside the call"):
        with steps._dbt_environment({"FUNNELHOUSE_WAREHOUSE": "/build.duckdb", "PGTZ": "UTC"}):
            assert os.environ["FUNNELHOUSE_WAREHOUSE"] == "/build.duckdb" and os.environ["PGTZ"] == "UTC"
            assert not [k for k in os.environ if k.startswith("AIRFLOW_CONN_")]
            raise RuntimeError("inside the call")
    assert dict(os.environ) == before


def test_dbts_log_lines_mask_its_secrets(caplog):
    """GIVEN the PostgreSQL password in DBT_ENV_SECRET_*, WHEN a dbt event quotes it, THEN the log masks it."""
    from dbt_common.events.base_types import msg_from_base_event
    from dbt_common.events.types import Note

    with caplog.at_level(logging.DEBUG, logger="funnelhouse.steps"):
        with steps._dbt_environment({"DBT_ENV_SECRET_FUNNELHOUSE_PG_PASSWORD": "pa55-word"}):
            steps._log_dbt_event(msg_from_base_event(Note(msg="could not connect as funnel:pa55-word@db")))
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["dbt | could not connect as funnel:*****@db"]


def test_a_failed_dbt_command_leaves_the_next_one_working_and_the_warehouse_free(data_dir):
    """GIVEN a dbt command that failed in this process, WHEN the next runs (a seed into the warehouse),
    THEN it succeeds, and this process can then open the warehouse read-only (dbt closed it)."""
    warehouse = data_dir / "warehouse.duckdb"
    data_dir.mkdir(parents=True)
    failed = steps._invoke_dbt(["run-operation", "no_such_macro"], warehouse)
    assert not failed.success and failed.exception is not None
    seeded = steps._invoke_dbt(["seed", "--select", "kpi_goals"], warehouse)
    assert seeded.success, seeded.exception
    # the project's on-run-start hooks, then the seed
    assert [(str(r.status), r.node.unique_id) for r in steps._node_results(seeded)] == [
        ("success", "operation.funnelhouse.funnelhouse-on-run-start-0"),
        ("success", "operation.funnelhouse.funnelhouse-on-run-start-1"),
        ("success", "seed.funnelhouse.kpi_goals"),
    ]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from seeds.kpi_goals").fetchone()[0] == 8


def test_a_build_that_stops_before_any_node_raises_with_dbts_reason(data_dir, monkeypatch):
    """GIVEN a project that does not compile (a var set to a value it refuses) and a secret in dbt's
    environment, WHEN transform runs, THEN its error carries dbt's one-line reason, secrets masked."""
    data_dir.mkdir(parents=True)
    real = steps._invoke_dbt
    monkeypatch.setenv("DBT_ENV_SECRET_SAMPLE", "var ad_campaign_match")  # a secret that the reason quotes
    monkeypatch.setattr(steps, "_invoke_dbt", lambda args, wh: real([*args, "--vars", "{ad_campaign_match: utm}"], wh))
    with pytest.raises(RuntimeError) as raised:
        steps.transform()
    message = str(raised.value)
    assert message.startswith("dbt build failed ({}); failing nodes: see the dbt log above; ")
    assert "is 'utm': set it to name, id or name_or_id" in message and "var ad_campaign_match" not in message
