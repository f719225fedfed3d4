"""The Great Expectations gate on the marts: passes good data, names planted defects with their
values, lets warnings through, records every run, releases the DuckDB file, and depends on the
DuckDB connection fix in expectations/gx_duckdb.py. The raw phase: tests/gate/test_raw_gate.py.

Great Expectations takes ~10 s to import, so every gate run here shares one process and
the fixtures below build each database once per module.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from expectations import gate
from expectations.gate import run_gate

MARTS_DDL = """
CREATE SCHEMA marts;
CREATE TABLE marts.channel_performance_daily (
    date_day DATE, channel VARCHAR, source VARCHAR, medium VARCHAR, campaign VARCHAR,
    spend DOUBLE, impressions BIGINT, clicks BIGINT, leads BIGINT, mqls BIGINT, sqls BIGINT,
    customers BIGINT, revenue DOUBLE, cost_per_lead DOUBLE, cac DOUBLE, roas DOUBLE, ctr DOUBLE,
    cpc DOUBLE, cpm DOUBLE, sessions BIGINT, engaged_sessions BIGINT, bounce_rate DOUBLE,
    avg_session_duration_s DOUBLE, page_views BIGINT, session_to_lead_rate DOUBLE, roi DOUBLE);
CREATE TABLE marts.funnel_by_channel (
    channel VARCHAR, cohort_month DATE, leads BIGINT, mqls BIGINT, sqls BIGINT, customers BIGINT,
    lead_to_mql_rate DOUBLE, mql_to_sql_rate DOUBLE, sql_to_customer_rate DOUBLE,
    lead_to_customer_rate DOUBLE, touches BIGINT, median_days_lead_to_mql DOUBLE,
    median_days_mql_to_sql DOUBLE, median_days_sql_to_customer DOUBLE, sessions BIGINT,
    session_to_lead_rate DOUBLE);
CREATE TABLE marts.lead_stage_history (
    contact_id VARCHAR, lifecycle_stage VARCHAR, stage_order INTEGER, entered_at TIMESTAMP,
    exited_at TIMESTAMP, days_in_stage DOUBLE, is_current BOOLEAN, next_stage VARCHAR);
CREATE TABLE marts.leads (
    contact_id VARCHAR, channel VARCHAR, source VARCHAR, medium VARCHAR, campaign VARCHAR,
    current_stage VARCHAR, created_at TIMESTAMP, became_lead_at TIMESTAMP, became_mql_at TIMESTAMP,
    became_sql_at TIMESTAMP, became_customer_at TIMESTAMP, is_customer BOOLEAN, won_revenue DOUBLE);
CREATE TABLE marts.ad_performance_daily (
    platform VARCHAR, channel VARCHAR, ad_account_id VARCHAR, account_timezone VARCHAR,
    campaign_id VARCHAR, campaign_name VARCHAR, ad_group_id VARCHAR, ad_id VARCHAR, date_day DATE,
    account_currency VARCHAR, reporting_currency VARCHAR, spend_in_account_currency DOUBLE,
    spend_in_reporting_currency DOUBLE, impressions BIGINT, clicks BIGINT, conversions DOUBLE,
    conversion_value_in_account_currency DOUBLE, conversion_value_in_reporting_currency DOUBLE);
CREATE TABLE marts.conversion_reconciliation (
    platform VARCHAR, ad_account_id VARCHAR, date_day DATE,
    platform_conversions DOUBLE, crm_leads BIGINT, conversion_gap DOUBLE, gap_ratio DOUBLE,
    has_platform_data BOOLEAN);
CREATE TABLE marts.kpi_attainment (
    goal_id VARCHAR, metric VARCHAR, channel VARCHAR, period_start DATE, period_end DATE,
    as_of_date DATE, period_status VARCHAR, period_days INTEGER, elapsed_days INTEGER, target DOUBLE,
    target_to_date DOUBLE, actual DOUBLE, pace DOUBLE, is_on_track BOOLEAN, spend DOUBLE,
    cost_per_unit DOUBLE, max_cost_per_unit DOUBLE, is_within_cost_cap BOOLEAN);
CREATE TABLE marts.channel_budget_recommendation (
    budget_month DATE, channel VARCHAR, spend DOUBLE, revenue DOUBLE, customers BIGINT, roi DOUBLE,
    cac DOUBLE, target_cac DOUBLE, is_above_target_cac BOOLEAN, is_loss_making BOOLEAN,
    return_rank INTEGER, current_budget_share DOUBLE, recommended_budget_share DOUBLE);
CREATE TABLE marts.campaign_budget_recommendation (
    budget_month DATE, channel VARCHAR, campaign VARCHAR, spend DOUBLE, revenue DOUBLE, customers BIGINT,
    roi DOUBLE, cac DOUBLE, target_cac DOUBLE, is_above_target_cac BOOLEAN, is_loss_making BOOLEAN,
    return_rank INTEGER, current_budget_share DOUBLE, recommended_budget_share DOUBLE);
CREATE TABLE marts.content_performance (
    property_id VARCHAR, page_path VARCHAR, week_start_date DATE, days_with_data INTEGER,
    is_complete_week BOOLEAN, page_views BIGINT, unique_page_views BIGINT, entrances BIGINT, exits BIGINT,
    exit_rate DOUBLE, bounce_rate DOUBLE, avg_time_on_page_s DOUBLE, previous_week_page_views BIGINT,
    page_views_wow_change DOUBLE, page_views_rank INTEGER, is_top_page BOOLEAN, trend_page_views BIGINT,
    previous_trend_page_views BIGINT, page_views_trend_change DOUBLE, is_falling BOOLEAN, is_rising BOOLEAN);
CREATE TABLE marts.email_performance (
    campaign_id VARCHAR, campaign_title VARCHAR, subject_line VARCHAR, tracking_name VARCHAR, list_id VARCHAR,
    list_name VARCHAR, sent_at TIMESTAMP, send_date DATE, emails_sent BIGINT, emails_delivered BIGINT,
    hard_bounces BIGINT, soft_bounces BIGINT, bounces BIGINT, opens BIGINT, unique_opens BIGINT, clicks BIGINT,
    unique_clicks BIGINT, unique_subscriber_clicks BIGINT, unsubscribes BIGINT, open_rate DOUBLE, click_rate DOUBLE,
    click_to_open_rate DOUBLE, unsubscribe_rate DOUBLE, bounce_rate DOUBLE, sessions BIGINT, engaged_sessions BIGINT,
    contacts BIGINT, leads BIGINT, mqls BIGINT, customers BIGINT, won_revenue DOUBLE, session_to_lead_rate DOUBLE,
    has_report BOOLEAN);
CREATE TABLE marts.social_engagement (
    channel VARCHAR, date_day DATE, posts_published BIGINT, impressions BIGINT, reach BIGINT, likes BIGINT,
    comments BIGINT, shares BIGINT, saves BIGINT, engagements BIGINT, followers BIGINT, engagement_rate DOUBLE,
    net_follower_change BIGINT);
CREATE TABLE marts.social_post_engagement (
    post_id VARCHAR, platform VARCHAR, account_id VARCHAR, post_type VARCHAR, permalink VARCHAR, text VARCHAR,
    published_at TIMESTAMP, published_date DATE, views BIGINT, reach BIGINT, likes BIGINT, comments BIGINT,
    shares BIGINT, saves BIGINT, engagements BIGINT, engagement_rate DOUBLE, comments_extracted BIGINT,
    sessions BIGINT, leads BIGINT, customers BIGINT, won_revenue DOUBLE, session_to_lead_rate DOUBLE);
CREATE TABLE marts.attribution_touches (
    attribution_touch_id VARCHAR, deal_id VARCHAR, contact_id VARCHAR, touch_id VARCHAR, touch_number BIGINT,
    touches_in_window BIGINT, touched_at TIMESTAMP, closed_at TIMESTAMP, close_month DATE, days_before_close DOUBLE,
    channel VARCHAR, source VARCHAR, medium VARCHAR, campaign VARCHAR, deal_revenue DOUBLE,
    first_touch_weight DOUBLE, last_touch_weight DOUBLE, linear_weight DOUBLE, position_based_weight DOUBLE,
    time_decay_weight DOUBLE, first_touch_revenue DOUBLE, last_touch_revenue DOUBLE, linear_revenue DOUBLE,
    position_based_revenue DOUBLE, time_decay_revenue DOUBLE);
CREATE TABLE marts.attribution_by_channel (
    attribution_by_channel_id VARCHAR, attribution_model VARCHAR, channel VARCHAR, close_month DATE,
    attributed_customers DOUBLE, attributed_revenue DOUBLE, deals_touched BIGINT);
"""

# Valid marts, including the edge cases the suites must accept: ratios that are NULL
# because their denominator is 0, a cohort with no leads, a contact's current stage, a
# week in progress (not compared), a page nobody landed on. Spend per day agrees between
# channel_performance_daily and ad_performance_daily (reconcile.channel_spend).
GOOD_ROWS = """
INSERT INTO marts.channel_performance_daily VALUES
    ('2024-05-01', 'paid_search', 'google', 'cpc', 'brand', 100.0, 1000, 50, 5, 2, 1, 1, 400.0, 20.0, 100.0, 4.0,
     0.05, 2.0, 100.0, 48, 30, 0.375, 95.5, 120, 0.1041666, 3.0),
    ('2024-05-01', 'email', 'newsletter', 'email', 'may', 0.0, 0, 30, 2, 1, 0, 0, 0.0, 0.0, NULL, NULL,
     NULL, 0.0, NULL, 40, 28, 0.3, 120.0, 90, 0.05, NULL),
    ('2024-05-02', 'paid_social', 'facebook', 'paid', 'spring', 50.0, 2000, 20, 0, 0, 0, 0, 0.0, NULL, NULL, 0.0,
     0.01, 2.5, 25.0, 0, 0, NULL, NULL, 0, NULL, -1.0),
    ('2024-05-02', 'direct', '(direct)', '(none)', '(none)', 0.0, 0, 0, 1, 0, 0, 0, 0.0, 0.0, NULL, NULL,
     NULL, NULL, NULL, 25, 14, 0.44, 80.0, 50, 0.04, NULL);
INSERT INTO marts.funnel_by_channel VALUES
    ('paid_search', '2024-05-01', 10, 5, 2, 1, 0.5, 0.4, 0.5, 0.1, 12, 2.5, 4.0, 10.0, 120, 0.0833333),
    ('email', '2024-05-01', 4, 0, 0, 0, 0.0, NULL, NULL, 0.0, 6, NULL, NULL, NULL, 60, 0.0666667),
    ('paid_social', '2024-04-01', 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, 0, NULL);
INSERT INTO marts.lead_stage_history VALUES
    ('c1', 'lead', 2, '2024-05-01 10:00', '2024-05-03 10:00', 2.0, false, 'mql'),
    ('c1', 'mql', 3, '2024-05-03 10:00', NULL, 5.5, true, NULL),
    ('c2', 'subscriber', 1, '2024-05-02 08:00', NULL, 1.0, true, NULL);
INSERT INTO marts.leads VALUES
    ('c1', 'paid_search', 'google', 'cpc', 'brand', 'mql', '2024-05-01 10:00', '2024-05-01 10:00',
     '2024-05-03 10:00', NULL, NULL, false, 0.0),
    ('c2', 'email', 'newsletter', 'email', 'may', 'customer', '2024-05-02 08:00', '2024-05-02 08:00',
     NULL, NULL, '2024-05-20 08:00', true, 400.0),
    ('c3', 'direct', 'direct_traffic', '(none)', '(none)', 'subscriber', '2024-05-02 09:00', NULL,
     NULL, NULL, NULL, false, 0.0);
INSERT INTO marts.ad_performance_daily VALUES
    ('google_ads', 'paid_search', '5550002', 'America/Los_Angeles', 'g1', 'brand', 'ag1', NULL, '2024-05-01',
     'USD', 'USD', 100.0, 100.0, 1000, 50, 1.0, 400.0, 400.0),
    ('meta_ads', 'paid_social', '1001', 'America/New_York', 'c1', 'spring', 's1', 'a1', '2024-05-02',
     'USD', 'USD', 39.2, 39.2, 1700, 20, 3.0, 0.0, 0.0),
    ('meta_ads', 'paid_social', '1002', 'Europe/Berlin', 'c2', 'eu', 's2', 'a2', '2024-05-02',
     'EUR', 'USD', 10.0, 10.8, 300, 0, 0.0, 0.0, 0.0);
INSERT INTO marts.conversion_reconciliation VALUES
    ('meta_ads', '1001', '2024-05-02', 3.0, 2, 1.0, 0.5, true),
    ('meta_ads', '1002', '2024-05-02', 0.0, 0, 0.0, NULL, true),
    ('meta_ads', '(unknown)', '2024-05-03', 0.0, 1, -1.0, -1.0, false);
INSERT INTO marts.kpi_attainment VALUES
    ('q2_subscribers', 'subscribers', 'all', '2024-04-01', '2024-06-30', '2024-05-02', 'in_progress',
     91, 32, 1000.0, 351.6, 120.0, 0.34, false, 150.0, 1.25, 3.3, true),
    ('june_leads', 'leads', 'email', '2024-06-01', '2024-06-30', '2024-05-02', 'upcoming',
     30, 0, 100.0, 0.0, 0.0, NULL, true, 0.0, NULL, NULL, NULL);
INSERT INTO marts.channel_budget_recommendation VALUES
    ('2024-05-01', 'paid_search', 100.0, 400.0, 1, 3.0, 100.0, 500.0, false, false, 1, 0.75, 0.875),
    ('2024-05-01', 'paid_social', 50.0, 0.0, 0, -1.0, NULL, 500.0, true, true, 2, 0.25, 0.125),
    ('2024-05-01', 'email', 0.0, 0.0, 0, NULL, NULL, 500.0, false, false, NULL, 0.0, 0.0);
INSERT INTO marts.campaign_budget_recommendation VALUES
    ('2024-05-01', 'paid_search', 'brand', 100.0, 400.0, 1, 3.0, 100.0, 500.0, false, false, 1, 0.75, 0.875),
    ('2024-05-01', 'paid_social', 'spring', 50.0, 0.0, 0, -1.0, NULL, 500.0, true, true, 2, 0.25, 0.125),
    ('2024-05-01', 'email', 'may', 0.0, 0.0, 0, NULL, NULL, 500.0, false, false, NULL, 0.0, 0.0);
INSERT INTO marts.content_performance VALUES
    ('420000001', '/blog/a', '2024-05-06', 7, true, 1200, 1100, 400, 500, 0.4166667, 0.35, 32.5, 1000, 0.2,
     1, true, 4400, 4000, 0.1, false, true),
    ('420000001', '/pricing', '2024-05-06', 7, true, 900, 850, 300, 450, 0.5, 0.4, 40.0, 1000, -0.1,
     2, true, NULL, NULL, NULL, false, false),
    ('420000001', '/new', '2024-05-13', 3, false, 50, 50, 0, 10, 0.2, NULL, 20.0, NULL, NULL,
     1, true, NULL, NULL, NULL, false, false);
INSERT INTO marts.email_performance VALUES
    ('c1', 'Weekly 1', 'This week', 'weekly_1', 'l1', 'Newsletter', '2024-05-07 14:00', '2024-05-07', 1000, 800,
     20, 180, 200, 600, 400, 150, 120, 100, 8, 0.5, 0.125, 0.25, 0.01, 0.2, 80, 45, 3, 2, 1, 1, 1200.5, 0.025, true),
    ('c2', 'Untracked', 'Not yet read', NULL, 'l1', 'Newsletter', '2024-05-14 14:00', '2024-05-14', 500, 500,
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, 0.0, NULL, 0.0, 0.0, 0, 0, 0, 0, 0, 0, 0.0, NULL, false);
INSERT INTO marts.social_engagement VALUES
    ('facebook', '2024-05-01', 1, 5000, NULL, 90, 12, 8, NULL, 210, 12000, 0.042, NULL),
    ('facebook', '2024-05-02', 0, NULL, NULL, 0, 0, 0, NULL, NULL, 11990, NULL, -10),
    ('instagram', '2024-05-02', 1, 6000, 4200, 210, 20, 15, 25, 270, NULL, 0.045, NULL);
INSERT INTO marts.social_post_engagement VALUES
    ('104_810', 'facebook', '104', 'shared_story', 'https://www.facebook.com/104/posts/810', 'Read this',
     '2024-05-01 17:00', '2024-05-01', NULL, NULL, 90, 12, 8, NULL, 110, NULL, 12, 40, 2, 1, 400.0, 0.05),
    ('179', 'instagram', '178', 'VIDEO', 'https://www.instagram.com/reel/abc/', NULL,
     '2024-05-02 19:00', '2024-05-02', 6000, 4200, 210, 20, 15, 25, 270, 0.0642857, 20, 0, 0, 0, 0.0, NULL);
INSERT INTO marts.attribution_touches VALUES
    ('d1:t1', 'd1', 'c1', 't1', 1, 2, '2024-05-01 10:00', '2024-05-08 10:00', '2024-05-01', 7.0, 'paid_search',
     'google', 'cpc', 'brand', 400.0, 1.0, 0.0, 0.5, 0.5, 0.3333333, 400.0, 0.0, 200.0, 200.0, 133.33),
    ('d1:t2', 'd1', 'c1', 't2', 2, 2, '2024-05-08 10:00', '2024-05-08 10:00', '2024-05-01', 0.0, 'direct',
     '(direct)', '(none)', '(none)', 400.0, 0.0, 1.0, 0.5, 0.5, 0.6666667, 0.0, 400.0, 200.0, 200.0, 266.67),
    ('d2:unattributed', 'd2', 'c2', NULL, NULL, 0, NULL, '2024-05-20 08:00', '2024-05-01', NULL, 'unattributed',
     '(none)', '(none)', '(none)', 100.0, 1.0, 1.0, 1.0, 1.0, 1.0, 100.0, 100.0, 100.0, 100.0, 100.0);
INSERT INTO marts.attribution_by_channel VALUES
    ('first_touch:paid_search:2024-05', 'first_touch', 'paid_search', '2024-05-01', 1.0, 400.0, 1),
    ('first_touch:direct:2024-05', 'first_touch', 'direct', '2024-05-01', 0.0, 0.0, 0),
    ('linear:direct:2024-05', 'linear', 'direct', '2024-05-01', 0.5, 200.0, 1);
"""

CPD = "marts.channel_performance_daily"
FBC = "marts.funnel_by_channel"
LSH = "marts.lead_stage_history"
LEADS = "marts.leads"
APD = "marts.ad_performance_daily"
REC = "marts.conversion_reconciliation"
KPI = "marts.kpi_attainment"
CBR = "marts.channel_budget_recommendation"
CAMP = "marts.campaign_budget_recommendation"
CONTENT = "marts.content_performance"
ATT = "marts.attribution_touches"
ABC = "marts.attribution_by_channel"
EMAIL = "marts.email_performance"
MART_SUITES = sorted(
    [
        CPD,
        FBC,
        LSH,
        LEADS,
        APD,
        REC,
        KPI,
        CBR,
        CAMP,
        CONTENT,
        EMAIL,
        "marts.social_engagement",
        "marts.social_post_engagement",
        ATT,
        ABC,
    ]
)  # the gate runs suites in name order
# Reconciliation suites that read raw or staging tables, which the marts-only test database lacks.
NEEDS_RAW = ["reconcile.google_ads_spend", "reconcile.leads", "reconcile.meta_ads_spend", "reconcile.won_revenue"]
ROWS_PER_TABLE = {
    "channel_performance_daily": 4,
    "funnel_by_channel": 3,
    "lead_stage_history": 3,
    "leads": 3,
    "ad_performance_daily": 3,
    "conversion_reconciliation": 3,
    "kpi_attainment": 2,
    "channel_budget_recommendation": 3,
    "campaign_budget_recommendation": 3,
    "content_performance": 3,
    "email_performance": 2,
    "social_engagement": 3,
    "social_post_engagement": 2,
    "attribution_touches": 3,
    "attribution_by_channel": 3,
}


def build_marts(path: Path, *defects: str) -> Path:
    with duckdb.connect(str(path)) as connection:
        connection.execute(MARTS_DDL + GOOD_ROWS + ";".join(defects))
    return path


@pytest.fixture(scope="module", autouse=True)
def gate_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every gate run of this module writes its results under a temp data dir."""
    with pytest.MonkeyPatch.context() as mp:
        data = tmp_path_factory.mktemp("gate-data")
        mp.setenv("FUNNELHOUSE_DATA_DIR", str(data))
        yield data / "gate"


@pytest.fixture(scope="module")
def gx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's GX config, copied so validation results and Data Docs stay out of the repo."""
    target = tmp_path_factory.mktemp("gx") / "gx"
    shutil.copytree(gate.GX_DIR, target, ignore=shutil.ignore_patterns("uncommitted"))
    return target


GX_PROJECT_BEFORE = {
    p.relative_to(gate.GX_DIR): p.read_bytes() for p in gate.GX_DIR.rglob("*") if p.is_file() and "uncommitted" not in p.parts
}


@pytest.fixture(scope="module")
def good_run(tmp_path_factory, gx_dir):
    database = build_marts(tmp_path_factory.mktemp("good") / "build.duckdb")
    return database, run_gate(str(database), gx_dir=gx_dir, run_id="good-run")


def test_gate_passes_good_marts_and_records_the_run(good_run, gx_dir):
    # GIVEN valid marts  WHEN the gate runs (fixture)
    database, result = good_run

    # THEN every mart suite and the reconciliation that only reads marts pass, with every
    # expectation evaluated; the reconciliations of absent raw tables are skipped, and said so
    assert result.success is True
    assert result.failing_expectations == [] and result.warning_expectations == []
    assert [s.suite for s in result.suites] == [*MART_SUITES, "reconcile.channel_spend"]
    assert all(s.evaluated > 0 and s.failed == 0 for s in result.suites)
    assert {s.table: s.row_count for s in result.suites if s.suite.startswith("marts.")} == ROWS_PER_TABLE
    assert sorted(result.skipped) == NEEDS_RAW
    # AND Data Docs were built into the run's own folder under the data dir, none into the GX project
    run_dirs = sorted(p for p in (Path(os.environ["FUNNELHOUSE_DATA_DIR"]) / "gate").iterdir())
    assert result.data_docs_url in [(d / "data_docs/index.html").as_uri() for d in run_dirs]
    assert Path(result.data_docs_url.removeprefix("file://")).is_file()
    assert not (gx_dir / "uncommitted").exists() and not (gate.GX_DIR / "uncommitted").exists()
    # AND the GX project it was given is left as it was (GX re-saves what a checkpoint names: into the run's copy)
    assert {p.relative_to(gx_dir): p.read_bytes() for p in gx_dir.rglob("*") if p.is_file()} == GX_PROJECT_BEFORE
    # AND the run is stored, in the database and as GX validation results under its run id
    with duckdb.connect(str(database), read_only=True) as connection:
        assert connection.execute(
            "SELECT run_id, phase, success, errors, warnings, skipped FROM _funnelhouse.gate_runs"
        ).fetchall() == [("good-run", "marts", True, 0, 0, NEEDS_RAW)]
    assert any(list((d / "validations").rglob("good-run")) for d in run_dirs)


def test_gate_keeps_the_newest_runs_data_docs_only(tmp_path, gx_dir):
    # GIVEN good marts and a results folder that keeps two runs
    database = build_marts(tmp_path / "build.duckdb")
    results = tmp_path / "gate"

    # WHEN the gate runs three times
    urls = [run_gate(str(database), gx_dir=gx_dir, results_dir=results, keep=2).data_docs_url for _ in range(3)]

    # THEN only the last two runs' folders remain, each with its Data Docs and validation results
    runs = sorted(p for p in results.iterdir())
    assert [(d / "data_docs/index.html").as_uri() for d in runs] == urls[1:]
    assert all(any((d / "validations").rglob("*.json")) for d in runs)


def test_gate_leaves_database_free_for_a_writer_in_another_process(good_run):
    # GIVEN the gate has returned (fixture)
    database, _ = good_run

    # WHEN another process opens the file for writing, as the publisher will
    opened = subprocess.run(
        [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()", str(database)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    # THEN no lock is left behind
    assert opened.returncode == 0, opened.stderr


def test_gate_fails_and_names_planted_defects_with_their_values(tmp_path, gx_dir):
    # GIVEN marts with a duplicated row (its spend counted twice), a negative spend, more
    # engaged sessions than sessions
    database = build_marts(
        tmp_path / "build.duckdb",
        f"INSERT INTO {CPD} SELECT * FROM {CPD} WHERE channel = 'paid_search'",
        f"UPDATE {APD} SET spend_in_reporting_currency = -5.0, spend_in_account_currency = -5.0 WHERE ad_account_id = '1002'",
        f"UPDATE {CPD} SET engaged_sessions = 60 WHERE channel = 'direct'",
    )

    # WHEN the gate runs
    result = run_gate(str(database), gx_dir=gx_dir)

    # THEN it fails on exactly those expectations, and the untouched suites pass
    assert result.success is False
    assert sorted(result.failing_expectations) == [
        f"{APD}: expect_column_values_to_be_between(column=spend_in_account_currency)",
        f"{APD}: expect_column_values_to_be_between(column=spend_in_reporting_currency)",
        f"{CPD}: expect_column_pair_values_a_to_be_greater_than_b(column_A=sessions, column_B=engaged_sessions)",
        "reconcile.channel_spend: unexpected_rows_expectation(spend_matches_ad_performance)",
    ]
    assert [s.suite for s in result.suites if not s.success] == [APD, CPD, "reconcile.channel_spend"]
    assert result.suite(CPD).row_count == 5
    # AND each failure says what was found: the failing values
    spend = next(f for f in result.suite(APD).failures if "reporting" in f.expectation)
    assert spend.detail == "1 unexpected rows, e.g. [-5.0]" and spend.severity == "error"
    (reconciliation,) = result.suite("reconcile.channel_spend").failures
    assert reconciliation.detail == (
        "2 unexpected rows, e.g. date_day=2024-05-01, platforms=google_ads, ad_spend=100, channel_spend=200;"
        " date_day=2024-05-02, platforms=meta_ads, ad_spend=34.2, channel_spend=50"
    )
    assert (
        "reconcile.channel_spend: unexpected_rows_expectation(spend_matches_ad_performance): 2 unexpected rows"
        in result.findings("error")[-1]
    )


def test_gate_names_defects_in_the_lead_ad_reconciliation_goal_and_budget_marts(tmp_path, gx_dir):
    # GIVEN ad spend that could not be converted (a currency without a rate), platform
    # conversions on a day the platform did not report, more elapsed days than the period
    # has, paid budget recommended to a channel without spend, a page left more often than it
    # was viewed, a week in progress compared with the last, and a negative won revenue
    database = build_marts(
        tmp_path / "build.duckdb",
        f"UPDATE {LEADS} SET won_revenue = -1.0 WHERE contact_id = 'c1'",
        f"UPDATE {REC} SET platform_conversions = 2.0 WHERE NOT has_platform_data",
        f"UPDATE {KPI} SET elapsed_days = 40 WHERE goal_id = 'june_leads'",
        f"UPDATE {CBR} SET recommended_budget_share = 0.25 WHERE channel = 'email'",
        f"UPDATE {CONTENT} SET exits = 1000 WHERE page_path = '/pricing'",
        f"UPDATE {CONTENT} SET page_views_wow_change = -0.9 WHERE NOT is_complete_week",
    )

    # WHEN the gate runs
    result = run_gate(str(database), gx_dir=gx_dir)

    # THEN each suite names its defect, and the untouched suites pass
    assert result.success is False
    assert sorted(result.failing_expectations) == [
        f"{CBR}: expect_column_values_to_be_between(column=recommended_budget_share, where spend == 0)",
        f"{CONTENT}: expect_column_pair_values_a_to_be_greater_than_b(column_A=page_views, column_B=exits)",
        f"{CONTENT}: expect_column_values_to_be_null(column=page_views_wow_change, where is_complete_week == False)",
        f"{REC}: expect_column_values_to_be_between(column=platform_conversions, where has_platform_data == False)",
        f"{KPI}: expect_column_pair_values_a_to_be_greater_than_b(column_A=period_days, column_B=elapsed_days)",
        f"{LEADS}: expect_column_values_to_be_between(column=won_revenue)",
    ]
    assert result.suite(CAMP).success and result.suite(CPD).success


def test_a_warning_is_reported_with_its_values_and_does_not_fail_the_gate(tmp_path, gx_dir):
    # GIVEN a copy of the project whose row-count rule on content_performance is a warning
    # (a severity an operator may choose for a rule that should not stop the night's publish)
    project = tmp_path / "gx"
    shutil.copytree(gx_dir, project, ignore=shutil.ignore_patterns("uncommitted"))
    suite_file = project / "expectations/marts/content_performance.json"
    suite = json.loads(suite_file.read_text())
    rule = next(e for e in suite["expectations"] if e["type"] == "expect_column_pair_values_a_to_be_greater_than_b")
    rule["severity"] = "warning"
    suite_file.write_text(json.dumps(suite))
    database = build_marts(tmp_path / "build.duckdb", f"UPDATE {CONTENT} SET exits = 1000 WHERE page_path = '/pricing'")

    # WHEN the gate runs
    result = run_gate(str(database), gx_dir=project, run_id="warned")

    # THEN it passes, and reports the warning with the failing values
    assert result.success is True and result.failing_expectations == []
    assert result.findings("warning") == [
        f"{CONTENT}: expect_column_pair_values_a_to_be_greater_than_b(column_A=page_views, column_B=exits):"
        " 1 unexpected rows, e.g. [(900, 1000)]"
    ]
    assert result.suite(CONTENT).summary_line().startswith(f"WARN {CONTENT}:")
    with duckdb.connect(str(database), read_only=True) as connection:
        assert connection.execute("SELECT success, errors, warnings FROM _funnelhouse.gate_runs").fetchall() == [(True, 0, 1)]
        assert connection.execute("SELECT suite, severity FROM _funnelhouse.gate_findings").fetchall() == [(CONTENT, "warning")]


def test_cli_prints_one_line_per_suite_and_exits_1_on_stage_history_defects(tmp_path, gx_dir, capsys):
    # GIVEN a current stage that has an exit time, and a negative time in stage
    database = build_marts(
        tmp_path / "build.duckdb",
        f"UPDATE {LSH} SET exited_at = '2024-05-04 00:00' WHERE contact_id = 'c2'",
        f"UPDATE {LSH} SET days_in_stage = -1.0 WHERE lifecycle_stage = 'lead'",
    )

    # WHEN the gate runs from the command line
    exit_code = gate.main(["--gx-dir", str(gx_dir), str(database)])

    # THEN it exits 1 and prints one summary line per suite, the failing one naming what failed
    assert exit_code == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        f"{'FAIL' if suite == LSH else 'PASS'} {suite}" for suite in [*MART_SUITES, "reconcile.channel_spend"]
    ]
    (failing,) = [line for line in lines if line.startswith("FAIL")]
    assert failing.endswith(
        "3 rows; failed: expect_column_values_to_be_between(column=days_in_stage), "
        "expect_column_values_to_be_null(column=exited_at, where is_current == True)"
    )


def test_dbt_owns_keys_nulls_and_accepted_values_and_gx_does_not_repeat_them():
    """One owner per rule: the mart suites hold no expectation that a dbt test already makes."""
    import yaml

    dbt_owned = {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_unique",
        "expect_table_columns_to_match_set",
        "expect_compound_columns_to_be_unique",
        "expect_column_values_to_be_in_set",
    }
    repeated = [
        (path.stem, e["type"])
        for path in sorted((gate.GX_DIR / "expectations/marts").glob("*.json"))
        for e in json.loads(path.read_text())["expectations"]
        if e["type"] in dbt_owned
    ]
    assert repeated == []
    # and the rules GX gave up are dbt tests now (one of each kind, spot-checked)
    models = {
        m["name"]: m
        for f in (gate.GX_DIR.parent.parent / "dbt_project/models/marts").rglob("*.yml")
        for m in yaml.safe_load(f.read_text()).get("models") or []
    }
    columns = {c["name"]: c.get("data_tests") or [] for c in models["funnel_by_channel"]["columns"]}
    assert {"not_null": {"config": {"where": "leads > 0"}}} in columns["lead_to_mql_rate"]
    goal_columns = {c["name"]: c.get("data_tests") or [] for c in models["kpi_attainment"]["columns"]}
    assert any("accepted_values" in t for t in goal_columns["metric"] if isinstance(t, dict))
    # the channel list lives once (seeds/channels.csv), read by dbt's is_a_channel test
    assert {"is_a_channel": {"arguments": {"also": ["all"]}}} in goal_columns["channel"]


def test_generated_suites_are_the_committed_ones(tmp_path):
    """expectations/suites.py writes the raw, volume, freshness and reconciliation suites:
    the committed files are exactly what it writes (run `python -m expectations.suites`)."""
    from expectations import suites

    copy = tmp_path / "gx"
    shutil.copytree(gate.GX_DIR, copy, ignore=shutil.ignore_patterns("uncommitted"))
    written = suites.write(copy)
    changed = [str(p.relative_to(copy)) for p in written if p.read_bytes() != (gate.GX_DIR / p.relative_to(copy)).read_bytes()]
    assert changed == [], "run `python -m expectations.suites` and commit the result"
    # every unexpected-rows query reads its batch (GX warns on stdout about one that does not)
    assert all(
        "{batch}" in e.kwargs["unexpected_rows_query"]
        for suite in suites.generated_suites()
        for e in suite.expectations
        if e.type == "unexpected_rows_expectation"
    )
    # every raw table the loader can create has its suite
    from extractors.sources import registry

    assert {f"raw_{s.name}.{st.name}" for s in registry().values() for st in s.streams} == {
        p.stem for p in (copy / "validation_definitions").glob("raw_*.json")
    }


def test_without_the_duckdb_fix_gx_loses_query_results(tmp_path, gx_dir, monkeypatch):
    """Guards expectations/gx_duckdb.py: the upstream bug it works around is still there.

    If this test starts failing after a Great Expectations upgrade, GX has fixed the
    bug (issues 11579/10738): delete gx_duckdb.py and this test. Its partner is
    test_gate_passes_good_marts_and_records_the_run, which fails when the fix is removed
    while the bug is still there.
    """
    from great_expectations.execution_engine import sqlalchemy_execution_engine

    from expectations import gx_duckdb

    # GIVEN valid marts, and GX without the persisted DuckDB connection
    database = build_marts(tmp_path / "build.duckdb")
    upstream_dialects = tuple(d for d in sqlalchemy_execution_engine._PERSISTED_CONNECTION_DIALECTS if d is not gx_duckdb.DUCKDB)
    monkeypatch.setattr(sqlalchemy_execution_engine, "_PERSISTED_CONNECTION_DIALECTS", upstream_dialects)
    monkeypatch.setattr(gx_duckdb, "keep_duckdb_connection_open", lambda: None)

    # WHEN the gate runs
    result = run_gate(str(database), gx_dir=gx_dir)

    # THEN GX loses the rows of its metric queries and fails valid data
    assert not gx_duckdb.duckdb_connection_is_kept_open()
    assert result.success is False
    row_count = next(f for f in result.suite(CPD).failures if f.expectation.startswith("expect_table_row_count"))
    assert row_count.detail == "error: list index out of range"
