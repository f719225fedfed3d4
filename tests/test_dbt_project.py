"""dbt project end to end on a hand-written raw warehouse.

GIVEN a DuckDB file whose raw_hubspot / raw_meta_ads tables hold a dozen records in
the exact shapes the extractors load (the API record in `_record`),
WHEN `dbt build` runs (seeds, models, data tests, unit tests),
THEN the marts hold the numbers worked out by hand in each test.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
# In a subprocess, as Airflow runs it: dbt-duckdb keeps the warehouse open in its process.
DBT = Path(sys.executable).with_name("dbt")

LIFECYCLE_DATE_PROPERTIES = {
    "subscriber": "hs_lifecyclestage_subscriber_date",
    "lead": "hs_lifecyclestage_lead_date",
    "mql": "hs_lifecyclestage_marketingqualifiedlead_date",
    "sql": "hs_lifecyclestage_salesqualifiedlead_date",
    "opportunity": "hs_lifecyclestage_opportunity_date",
    "customer": "hs_lifecyclestage_customer_date",
    "evangelist": "hs_lifecyclestage_evangelist_date",
    "other": "hs_lifecyclestage_other_date",
}
HUBSPOT_STAGE_VALUES = {"mql": "marketingqualifiedlead", "sql": "salesqualifiedlead"}


def contact(contact_id, created, stages, utm=(None, None, None), hs_source=None, archived=False):
    """A HubSpot CRM v3 contact record; stages maps friendly stage -> ISO timestamp."""
    utm_source, utm_medium, utm_campaign = utm
    current_stage = max(stages, key=lambda s: list(LIFECYCLE_DATE_PROPERTIES).index(s))
    properties = {
        "email": f"{contact_id}@example.com",
        "firstname": "Ada",
        "lastname": "Lovelace",
        "createdate": created,
        "lastmodifieddate": max(stages.values()),
        "lifecyclestage": HUBSPOT_STAGE_VALUES.get(current_stage, current_stage),
        **{prop: stages.get(stage) for stage, prop in LIFECYCLE_DATE_PROPERTIES.items()},
        "hs_analytics_source": hs_source,
        "hs_analytics_source_data_1": None,
        "hs_analytics_source_data_2": None,
        "utm_source": utm_source,
        "utm_medium": utm_medium,
        "utm_campaign": utm_campaign,
        "utm_content": None,
        "hs_object_id": contact_id,
    }
    record = {
        "id": contact_id,
        "properties": properties,
        "createdAt": created,
        "updatedAt": max(stages.values()),
        "archived": archived,
    }
    if archived:
        record["archivedAt"] = "2026-06-30T00:00:00.000Z"
    return record


def deal(deal_id, stage, amount, currency, closed, contact_ids, archived=False):
    """A HubSpot CRM v3 deal record listed with associations=contacts."""
    record = {
        "id": deal_id,
        "properties": {
            "dealname": f"Deal {deal_id}",
            "amount": amount,
            "dealstage": stage,
            "pipeline": "default",
            "closedate": closed,
            "createdate": "2026-06-01T00:00:00.000Z",
            "hs_lastmodifieddate": closed,
            "hs_is_closed_won": "true" if stage == "closedwon" else "false",
            "deal_currency_code": currency,
            "hs_object_id": deal_id,
        },
        "createdAt": "2026-06-01T00:00:00.000Z",
        "updatedAt": closed,
        "archived": archived,
    }
    if contact_ids:
        record["associations"] = {
            "contacts": {"results": [{"id": c, "type": "deal_to_contact"} for c in contact_ids]}
        }
    return record


def insight(account_id, currency, day, ad_id, campaign, spend, impressions, clicks, leads=None):
    """A Meta ad-level daily insights row; numbers are strings, actions may be absent."""
    record = {
        "account_id": account_id,
        "account_currency": currency,
        "campaign_id": f"c-{campaign}",
        "campaign_name": campaign,
        "adset_id": f"as-{ad_id}",
        "adset_name": f"Ad set {ad_id}",
        "ad_id": ad_id,
        "ad_name": f"Ad {ad_id}",
        "spend": spend,
        "impressions": impressions,
        "clicks": clicks,
        "date_start": day,
        "date_stop": day,
    }
    if leads is not None:
        record["actions"] = [
            {"action_type": "link_click", "value": clicks},
            {"action_type": "lead", "value": leads},
        ]
        record["action_values"] = [{"action_type": "lead", "value": "0"}]
    return record


FB = ("facebook", "paid_social", "Summer Sale")
CONTACTS = [
    contact("1000001", "2026-06-01T10:15:00.000Z", utm=FB, stages={
        "lead": "2026-06-01T10:15:00.000Z", "mql": "2026-06-03T09:00:00.000Z",
        "sql": "2026-06-05T12:00:00.000Z", "customer": "2026-06-10T08:00:00.000Z"}),
    # upper-case tags land on the same row as their lower-case twins
    contact("1000002", "2026-06-01T15:00:00.000Z", utm=("Facebook", "PAID_SOCIAL", "Summer Sale"), stages={
        "lead": "2026-06-01T15:00:00.000Z", "mql": "2026-06-02T15:00:00.000Z"}),
    contact("1000003", "2026-06-02T08:00:00.000Z", utm=("google", "cpc", "Brand"),
            stages={"lead": "2026-06-02T08:00:00.000Z"}),
    # '' means cleared: no campaign
    contact("1000004", "2026-06-02T09:00:00.000Z", utm=("bing", "cpc", ""),
            stages={"lead": "2026-06-02T09:00:00.000Z"}),
    # no UTM tags: HubSpot's original source decides; created in May, lead in June
    contact("1000005", "2026-05-20T10:00:00.000Z", utm=("", "", ""), hs_source="ORGANIC_SEARCH", stages={
        "subscriber": "2026-05-20T10:00:00.000Z", "lead": "2026-06-02T11:00:00.000Z"}),
    contact("1000006", "2026-06-03T10:00:00.000Z", utm=("tiktok", "video", "Launch"),
            stages={"lead": "2026-06-03T10:00:00.000Z"}),
    contact("1000007", "2026-06-03T11:00:00.000Z",
            stages={"subscriber": "2026-06-03T11:00:00.000Z"}),
    # archived: in no mart
    contact("1000008", "2026-06-01T12:00:00.000Z", utm=FB, archived=True,
            stages={"lead": "2026-06-01T12:00:00.000Z"}),
    contact("999", "2026-06-04T12:00:00.000Z", utm=("instagram", "social", "Insta organic"), stages={
        "lead": "2026-06-04T12:00:00.000Z", "customer": "2026-06-20T12:00:00.000Z"}),
    # only a medium: '*' rows apply; lead and MQL at the same instant
    contact("1000010", "2026-06-05T10:00:00.000Z", utm=(None, "email", None), stages={
        "lead": "2026-06-05T10:00:00.000Z", "mql": "2026-06-05T10:00:00.000Z"}),
    contact("1000011", "2026-06-05T11:00:00.000Z", hs_source="DIRECT_TRAFFIC",
            stages={"lead": "2026-06-05T11:00:00.000Z"}),
]
DEALS = [
    deal("2000001", "closedwon", "1000.00", "EUR", "2026-06-10T08:00:00.000Z", ["1000001"]),
    # lowest id is 999 (numerically), not '1000003' (as text)
    deal("2000002", "closedwon", "500", "GBP", "2026-06-20T12:00:00.000Z", ["1000003", "999"]),
    deal("2000003", "closedlost", "300", "USD", "2026-06-11T00:00:00.000Z", ["1000004"]),
    deal("2000004", "closedwon", "700", "USD", "2026-06-11T00:00:00.000Z", ["1000001"], archived=True),
    deal("2000005", "closedwon", "200", "USD", "2026-06-15T00:00:00.000Z", []),
    # no currency: the company currency (USD); the archived contact is skipped
    deal("2000006", "closedwon", "100", None, "2026-06-12T00:00:00.000Z", ["1000008", "1000010"]),
]
INSIGHTS = [
    insight("1001", "EUR", "2026-06-01", "a1", "Summer Sale", "100.00", "1000", "50", leads="2"),
    insight("1001", "EUR", "2026-06-01", "a2", "Summer Sale", "50.00", "500", "20"),
    insight("1001", "EUR", "2026-06-02", "a1", "Summer Sale", "80", "800", "40"),
    insight("2002", "USD", "2026-06-03", "b1", "Retargeting", "30.5", "300", "3"),
]
AD_ACCOUNTS = [
    {"id": "act_1001", "account_id": "1001", "name": "EU", "currency": "EUR",
     "timezone_name": "Europe/Berlin", "timezone_offset_hours_utc": 1.0},
    {"id": "act_2002", "account_id": "2002", "name": "US", "currency": "USD",
     "timezone_name": "America/New_York", "timezone_offset_hours_utc": -5.0},
]


def write_raw_warehouse(path: Path) -> None:
    loaded_at = dt.datetime.now(dt.timezone.utc)
    con = duckdb.connect(str(path))
    con.execute("create schema raw_hubspot")
    con.execute("create schema raw_meta_ads")
    for table, pk_sql in [
        ("raw_hubspot.contacts", "id varchar primary key"),
        ("raw_hubspot.deals", "id varchar primary key"),
        ("raw_meta_ads.ad_accounts", "id varchar primary key"),
    ]:
        con.execute(
            f"create table {table} (_account_id varchar, {pk_sql}, _record json,"
            " _loaded_at timestamptz, _batch_id varchar)"
        )
    con.execute(
        "create table raw_meta_ads.insights (_account_id varchar, ad_id varchar, date_start date,"
        " _record json, _loaded_at timestamptz, _batch_id varchar,"
        " primary key (_account_id, ad_id, date_start))"
    )
    rows = [("raw_hubspot.contacts", "portal-1", r["id"], r) for r in CONTACTS]
    rows += [("raw_hubspot.deals", "portal-1", r["id"], r) for r in DEALS]
    rows += [("raw_meta_ads.ad_accounts", r["id"], r["id"], r) for r in AD_ACCOUNTS]
    for table, account_id, pk, record in rows:
        con.execute(f"insert into {table} values (?, ?, ?, ?, 'batch-1')",
                    [account_id, pk, json.dumps(record), loaded_at])
    for r in INSIGHTS:
        con.execute("insert into raw_meta_ads.insights values (?, ?, ?, ?, ?, 'batch-1')",
                    [f"act_{r['account_id']}", r["ad_id"], r["date_start"], json.dumps(r), loaded_at])
    con.close()


def run_dbt(*args: str, workdir: Path, warehouse: Path) -> None:
    completed = subprocess.run(
        [
            str(DBT), *args,
            "--project-dir", str(PROJECT_DIR),
            "--profiles-dir", str(PROJECT_DIR),
            "--target-path", str(workdir / "target"),
            "--log-path", str(workdir / "logs"),
        ],
        env={**os.environ, "FUNNELHOUSE_WAREHOUSE": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-5000:] + completed.stderr[-2000:]
    return completed.stdout


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("dbt")
    path = workdir / "warehouse.duckdb"
    write_raw_warehouse(path)
    build_output = run_dbt("build", workdir=workdir, warehouse=path)
    return {"path": path, "workdir": workdir, "build_output": build_output}


def query(warehouse, sql):
    con = duckdb.connect(str(warehouse["path"]), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


D = dt.date


def test_channel_performance_daily_matches_hand_worked_numbers(warehouse):
    rows = query(warehouse, """
        select date_day, channel, source, medium, campaign, round(spend, 6), impressions, clicks,
               leads, mqls, sqls, customers, round(revenue, 6),
               round(cost_per_lead, 6), round(cac, 6), round(roas, 6)
        from marts.channel_performance_daily
        order by date_day, channel, source, campaign
    """)
    fb = ("paid_social", "facebook", "paid_social")
    assert rows == [
        # spend 100 + 50 EUR at 1.08; the archived contact's lead is not counted
        (D(2026, 6, 1), *fb, "Summer Sale", 162.0, 1500, 70, 2, 0, 0, 0, 0.0, 81.0, None, 0.0),
        (D(2026, 6, 2), "organic_search", "organic_search", "(none)", "(none)", 0.0, 0, 0, 1, 0, 0, 0, 0.0, 0.0, None, None),
        (D(2026, 6, 2), "paid_search", "bing", "cpc", "(none)", 0.0, 0, 0, 1, 0, 0, 0, 0.0, 0.0, None, None),
        (D(2026, 6, 2), "paid_search", "google", "cpc", "Brand", 0.0, 0, 0, 1, 0, 0, 0, 0.0, 0.0, None, None),
        # spend and an MQL but no lead that day: cost per lead is NULL, not infinite
        (D(2026, 6, 2), *fb, "Summer Sale", 86.4, 800, 40, 0, 1, 0, 0, 0.0, None, None, 0.0),
        (D(2026, 6, 3), "other", "tiktok", "video", "Launch", 0.0, 0, 0, 1, 0, 0, 0, 0.0, 0.0, None, None),
        (D(2026, 6, 3), *fb, "Retargeting", 30.5, 300, 3, 0, 0, 0, 0, 0.0, None, None, 0.0),
        (D(2026, 6, 3), *fb, "Summer Sale", 0.0, 0, 0, 0, 1, 0, 0, 0.0, None, None, None),
        (D(2026, 6, 4), "organic_social", "instagram", "social", "Insta organic", 0.0, 0, 0, 1, 0, 0, 0, 0.0, 0.0, None, None),
        (D(2026, 6, 5), "direct", "direct_traffic", "(none)", "(none)", 0.0, 0, 0, 1, 0, 0, 0, 0.0, 0.0, None, None),
        (D(2026, 6, 5), "email", "(none)", "email", "(none)", 0.0, 0, 0, 1, 1, 0, 0, 0.0, 0.0, None, None),
        (D(2026, 6, 5), *fb, "Summer Sale", 0.0, 0, 0, 0, 0, 1, 0, 0.0, None, None, None),
        # 1000 EUR won deal
        (D(2026, 6, 10), *fb, "Summer Sale", 0.0, 0, 0, 0, 0, 0, 1, 1080.0, None, 0.0, None),
        # 100 in the company currency, credited past the archived contact
        (D(2026, 6, 12), "email", "(none)", "email", "(none)", 0.0, 0, 0, 0, 0, 0, 0, 100.0, None, None, None),
        # won deal with no contact
        (D(2026, 6, 15), "other", "(none)", "(none)", "(none)", 0.0, 0, 0, 0, 0, 0, 0, 200.0, None, None, None),
        # 500 GBP credited to contact 999, the lowest id
        (D(2026, 6, 20), "organic_social", "instagram", "social", "Insta organic", 0.0, 0, 0, 0, 0, 0, 1, 635.0, None, 0.0, None),
    ]


MART_COLUMNS = {
    "channel_performance_daily": [
        ("date_day", "DATE"), ("channel", "VARCHAR"), ("source", "VARCHAR"), ("medium", "VARCHAR"),
        ("campaign", "VARCHAR"), ("spend", "DOUBLE"), ("impressions", "BIGINT"), ("clicks", "BIGINT"),
        ("leads", "BIGINT"), ("mqls", "BIGINT"), ("sqls", "BIGINT"), ("customers", "BIGINT"),
        ("revenue", "DOUBLE"), ("cost_per_lead", "DOUBLE"), ("cac", "DOUBLE"), ("roas", "DOUBLE"),
    ],
    "funnel_by_channel": [
        ("channel", "VARCHAR"), ("cohort_month", "DATE"), ("leads", "BIGINT"), ("mqls", "BIGINT"),
        ("sqls", "BIGINT"), ("customers", "BIGINT"), ("lead_to_mql_rate", "DOUBLE"),
        ("mql_to_sql_rate", "DOUBLE"), ("sql_to_customer_rate", "DOUBLE"), ("lead_to_customer_rate", "DOUBLE"),
    ],
    "lead_stage_history": [
        ("contact_id", "VARCHAR"), ("lifecycle_stage", "VARCHAR"), ("stage_order", "INTEGER"),
        ("entered_at", "TIMESTAMP"), ("exited_at", "TIMESTAMP"), ("days_in_stage", "DOUBLE"),
        ("is_current", "BOOLEAN"),
    ],
}


@pytest.mark.parametrize("mart", sorted(MART_COLUMNS))
def test_mart_columns_are_the_published_interface(warehouse, mart):
    """The GX gate and BI read these columns: same names, types and order (extra columns only at the end)."""
    columns = query(warehouse, f"""
        select column_name, data_type from information_schema.columns
        where table_schema = 'marts' and table_name = '{mart}'
        order by ordinal_position
    """)
    assert columns[: len(MART_COLUMNS[mart])] == MART_COLUMNS[mart]


def test_funnel_by_channel_counts_each_cohorts_stages(warehouse):
    rows = query(warehouse, """
        select channel, cohort_month, leads, mqls, sqls, customers,
               lead_to_mql_rate, mql_to_sql_rate, sql_to_customer_rate, lead_to_customer_rate
        from marts.funnel_by_channel
        order by channel, cohort_month
    """)
    assert rows == [
        ("direct", D(2026, 6, 1), 1, 0, 0, 0, 0.0, None, None, 0.0),
        ("email", D(2026, 6, 1), 1, 1, 0, 0, 1.0, 0.0, None, 0.0),
        ("organic_search", D(2026, 5, 1), 1, 0, 0, 0, 0.0, None, None, 0.0),
        ("organic_social", D(2026, 6, 1), 1, 0, 0, 1, 0.0, None, None, 1.0),
        # tiktok lead and the subscriber with no source at all
        ("other", D(2026, 6, 1), 1, 0, 0, 0, 0.0, None, None, 0.0),
        ("paid_search", D(2026, 6, 1), 2, 0, 0, 0, 0.0, None, None, 0.0),
        ("paid_social", D(2026, 6, 1), 2, 2, 1, 1, 1.0, 0.5, 1.0, 0.5),
    ]


def test_lead_stage_history_sequences_stages_and_durations(warehouse):
    rows = query(warehouse, """
        select contact_id, lifecycle_stage, stage_order, entered_at, exited_at,
               round(days_in_stage, 6), is_current
        from marts.lead_stage_history
        where contact_id in ('1000001', '1000005', '1000010')
        order by contact_id, entered_at, stage_order
    """)
    t = dt.datetime
    assert rows == [
        ("1000001", "lead", 2, t(2026, 6, 1, 10, 15), t(2026, 6, 3, 9), round(1 + 22.75 / 24, 6), False),
        ("1000001", "mql", 3, t(2026, 6, 3, 9), t(2026, 6, 5, 12), 2.125, False),
        ("1000001", "sql", 4, t(2026, 6, 5, 12), t(2026, 6, 10, 8), round(4 + 20 / 24, 6), False),
        ("1000001", "customer", 6, t(2026, 6, 10, 8), None, None, True),
        ("1000005", "subscriber", 1, t(2026, 5, 20, 10), t(2026, 6, 2, 11), round(13 + 1 / 24, 6), False),
        ("1000005", "lead", 2, t(2026, 6, 2, 11), None, None, True),
        # entered together: funnel order decides, the lead stage lasted 0 days
        ("1000010", "lead", 2, t(2026, 6, 5, 10), t(2026, 6, 5, 10), 0.0, False),
        ("1000010", "mql", 3, t(2026, 6, 5, 10), None, None, True),
    ]
    totals = query(warehouse, """
        select count(*), count(distinct contact_id), count(*) filter (where is_current)
        from marts.lead_stage_history
    """)
    # 17 stage entries of the 10 live contacts; the archived one is absent
    assert totals == [(17, 10, 10)]


def test_views_still_resolve_after_the_file_is_renamed(warehouse, tmp_path):
    """DuckDB names a file's catalog after the file: views must not spell the build
    file's catalog name, or they break in a copy or a renamed file."""
    renamed = tmp_path / "published.duckdb"
    renamed.write_bytes(warehouse["path"].read_bytes())
    con = duckdb.connect(str(renamed), read_only=True)
    try:
        views = con.execute(
            "select schema_name, view_name from duckdb_views() where not internal order by all"
        ).fetchall()
        assert len(views) == 9
        for schema, view in views:
            con.execute(f'select count(*) from "{schema}"."{view}"').fetchall()
    finally:
        con.close()


def test_build_runs_the_unit_tests_without_warnings(warehouse):
    output = warehouse["build_output"]
    assert "WARN=0 ERROR=0 SKIP=0" in output
    assert "unit_test" in output


def test_docs_generate(warehouse):
    run_dbt("docs", "generate", workdir=warehouse["workdir"], warehouse=warehouse["path"])
    catalog = json.loads((warehouse["workdir"] / "target" / "catalog.json").read_text())
    assert "model.funnelhouse.channel_performance_daily" in catalog["nodes"]
