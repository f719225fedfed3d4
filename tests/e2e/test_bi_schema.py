"""The bi schema BI tools point at: its contract (tests/e2e/bi_contract.json: every view's columns and
types; a view may gain columns, never lose or retype one), its column comments, and access the
way Superset and Metabase get it - SQLAlchemy over duckdb-engine, read-only - while the next
build is published. Reads the session's pipeline run (tests/conftest.py)."""

from __future__ import annotations

import json
import shutil
import threading
from decimal import Decimal
from pathlib import Path

import duckdb
from sqlalchemy import create_engine, inspect, text

CONTRACT = json.loads((Path(__file__).parent / "bi_contract.json").read_text())
DASHBOARD_QUERY = """SELECT channel, sum(spend) AS spend, sum(revenue) AS revenue, sum(leads) AS leads
    FROM bi.channel_performance_daily GROUP BY channel ORDER BY channel"""


def contract_violations(connection, contract: dict) -> list[str]:
    """What the bi views of the open file break of the contract: missing views, lost or retyped columns."""
    actual: dict[str, dict[str, str]] = {}
    for view, column, data_type in connection.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'bi'"
    ).fetchall():
        actual.setdefault(view, {})[column] = data_type
    problems = []
    for view, columns in contract.items():
        if view not in actual:
            problems.append(f"bi.{view}: missing")
            continue
        for column, data_type in columns:
            found = actual[view].get(column)
            if found is None:
                problems.append(f"bi.{view}.{column}: missing")
            elif found != data_type:
                problems.append(f"bi.{view}.{column}: {found}, the contract says {data_type}")
    return problems


def test_published_bi_views_keep_their_contract_and_carry_comments(marts):
    # GIVEN the published file of the session's run
    # THEN it holds one bi view per mart, keeping every contracted column and type
    views = {v for (v,) in marts.execute("SELECT view_name FROM duckdb_views() WHERE schema_name = 'bi'").fetchall()}
    assert (
        views
        == set(CONTRACT)
        == {
            t
            for (t,) in marts.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'").fetchall()
        }
    )
    assert contract_violations(marts, CONTRACT) == []
    # AND money is exact DECIMAL there, whatever the mart's type; the numbers are the marts'
    assert dict(CONTRACT["channel_performance_daily"])["spend"] == "DECIMAL(38,6)"
    assert (
        marts.execute("SELECT sum(spend) FROM bi.channel_performance_daily").fetchone()
        == marts.execute("SELECT sum(spend) FROM marts.channel_performance_daily").fetchone()
        == (Decimal("92368.39"),)
    )
    # AND every column says what it means (the marts YAML's descriptions, as comments)
    undocumented = marts.execute(
        "SELECT table_name || '.' || column_name FROM duckdb_columns() WHERE schema_name = 'bi' AND comment IS NULL"
    ).fetchall()
    assert undocumented == []
    assert marts.execute(
        "SELECT comment FROM duckdb_columns() WHERE schema_name = 'bi' AND table_name = 'leads' AND column_name = 'contact_id'"
    ).fetchone() == ("HubSpot contact id.",)


def test_the_contract_check_fails_when_a_view_loses_or_retypes_a_column(pipeline_runs, tmp_path):
    # GIVEN a copy of the published file whose leads view lost won_revenue and whose
    # channel_performance_daily view exposes the mart's own money scales (spend DECIMAL(38,2), cpc DECIMAL(38,4))
    copy = tmp_path / "published.duckdb"
    shutil.copyfile(pipeline_runs["published"], copy)
    with duckdb.connect(str(copy)) as connection:
        connection.execute("CREATE OR REPLACE VIEW bi.leads AS SELECT * EXCLUDE (won_revenue) FROM marts.leads")
        connection.execute("CREATE OR REPLACE VIEW bi.channel_performance_daily AS SELECT * FROM marts.channel_performance_daily")
        # WHEN the contract is checked  THEN both breaks are named (extra columns are fine)
        assert contract_violations(connection, CONTRACT) == [
            "bi.channel_performance_daily.spend: DECIMAL(38,2), the contract says DECIMAL(38,6)",
            "bi.channel_performance_daily.revenue: DECIMAL(38,2), the contract says DECIMAL(38,6)",
            "bi.channel_performance_daily.cost_per_lead: DECIMAL(38,4), the contract says DECIMAL(38,6)",
            "bi.channel_performance_daily.cac: DECIMAL(38,4), the contract says DECIMAL(38,6)",
            "bi.channel_performance_daily.cpc: DECIMAL(38,4), the contract says DECIMAL(38,6)",
            "bi.channel_performance_daily.cpm: DECIMAL(38,4), the contract says DECIMAL(38,6)",
            "bi.leads.won_revenue: missing",
        ]


def test_sqlalchemy_reads_the_published_bi_views_while_the_next_build_is_published(pipeline_runs, tmp_path, monkeypatch):
    from extractors import settings
    from funnelhouse import steps

    # GIVEN a copy of the session's data dir, and a BI tool connected the way Superset and
    # Metabase connect: a SQLAlchemy engine on duckdb-engine, the published file read-only
    data = tmp_path / "data"
    shutil.copytree(pipeline_runs["data_dir"], data, ignore=shutil.ignore_patterns("airflow", "logs", "landing", "dbt"))
    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(data))
    engine = create_engine(f"duckdb:///{settings.published_path()}", connect_args={"read_only": True})
    with engine.connect() as bi:
        assert set(inspect(bi).get_view_names(schema="bi")) == set(CONTRACT)
        before = bi.execute(text(DASHBOARD_QUERY)).all()

        # WHEN a pipeline run publishes the next build meanwhile (holding the build warehouse)
        published: list[dict] = []
        writer = threading.Thread(target=lambda: published.append(steps.publish(run_id="next-build")))
        writer.start()
        during = []
        while writer.is_alive():
            during.append(bi.execute(text(DASHBOARD_QUERY)).all())
        writer.join()

        # THEN the open connection kept answering, with the numbers it started with
        assert published and published[0]["run_id"] == "next-build"
        assert during and all(rows == before for rows in during)
        assert bi.execute(text(DASHBOARD_QUERY)).all() == before
    # AND a new connection sees the new build, with the same dashboard numbers (same data). The
    # pool's connection still holds the file it opened (as a BI tool's pool would, until it
    # reconnects): a connection opened after the swap reads the new one.
    engine.dispose()
    with engine.connect() as bi:
        assert bi.execute(text("SELECT run_id FROM meta.publication")).scalar() == "next-build"
        assert bi.execute(text(DASHBOARD_QUERY)).all() == before
    engine.dispose()
    spend = {row.channel: row.spend for row in before}  # exact: Meta's and Google Ads' spend at the daily rates
    assert (spend["paid_social"], spend["paid_search"]) == (Decimal("55880.31"), Decimal("36488.08"))
