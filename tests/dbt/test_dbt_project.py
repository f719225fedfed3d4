"""dbt project end to end on a hand-written raw warehouse.

GIVEN a DuckDB file whose raw_hubspot / raw_meta_ads / raw_google_ads / raw_ga4 tables
hold a few dozen records in the exact shapes the extractors load (the API record in
`_record`),
WHEN `dbt build` runs (seeds, models, data tests, unit tests),
THEN the marts hold the numbers worked out by hand in each test.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal as M
from pathlib import Path

import duckdb
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
# In a subprocess: dbt-duckdb keeps the warehouse open in its process (the pipeline, which runs dbt
# in-process, closes it after each command: funnelhouse/steps.py).
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


def contact(contact_id, created, stages, utm=(None, None, None), hs_source=None, archived=False, utm_content=None, gclid=None):
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
        "utm_content": utm_content,
        "hs_google_click_id": gclid,
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
        record["associations"] = {"contacts": {"results": [{"id": c, "type": "deal_to_contact"} for c in contact_ids]}}
    return record


def insight(account_id, currency, day, ad_id, campaign, spend, impressions, clicks, leads=None, lead_value="0"):
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
            {"action_type": "offsite_conversion.fb_pixel_lead", "value": leads},
        ]
        # Meta repeats the lead under its pixel action type: only the 'lead' entry may count
        record["action_values"] = [
            {"action_type": "lead", "value": lead_value},
            {"action_type": "offsite_conversion.fb_pixel_lead", "value": lead_value},
        ]
    return record


FB = ("facebook", "paid_social", "Summer Sale")
CONTACTS = [
    # clicked ad a1 (utm_content): its ad account's time zone places the lead on the platform's day
    contact(
        "1000001",
        "2026-06-01T10:15:00.000Z",
        utm=FB,
        utm_content="a1",
        stages={
            "lead": "2026-06-01T10:15:00.000Z",
            "mql": "2026-06-03T09:00:00.000Z",
            "sql": "2026-06-05T12:00:00.000Z",
            "customer": "2026-06-10T08:00:00.000Z",
        },
    ),
    # upper-case tags land on the same row as their lower-case twins
    contact(
        "1000002",
        "2026-06-01T15:00:00.000Z",
        utm=("Facebook", "PAID_SOCIAL", "Summer Sale"),
        stages={"lead": "2026-06-01T15:00:00.000Z", "mql": "2026-06-02T15:00:00.000Z"},
    ),
    contact("1000003", "2026-06-02T08:00:00.000Z", utm=("google", "cpc", "Brand"), stages={"lead": "2026-06-02T08:00:00.000Z"}),
    # '' means cleared: no campaign
    contact("1000004", "2026-06-02T09:00:00.000Z", utm=("bing", "cpc", ""), stages={"lead": "2026-06-02T09:00:00.000Z"}),
    # no UTM tags: HubSpot's original source decides; created in May, lead in June
    contact(
        "1000005",
        "2026-05-20T10:00:00.000Z",
        utm=("", "", ""),
        hs_source="ORGANIC_SEARCH",
        stages={"subscriber": "2026-05-20T10:00:00.000Z", "lead": "2026-06-02T11:00:00.000Z"},
    ),
    contact(
        "1000006", "2026-06-03T10:00:00.000Z", utm=("tiktok", "video", "Launch"), stages={"lead": "2026-06-03T10:00:00.000Z"}
    ),
    contact("1000007", "2026-06-03T11:00:00.000Z", stages={"subscriber": "2026-06-03T11:00:00.000Z"}),
    # archived: in no mart
    contact("1000008", "2026-06-01T12:00:00.000Z", utm=FB, archived=True, stages={"lead": "2026-06-01T12:00:00.000Z"}),
    contact(
        "999",
        "2026-06-04T12:00:00.000Z",
        utm=("instagram", "social", "Insta organic"),
        stages={"lead": "2026-06-04T12:00:00.000Z", "customer": "2026-06-20T12:00:00.000Z"},
    ),
    # only a medium: '*' rows apply; lead and MQL at the same instant
    contact(
        "1000010",
        "2026-06-05T10:00:00.000Z",
        utm=(None, "email", None),
        stages={"lead": "2026-06-05T10:00:00.000Z", "mql": "2026-06-05T10:00:00.000Z"},
    ),
    contact("1000011", "2026-06-05T11:00:00.000Z", hs_source="DIRECT_TRAFFIC", stages={"lead": "2026-06-05T11:00:00.000Z"}),
    # an auto-tagged Google Ads click: no UTM tags, HubSpot's PAID_SEARCH and the click's gclid
    contact(
        "1000012",
        "2026-06-03T12:00:00.000Z",
        hs_source="PAID_SEARCH",
        gclid="gclid-uk-1",
        stages={"lead": "2026-06-03T12:00:00.000Z"},
    ),
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
    insight("1001", "EUR", "2026-06-01", "a1", "Summer Sale", "100.00", "1000", "50", leads="2", lead_value="30"),
    insight("1001", "EUR", "2026-06-01", "a2", "Summer Sale", "50.00", "500", "20"),
    insight("1001", "EUR", "2026-06-02", "a1", "Summer Sale", "80", "800", "40"),
    insight("2002", "USD", "2026-06-03", "b1", "Retargeting", "30.5", "300", "3"),
]
AD_ACCOUNTS = [
    {
        "id": "act_1001",
        "account_id": "1001",
        "name": "EU",
        "currency": "EUR",
        "timezone_name": "Europe/Berlin",
        "timezone_offset_hours_utc": 1.0,
    },
    {
        "id": "act_2002",
        "account_id": "2002",
        "name": "US",
        "currency": "USD",
        "timezone_name": "America/New_York",
        "timezone_offset_hours_utc": -5.0,
    },
]


def google_ads_row(
    customer,
    currency,
    time_zone,
    campaign_id,
    campaign,
    ad_group_id,
    ad_group,
    day,
    impressions,
    clicks,
    cost_micros,
    conversions,
    value,
):
    """A searchStream row of the ad_group_performance query: int64 as strings, cost in micros."""
    return {
        "customer": {"resourceName": f"customers/{customer}", "id": customer, "currencyCode": currency, "timeZone": time_zone},
        "campaign": {"resourceName": f"customers/{customer}/campaigns/{campaign_id}", "id": campaign_id, "name": campaign},
        "adGroup": {"resourceName": f"customers/{customer}/adGroups/{ad_group_id}", "id": ad_group_id, "name": ad_group},
        "metrics": {
            "impressions": impressions,
            "clicks": clicks,
            "costMicros": cost_micros,
            "conversions": conversions,
            "conversionsValue": value,
        },
        "segments": {"date": day},
    }


def ga4_session_row(
    day,
    source,
    medium,
    campaign,
    landing_page,
    sessions,
    engaged,
    avg_duration,
    page_views,
    conversions,
    google_ads_campaign=("(not set)", "(not set)"),
):
    """A GA4 sessions report row as the extractor stores it: header name -> string value. GA4 names the
    Google Ads campaign (id, name) of auto-tagged clicks and '(not set)' for every other session."""
    return {
        "date": day,
        "sessionSource": source,
        "sessionMedium": medium,
        "sessionCampaignName": campaign,
        "sessionGoogleAdsCampaignId": google_ads_campaign[0],
        "sessionGoogleAdsCampaignName": google_ads_campaign[1],
        "landingPage": landing_page,
        "sessions": str(sessions),
        "engagedSessions": str(engaged),
        "bounceRate": repr(1 - engaged / sessions),
        "averageSessionDuration": avg_duration,
        "screenPageViews": str(page_views),
        "keyEvents": str(conversions),
    }


def ga4_page_row(day, path, views, sessions, engagement_seconds):
    return {
        "date": day,
        "pagePath": path,
        "screenPageViews": str(views),
        "sessions": str(sessions),
        "userEngagementDuration": str(engagement_seconds),
    }


def ga4_export_row(day, path, page_views, exits):
    """A ga4_export record: one day and page of the BigQuery export query, values as strings."""
    return {"event_date": day, "page_path": path, "page_views": str(page_views), "exits": str(exits)}


RU_SEARCH = ("5550001", "RUB", "Europe/Moscow")
UK_SEARCH = ("5550003", "GBP", "Europe/London")
GOOGLE_ADS_CUSTOMERS = [
    {"customer": {"resourceName": f"customers/{c}", "id": c, "descriptiveName": name, "currencyCode": cur, "timeZone": tz}}
    for (c, cur, tz), name in ((RU_SEARCH, "RU Search"), (UK_SEARCH, "UK Search"))
]
GOOGLE_ADS_CAMPAIGNS = [
    {
        "campaign": {"id": "21", "name": "Brand", "status": "ENABLED", "advertisingChannelType": "SEARCH"},
        "customer": {"id": "5550001"},
    },
    {
        "campaign": {"id": "31", "name": "Competitors", "status": "ENABLED", "advertisingChannelType": "SEARCH"},
        "customer": {"id": "5550003"},
    },
]
GOOGLE_ADS_AD_GROUPS = [
    {
        "adGroup": {"id": "g211", "name": "brand exact", "status": "ENABLED"},
        "campaign": {"id": "21"},
        "customer": {"id": "5550001"},
    },
    {
        "adGroup": {"id": "g212", "name": "brand misspellings", "status": "ENABLED"},
        "campaign": {"id": "21"},
        "customer": {"id": "5550001"},
    },
    {
        "adGroup": {"id": "g311", "name": "competitor vs", "status": "PAUSED"},
        "campaign": {"id": "31"},
        "customer": {"id": "5550003"},
    },
]
GOOGLE_ADS_PERFORMANCE = [
    # 1500 RUB at 0.011 = 16.50 USD; Google counts fractional conversions
    google_ads_row(*RU_SEARCH, "21", "Brand", "g211", "brand exact", "2026-06-02", "400", "30", "1500000000", 2.0, 5000.0),
    # 250 RUB = 2.75 USD
    google_ads_row(*RU_SEARCH, "21", "Brand", "g212", "brand misspellings", "2026-06-02", "100", "5", "250000000", 0.5, 1250.0),
    # 40 GBP at 1.27 = 50.80 USD
    google_ads_row(*UK_SEARCH, "31", "Competitors", "g311", "competitor vs", "2026-06-03", "200", "10", "40000000", 0.0, 0.0),
]
GA4_PROPERTY = "420000001"
GA4_SESSIONS = [
    ga4_session_row("20260601", "facebook", "paid_social", "Summer Sale", "/lp/sale", 60, 24, "50", 90, 2),
    # GA4 keeps the case it was sent: the same row as 'facebook' downstream
    ga4_session_row("20260601", "Facebook", "paid_social", "Summer Sale", "/", 10, 6, "80", 20, 0),
    ga4_session_row("20260602", "google", "cpc", "Brand", "/", 35, 21, "100", 70, 1),
    # organic search, direct traffic and a newsletter, as GA4 names them
    ga4_session_row("20260602", "google", "organic", "(organic)", "/blog/a", 50, 30, "120", 100, 0),
    ga4_session_row("20260602", "(direct)", "(none)", "(direct)", "/", 20, 10, "60", 30, 0),
    ga4_session_row("20260609", "google", "organic", "(organic)", "/blog/a", 40, 20, "90", 60, 0),
    ga4_session_row("20260610", "newsletter", "email", "newsletter_weekly", "/blog/a", 12, 9, "150", 30, 1),
    # a Meta account tagged facebook / cpc: paid social all the same
    ga4_session_row("20260603", "facebook", "cpc", "Retargeting", "/pricing", 3, 3, "40", 3, 0),
    # auto-tagged Google Ads clicks: google / cpc, the campaign named by GA4's Google Ads dimensions
    ga4_session_row(
        "20260603", "google", "cpc", "Competitors", "/lp/switch", 10, 5, "30", 12, 1, google_ads_campaign=("31", "Competitors")
    ),
]
# Google Ads clicks (FROM click_view, one day): the gclid contact 1000012 kept
GOOGLE_ADS_CLICKS = [
    {
        "clickView": {"resourceName": "customers/5550003/clickViews/2026-06-03~gclid-uk-1", "gclid": "gclid-uk-1"},
        "customer": {"resourceName": "customers/5550003", "id": "5550003"},
        "campaign": {"resourceName": "customers/5550003/campaigns/31", "id": "31", "name": "Competitors"},
        "adGroup": {"resourceName": "customers/5550003/adGroups/g311", "id": "g311"},
        "segments": {"date": "2026-06-03"},
    },
]
GA4_PAGES = [
    # the home page every day from June 1st to 20th: two whole weeks (from Monday June 1st) and six days of a third
    *(ga4_page_row(f"202606{d:02d}", "/", 10, 10, 300) for d in range(1, 21)),
    ga4_page_row("20260601", "/lp/sale", 75, 60, 2100),
    ga4_page_row("20260602", "/blog/a", 100, 90, 3000),
    ga4_page_row("20260609", "/blog/a", 60, 55, 1500),
    ga4_page_row("20260616", "/blog/a", 45, 45, 900),
]
# The BigQuery export's exits: every day up to June 19th; June 20th's table is not there yet.
GA4_EXPORT = [
    *(ga4_export_row(f"202606{d:02d}", "/", 10, 4) for d in range(1, 20)),
    ga4_export_row("20260601", "/lp/sale", 75, 30),
    ga4_export_row("20260602", "/blog/a", 100, 40),
    ga4_export_row("20260609", "/blog/a", 60, 30),
    ga4_export_row("20260616", "/blog/a", 45, 20),
]
# The raw tables as the loader creates them (extractors/loader.py): _account_id, the
# stream's key columns, _record, _loaded_at, _batch_id. Rows: (_account_id, *keys, record).
GOOGLE_AND_GA4_TABLES = {
    "raw_google_ads.customers": (
        {"customer_id": "varchar"},
        [(r["customer"]["id"], r["customer"]["id"], r) for r in GOOGLE_ADS_CUSTOMERS],
    ),
    "raw_google_ads.campaigns": (
        {"campaign_id": "varchar"},
        [(r["customer"]["id"], r["campaign"]["id"], r) for r in GOOGLE_ADS_CAMPAIGNS],
    ),
    "raw_google_ads.ad_groups": (
        {"ad_group_id": "varchar"},
        [(r["customer"]["id"], r["adGroup"]["id"], r) for r in GOOGLE_ADS_AD_GROUPS],
    ),
    "raw_google_ads.ad_group_performance": (
        {"ad_group_id": "varchar", "date": "date"},
        [(r["customer"]["id"], r["adGroup"]["id"], r["segments"]["date"], r) for r in GOOGLE_ADS_PERFORMANCE],
    ),
    "raw_google_ads.click_views": (
        {"gclid": "varchar", "date": "date"},
        [(r["customer"]["id"], r["clickView"]["gclid"], r["segments"]["date"], r) for r in GOOGLE_ADS_CLICKS],
    ),
    "raw_ga4.sessions_daily": (
        {
            "date": "date",
            "sessionSource": "varchar",
            "sessionMedium": "varchar",
            "sessionCampaignName": "varchar",
            "sessionGoogleAdsCampaignId": "varchar",
            "sessionGoogleAdsCampaignName": "varchar",
            "landingPage": "varchar",
        },
        [
            (
                GA4_PROPERTY,
                dt.datetime.strptime(r["date"], "%Y%m%d").date(),
                r["sessionSource"],
                r["sessionMedium"],
                r["sessionCampaignName"],
                r["sessionGoogleAdsCampaignId"],
                r["sessionGoogleAdsCampaignName"],
                r["landingPage"],
                r,
            )
            for r in GA4_SESSIONS
        ],
    ),
    "raw_ga4.pages_daily": (
        {"date": "date", "pagePath": "varchar"},
        [(GA4_PROPERTY, dt.datetime.strptime(r["date"], "%Y%m%d").date(), r["pagePath"], r) for r in GA4_PAGES],
    ),
    "raw_ga4.ga4_export": (
        {"date": "date", "page_path": "varchar"},
        [(GA4_PROPERTY, dt.datetime.strptime(r["event_date"], "%Y%m%d").date(), r["page_path"], r) for r in GA4_EXPORT],
    ),
}


def cbr_record(currency_id: str, day: str, value: str, nominal: int = 1) -> dict:
    """A Record of the Bank of Russia's XML_dynamic.asp as the extractor lands it: attributes and
    elements as strings, a decimal comma, the date DD.MM.YYYY."""
    y, m, d = day.split("-")
    return {
        "Date": f"{d}.{m}.{y}",
        "Id": currency_id,
        "Nominal": str(nominal),
        "Value": value,
        "VunitRate": value.rstrip("0").rstrip(","),
    }


CBR_IDS = {"USD": "R01235", "EUR": "R01239", "GBP": "R01035"}
# Roubles per unit. Saturday May 30th's rates hold for Monday June 1st (the Bank sets no rate for
# Sundays and Mondays); from Tuesday June 2nd every rate moves: EUR 1.08 -> 1.10 USD,
# GBP 1.27 -> 1.25 USD, RUB 1/90 -> 1/80 USD. Weekly dates keep each rate under 14 days old.
CBR_RATES = {
    "2026-05-30": {"USD": "90,0000", "EUR": "97,2000", "GBP": "114,3000"},
    **{day: {"USD": "80,0000", "EUR": "88,0000", "GBP": "100,0000"} for day in ("2026-06-02", "2026-06-09", "2026-06-16")},
}
CBR_TABLES = {
    "raw_cbr.daily_rates": (
        {"date": "date"},
        [
            (currency, day, cbr_record(CBR_IDS[currency], day, value))
            for day, rates in CBR_RATES.items()
            for currency, value in rates.items()
        ],
    ),
}


def write_raw_warehouse(path: Path, with_google_and_ga4: bool = True, rates: dict | None = None) -> None:
    """The fixture's raw tables; ``rates`` replaces CBR_TABLES (e.g. {} for a warehouse without raw_cbr)."""
    loaded_at = dt.datetime.now(dt.UTC)
    con = duckdb.connect(str(path))
    con.execute("create schema raw_hubspot")
    con.execute("create schema raw_meta_ads")
    for table, pk_sql in [
        ("raw_hubspot.contacts", "id varchar primary key"),
        ("raw_hubspot.deals", "id varchar primary key"),
        ("raw_meta_ads.ad_accounts", "id varchar primary key"),
    ]:
        con.execute(
            f"create table {table} (_account_id varchar, {pk_sql}, _record json, _loaded_at timestamptz, _batch_id varchar)"
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
        con.execute(f"insert into {table} values (?, ?, ?, ?, 'batch-1')", [account_id, pk, json.dumps(record), loaded_at])
    for r in INSIGHTS:
        con.execute(
            "insert into raw_meta_ads.insights values (?, ?, ?, ?, ?, 'batch-1')",
            [f"act_{r['account_id']}", r["ad_id"], r["date_start"], json.dumps(r), loaded_at],
        )
    tables = {**(GOOGLE_AND_GA4_TABLES if with_google_and_ga4 else {}), **(CBR_TABLES if rates is None else rates)}
    for table, (keys, rows) in tables.items():
        con.execute(f"create schema if not exists {table.split('.')[0]}")
        key_sql = ", ".join(f'"{k}" {t} not null' for k, t in keys.items())
        con.execute(
            f"create table {table} (_account_id varchar not null, {key_sql}, _record json not null,"
            " _loaded_at timestamptz not null, _batch_id varchar not null)"
        )
        for *values, record in rows:  # (_account_id, *keys, record)
            con.execute(
                f"insert into {table} values ({', '.join('?' * (len(values) + 1))}, ?, 'batch-1')",
                [*values, json.dumps(record), loaded_at],
            )
    con.close()


def run_dbt(*args: str, workdir: Path, warehouse: Path, project_dir: Path = PROJECT_DIR) -> None:
    completed = subprocess.run(
        [
            str(DBT),
            *args,
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(project_dir),
            "--target-path",
            str(workdir / "target"),
            "--log-path",
            str(workdir / "logs"),
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
    rows = query(
        warehouse,
        """
        select date_day, channel, source, medium, campaign, spend, impressions, clicks,
               leads, mqls, sqls, customers, revenue, cost_per_lead, cac, round(roas, 6)
        from marts.channel_performance_daily
        order by date_day, channel, source, campaign
    """,
    )
    fb = ("paid_social", "facebook", "paid_social")
    assert rows == [
        # spend 100 + 50 EUR on Monday June 1st at Saturday's 1.08 (no rate is set for Mondays);
        # the archived contact's lead is not counted
        (D(2026, 6, 1), *fb, "Summer Sale", M("162.00"), 1500, 70, 2, 0, 0, 0, 0, M("81.0000"), None, 0.0),
        # GA4 sessions only: direct traffic and organic search as GA4 names them
        (D(2026, 6, 2), "direct", "(direct)", "(none)", "(none)", 0.0, 0, 0, 0, 0, 0, 0, 0.0, None, None, None),
        (D(2026, 6, 2), "organic_search", "google", "organic", "(none)", 0.0, 0, 0, 0, 0, 0, 0, 0.0, None, None, None),
        (D(2026, 6, 2), "organic_search", "organic_search", "(none)", "(none)", 0.0, 0, 0, 1, 0, 0, 0, 0.0, 0.0, None, None),
        (D(2026, 6, 2), "paid_search", "bing", "cpc", "(none)", 0.0, 0, 0, 1, 0, 0, 0, 0.0, 0.0, None, None),
        # Google Ads spend, two ad groups at June 2nd's 1/80 USD per RUB: 1500 RUB = 18.75 and
        # 250 RUB = 3.125, rounded half away from zero to 3.13 (each row rounded once, to the cent),
        # on the row of the lead its ad brought
        (D(2026, 6, 2), "paid_search", "google", "cpc", "Brand", M("21.88"), 500, 35, 1, 0, 0, 0, 0, M("21.8800"), None, 0.0),
        # 80 EUR at June 2nd's 1.10; spend and an MQL but no lead that day: cost per lead is NULL, not infinite
        (D(2026, 6, 2), *fb, "Summer Sale", M("88.00"), 800, 40, 0, 1, 0, 0, 0, None, None, 0.0),
        # tiktok is a social site (Google's list), video a medium of no paid rule: GA4's organic social
        (D(2026, 6, 3), "organic_social", "tiktok", "video", "Launch", 0.0, 0, 0, 1, 0, 0, 0, 0.0, 0.0, None, None),
        # 40 GBP in the UK account's day, at 1.25, on the row of the lead its auto-tagged click (gclid, no UTM) brought
        (
            D(2026, 6, 3),
            "paid_search",
            "google",
            "cpc",
            "Competitors",
            M("50.00"),
            200,
            10,
            1,
            0,
            0,
            0,
            0,
            M("50.0000"),
            None,
            0.0,
        ),
        # a Meta campaign tagged facebook / cpc: paid social, its spend on the row of its sessions
        (D(2026, 6, 3), "paid_social", "facebook", "cpc", "Retargeting", M("30.50"), 300, 3, 0, 0, 0, 0, 0, None, None, 0.0),
        (D(2026, 6, 3), *fb, "Summer Sale", 0.0, 0, 0, 0, 1, 0, 0, 0.0, None, None, None),
        (D(2026, 6, 4), "organic_social", "instagram", "social", "Insta organic", 0.0, 0, 0, 1, 0, 0, 0, 0.0, 0.0, None, None),
        (D(2026, 6, 5), "direct", "direct_traffic", "(none)", "(none)", 0.0, 0, 0, 1, 0, 0, 0, 0.0, 0.0, None, None),
        (D(2026, 6, 5), "email", "(none)", "email", "(none)", 0.0, 0, 0, 1, 1, 0, 0, 0.0, 0.0, None, None),
        (D(2026, 6, 5), *fb, "Summer Sale", 0.0, 0, 0, 0, 0, 1, 0, 0.0, None, None, None),
        (D(2026, 6, 9), "organic_search", "google", "organic", "(none)", 0.0, 0, 0, 0, 0, 0, 0, 0.0, None, None, None),
        (D(2026, 6, 10), "email", "newsletter", "email", "newsletter_weekly", 0.0, 0, 0, 0, 0, 0, 0, 0.0, None, None, None),
        # 1000 EUR won deal, at the rate of its close date (1.10)
        (D(2026, 6, 10), *fb, "Summer Sale", 0, 0, 0, 0, 0, 0, 1, M("1100.00"), None, 0, None),
        # 100 in the company currency, credited past the archived contact
        (D(2026, 6, 12), "email", "(none)", "email", "(none)", 0.0, 0, 0, 0, 0, 0, 0, 100.0, None, None, None),
        # won deal with no contact
        (D(2026, 6, 15), "other", "(none)", "(none)", "(none)", 0.0, 0, 0, 0, 0, 0, 0, 200.0, None, None, None),
        # 500 GBP (at 1.25) credited to contact 999, the lowest id
        (
            D(2026, 6, 20),
            "organic_social",
            "instagram",
            "social",
            "Insta organic",
            0,
            0,
            0,
            0,
            0,
            0,
            1,
            M("625.00"),
            None,
            0,
            None,
        ),
    ]


def test_channel_performance_daily_adds_ga4_sessions_and_delivery_ratios(warehouse):
    rows = query(
        warehouse,
        """
        select date_day, channel, source, campaign, sessions, engaged_sessions, round(bounce_rate, 6),
               round(avg_session_duration_s, 6), page_views, round(session_to_lead_rate, 6),
               round(ctr, 6), cpc, cpm, round(roi, 6)
        from marts.channel_performance_daily
        where sessions > 0 or spend > 0
        order by date_day, channel, source, campaign
    """,
    )
    assert rows == [
        # 'facebook' and 'Facebook' sessions: 60 + 10, 24 + 6 engaged, (60 x 50 s + 10 x 80 s) / 70; 2 leads
        (
            D(2026, 6, 1),
            "paid_social",
            "facebook",
            "Summer Sale",
            70,
            30,
            round(1 - 30 / 70, 6),
            round(3800 / 70, 6),
            110,
            round(2 / 70, 6),
            round(70 / 1500, 6),
            M("2.3143"),
            M("108.0000"),
            -1.0,
        ),
        # no spend: no delivery ratios, no ROI
        (D(2026, 6, 2), "direct", "(direct)", "(none)", 20, 10, 0.5, 60.0, 30, 0.0, None, None, None, None),
        (D(2026, 6, 2), "organic_search", "google", "(none)", 50, 30, 0.4, 120.0, 100, 0.0, None, None, None, None),
        # cost per click and per 1000 impressions: DECIMAL(38, 4), 21.88 / 35 = 0.62514... -> 0.6251
        (
            D(2026, 6, 2),
            "paid_search",
            "google",
            "Brand",
            35,
            21,
            0.4,
            100.0,
            70,
            round(1 / 35, 6),
            0.07,
            M("0.6251"),
            M("43.7600"),
            -1.0,
        ),
        # spend without sessions: no session ratios
        (
            D(2026, 6, 2),
            "paid_social",
            "facebook",
            "Summer Sale",
            0,
            0,
            None,
            None,
            0,
            None,
            0.05,
            M("2.2000"),
            M("110.0000"),
            -1.0,
        ),
        # auto-tagged: GA4's sessionGoogleAdsCampaignId put the sessions on the campaign of the spend
        (
            D(2026, 6, 3),
            "paid_search",
            "google",
            "Competitors",
            10,
            5,
            0.5,
            30.0,
            12,
            0.1,
            0.05,
            M("5.0000"),
            M("250.0000"),
            -1.0,
        ),
        # 30.50 / 3 = 10.1666... rounds half away from zero to 10.1667
        (
            D(2026, 6, 3),
            "paid_social",
            "facebook",
            "Retargeting",
            3,
            3,
            0.0,
            40.0,
            3,
            0.0,
            0.01,
            M("10.1667"),
            M("101.6667"),
            -1.0,
        ),
        (D(2026, 6, 9), "organic_search", "google", "(none)", 40, 20, 0.5, 90.0, 60, 0.0, None, None, None, None),
        (D(2026, 6, 10), "email", "newsletter", "newsletter_weekly", 12, 9, 0.25, 150.0, 30, 0.0, None, None, None, None),
    ]
    # all 240 sessions the report holds landed on their channel, none on 'other'
    per_channel = query(
        warehouse,
        """
        select channel, sum(sessions) from marts.channel_performance_daily group by 1 having sum(sessions) > 0
    """,
    )
    assert dict(per_channel) == {"paid_social": 73, "paid_search": 45, "organic_search": 90, "direct": 20, "email": 12}


MART_COLUMNS = {
    "channel_performance_daily": [
        ("date_day", "DATE"),
        ("channel", "VARCHAR"),
        ("source", "VARCHAR"),
        ("medium", "VARCHAR"),
        ("campaign", "VARCHAR"),
        ("spend", "DECIMAL(38,2)"),
        ("impressions", "BIGINT"),
        ("clicks", "BIGINT"),
        ("leads", "BIGINT"),
        ("mqls", "BIGINT"),
        ("sqls", "BIGINT"),
        ("customers", "BIGINT"),
        ("revenue", "DECIMAL(38,2)"),
        ("cost_per_lead", "DECIMAL(38,4)"),
        ("cac", "DECIMAL(38,4)"),
        ("roas", "DOUBLE"),
    ],
    "funnel_by_channel": [
        ("channel", "VARCHAR"),
        ("cohort_month", "DATE"),
        ("leads", "BIGINT"),
        ("mqls", "BIGINT"),
        ("sqls", "BIGINT"),
        ("customers", "BIGINT"),
        ("lead_to_mql_rate", "DOUBLE"),
        ("mql_to_sql_rate", "DOUBLE"),
        ("sql_to_customer_rate", "DOUBLE"),
        ("lead_to_customer_rate", "DOUBLE"),
    ],
    "lead_stage_history": [
        ("contact_id", "VARCHAR"),
        ("lifecycle_stage", "VARCHAR"),
        ("stage_order", "INTEGER"),
        ("entered_at", "TIMESTAMP"),
        ("exited_at", "TIMESTAMP"),
        ("days_in_stage", "DOUBLE"),
        ("is_current", "BOOLEAN"),
    ],
}
# Columns added to the marts above in a later release: they come after the first ones.
MART_COLUMNS["funnel_by_channel"] += [
    ("touches", "BIGINT"),
    ("median_days_lead_to_mql", "DOUBLE"),
    ("median_days_mql_to_sql", "DOUBLE"),
    ("median_days_sql_to_customer", "DOUBLE"),
]
MART_COLUMNS["lead_stage_history"] += [("channel", "VARCHAR"), ("next_stage", "VARCHAR")]
# Added with Google Ads and GA4
MART_COLUMNS["channel_performance_daily"] += [
    ("ctr", "DOUBLE"),
    ("cpc", "DECIMAL(38,4)"),
    ("cpm", "DECIMAL(38,4)"),
    ("sessions", "BIGINT"),
    ("engaged_sessions", "BIGINT"),
    ("bounce_rate", "DOUBLE"),
    ("avg_session_duration_s", "DOUBLE"),
    ("page_views", "BIGINT"),
    ("session_to_lead_rate", "DOUBLE"),
    ("roi", "DOUBLE"),
]
MART_COLUMNS["funnel_by_channel"] += [("sessions", "BIGINT"), ("session_to_lead_rate", "DOUBLE")]
MART_COLUMNS.update(
    {
        "leads": [
            ("contact_id", "VARCHAR"),
            ("channel", "VARCHAR"),
            ("source", "VARCHAR"),
            ("medium", "VARCHAR"),
            ("campaign", "VARCHAR"),
            ("current_stage", "VARCHAR"),
            ("created_at", "TIMESTAMP"),
            ("became_subscriber_at", "TIMESTAMP"),
            ("became_lead_at", "TIMESTAMP"),
            ("became_mql_at", "TIMESTAMP"),
            ("became_sql_at", "TIMESTAMP"),
            ("became_customer_at", "TIMESTAMP"),
            ("is_customer", "BOOLEAN"),
            ("won_deals", "BIGINT"),
            ("won_revenue", "DECIMAL(38,2)"),
            ("hubspot_lifecycle_stage", "VARCHAR"),
            ("properties_json", "JSON"),
        ],
        "ad_performance_daily": [
            ("platform", "VARCHAR"),
            ("channel", "VARCHAR"),
            ("ad_account_id", "VARCHAR"),
            ("account_name", "VARCHAR"),
            ("account_timezone", "VARCHAR"),
            ("campaign_id", "VARCHAR"),
            ("campaign_name", "VARCHAR"),
            ("ad_group_id", "VARCHAR"),
            ("ad_group_name", "VARCHAR"),
            ("ad_id", "VARCHAR"),
            ("ad_name", "VARCHAR"),
            ("date_day", "DATE"),
            ("account_currency", "VARCHAR"),
            ("reporting_currency", "VARCHAR"),
            ("spend_in_account_currency", "DECIMAL(38,6)"),
            ("spend_in_reporting_currency", "DECIMAL(38,2)"),
            ("impressions", "BIGINT"),
            ("clicks", "BIGINT"),
            ("conversions", "DOUBLE"),
            ("conversion_value_in_account_currency", "DECIMAL(38,6)"),
            ("conversion_value_in_reporting_currency", "DECIMAL(38,2)"),
            ("record_json", "JSON"),
        ],
        "conversion_reconciliation": [
            ("platform", "VARCHAR"),
            ("ad_account_id", "VARCHAR"),
            ("date_day", "DATE"),
            ("platform_conversions", "DOUBLE"),
            ("crm_leads", "BIGINT"),
            ("conversion_gap", "DOUBLE"),
            ("gap_ratio", "DOUBLE"),
            ("has_platform_data", "BOOLEAN"),
        ],
        "kpi_attainment": [
            ("goal_id", "VARCHAR"),
            ("metric", "VARCHAR"),
            ("channel", "VARCHAR"),
            ("period_start", "DATE"),
            ("period_end", "DATE"),
            ("as_of_date", "DATE"),
            ("period_status", "VARCHAR"),
            ("period_days", "INTEGER"),
            ("elapsed_days", "INTEGER"),
            ("target", "DECIMAL(38,2)"),
            ("target_to_date", "DECIMAL(38,2)"),
            ("actual", "DECIMAL(38,2)"),
            ("pace", "DOUBLE"),
            ("is_on_track", "BOOLEAN"),
            ("projected_actual", "DECIMAL(38,2)"),
            ("spend", "DECIMAL(38,2)"),
            ("cost_per_unit", "DECIMAL(38,4)"),
            ("max_cost_per_unit", "DECIMAL(38,4)"),
            ("is_within_cost_cap", "BOOLEAN"),
            ("goal_currency_code", "VARCHAR"),
            ("reporting_currency", "VARCHAR"),
        ],
        "channel_budget_recommendation": [
            ("budget_month", "DATE"),
            ("channel", "VARCHAR"),
            ("spend", "DECIMAL(38,2)"),
            ("revenue", "DECIMAL(38,2)"),
            ("customers", "BIGINT"),
            ("roi", "DOUBLE"),
            ("cac", "DECIMAL(38,4)"),
            ("target_cac", "DECIMAL(38,4)"),
            ("is_above_target_cac", "BOOLEAN"),
            ("is_loss_making", "BOOLEAN"),
            ("return_rank", "INTEGER"),
            ("current_budget_share", "DOUBLE"),
            ("recommended_budget_share", "DOUBLE"),
            ("budget_share_change", "DOUBLE"),
            ("recommended_spend", "DECIMAL(38,2)"),
        ],
        "campaign_budget_recommendation": [
            ("budget_month", "DATE"),
            ("channel", "VARCHAR"),
            ("campaign", "VARCHAR"),
            ("spend", "DECIMAL(38,2)"),
            ("revenue", "DECIMAL(38,2)"),
            ("customers", "BIGINT"),
            ("roi", "DOUBLE"),
            ("cac", "DECIMAL(38,4)"),
            ("target_cac", "DECIMAL(38,4)"),
            ("is_above_target_cac", "BOOLEAN"),
            ("is_loss_making", "BOOLEAN"),
            ("return_rank", "INTEGER"),
            ("current_budget_share", "DOUBLE"),
            ("recommended_budget_share", "DOUBLE"),
            ("budget_share_change", "DOUBLE"),
            ("recommended_spend", "DECIMAL(38,2)"),
        ],
        "content_performance": [
            ("property_id", "VARCHAR"),
            ("page_path", "VARCHAR"),
            ("week_start_date", "DATE"),
            ("days_with_data", "INTEGER"),
            ("is_complete_week", "BOOLEAN"),
            ("page_views", "BIGINT"),
            ("unique_page_views", "BIGINT"),
            ("entrances", "BIGINT"),
            ("exits", "BIGINT"),
            ("exit_rate", "DOUBLE"),
            ("bounce_rate", "DOUBLE"),
            ("avg_time_on_page_s", "DOUBLE"),
            ("previous_week_page_views", "BIGINT"),
            ("page_views_wow_change", "DOUBLE"),
            ("page_views_rank", "INTEGER"),
            ("is_top_page", "BOOLEAN"),
            ("trend_page_views", "BIGINT"),
            ("previous_trend_page_views", "BIGINT"),
            ("page_views_trend_change", "DOUBLE"),
            ("is_falling", "BOOLEAN"),
            ("is_rising", "BOOLEAN"),
        ],
        "social_engagement": [
            ("channel", "VARCHAR"),
            ("date_day", "DATE"),
            ("posts_published", "BIGINT"),
            ("impressions", "BIGINT"),
            ("reach", "BIGINT"),
            ("likes", "BIGINT"),
            ("comments", "BIGINT"),
            ("shares", "BIGINT"),
            ("saves", "BIGINT"),
            ("engagements", "BIGINT"),
            ("followers", "BIGINT"),
            ("engagement_rate", "DOUBLE"),
            ("net_follower_change", "BIGINT"),
        ],
        "social_post_engagement": [
            ("post_id", "VARCHAR"),
            ("platform", "VARCHAR"),
            ("account_id", "VARCHAR"),
            ("post_type", "VARCHAR"),
            ("permalink", "VARCHAR"),
            ("text", "VARCHAR"),
            ("published_at", "TIMESTAMP"),
            ("published_date", "DATE"),
            ("views", "BIGINT"),
            ("reach", "BIGINT"),
            ("likes", "BIGINT"),
            ("comments", "BIGINT"),
            ("shares", "BIGINT"),
            ("saves", "BIGINT"),
            ("engagements", "BIGINT"),
            ("engagement_rate", "DOUBLE"),
            ("comments_extracted", "BIGINT"),
            ("sessions", "BIGINT"),
            ("leads", "BIGINT"),
            ("customers", "BIGINT"),
            ("won_revenue", "DECIMAL(38,2)"),
            ("session_to_lead_rate", "DOUBLE"),
        ],
        "attribution_touches": [
            ("attribution_touch_id", "VARCHAR"),
            ("deal_id", "VARCHAR"),
            ("contact_id", "VARCHAR"),
            ("touch_id", "VARCHAR"),
            ("touch_number", "BIGINT"),
            ("touches_in_window", "BIGINT"),
            ("touched_at", "TIMESTAMP"),
            ("closed_at", "TIMESTAMP"),
            ("close_month", "DATE"),
            ("days_before_close", "DOUBLE"),
            ("channel", "VARCHAR"),
            ("source", "VARCHAR"),
            ("medium", "VARCHAR"),
            ("campaign", "VARCHAR"),
            ("deal_revenue", "DECIMAL(38,2)"),
            ("first_touch_weight", "DOUBLE"),
            ("last_touch_weight", "DOUBLE"),
            ("linear_weight", "DOUBLE"),
            ("position_based_weight", "DOUBLE"),
            ("time_decay_weight", "DOUBLE"),
            ("first_touch_revenue", "DECIMAL(38,2)"),
            ("last_touch_revenue", "DECIMAL(38,2)"),
            ("linear_revenue", "DECIMAL(38,2)"),
            ("position_based_revenue", "DECIMAL(38,2)"),
            ("time_decay_revenue", "DECIMAL(38,2)"),
        ],
        "attribution_by_channel": [
            ("attribution_by_channel_id", "VARCHAR"),
            ("attribution_model", "VARCHAR"),
            ("channel", "VARCHAR"),
            ("close_month", "DATE"),
            ("attributed_customers", "DOUBLE"),
            ("attributed_revenue", "DECIMAL(38,2)"),
            ("deals_touched", "BIGINT"),
        ],
    }
)
MART_COLUMNS["email_performance"] = [
    ("campaign_id", "VARCHAR"),
    ("campaign_title", "VARCHAR"),
    ("subject_line", "VARCHAR"),
    ("tracking_name", "VARCHAR"),
    ("list_id", "VARCHAR"),
    ("list_name", "VARCHAR"),
    ("sent_at", "TIMESTAMP"),
    ("send_date", "DATE"),
    ("emails_sent", "BIGINT"),
    ("emails_delivered", "BIGINT"),
    ("hard_bounces", "BIGINT"),
    ("soft_bounces", "BIGINT"),
    ("bounces", "BIGINT"),
    ("opens", "BIGINT"),
    ("unique_opens", "BIGINT"),
    ("clicks", "BIGINT"),
    ("unique_clicks", "BIGINT"),
    ("unique_subscriber_clicks", "BIGINT"),
    ("unsubscribes", "BIGINT"),
    ("open_rate", "DOUBLE"),
    ("click_rate", "DOUBLE"),
    ("click_to_open_rate", "DOUBLE"),
    ("unsubscribe_rate", "DOUBLE"),
    ("bounce_rate", "DOUBLE"),
    ("sessions", "BIGINT"),
    ("engaged_sessions", "BIGINT"),
    ("contacts", "BIGINT"),
    ("leads", "BIGINT"),
    ("mqls", "BIGINT"),
    ("customers", "BIGINT"),
    ("won_revenue", "DECIMAL(38,2)"),
    ("session_to_lead_rate", "DOUBLE"),
    ("has_report", "BOOLEAN"),
]


@pytest.mark.parametrize("mart", sorted(MART_COLUMNS))
def test_mart_columns_are_the_published_interface(warehouse, mart):
    """The GX gate and BI read these columns: same names, types and order (extra columns only at the end)."""
    columns = query(
        warehouse,
        f"""
        select column_name, data_type from information_schema.columns
        where table_schema = 'marts' and table_name = '{mart}'
        order by ordinal_position
    """,
    )
    assert columns[: len(MART_COLUMNS[mart])] == MART_COLUMNS[mart]


def test_funnel_by_channel_counts_each_cohorts_stages(warehouse):
    rows = query(
        warehouse,
        """
        select channel, cohort_month, leads, mqls, sqls, customers,
               lead_to_mql_rate, mql_to_sql_rate, sql_to_customer_rate, lead_to_customer_rate
        from marts.funnel_by_channel
        order by channel, cohort_month
    """,
    )
    assert rows == [
        ("direct", D(2026, 6, 1), 1, 0, 0, 0, 0.0, None, None, 0.0),
        ("email", D(2026, 6, 1), 1, 1, 0, 0, 1.0, 0.0, None, 0.0),
        ("organic_search", D(2026, 5, 1), 1, 0, 0, 0, 0.0, None, None, 0.0),
        # GA4 sessions and no contact created in June: a row, its funnel empty
        ("organic_search", D(2026, 6, 1), 0, 0, 0, 0, None, None, None, None),
        # the instagram customer and the tiktok lead (a social site)
        ("organic_social", D(2026, 6, 1), 2, 0, 0, 1, 0.0, None, None, 0.5),
        # the subscriber with no source at all: no lead
        ("other", D(2026, 6, 1), 0, 0, 0, 0, None, None, None, None),
        # google / cpc, bing / cpc and the auto-tagged click (gclid)
        ("paid_search", D(2026, 6, 1), 3, 0, 0, 0, 0.0, None, None, 0.0),
        ("paid_social", D(2026, 6, 1), 2, 2, 1, 1, 1.0, 0.5, 1.0, 0.5),
    ]


def test_lead_stage_history_sequences_stages_and_durations(warehouse):
    rows = query(
        warehouse,
        """
        select contact_id, lifecycle_stage, stage_order, entered_at, exited_at,
               round(days_in_stage, 6), is_current
        from marts.lead_stage_history
        where contact_id in ('1000001', '1000005', '1000010')
        order by contact_id, entered_at, stage_order
    """,
    )
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
    totals = query(
        warehouse,
        """
        select count(*), count(distinct contact_id), count(*) filter (where is_current)
        from marts.lead_stage_history
    """,
    )
    # 18 stage entries of the 11 live contacts; the archived one is absent
    assert totals == [(18, 11, 11)]


def test_lead_stage_history_names_the_next_stage(warehouse):
    rows = query(
        warehouse,
        """
        select contact_id, lifecycle_stage, next_stage
        from marts.lead_stage_history
        where contact_id in ('1000001', '1000005', '1000010', '999')
        order by contact_id, entered_at, stage_order
    """,
    )
    assert rows == [
        ("1000001", "lead", "mql"),
        ("1000001", "mql", "sql"),
        ("1000001", "sql", "customer"),
        ("1000001", "customer", None),
        ("1000005", "subscriber", "lead"),
        ("1000005", "lead", None),
        # entered together: funnel order
        ("1000010", "lead", "mql"),
        ("1000010", "mql", None),
        # skipped MQL and SQL: the next stage by time
        ("999", "lead", "customer"),
        ("999", "customer", None),
    ]


def test_funnel_by_channel_counts_touches_and_median_days_between_stages(warehouse):
    rows = query(
        warehouse,
        """
        select channel, cohort_month, leads, touches, round(median_days_lead_to_mql, 6),
               round(median_days_mql_to_sql, 6), round(median_days_sql_to_customer, 6)
        from marts.funnel_by_channel
        order by channel, cohort_month
    """,
    )
    assert rows == [
        ("direct", D(2026, 6, 1), 1, 1, None, None, None),
        # lead and MQL at the same instant: 0 days
        ("email", D(2026, 6, 1), 1, 1, 0.0, None, None),
        ("organic_search", D(2026, 5, 1), 1, 1, None, None, None),
        ("organic_search", D(2026, 6, 1), 0, 0, None, None, None),
        # straight from lead to customer: no step with both dates
        ("organic_social", D(2026, 6, 1), 2, 2, None, None, None),
        # the subscriber with no source is a touch, not a lead
        ("other", D(2026, 6, 1), 0, 1, None, None, None),
        ("paid_search", D(2026, 6, 1), 3, 3, None, None, None),
        # lead -> MQL took 1d 22h45m (1000001) and 1d (1000002): the median is their mean
        ("paid_social", D(2026, 6, 1), 2, 2, round((1 + 22.75 / 24 + 1) / 2, 6), 2.125, round(4 + 20 / 24, 6)),
    ]


def test_funnel_by_channel_starts_with_the_channels_ga4_sessions(warehouse):
    rows = query(
        warehouse,
        """
        select channel, cohort_month, sessions, leads, round(session_to_lead_rate, 6)
        from marts.funnel_by_channel
        order by channel, cohort_month
    """,
    )
    assert rows == [
        ("direct", D(2026, 6, 1), 20, 1, 0.05),
        ("email", D(2026, 6, 1), 12, 1, round(1 / 12, 6)),
        # the May cohort's lead came before GA4 data: no sessions, no rate
        ("organic_search", D(2026, 5, 1), 0, 1, None),
        # 50 + 40 organic sessions in June (google / organic), no contact created
        ("organic_search", D(2026, 6, 1), 90, 0, 0.0),
        ("organic_social", D(2026, 6, 1), 0, 2, None),
        ("other", D(2026, 6, 1), 0, 0, None),
        ("paid_search", D(2026, 6, 1), 45, 3, round(3 / 45, 6)),
        ("paid_social", D(2026, 6, 1), 73, 2, round(2 / 73, 6)),
    ]


def test_leads_has_one_row_per_live_contact_with_stage_and_credited_revenue(warehouse):
    rows = query(
        warehouse,
        """
        select contact_id, channel, source, campaign, current_stage, created_at, became_lead_at,
               became_customer_at, is_customer, won_deals, round(won_revenue, 6), hubspot_lifecycle_stage,
               properties_json->>'$.email'
        from marts.leads
        order by contact_id
    """,
    )
    t = dt.datetime
    assert rows == [
        # 1000 EUR; the archived 700 USD deal is not counted
        (
            "1000001",
            "paid_social",
            "facebook",
            "Summer Sale",
            "customer",
            t(2026, 6, 1, 10, 15),
            t(2026, 6, 1, 10, 15),
            t(2026, 6, 10, 8),
            True,
            1,
            1100.0,
            "customer",
            "1000001@example.com",
        ),
        (
            "1000002",
            "paid_social",
            "facebook",
            "Summer Sale",
            "mql",
            t(2026, 6, 1, 15),
            t(2026, 6, 1, 15),
            None,
            False,
            0,
            0.0,
            "marketingqualifiedlead",
            "1000002@example.com",
        ),
        # its deal is credited to 999, the lowest id
        (
            "1000003",
            "paid_search",
            "google",
            "Brand",
            "lead",
            t(2026, 6, 2, 8),
            t(2026, 6, 2, 8),
            None,
            False,
            0,
            0.0,
            "lead",
            "1000003@example.com",
        ),
        # a lost deal is no revenue
        (
            "1000004",
            "paid_search",
            "bing",
            "(none)",
            "lead",
            t(2026, 6, 2, 9),
            t(2026, 6, 2, 9),
            None,
            False,
            0,
            0.0,
            "lead",
            "1000004@example.com",
        ),
        (
            "1000005",
            "organic_search",
            "organic_search",
            "(none)",
            "lead",
            t(2026, 5, 20, 10),
            t(2026, 6, 2, 11),
            None,
            False,
            0,
            0.0,
            "lead",
            "1000005@example.com",
        ),
        (
            "1000006",
            "organic_social",
            "tiktok",
            "Launch",
            "lead",
            t(2026, 6, 3, 10),
            t(2026, 6, 3, 10),
            None,
            False,
            0,
            0.0,
            "lead",
            "1000006@example.com",
        ),
        # a subscriber that never became a lead is still a row
        (
            "1000007",
            "other",
            "(none)",
            "(none)",
            "subscriber",
            t(2026, 6, 3, 11),
            None,
            None,
            False,
            0,
            0.0,
            "subscriber",
            "1000007@example.com",
        ),
        # credited a won deal without being a customer in HubSpot
        (
            "1000010",
            "email",
            "(none)",
            "(none)",
            "mql",
            t(2026, 6, 5, 10),
            t(2026, 6, 5, 10),
            None,
            False,
            1,
            100.0,
            "marketingqualifiedlead",
            "1000010@example.com",
        ),
        (
            "1000011",
            "direct",
            "direct_traffic",
            "(none)",
            "lead",
            t(2026, 6, 5, 11),
            t(2026, 6, 5, 11),
            None,
            False,
            0,
            0.0,
            "lead",
            "1000011@example.com",
        ),
        # no UTM tags: its gclid's click (Google Ads click_view) names the campaign, google / cpc as in GA4
        (
            "1000012",
            "paid_search",
            "google",
            "Competitors",
            "lead",
            t(2026, 6, 3, 12),
            t(2026, 6, 3, 12),
            None,
            False,
            0,
            0.0,
            "lead",
            "1000012@example.com",
        ),
        (
            "999",
            "organic_social",
            "instagram",
            "Insta organic",
            "customer",
            t(2026, 6, 4, 12),
            t(2026, 6, 4, 12),
            t(2026, 6, 20, 12),
            True,
            1,
            625.0,
            "customer",
            "999@example.com",
        ),
    ]


def test_ad_performance_daily_keeps_both_currencies_and_the_account_time_zone(warehouse):
    rows = query(
        warehouse,
        """
        select platform, channel, ad_account_id, account_name, account_timezone, campaign_id, campaign_name,
               ad_group_id, ad_id, date_day, account_currency, reporting_currency,
               spend_in_account_currency, spend_in_reporting_currency, impressions, clicks,
               conversions, conversion_value_in_account_currency,
               conversion_value_in_reporting_currency, record_json->>'$.date_stop'
        from marts.ad_performance_daily
        where platform = 'meta_ads'
        order by date_day, ad_id
    """,
    )
    eu = ("meta_ads", "paid_social", "1001", "EU", "Europe/Berlin", "c-Summer Sale", "Summer Sale")
    assert rows == [
        # 2 leads worth 30 EUR as Meta counts them; both amounts at the rate of the row's day (Monday
        # June 1st: Saturday's 1.08), each kept beside its original and its currency
        (
            *eu,
            "as-a1",
            "a1",
            D(2026, 6, 1),
            "EUR",
            "USD",
            M("100.000000"),
            M("108.00"),
            1000,
            50,
            2.0,
            M("30.000000"),
            M("32.40"),
            "2026-06-01",
        ),
        # no actions sent: 0 conversions, not NULL
        (*eu, "as-a2", "a2", D(2026, 6, 1), "EUR", "USD", M("50.000000"), M("54.00"), 500, 20, 0.0, 0, 0, "2026-06-01"),
        # June 2nd: 1.10
        (*eu, "as-a1", "a1", D(2026, 6, 2), "EUR", "USD", M("80.000000"), M("88.00"), 800, 40, 0.0, 0, 0, "2026-06-02"),
        (
            "meta_ads",
            "paid_social",
            "2002",
            "US",
            "America/New_York",
            "c-Retargeting",
            "Retargeting",
            "as-b1",
            "b1",
            D(2026, 6, 3),
            "USD",
            "USD",
            M("30.500000"),
            M("30.50"),
            300,
            3,
            0.0,
            0,
            0,
            "2026-06-03",
        ),
    ]


def test_ad_performance_daily_reads_google_ads_per_ad_group_in_both_currencies(warehouse):
    rows = query(
        warehouse,
        """
        select platform, channel, ad_account_id, account_name, account_timezone, campaign_id, campaign_name,
               ad_group_id, ad_group_name, ad_id, ad_name, date_day, account_currency, reporting_currency,
               spend_in_account_currency, spend_in_reporting_currency, impressions, clicks,
               conversions, conversion_value_in_account_currency,
               conversion_value_in_reporting_currency, record_json->>'$.metrics.costMicros'
        from marts.ad_performance_daily
        where platform = 'google_ads'
        order by date_day, ad_group_id
    """,
    )
    ru = ("google_ads", "paid_search", "5550001", "RU Search", "Europe/Moscow", "21", "Brand")
    assert rows == [
        # cost in micros -> RUB exactly -> USD at June 2nd's 1/80; no ad level: ad_id '(none)'
        (
            *ru,
            "g211",
            "brand exact",
            "(none)",
            None,
            D(2026, 6, 2),
            "RUB",
            "USD",
            M("1500.000000"),
            M("18.75"),
            400,
            30,
            2.0,
            M("5000.000000"),
            M("62.50"),
            "1500000000",
        ),
        # 250 RUB = 3.125 and 1250 RUB = 15.625 USD: half a cent, rounded away from zero
        (
            *ru,
            "g212",
            "brand misspellings",
            "(none)",
            None,
            D(2026, 6, 2),
            "RUB",
            "USD",
            M("250.000000"),
            M("3.13"),
            100,
            5,
            0.5,
            M("1250.000000"),
            M("15.63"),
            "250000000",
        ),
        (
            "google_ads",
            "paid_search",
            "5550003",
            "UK Search",
            "Europe/London",
            "31",
            "Competitors",
            "g311",
            "competitor vs",
            "(none)",
            None,
            D(2026, 6, 3),
            "GBP",
            "USD",
            M("40.000000"),
            M("50.00"),
            200,
            10,
            0.0,
            0,
            0,
            "40000000",
        ),
    ]


def test_conversion_reconciliation_puts_crm_leads_on_the_ad_accounts_day(warehouse):
    rows = query(
        warehouse,
        """
        select platform, ad_account_id, date_day, platform_conversions, crm_leads,
               conversion_gap, gap_ratio, has_platform_data
        from marts.conversion_reconciliation
        order by all
    """,
    )
    assert rows == [
        # Google claims 2.5; the CRM has 1000003 (utm_campaign Brand, the RU account's campaign), at 11:00
        # on June 2nd in Moscow
        ("google_ads", "5550001", D(2026, 6, 2), 2.5, 1, 1.5, 1.5, True),
        # 1000012's gclid is a click of the UK account's Competitors: 13:00 on June 3rd in London
        ("google_ads", "5550003", D(2026, 6, 3), 0.0, 1, -1.0, -1.0, True),
        # Meta claims 2; the CRM has 1000001 (clicked ad a1 of account 1001) and 1000002
        # (no ad id; campaign Summer Sale of 1001); the archived lead is not counted
        ("meta_ads", "1001", D(2026, 6, 1), 2.0, 2, 0.0, 0.0, True),
        ("meta_ads", "1001", D(2026, 6, 2), 0.0, 0, 0.0, None, True),
        ("meta_ads", "2002", D(2026, 6, 3), 0.0, 0, 0.0, None, True),
    ]


def test_kpi_attainment_measures_the_shipped_goals_up_to_the_latest_data_day(warehouse):
    """Reads seeds/kpi_goals.csv as shipped; the rules themselves are unit-tested in kpi_attainment.yml."""
    rows = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            """
        select goal_id, as_of_date, period_status, elapsed_days, target_to_date, actual,
               round(pace, 6), is_on_track, spend, cost_per_unit, max_cost_per_unit, is_within_cost_cap
        from marts.kpi_attainment
    """,
        )
    }
    # the latest data is the 500 GBP deal closed on June 20th: 20 of the summer's 92 days (the
    # target to date 4500 x 20 / 92 = 978.26...); spend is every platform's: Meta 280.50 + Google Ads 71.88
    assert rows["summer_leads_all"] == (
        D(2026, 6, 20),
        "in_progress",
        20,
        M("978.26"),
        10,
        round(10 / 978.26, 6),
        False,
        M("352.38"),
        M("35.2380"),
        None,
        None,
    )
    # subscribers 1000005 (May 20th) and 1000007; every channel's spend; the cap of 300 RUB at the
    # rate of June 20th, the last day measured: 300 / 80 = 3.75 USD
    assert rows["q2_new_subscribers"] == (
        D(2026, 6, 20),
        "in_progress",
        81,
        M("890.11"),
        2,
        round(2 / 890.11, 6),
        False,
        M("352.38"),
        M("176.1900"),
        M("3.7500"),
        False,
    )
    # the 1000 EUR deal
    assert rows["summer_paid_social_revenue"] == (
        D(2026, 6, 20),
        "in_progress",
        20,
        M("43478.26"),
        M("1100.00"),
        round(1100 / 43478.26, 6),
        False,
        M("280.50"),
        M("0.2550"),
        None,
        None,
    )
    # not started: nothing due, on track, no pace; the 450 USD cap is met with nothing spent
    assert rows["q3_paid_social_customers"] == (D(2026, 6, 20), "upcoming", 0, 0, 0, None, True, 0, None, 450, True)


def test_budget_recommendations_cut_the_loss_making_campaign_and_give_organic_nothing(warehouse):
    channels = query(
        warehouse,
        """
        select budget_month, channel, spend, revenue, customers, round(roi, 6),
               is_loss_making, return_rank, round(current_budget_share, 9), round(recommended_budget_share, 9)
        from marts.channel_budget_recommendation
        order by channel
    """,
    )
    june = D(2026, 6, 1)
    assert channels == [
        (june, "direct", 0.0, 0.0, 0, None, False, None, 0.0, 0.0),
        (june, "email", 0.0, 100.0, 0, None, False, None, 0.0, 0.0),
        (june, "organic_search", 0.0, 0.0, 0, None, False, None, 0.0, 0.0),
        # revenue but no spend: reported, no paid budget
        (june, "organic_social", 0, M("625.00"), 1, None, False, None, 0.0, 0.0),
        (june, "other", 0.0, 200.0, 0, None, False, None, 0.0, 0.0),
        # Google Ads: 71.88 spent, nothing won yet: loss-making, keeps half its share
        (june, "paid_search", M("71.88"), 0, 0, -1.0, True, 2, round(71.88 / 352.38, 9), round(71.88 / 352.38 / 2, 9)),
        # ... which goes to paid social, the only line with a positive return
        (
            june,
            "paid_social",
            M("280.50"),
            M("1100.00"),
            1,
            round((1100 - 280.5) / 280.5, 6),
            False,
            1,
            round(280.5 / 352.38, 9),
            round((280.5 + 71.88 / 2) / 352.38, 9),
        ),
    ]
    campaigns = query(
        warehouse,
        """
        select channel, campaign, spend, revenue, is_loss_making, is_above_target_cac, return_rank,
               round(current_budget_share, 6), round(recommended_budget_share, 6), recommended_spend
        from marts.campaign_budget_recommendation
        where spend > 0
        order by channel, campaign
    """,
    )
    assert campaigns == [
        # every campaign without revenue loses half its share of the month's 352.38 (var
        # budget_loss_making_cut); Summer Sale, the only profitable one, gets what they lose. The
        # recommended spends are whole cents adding up to the month's spend exactly (half of
        # Brand's 21.88 is 10.94, and Summer Sale gets 250.00 + 10.94 + 25.00 + 15.25)
        (
            "paid_search",
            "Brand",
            M("21.88"),
            0,
            True,
            True,
            2,
            round(21.88 / 352.38, 6),
            round(21.88 / 352.38 / 2, 6),
            M("10.94"),
        ),
        (
            "paid_search",
            "Competitors",
            M("50.00"),
            0,
            True,
            True,
            2,
            round(50 / 352.38, 6),
            round(50 / 352.38 / 2, 6),
            M("25.00"),
        ),
        (
            "paid_social",
            "Retargeting",
            M("30.50"),
            0,
            True,
            True,
            2,
            round(30.5 / 352.38, 6),
            round(30.5 / 352.38 / 2, 6),
            M("15.25"),
        ),
        (
            "paid_social",
            "Summer Sale",
            M("250.00"),
            M("1100.00"),
            False,
            False,
            1,
            round(250 / 352.38, 6),
            round(301.19 / 352.38, 6),
            M("301.19"),
        ),
    ]
    assert sum(row[-1] for row in campaigns) == M("352.38")


def test_content_performance_measures_pages_per_week(warehouse):
    """Trend flags need eight whole weeks; their rule is unit-tested in content_performance.yml."""
    rows = query(
        warehouse,
        """
        select page_path, week_start_date, days_with_data, is_complete_week, page_views, unique_page_views, entrances,
               exits, round(exit_rate, 6), round(bounce_rate, 6), avg_time_on_page_s, previous_week_page_views,
               page_views_wow_change, page_views_rank, is_top_page, trend_page_views, is_falling, is_rising
        from marts.content_performance
        order by week_start_date, page_path
    """,
    )
    week_1, week_2, week_3 = D(2026, 6, 1), D(2026, 6, 8), D(2026, 6, 15)
    assert rows == [
        # entrances 10 + 35 + 20 (landing page '/'), 6 + 21 + 10 of them engaged; 2100 s over 70 views
        ("/", week_1, 7, True, 70, 70, 65, 28, 0.4, round(1 - 37 / 65, 6), 30.0, None, None, 3, True, None, False, False),
        ("/blog/a", week_1, 7, True, 100, 90, 50, 40, 0.4, 0.4, 30.0, None, None, 1, True, None, False, False),
        ("/lp/sale", week_1, 7, True, 75, 60, 60, 30, 0.4, 0.6, 28.0, None, None, 2, True, None, False, False),
        # landing pages of the ad sessions of June 3rd that the pages report holds no views of; the
        # export covers the week and holds no session ending there: 0 exits, no exit rate
        ("/lp/switch", week_1, 7, True, 0, 0, 10, 0, None, 0.5, None, None, None, 4, False, None, False, False),
        ("/pricing", week_1, 7, True, 0, 0, 3, 0, None, 0.0, None, None, None, 4, False, None, False, False),
        # two whole weeks: week over week; nobody landed on '/' this week, so no bounce rate
        ("/", week_2, 7, True, 70, 70, 0, 28, 0.4, None, 30.0, 70, 0.0, 1, True, None, False, False),
        # 40 organic + 12 newsletter entrances, 20 + 9 engaged; 100 -> 60 views
        ("/blog/a", week_2, 7, True, 60, 55, 52, 30, 0.5, round(1 - 29 / 52, 6), 25.0, 100, -0.4, 2, True, None, False, False),
        # six days of a week in progress: not compared; the export lacks its last day, so no exits yet
        ("/", week_3, 6, False, 60, 60, 0, None, None, None, 30.0, None, None, 1, True, None, False, False),
        ("/blog/a", week_3, 6, False, 45, 45, 0, None, None, None, 20.0, None, None, 2, True, None, False, False),
    ]


def test_build_succeeds_without_google_ads_and_ga4_tables(tmp_path):
    """A deployment that extracts only HubSpot and Meta (FUNNELHOUSE_SOURCES) has no raw_google_ads
    or raw_ga4 tables: their staging is empty and every mart still builds and passes its tests."""
    path = tmp_path / "warehouse.duckdb"
    write_raw_warehouse(path, with_google_and_ga4=False)
    output = run_dbt("build", workdir=tmp_path, warehouse=path)
    assert "ERROR=0" in output
    con = duckdb.connect(str(path), read_only=True)
    try:
        counts = con.execute("""
            select (select count(*) from marts.content_performance),
                   (select count(*) from marts.ad_performance_daily where platform = 'google_ads'),
                   (select sum(sessions) from marts.channel_performance_daily),
                   (select round(sum(spend), 6) from marts.channel_performance_daily)
        """).fetchone()
    finally:
        con.close()
    assert counts == (0, 0, 0, M("280.50"))


def run_dbt_failing(*args: str, workdir: Path, warehouse: Path, project_dir: Path = PROJECT_DIR) -> str:
    """dbt as run_dbt, for bad input: it must exit non-zero; returns its output."""
    completed = subprocess.run(
        [
            str(DBT),
            *args,
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(project_dir),
            "--target-path",
            str(workdir / "target"),
            "--log-path",
            str(workdir / "logs"),
        ],
        env={**os.environ, "FUNNELHOUSE_WAREHOUSE": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode != 0, completed.stdout[-3000:]
    return completed.stdout


def test_a_mapping_row_with_an_unknown_channel_fails_its_named_test(tmp_path):
    """GIVEN the team's mapping seed with a misspelt channel, WHEN dbt builds, THEN the named test
    is_a_channel_utm_channel_mapping_channel fails with the value, and no mart is built from it."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, project, symlinks=True, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "seeds" / "utm_channel_mapping.csv").write_text("utm_source,utm_medium,channel\nfacebook,cpc,paid_socail\n")
    path = tmp_path / "warehouse.duckdb"
    write_raw_warehouse(path)
    output = run_dbt_failing("build", workdir=tmp_path, warehouse=path, project_dir=project)
    assert re.search(r"FAIL 1 is_a_channel_utm_channel_mapping_channel", output), output[-3000:]
    con = duckdb.connect(str(path), read_only=True)
    try:
        marts = {
            t for (t,) in con.execute("select table_name from information_schema.tables where table_schema = 'marts'").fetchall()
        }
        assert not marts & {"channel_performance_daily", "leads", "funnel_by_channel", "attribution_by_channel"}, marts
        assert con.execute("select * from seeds.utm_channel_mapping").fetchall() == [("facebook", "cpc", "paid_socail")]
    finally:
        con.close()


def test_a_campaign_match_rule_that_matches_nothing_fails_its_named_test(tmp_path):
    """GIVEN ads whose links send campaign names, WHEN var ad_campaign_match says ids, THEN the campaigns
    with clicks that found nothing fail assert_ad_campaigns_with_clicks_match_what_they_bought (three:
    Summer Sale, Retargeting, Brand; the auto-tagged Competitors still finds its sessions by GA4's id),
    and no mart is built; an unknown rule is refused with what to set."""
    path = tmp_path / "warehouse.duckdb"
    write_raw_warehouse(path)
    # the unit tests pin the rule they test; with the var set for the whole build they would fail first
    output = run_dbt_failing(
        "build", "--vars", "{ad_campaign_match: id}", "--exclude", "test_type:unit", workdir=tmp_path, warehouse=path
    )
    assert re.search(r"FAIL 3 assert_ad_campaigns_with_clicks_match_what_they_bought", output), output[-3000:]
    con = duckdb.connect(str(path), read_only=True)
    try:
        marts = {
            t for (t,) in con.execute("select table_name from information_schema.tables where table_schema = 'marts'").fetchall()
        }
        assert not marts & {"channel_performance_daily", "ad_performance_daily", "campaign_budget_recommendation"}, marts
    finally:
        con.close()
    output = run_dbt_failing(
        "compile", "--select", "int_contacts_attributed", "--vars", "{ad_campaign_match: utm}", workdir=tmp_path, warehouse=path
    )
    assert "var ad_campaign_match is 'utm': set it to name, id or name_or_id" in output


def test_every_channel_list_is_the_channels_seed():
    """The channels are written once, in seeds/channels.csv: every dbt channel column is tested against it
    (is_a_channel, no hand-written value list), and no Great Expectations suite repeats the list (dbt owns
    accepted values; GX owns distributions, volumes, ranges, freshness and reconciliation)."""
    with open(PROJECT_DIR / "seeds" / "channels.csv") as f:
        channels = [row["channel"] for row in csv.DictReader(f)]
    assert len(channels) == 19 and channels[0] == "direct" and channels[-1] == "other"
    for yml in PROJECT_DIR.rglob("*.yml"):
        if "target" not in yml.parts:
            assert "paid_social, organic" not in yml.read_text(), yml
    suites = sorted((PROJECT_DIR.parent / "expectations" / "gx" / "expectations").rglob("*.json"))
    assert suites
    for suite in suites:
        for e in json.loads(suite.read_text())["expectations"]:
            assert not (e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"].get("column") == "channel"), suite


def test_staging_carries_every_field_the_platform_sent(warehouse):
    """A property or field the models do not name yet is readable downstream without a code change."""
    contact_row = query(
        warehouse,
        """
        select properties_json->>'$.hs_object_id', properties_json->>'$.lifecyclestage'
        from staging.stg_hubspot__contacts where contact_id = '1000001'
    """,
    )
    insight_row = query(
        warehouse,
        """
        select record_json->>'$.adset_name', json_array_length(record_json->'$.actions')
        from staging.stg_meta_ads__insights where ad_id = 'a1' and date_day = '2026-06-01'
    """,
    )
    google_row = query(
        warehouse,
        """
        select record_json->>'$.adGroup.resourceName', record_json->>'$.segments.date'
        from staging.stg_google_ads__ad_group_performance where ad_group_id = 'g311'
    """,
    )
    ga4_row = query(
        warehouse,
        """
        select record_json->>'$.bounceRate', record_json->>'$.sessionCampaignName'
        from staging.stg_ga4__sessions_daily where source = '(direct)'
    """,
    )
    assert contact_row == [("1000001", "customer")]
    assert insight_row == [("Ad set a1", 3)]  # link_click, lead, pixel lead
    assert google_row == [("customers/5550003/adGroups/g311", "2026-06-03")]
    assert ga4_row == [("0.5", "(direct)")]


def test_views_still_resolve_after_the_file_is_renamed(warehouse, tmp_path):
    """DuckDB names a file's catalog after the file: views must not spell the build
    file's catalog name, or they break in a copy or a renamed file."""
    renamed = tmp_path / "published.duckdb"
    renamed.write_bytes(warehouse["path"].read_bytes())
    con = duckdb.connect(str(renamed), read_only=True)
    try:
        views = con.execute("select schema_name, view_name from duckdb_views() where not internal order by all").fetchall()
        # 35 staging and intermediate (int_sessions_attributed is an incremental table, stg_fx__rates_daily a table), 15 bi
        assert len(views) == 50
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
    for mart in MART_COLUMNS:
        assert f"model.funnelhouse.{mart}" in catalog["nodes"], mart


def test_every_mart_and_column_is_documented_and_every_mart_has_a_dashboard(warehouse):
    manifest = json.loads((warehouse["workdir"] / "target" / "manifest.json").read_text())
    marts = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["schema"] == "marts"}
    assert set(marts) == set(MART_COLUMNS)
    for name, node in marts.items():
        assert node["description"].strip(), name
        built = {
            c
            for c, _ in query(
                warehouse,
                f"select column_name, data_type from information_schema.columns "
                f"where table_schema = 'marts' and table_name = '{name}'",
            )
        }
        assert built == set(node["columns"]), name
        assert all(c["description"].strip() for c in node["columns"].values()), name
    exposed = {
        node.removeprefix("model.funnelhouse.")
        for exposure in manifest["exposures"].values()
        for node in exposure["depends_on"]["nodes"]
    }
    assert exposed == set(marts)


# ---- exchange rates by day ---------------------------------------------------------------


def test_each_amount_is_converted_at_the_rate_of_its_own_day(warehouse):
    """GIVEN 100 EUR of Meta spend on Monday June 1st and 80 EUR on Tuesday June 2nd, and the Bank's
    EUR and USD rates of Saturday May 30th (97.20 and 90.00 RUB) and Tuesday June 2nd (88.00 and 80.00),
    THEN June 1st takes Saturday's rates (none is set for Sundays and Mondays), 1.08 USD per EUR, and
    June 2nd its own, 1.10: 108.00 and 88.00 USD, each beside the original amount and currency."""
    rates = query(
        warehouse,
        """
        select date_day, rate_date, reporting_rate_date, rate_in_base, reporting_rate_in_base
        from staging.stg_fx__rates_daily where currency_code = 'EUR' and date_day between '2026-05-31' and '2026-06-02'
        order by 1
    """,
    )
    assert rates == [
        (D(2026, 5, 31), D(2026, 5, 30), D(2026, 5, 30), M("97.2"), M("90")),
        (D(2026, 6, 1), D(2026, 5, 30), D(2026, 5, 30), M("97.2"), M("90")),
        (D(2026, 6, 2), D(2026, 6, 2), D(2026, 6, 2), M("88"), M("80")),
    ]
    spend = query(
        warehouse,
        """
        select date_day, spend, account_currency, spend_in_reporting_currency
        from staging.stg_meta_ads__insights where ad_id = 'a1' order by 1
    """,
    )
    assert spend == [(D(2026, 6, 1), M("100"), "EUR", M("108.00")), (D(2026, 6, 2), M("80"), "EUR", M("88.00"))]
    # a won deal at the rate of its close date: 1000 EUR on June 10th (the rate dated June 9th)
    deals = dict(query(warehouse, "select deal_id, amount_in_reporting_currency from staging.stg_hubspot__deals"))
    assert deals["2000001"] == M("1100.00") and deals["2000002"] == M("625.00")


@pytest.fixture(scope="module")
def rub_warehouse(tmp_path_factory):
    """The same raw tables, built with the reporting currency RUB."""
    workdir = tmp_path_factory.mktemp("dbt_rub")
    path = workdir / "warehouse.duckdb"
    write_raw_warehouse(path)
    run_dbt("build", "--vars", "{reporting_currency: RUB}", workdir=workdir, warehouse=path)
    return {"path": path}


def test_the_rouble_goal_works_with_reporting_currency_rub_as_with_usd(warehouse, rub_warehouse):
    """GIVEN the shipped goal "1000 subscribers in 2026-Q2 at no more than 300 RUB each",
    WHEN the marts report in RUB instead of USD,
    THEN the cap is 300 RUB as written, every platform's spend is converted to roubles at its own
    day's rates (EUR 97.20 on June 1st, 88.00 after; USD 80.00; GBP 100.00; RUB as spent), and the
    goal is judged the same way in both currencies."""
    goal = (
        "select spend, cost_per_unit, max_cost_per_unit, is_within_cost_cap, goal_currency_code, reporting_currency "
        "from marts.kpi_attainment where goal_id = 'q2_new_subscribers'"
    )
    # 150 EUR x 97.20 + 80 EUR x 88.00 + 30.50 USD x 80.00 + 1750 RUB + 40 GBP x 100.00 = 29810.00 RUB, 2 subscribers
    assert query(rub_warehouse, goal) == [(M("29810.00"), M("14905.0000"), M("300.0000"), False, "RUB", "RUB")]
    # in USD: 352.38 USD and the same 300 RUB at June 20th's rate, 3.75 USD
    assert query(warehouse, goal) == [(M("352.38"), M("176.1900"), M("3.7500"), False, "RUB", "USD")]
    # every goal stated in a currency (or in counts) gets the same verdicts; summer_paid_social_revenue
    # names none, so its 200,000 are in whichever currency the marts report in
    verdicts = """select goal_id, is_within_cost_cap, is_on_track from marts.kpi_attainment
                  where goal_id != 'summer_paid_social_revenue' order by 1"""
    assert query(rub_warehouse, verdicts) == query(warehouse, verdicts) and len(query(warehouse, verdicts)) == 7
    rows = query(
        rub_warehouse,
        """
        select platform, date_day, account_currency, spend_in_account_currency, spend_in_reporting_currency, reporting_currency
        from marts.ad_performance_daily order by platform, date_day, spend_in_account_currency
    """,
    )
    assert [(p, d, c, s, r) for p, d, c, s, r, _ in rows] == [
        ("google_ads", D(2026, 6, 2), "RUB", M("250"), M("250.00")),
        ("google_ads", D(2026, 6, 2), "RUB", M("1500"), M("1500.00")),
        ("google_ads", D(2026, 6, 3), "GBP", M("40"), M("4000.00")),
        ("meta_ads", D(2026, 6, 1), "EUR", M("50"), M("4860.00")),
        ("meta_ads", D(2026, 6, 1), "EUR", M("100"), M("9720.00")),
        ("meta_ads", D(2026, 6, 2), "EUR", M("80"), M("7040.00")),
        ("meta_ads", D(2026, 6, 3), "USD", M("30.5"), M("2440.00")),
    ]
    assert {r[-1] for r in rows} == {"RUB"}


@pytest.mark.parametrize(
    "case, expected",
    [
        # a deal in a currency the rate source does not quote
        ("unknown currency", "no exchange rate from CHF to USD for 2026-06-11"),
        # the Bank's rates stop after May 30th: 14 days later (var fx_rate_max_age_days) they no longer count
        ("stale rates", "no exchange rate from GBP to USD for 2026-06-20"),
    ],
)
def test_a_currency_without_a_rate_for_the_day_fails_the_build_naming_it(data_dir, monkeypatch, case, expected):
    """GIVEN an amount whose currency has no rate on or before its day (within the age limit),
    WHEN the pipeline's transform step runs dbt,
    THEN it fails and its error names the currency and the day; no mart gets a NULL or 0 amount."""
    from extractors import settings
    from funnelhouse import steps

    if case == "unknown currency":
        monkeypatch.setattr(
            sys.modules[__name__],
            "DEALS",
            [*DEALS, deal("2000009", "closedwon", "250", "CHF", "2026-06-11T00:00:00.000Z", ["1000001"])],
        )
        rates = None
    else:
        rates = {
            "raw_cbr.daily_rates": (
                {"date": "date"},
                [(c, "2026-05-30", cbr_record(CBR_IDS[c], "2026-05-30", v)) for c, v in CBR_RATES["2026-05-30"].items()],
            )
        }
    settings.warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    write_raw_warehouse(settings.warehouse_path(), rates=rates)
    with pytest.raises(RuntimeError, match=expected):
        steps.transform()


def test_rates_from_a_seed_give_the_same_marts_as_the_banks(warehouse, tmp_path):
    """GIVEN no cbr extraction (no raw_cbr tables) and the same rates typed into seeds/fx_rates.csv,
    WHEN dbt builds with var fx_rates_source: seed,
    THEN every money column of the marts is what the Bank's rates gave."""
    import shutil

    project = tmp_path / "dbt_project"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    lines = ["rate_date,currency_code,base_currency_code,rate"]
    lines += [
        f"{day},{currency},RUB,{value.replace(',', '.')}" for day, rates in CBR_RATES.items() for currency, value in rates.items()
    ]
    (project / "seeds" / "fx_rates.csv").write_text("\n".join(lines) + "\n")
    path = tmp_path / "warehouse.duckdb"
    write_raw_warehouse(path, rates={})
    run_dbt("build", "--vars", "{fx_rates_source: seed}", workdir=tmp_path, warehouse=path, project_dir=project)
    seeded = {"path": path}
    for sql in (
        "select * exclude (record_json) from marts.ad_performance_daily order by all",
        "select * from marts.channel_performance_daily order by all",
        "select * from marts.kpi_attainment order by all",
        "select * from marts.attribution_by_channel order by all",
    ):
        assert query(seeded, sql) == query(warehouse, sql), sql
