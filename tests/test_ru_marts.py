"""The Russian-market ad platforms in the marts, on a hand-written raw warehouse.

GIVEN tests/test_dbt_project.py's raw warehouse (HubSpot, Meta, Google Ads, GA4, the Bank of
Russia's rates: RUB at 1/80 USD from June 2nd) plus raw_yandex_direct rows in the shape the
extractor lands them (the report's TSV values as text, Cost in micros, "--" for no conversions)
and a HubSpot contact tagged yandex / cpc,
WHEN `dbt build` runs,
THEN Yandex Direct's delivery is paid search in ad_performance_daily in roubles and dollars,
its spend reaches channel_performance_daily under the contact's yandex / cpc, and its
Conversions sit beside the CRM's leads in conversion_reconciliation.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as M

import duckdb
import pytest

from tests.test_dbt_project import GA4_PROPERTY, contact, ga4_session_row, query, run_dbt, write_raw_warehouse

D = dt.date
LOGIN = "adv-login"
DIRECT_FIELDS = ("Date", "CampaignId", "CampaignName", "CampaignType", "AdGroupId", "AdGroupName", "Impressions", "Clicks",
                 "Cost", "Conversions")
DIRECT_ROWS = [
    ("2026-06-02", "701", "yd_brand", "TEXT_CAMPAIGN", "5yd01", "бренд", "400", "30", "1500000000", "3"),
    # 250 RUB = 3.125 USD: half a cent, rounded away from zero; "--": no conversions
    ("2026-06-02", "701", "yd_brand", "TEXT_CAMPAIGN", "5yd02", "бренд опечатки", "100", "5", "250000000", "--"),
    ("2026-06-03", "702", "yd_network", "TEXT_CAMPAIGN", "5yd11", "сеть", "9000", "40", "800000000", "1"),
]
DIRECT_CAMPAIGNS = [{"Id": 701, "Name": "yd_brand", "Currency": "RUB", "TimeZone": "Europe/Moscow", "State": "ON",
                     "Status": "ACCEPTED", "Type": "TEXT_CAMPAIGN"},
                    {"Id": 702, "Name": "yd_network", "Currency": "RUB", "TimeZone": "Europe/Moscow", "State": "ON",
                     "Status": "ACCEPTED", "Type": "TEXT_CAMPAIGN"}]
# a click on ad group 5yd01 that became a lead at 10:00 UTC, 13:00 in Moscow on June 2nd
YANDEX_CONTACT = contact("1000101", "2026-06-02T10:00:00.000Z", utm=("yandex", "cpc", "yd_brand"), utm_content="5yd01",
                         hs_source="PAID_SEARCH", stages={"lead": "2026-06-02T10:00:00.000Z"})
# VK Ads: one cabinet, one ad plan of one group and banner; a click on the banner became a lead
CABINET = "cab-1"
VK_OBJECTS = {
    "cabinet": [{"id": 77, "username": "funnel@vk", "currency": "RUB"}],
    "ad_plans": [{"id": 3100001, "name": "vk_broad", "status": "active"}],
    "ad_groups": [{"id": 31000011, "name": "group 1", "status": "active", "ad_plan_id": 3100001}],
    "banners": [{"id": 310000111, "name": "banner 1", "status": "active", "ad_group_id": 31000011}],
}
VK_STATISTICS = [{"banner_id": 310000111, "date": "2026-06-02", "base": {
    "shows": 10000, "clicks": 50, "goals": 2, "spent": "800.00", "cpm": "80.00", "cpc": "16.00", "cpa": "400.00", "ctr": 0.5,
    "cr": 4.0, "vk": {"goals": 2, "cpa": 400.0, "cr": 4.0}}}]
VK_CONTACT = contact("1000102", "2026-06-02T10:00:00.000Z", utm=("vk", "cpc", "vk_broad"), utm_content="310000111",
                     hs_source="PAID_SOCIAL", stages={"lead": "2026-06-02T10:00:00.000Z"})
# the VK community: a post with a comment, two days of statistics and the members read at a run
GROUP = "219"
VK_POST = {"id": 1001, "owner_id": -219, "from_id": -219, "date": 1780390800, "text": "Кейс клиента", "post_type": "post",
           "comments": {"count": 1}, "likes": {"count": 50}, "reposts": {"count": 5}, "views": {"count": 2000}}  # 2026-06-02 09:00 UTC
VK_COMMENT = {"id": 7, "from_id": 555, "post_id": 1001, "owner_id": -219, "parents_stack": [], "date": 1780394400, "text": "👍"}
VK_DAYS = {"2026-06-02": {"visitors": {"views": 3000, "visitors": 1700}, "reach": {"reach": 2400, "reach_subscribers": 1600},
                          "activity": {"likes": 40, "comments": 1, "copies": 3, "hidden": 0, "subscribed": 9, "unsubscribed": 2}},
           "2026-06-03": {"visitors": {"views": 500, "visitors": 300}, "reach": {"reach": 400, "reach_subscribers": 250},
                          "activity": {"likes": 10, "comments": 0, "copies": 1, "hidden": 0, "subscribed": 3, "unsubscribed": 1}}}
VK_SNAPSHOT = {"id": 219, "name": "Funnelhouse", "screen_name": "funnelhouse_ru", "members_count": 9600,
               "snapshot_at": "2026-06-03T00:00:00+00:00"}
# the network campaign's clicks as GA4 saw them: no lead among them
YANDEX_SESSIONS = ga4_session_row("20260603", "yandex", "cpc", "yd_network", "/features", 38, 10, "40.0", 50, 0)


def add_russian_platforms(path) -> None:
    loaded_at = dt.datetime.now(dt.UTC)
    con = duckdb.connect(str(path))
    con.execute("create schema raw_yandex_direct")
    con.execute("create table raw_yandex_direct.campaigns (_account_id varchar not null, campaign_id varchar not null,"
                " _record json not null, _loaded_at timestamptz not null, _batch_id varchar not null)")
    con.execute("create table raw_yandex_direct.ad_group_performance (_account_id varchar not null, ad_group_id varchar not null,"
                " date date not null, _record json not null, _loaded_at timestamptz not null, _batch_id varchar not null)")
    for c in DIRECT_CAMPAIGNS:
        con.execute("insert into raw_yandex_direct.campaigns values (?, ?, ?, ?, 'batch-1')",
                    [LOGIN, str(c["Id"]), json.dumps(c), loaded_at])
    for values in DIRECT_ROWS:
        record = dict(zip(DIRECT_FIELDS, values, strict=True))
        con.execute("insert into raw_yandex_direct.ad_group_performance values (?, ?, ?, ?, ?, 'batch-1')",
                    [LOGIN, record["AdGroupId"], record["Date"], json.dumps(record), loaded_at])
    for c in (YANDEX_CONTACT, VK_CONTACT):
        con.execute("insert into raw_hubspot.contacts values ('portal-1', ?, ?, ?, 'batch-1')", [c["id"], json.dumps(c), loaded_at])
    con.execute("create schema raw_vk_ads")
    for table, objects in VK_OBJECTS.items():
        con.execute(f"create table raw_vk_ads.{table} (_account_id varchar not null, id varchar not null, _record json not null,"
                    " _loaded_at timestamptz not null, _batch_id varchar not null)")
        for o in objects:
            con.execute(f"insert into raw_vk_ads.{table} values (?, ?, ?, ?, 'batch-1')", [CABINET, str(o["id"]), json.dumps(o), loaded_at])
    con.execute("create table raw_vk_ads.banner_statistics (_account_id varchar not null, banner_id varchar not null,"
                " date date not null, _record json not null, _loaded_at timestamptz not null, _batch_id varchar not null)")
    con.execute("create schema raw_vk_community")
    for table, keys in (("wall_posts", "id varchar not null"), ("post_comments", "post_id varchar not null, id varchar not null"),
                        ("daily_stats", "date date not null"), ("community_snapshots", "id varchar not null, snapshot_at timestamptz not null")):
        con.execute(f"create table raw_vk_community.{table} (_account_id varchar not null, {keys}, _record json not null,"
                    " _loaded_at timestamptz not null, _batch_id varchar not null)")
    con.execute("insert into raw_vk_community.wall_posts values (?, ?, ?, ?, 'batch-1')", [GROUP, "1001", json.dumps(VK_POST), loaded_at])
    con.execute("insert into raw_vk_community.post_comments values (?, ?, ?, ?, ?, 'batch-1')",
                [GROUP, "1001", "7", json.dumps(VK_COMMENT), loaded_at])
    for day, r in VK_DAYS.items():
        con.execute("insert into raw_vk_community.daily_stats values (?, ?, ?, ?, 'batch-1')", [GROUP, day, json.dumps({**r, "date": day}), loaded_at])
    con.execute("insert into raw_vk_community.community_snapshots values (?, ?, ?, ?, ?, 'batch-1')",
                [GROUP, "219", VK_SNAPSHOT["snapshot_at"], json.dumps(VK_SNAPSHOT), loaded_at])
    for r in VK_STATISTICS:
        con.execute("insert into raw_vk_ads.banner_statistics values (?, ?, ?, ?, ?, 'batch-1')",
                    [CABINET, str(r["banner_id"]), r["date"], json.dumps(r), loaded_at])
    r = YANDEX_SESSIONS
    con.execute("insert into raw_ga4.sessions_daily values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'batch-1')",
                [GA4_PROPERTY, dt.date(2026, 6, 3), r["sessionSource"], r["sessionMedium"], r["sessionCampaignName"],
                 r["sessionGoogleAdsCampaignId"], r["sessionGoogleAdsCampaignName"], r["landingPage"], json.dumps(r), loaded_at])
    con.close()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("dbt_ru")
    path = workdir / "warehouse.duckdb"
    write_raw_warehouse(path)
    add_russian_platforms(path)
    run_dbt("build", workdir=workdir, warehouse=path)
    return {"path": path, "workdir": workdir}


def test_yandex_direct_is_paid_search_in_roubles_and_dollars(warehouse):
    rows = query(warehouse, """
        select platform, channel, ad_account_id, account_timezone, campaign_id, campaign_name, ad_group_id, ad_group_name,
               ad_id, date_day, account_currency, spend_in_account_currency, spend_in_reporting_currency, impressions,
               clicks, conversions, conversion_value_in_reporting_currency
        from marts.ad_performance_daily where platform = 'yandex_direct' order by date_day, ad_group_id
    """)
    brand = ("yandex_direct", "paid_search", LOGIN, "Europe/Moscow", "701", "yd_brand")
    assert rows == [
        (*brand, "5yd01", "бренд", "(none)", D(2026, 6, 2), "RUB", M("1500.000000"), M("18.75"), 400, 30, 3.0, 0),
        (*brand, "5yd02", "бренд опечатки", "(none)", D(2026, 6, 2), "RUB", M("250.000000"), M("3.13"), 100, 5, 0.0, 0),
        # yd_network's GA4 sessions (yandex / cpc) name its channel
        ("yandex_direct", "paid_search", LOGIN, "Europe/Moscow", "702", "yd_network", "5yd11", "сеть", "(none)",
         D(2026, 6, 3), "RUB", M("800.000000"), M("10.00"), 9000, 40, 1.0, 0),
    ]


def test_its_spend_lands_on_the_row_of_what_it_bought(warehouse):
    rows = query(warehouse, """
        select date_day, channel, source, medium, campaign, spend, clicks, sessions, leads, cost_per_lead
        from marts.channel_performance_daily where campaign in ('yd_brand', 'yd_network') order by all
    """)
    assert rows == [
        (D(2026, 6, 2), "paid_search", "yandex", "cpc", "yd_brand", M("21.88"), 35, 0, 1, M("21.8800")),
        (D(2026, 6, 3), "paid_search", "yandex", "cpc", "yd_network", M("10.00"), 40, 38, 0, None),
    ]


def test_directs_conversions_sit_beside_the_crms_leads(warehouse):
    rows = query(warehouse, """
        select platform, ad_account_id, date_day, platform_conversions, crm_leads, conversion_gap, has_platform_data
        from marts.conversion_reconciliation where platform = 'yandex_direct' order by all
    """)
    assert rows == [
        ("yandex_direct", LOGIN, D(2026, 6, 2), 3.0, 1, 2.0, True),
        ("yandex_direct", LOGIN, D(2026, 6, 3), 1.0, 0, 1.0, True),
    ]


def test_vk_ads_is_paid_social_per_banner_in_roubles_and_dollars(warehouse):
    rows = query(warehouse, """
        select platform, channel, ad_account_id, account_name, account_timezone, campaign_id, campaign_name, ad_group_id,
               ad_group_name, ad_id, ad_name, date_day, account_currency, spend_in_account_currency,
               spend_in_reporting_currency, impressions, clicks, conversions
        from marts.ad_performance_daily where platform = 'vk_ads'
    """)
    assert rows == [("vk_ads", "paid_social", CABINET, "funnel@vk", "Europe/Moscow", "3100001", "vk_broad", "31000011", "group 1",
                     "310000111", "banner 1", D(2026, 6, 2), "RUB", M("800.000000"), M("10.00"), 10000, 50, 2.0)]
    channel = query(warehouse, """
        select channel, source, medium, spend, clicks, leads, cost_per_lead
        from marts.channel_performance_daily where campaign = 'vk_broad'
    """)
    assert channel == [("paid_social", "vk", "cpc", M("10.00"), 50, 1, M("10.0000"))]
    reconciliation = query(warehouse, """
        select ad_account_id, date_day, platform_conversions, crm_leads from marts.conversion_reconciliation
        where platform = 'vk_ads'
    """)
    assert reconciliation == [(CABINET, D(2026, 6, 2), 2.0, 1)]


def test_the_vk_community_is_a_social_channel_beside_facebook_and_instagram(warehouse):
    posts = query(warehouse, """
        select post_id, platform, account_id, permalink, views, reach, likes, comments, shares, saves, engagements,
               comments_extracted
        from marts.social_post_engagement where platform = 'vk'
    """)
    assert posts == [("-219_1001", "vk", GROUP, "https://vk.com/wall-219_1001", 2000, None, 50, 1, 5, None, 56, 1)]
    days = query(warehouse, """
        select date_day, posts_published, impressions, reach, likes, comments, shares, saves, engagements, followers
        from marts.social_engagement where channel = 'vk' order by date_day
    """)
    assert days == [
        # the day's statistics (40 likes + 1 comment + 3 reposts) and the posts published that day (their counters)
        (D(2026, 6, 2), 1, 3000, 2400, 50, 1, 5, None, 44, 9600),
        (D(2026, 6, 3), 0, 500, 400, 0, 0, 0, None, 11, None),
    ]
