"""Email (Mailchimp) end to end: the email_performance mart against the simulated business.

GIVEN the sandbox's 90-day business (seed 7: two audiences, 17 campaigns) and the real DAG
run twice over the same interval (the session's `pipeline_runs`, shared with test_end_to_end),
WHEN the published email_performance mart is read,
THEN every campaign shows what Mailchimp reports for it (sent, opens, clicks, bounces,
unsubscribes, Mailchimp's own rates) and what it drove (GA4 sessions, HubSpot contacts, leads,
MQLs, customers, won revenue in USD) exactly as the world says; the report counts agree with
the email activity landed one record per action; and the gate names defects in the mart.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.timeout(1200)

MAILCHIMP_TABLES = (
    "raw_mailchimp.campaigns",
    "raw_mailchimp.reports",
    "raw_mailchimp.email_activity",
    "raw_mailchimp.list_members",
)
REPORT_COLUMNS = (
    "emails_sent",
    "opens",
    "unique_opens",
    "clicks",
    "unique_clicks",
    "unique_subscriber_clicks",
    "hard_bounces",
    "soft_bounces",
    "unsubscribes",
)


@pytest.fixture(scope="module")
def mart_rows(marts) -> dict[str, dict]:
    """email_performance keyed by tracking name (the utm_campaign the world keys campaigns by)."""
    cursor = marts.execute("SELECT * FROM marts.email_performance")
    names = [d[0] for d in cursor.description]
    return {row["tracking_name"]: row for row in (dict(zip(names, r, strict=True)) for r in cursor.fetchall())}


def test_the_dag_extracts_and_loads_mailchimp_and_a_second_run_changes_nothing(pipeline_runs, world):
    truth = world.truth()
    first, second = pipeline_runs["first"]["raw"], pipeline_runs["second"]["raw"]
    actions = sum(e["opens"] + e["clicks"] + e["hard_bounces"] + e["soft_bounces"] for e in truth.email_by_campaign.values())
    members = sum(sum(by_status.values()) for by_status in truth.list_members_by_status.values())
    assert {t: first[t][0] for t in MAILCHIMP_TABLES} == {
        "raw_mailchimp.campaigns": len(truth.email_campaign_ids),
        "raw_mailchimp.reports": len(truth.email_campaign_ids),
        "raw_mailchimp.email_activity": actions,
        "raw_mailchimp.list_members": members,
    }
    assert (len(truth.email_campaign_ids), actions, members) == (17, 43286, 7485)
    # the second run re-reads the last 30 days of campaigns and the members changed since its cursor: same rows
    assert {t: second[t] for t in MAILCHIMP_TABLES} == {t: first[t] for t in MAILCHIMP_TABLES}
    assert (
        pipeline_runs["second"]["marts"]["marts.email_performance"] == pipeline_runs["first"]["marts"]["marts.email_performance"]
    )


def test_one_row_per_sent_campaign_with_its_settings(mart_rows, world):
    truth = world.truth()
    campaigns = {c.tracking_name: c for c in world.mailchimp.sent_campaigns(truth.as_of)}
    assert set(mart_rows) == set(campaigns) == set(truth.email_campaign_ids)
    for name, c in campaigns.items():
        row = mart_rows[name]
        assert (row["campaign_id"], row["campaign_title"], row["subject_line"], row["list_id"], row["list_name"]) == (
            c.campaign_id,
            c.title,
            c.subject_line,
            c.audience.list_id,
            c.audience.name,
        ), name
        # naive UTC in the warehouse
        assert row["sent_at"] == c.send_time.replace(tzinfo=None) and row["send_date"] == c.send_time.date(), name
        assert row["has_report"] is True, name


def test_report_counts_and_rates_are_mailchimps(mart_rows, world):
    truth = world.truth()
    for name, report in truth.email_by_campaign.items():
        row = mart_rows[name]
        expected = {**{k: report[k] for k in REPORT_COLUMNS if k != "unsubscribes"}, "unsubscribes": report["unsubscribed"]}
        assert {k: row[k] for k in REPORT_COLUMNS} == expected, name
        bounces = report["hard_bounces"] + report["soft_bounces"]
        delivered = report["emails_sent"] - bounces
        assert (row["bounces"], row["emails_delivered"]) == (bounces, delivered), name
        # Mailchimp's open and click rates are over delivered emails: the mart's equal them
        assert row["open_rate"] == pytest.approx(report["open_rate"], abs=1e-12), name
        assert row["click_rate"] == pytest.approx(report["click_rate"], abs=1e-12), name
        assert row["click_to_open_rate"] == pytest.approx(report["unique_subscriber_clicks"] / report["unique_opens"], abs=1e-12)
        assert row["unsubscribe_rate"] == pytest.approx(report["unsubscribed"] / delivered, abs=1e-12), name
        assert row["bounce_rate"] == pytest.approx(bounces / report["emails_sent"], abs=1e-12), name
    assert sum(r["emails_sent"] for r in mart_rows.values()) == 62635  # the README's 62,635 emails


def test_sessions_contacts_and_revenue_each_campaign_drove_match_the_world(mart_rows, world):
    truth = world.truth()
    funnel, stages = truth.email_funnel_by_campaign, truth.email_contact_stages_by_campaign
    assert set(funnel) == set(stages) == set(mart_rows)  # every campaign drove sessions and contacts
    for name, row in mart_rows.items():
        assert row["sessions"] == funnel[name]["sessions"], name
        assert {k: row[k] for k in ("contacts", "leads", "mqls", "customers")} == stages[name], name
        assert (row["leads"], row["customers"]) == (funnel[name]["leads"], funnel[name]["customers"]), name
        assert row["won_revenue"] == funnel[name]["revenue_usd"], name  # exact: DECIMAL money
        # a tracked click is a session, and some sessions become contacts
        assert row["clicks"] >= row["sessions"] >= row["contacts"] > 0, name
    assert sum(r["customers"] for r in mart_rows.values()) == truth.customers_by_channel["email"]
    assert sum(r["won_revenue"] for r in mart_rows.values()) == truth.revenue_by_channel_usd["email"]


def test_email_campaigns_add_up_to_the_email_channel_of_the_other_marts(marts, world):
    """Every email session and lead belongs to a campaign: the campaign mart and the channel marts agree."""
    truth = world.truth()
    per_campaign = marts.execute(
        "SELECT sum(sessions), sum(leads), sum(mqls), sum(customers) FROM marts.email_performance"
    ).fetchone()
    per_channel = marts.execute("""SELECT sum(sessions), sum(leads), sum(mqls), sum(customers)
                                   FROM marts.channel_performance_daily WHERE channel = 'email'""").fetchone()
    assert per_campaign == per_channel
    assert per_campaign[1:] == (
        truth.leads_by_channel["email"],
        truth.mqls_by_channel["email"],
        truth.customers_by_channel["email"],
    )


def test_report_counts_agree_with_the_email_activity(pipeline_runs, mart_rows):
    """The mart keeps the platform's report; the activity landed one record per action recounts it."""
    with duckdb.connect(str(pipeline_runs["warehouse"]), read_only=True) as con:
        recount = {
            c: rest
            for c, *rest in con.execute("""
            SELECT campaign_id,
                   count(*) FILTER (WHERE action = 'open'),
                   count(DISTINCT member_id) FILTER (WHERE action = 'open'),
                   count(*) FILTER (WHERE action = 'click'),
                   count(DISTINCT (member_id, url)) FILTER (WHERE action = 'click'),
                   count(DISTINCT member_id) FILTER (WHERE action = 'click'),
                   count(*) FILTER (WHERE action = 'bounce' AND bounce_type = 'hard'),
                   count(*) FILTER (WHERE action = 'bounce' AND bounce_type = 'soft')
            FROM staging.stg_mailchimp__email_activity GROUP BY 1""").fetchall()
        }
        # every action is in UTC and inside the week after its campaign's send
        outside = con.execute("""SELECT count(*) FROM staging.stg_mailchimp__email_activity AS a
                                 JOIN staging.stg_mailchimp__campaigns AS c USING (campaign_id)
                                 WHERE a.occurred_at < c.sent_at OR a.occurred_at >= c.sent_at + INTERVAL 7 DAY""").fetchone()[0]
    assert outside == 0
    report = {
        row["campaign_id"]: [
            row[k]
            for k in (
                "opens",
                "unique_opens",
                "clicks",
                "unique_clicks",
                "unique_subscriber_clicks",
                "hard_bounces",
                "soft_bounces",
            )
        ]
        for row in mart_rows.values()
    }
    assert recount == report


# ---- the gate on the mart ----------------------------------------------------------


@pytest.fixture(scope="module")
def gx_dir(tmp_path_factory) -> Path:
    from expectations import gate

    target = tmp_path_factory.mktemp("gx") / "gx"
    shutil.copytree(gate.GX_DIR, target, ignore=shutil.ignore_patterns("uncommitted"))
    return target


def test_gate_names_defects_in_email_performance(tmp_path, gx_dir):
    from expectations.gate import run_gate
    from tests.gate.test_gate import EMAIL, build_marts

    # GIVEN more unique opens than delivered emails, more clicking recipients than opening
    # ones, and an open rate above 1 (a campaign listed twice is dbt's unique test)
    database = build_marts(
        tmp_path / "build.duckdb",
        f"UPDATE {EMAIL} SET unique_opens = 900, opens = 900, open_rate = 1.125 WHERE campaign_id = 'c1'",
        f"UPDATE {EMAIL} SET unique_subscriber_clicks = 5, unique_clicks = 5, clicks = 5 WHERE campaign_id = 'c2'",
    )

    # WHEN the gate runs
    result = run_gate(str(database), gx_dir=gx_dir, results_dir=tmp_path / "gate")

    # THEN it fails on exactly those, and every other suite passes
    assert result.success is False
    assert sorted(result.failing_expectations) == [
        f"{EMAIL}: expect_column_pair_values_a_to_be_greater_than_b(column_A=emails_delivered, column_B=unique_opens)",
        f"{EMAIL}: expect_column_pair_values_a_to_be_greater_than_b(column_A=unique_opens, column_B=unique_subscriber_clicks)",
        f"{EMAIL}: expect_column_values_to_be_between(column=open_rate)",
    ]
    assert result.suite(EMAIL).row_count == 2
