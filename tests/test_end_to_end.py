"""The real DAG, end to end, against the sandbox: numbers in the published marts
must equal what the simulated business says they are.

GIVEN the sandbox's 90-day business (seed 7) and an empty data dir,
WHEN `airflow dags test funnelhouse` runs (as `make demo` does), twice,
THEN the raw tables hold exactly the platforms' records, the published marts
recover the world's spend, leads, customers and revenue per channel, and the
second run changes nothing.
"""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

import duckdb
import pytest

from extractors import settings
from funnelhouse.__main__ import run_dag

pytestmark = pytest.mark.timeout(1200)

MART_TABLES = ("channel_performance_daily", "funnel_by_channel", "lead_stage_history")


def _table_checksums(path, schema_like: str) -> dict[str, tuple[int, str]]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [f"{s}.{t}" for s, t in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema LIKE ? ESCAPE '\\' AND table_type = 'BASE TABLE' AND table_name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY 1, 2",
            [schema_like]).fetchall()]
        out = {}
        for table in tables:
            # Doubles are compared at 1e-6: parallel aggregation may add them in another order.
            columns = [f"round({c}, 6)" if t in ("DOUBLE", "FLOAT") else c
                       for c, t in con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall()
                       if c not in ("_loaded_at", "_batch_id")]
            rows = con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL").fetchall()
            out[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
        return out


@pytest.fixture(scope="module")
def pipeline_runs(tmp_path_factory, world):
    """Run the DAG twice over the same interval against one sandbox."""
    from sandbox.server import SandboxServer

    data = tmp_path_factory.mktemp("e2e") / "data"
    saved = dict(os.environ)
    with SandboxServer(world) as server:
        os.environ.update(server.connections())
        os.environ["FUNNELHOUSE_DATA_DIR"] = str(data)
        try:
            logical_date = world.end + timedelta(days=1)
            first_code = run_dag(logical_date, data)
            first = {"raw": _table_checksums(settings.warehouse_path(), "raw\\_%"),
                     "marts": _table_checksums(settings.published_path(), "marts")}
            second_code = run_dag(logical_date, data)
            second = {"raw": _table_checksums(settings.warehouse_path(), "raw\\_%"),
                      "marts": _table_checksums(settings.published_path(), "marts")}
            yield {"codes": (first_code, second_code), "first": first, "second": second,
                   "published": settings.published_path(), "warehouse": settings.warehouse_path()}
        finally:
            os.environ.clear()
            os.environ.update(saved)


@pytest.fixture(scope="module")
def marts(pipeline_runs):
    con = duckdb.connect(str(pipeline_runs["published"]), read_only=True)
    yield con
    con.close()


def test_both_dag_runs_succeed(pipeline_runs):
    assert pipeline_runs["codes"] == (0, 0)


def test_raw_tables_hold_exactly_the_platforms_records(pipeline_runs, world):
    truth = world.truth()
    raw = pipeline_runs["first"]["raw"]
    assert raw["raw_hubspot.contacts"][0] == truth.contact_count + truth.archived_contact_count == 5104
    assert raw["raw_hubspot.deals"][0] == truth.deal_count == 668
    assert raw["raw_meta_ads.insights"][0] == truth.insights_row_count == 1432
    assert raw["raw_meta_ads.ad_accounts"][0] == 2


def test_second_run_over_the_same_interval_changes_nothing(pipeline_runs):
    assert pipeline_runs["second"] == pipeline_runs["first"]


def test_published_file_holds_only_the_marts(marts):
    schemas = {s for (s,) in marts.execute("SELECT DISTINCT table_schema FROM information_schema.tables").fetchall()}
    assert "marts" in schemas and not any(s.startswith("raw_") for s in schemas)
    tables = {t for (t,) in marts.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'").fetchall()}
    assert set(MART_TABLES) <= tables


def test_spend_in_reporting_currency_matches_the_world(marts, world):
    truth = world.truth()
    # The DAG extracts Meta ads only so far, so the marts hold Meta's spend; Google Ads'
    # (truth.spend_usd_by_platform["google_ads"]) joins them when its extractor does.
    meta_by_campaign = truth.spend_usd_by_platform_campaign["meta_ads"]
    total = marts.execute("SELECT sum(spend) FROM marts.channel_performance_daily").fetchone()[0]
    assert total == pytest.approx(truth.spend_usd_by_platform["meta_ads"], abs=0.01)
    assert total == pytest.approx(56072.59, abs=0.01)
    by_campaign = dict(marts.execute("SELECT campaign, sum(spend) FROM marts.channel_performance_daily WHERE spend > 0 GROUP BY 1").fetchall())
    assert by_campaign == pytest.approx(meta_by_campaign, abs=0.01)


def test_funnel_counts_per_channel_match_the_world(marts, world):
    truth = world.truth()
    rows = marts.execute("""SELECT channel, sum(leads), sum(mqls), sum(sqls), sum(customers), sum(revenue)
                            FROM marts.channel_performance_daily GROUP BY 1""").fetchall()
    got = {r[0]: r[1:] for r in rows}
    for channel, leads in truth.leads_by_channel.items():
        assert got[channel][0] == leads, channel
        assert got[channel][1] == truth.mqls_by_channel.get(channel, 0), channel
        assert got[channel][2] == truth.sqls_by_channel.get(channel, 0), channel
        assert got[channel][3] == truth.customers_by_channel.get(channel, 0), channel
        assert got[channel][4] == pytest.approx(truth.revenue_by_channel_usd.get(channel, 0.0), abs=0.01), channel
    assert sum(truth.customers_by_channel.values()) == sum(r[4] for r in rows) == 241


def test_the_money_losing_campaign_shows_no_return(marts, world):
    roas = dict(marts.execute("""SELECT campaign, sum(revenue) / sum(spend) FROM marts.channel_performance_daily
                                 WHERE channel = 'paid_social' GROUP BY 1""").fetchall())
    assert roas["eu_brand_awareness_video"] == 0
    assert max(roas, key=roas.get) == "us_retargeting_site_visitors"


def test_funnel_cohorts_add_up_to_the_world(marts, world):
    truth = world.truth()
    leads = dict(marts.execute("SELECT channel, sum(leads) FROM marts.funnel_by_channel GROUP BY 1").fetchall())
    assert leads == truth.leads_by_channel


def test_lead_stage_history_has_one_current_stage_per_live_contact(marts, world):
    truth = world.truth()
    contacts, current = marts.execute(
        "SELECT count(DISTINCT contact_id), count(*) FILTER (WHERE is_current) FROM marts.lead_stage_history").fetchone()
    assert contacts == current == truth.contact_count
