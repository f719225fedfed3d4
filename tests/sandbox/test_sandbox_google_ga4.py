"""Google Ads (searchStream + GAQL) and GA4 (runReport) in the sandbox, over the same world.

GIVEN the seed-7 business, WHEN its Google Ads and GA4 endpoints are read in full,
THEN they return exactly the world's records and its ground truth, agree with each
other and with the CRM (every paid click is a GA4 session, every contact is one of
them), restate recent numbers as the clock moves, answer bad requests with each
platform's own errors, and stay lazy and deterministic.
"""

from __future__ import annotations

import tracemalloc
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
import requests

from sandbox import gaql
from sandbox.apis import google_ads
from sandbox.server import DEFAULT_TOKENS, SandboxServer
from sandbox.world import CAMPAIGNS, GOOGLE_ADS_CUSTOMERS, SEARCH_CAMPAIGNS, World
from sandbox.world_web import PROPERTY_ID, property_day_end

GOOGLE_HEADERS = {
    "Authorization": f"Bearer {DEFAULT_TOKENS['google_ads']}",
    "developer-token": DEFAULT_TOKENS["google_ads_developer"],
    "login-customer-id": "5550000",
}
GA4_HEADERS = {"Authorization": f"Bearer {DEFAULT_TOKENS['ga4']}"}
AD_GROUP_QUERY = (
    "SELECT customer.id, customer.currency_code, customer.time_zone, campaign.id, campaign.name, ad_group.id, "
    "metrics.impressions, metrics.clicks, metrics.cost_micros, metrics.conversions, metrics.conversions_value, "
    "segments.date FROM ad_group WHERE segments.date BETWEEN '{start}' AND '{end}'"
)
SESSION_DIMENSIONS = ("date", "sessionSource", "sessionMedium", "sessionCampaignName", "landingPage")
SESSION_METRICS = ("sessions", "engagedSessions", "bounceRate", "averageSessionDuration", "screenPageViews", "keyEvents")
PAGE_METRICS = ("screenPageViews", "userEngagementDuration", "sessions")


def search_stream(server, customer_id: str, query: str, headers: dict | None = None) -> requests.Response:
    return requests.post(
        f"{server.base_url}/v26/customers/{customer_id}/googleAds:searchStream",
        json={"query": query},
        headers=GOOGLE_HEADERS if headers is None else headers,
        timeout=60,
    )


def google_rows(server, customer_id: str, query: str) -> list[dict]:
    response = search_stream(server, customer_id, query)
    assert response.status_code == 200, response.text
    return [row for batch in response.json() for row in batch.get("results", [])]


def full_ad_group_read(server, world) -> list[dict]:
    query = AD_GROUP_QUERY.format(start=world.start, end=world.end)
    return [row for c in GOOGLE_ADS_CUSTOMERS for row in google_rows(server, c.customer_id, query)]


def run_report(server, body: dict, headers: dict | None = None, property_id: str = PROPERTY_ID) -> requests.Response:
    return requests.post(
        f"{server.base_url}/v1beta/properties/{property_id}:runReport",
        json=body,
        headers=GA4_HEADERS if headers is None else headers,
        timeout=60,
    )


def ga4_read(server, world, dimensions, metrics, page_size: int = 2000, start=None, end=None) -> list[dict]:
    """Every row of a report, paged with offset/limit (as strings) until rowCount."""
    first, last = world.session_dates
    body = {
        "dateRanges": [{"startDate": str(start or first), "endDate": str(end or last)}],
        "dimensions": [{"name": d} for d in dimensions],
        "metrics": [{"name": m} for m in metrics],
    }
    rows, offset = [], 0
    while True:
        response = run_report(server, {**body, "limit": str(page_size), "offset": str(offset)})
        assert response.status_code == 200, response.text
        page = response.json()
        assert [h["name"] for h in page["dimensionHeaders"]] == list(dimensions)
        for row in page.get("rows", []):
            values = [v["value"] for v in row["dimensionValues"]] + [v["value"] for v in row["metricValues"]]
            rows.append(dict(zip((*dimensions, *metrics), values, strict=True)))
        offset += page_size
        if offset >= page.get("rowCount", 0):
            return rows


@pytest.fixture(scope="module")
def later_server(world):
    """A server whose clock is past every late hit and every Google conversion of the simulated period."""
    with SandboxServer(world, now=world.default_now + timedelta(days=35)) as server:
        yield server


# ---- Google Ads ---------------------------------------------------------------------------


def test_full_google_ads_read_equals_the_worlds_ad_group_days(server, world):
    rows = full_ad_group_read(server, world)
    now = server.sandbox.now
    expected = {
        (a.ad_group.ad_group_id, a.day.isoformat()): a for a in world.iter_ad_group_days(None, world.start, world.end, now)
    }
    got = {(r["adGroup"]["id"], r["segments"]["date"]): r for r in rows}
    assert len(rows) == len(got) == len(expected) == world.truth().google_ads_row_count == 896
    assert got.keys() == expected.keys()
    for key, row in got.items():
        agd = expected[key]
        assert row["customer"] == {
            "resourceName": agd.customer.resource_name,
            "id": agd.customer.customer_id,
            "currencyCode": agd.customer.currency,
            "timeZone": agd.customer.time_zone,
        }
        assert row["campaign"] == {
            "resourceName": f"customers/{agd.customer.customer_id}/campaigns/{agd.campaign.campaign_id}",
            "id": agd.campaign.campaign_id,
            "name": agd.campaign.name,
        }
        assert row["metrics"] == {
            "impressions": str(agd.impressions),
            "clicks": str(agd.clicks),
            "costMicros": str(agd.cost_micros),
            "conversions": agd.conversions_at(now),
            "conversionsValue": agd.conversions_value_at(now),
        }


def test_google_ads_sums_equal_the_ground_truth(server, world):
    truth = world.truth()
    by_campaign: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    by_currency: dict[str, Decimal] = defaultdict(Decimal)
    for row in full_ad_group_read(server, world):
        m = by_campaign[row["campaign"]["name"]]
        for field, name in (("impressions", "impressions"), ("clicks", "clicks"), ("cost_micros", "costMicros")):
            m[field] += int(row["metrics"][name])
        m["conversions"] += row["metrics"]["conversions"]
        m["conversions_value"] += Decimal(repr(row["metrics"]["conversionsValue"]))  # each row's value as sent
        by_currency[row["customer"]["currencyCode"]] += Decimal(row["metrics"]["costMicros"]) / 1_000_000
    assert by_campaign.keys() == truth.google_ads_by_campaign.keys()
    for campaign, metrics in truth.google_ads_by_campaign.items():
        got = dict(by_campaign[campaign])
        assert got["conversions"] == pytest.approx(metrics["conversions"]), campaign
        assert {k: v for k, v in got.items() if k != "conversions"} == {
            k: v for k, v in metrics.items() if k not in ("conversions", "conversions_value_usd")
        }, campaign
    assert dict(by_currency) == truth.spend_by_platform_currency["google_ads"]
    assert set(by_currency) == {"RUB", "USD", "GBP"}
    assert truth.spend_by_platform_currency["google_ads"]["RUB"] == Decimal("738453.24")


def test_campaign_and_customer_reports_aggregate_the_ad_group_days(server, world):
    start, end = world.start, world.start + timedelta(days=29)
    ad_groups = google_rows(server, "5550002", AD_GROUP_QUERY.format(start=start, end=end))
    campaigns = google_rows(
        server,
        "5550002",
        "SELECT campaign.name, metrics.clicks, metrics.cost_micros FROM campaign "
        f"WHERE segments.date >= '{start}' AND segments.date <= '{end}' ORDER BY campaign.name",
    )
    expected = defaultdict(lambda: [0, 0])
    for r in ad_groups:
        expected[r["campaign"]["name"]][0] += int(r["metrics"]["clicks"])
        expected[r["campaign"]["name"]][1] += int(r["metrics"]["costMicros"])
    assert [(r["campaign"]["name"], int(r["metrics"]["clicks"]), int(r["metrics"]["costMicros"])) for r in campaigns] == sorted(
        (name, clicks, cost) for name, (clicks, cost) in expected.items()
    )
    customer = google_rows(
        server,
        "5550002",
        f"SELECT customer.id, metrics.cost_micros FROM customer WHERE segments.date BETWEEN '{start}' AND '{end}'",
    )
    assert customer == [
        {
            "customer": {"resourceName": "customers/5550002", "id": "5550002"},
            "metrics": {"costMicros": str(sum(cost for _, cost in expected.values()))},
        }
    ]


def test_google_ads_answers_in_batches_of_at_most_the_batch_size(server, world, monkeypatch):
    monkeypatch.setattr(google_ads, "BATCH_SIZE", 100)
    response = search_stream(server, "5550001", AD_GROUP_QUERY.format(start=world.start, end=world.end))
    batches = response.json()
    assert [len(b["results"]) for b in batches] == [100] * 3 + [60]
    assert all(b["fieldMask"] == batches[0]["fieldMask"] and b["requestId"] == batches[0]["requestId"] for b in batches)
    assert batches[0]["fieldMask"] == (
        "customer.id,customer.currencyCode,customer.timeZone,campaign.id,campaign.name,adGroup.id,"
        "metrics.impressions,metrics.clicks,metrics.costMicros,metrics.conversions,"
        "metrics.conversionsValue,segments.date"
    )


def test_google_ads_dates_are_the_accounts_own_days_reported_once_they_end(sandbox, world):
    """Los Angeles is 7 hours behind UTC: at 03:00 UTC its previous day is still running."""
    last = world.end.isoformat()
    query = f"SELECT ad_group.id, metrics.clicks, segments.date FROM ad_group WHERE segments.date = '{last}'"
    sandbox.set_clock(world.default_now + timedelta(hours=3))
    assert google_rows(sandbox, "5550002", query) == []
    assert len(google_rows(sandbox, "5550001", query)) == 4  # Moscow's day ended at 21:00 UTC
    sandbox.set_clock(world.default_now + timedelta(hours=8))
    assert len(google_rows(sandbox, "5550002", query)) == 4


def test_google_conversions_are_restated_as_the_clock_moves(sandbox, world):
    query = AD_GROUP_QUERY.format(start=world.start, end=world.end)
    earlier = world.default_now - timedelta(days=20)
    sandbox.set_clock(earlier)
    before = {(r["adGroup"]["id"], r["segments"]["date"]): r["metrics"] for r in google_rows(sandbox, "5550001", query)}
    sandbox.set_clock(world.default_now)
    after = {(r["adGroup"]["id"], r["segments"]["date"]): r["metrics"] for r in google_rows(sandbox, "5550001", query)}
    restated = [k for k in before if after[k]["conversions"] != before[k]["conversions"]]
    assert restated, "conversions learnt after the first read must change earlier days"
    assert all(after[k]["conversions"] > before[k]["conversions"] for k in restated)
    assert all(after[k]["costMicros"] == before[k]["costMicros"] and after[k]["clicks"] == before[k]["clicks"] for k in before)
    oldest_restated = min(day for _, day in restated)
    assert (earlier.date() - timedelta(days=31)).isoformat() <= oldest_restated  # within the 30-day window
    assert world.truth(earlier).google_ads_conversions_by_campaign != world.truth().google_ads_conversions_by_campaign


def test_manager_account_lists_its_clients_and_refuses_metrics(server):
    rows = google_rows(
        server,
        "5550000",
        "SELECT customer_client.id, customer_client.currency_code, customer_client.time_zone, "
        "customer_client.manager, customer_client.level FROM customer_client",
    )
    assert [(r["customerClient"]["id"], r["customerClient"]["currencyCode"], r["customerClient"]["level"]) for r in rows] == [
        ("5550000", "USD", "0"),
        ("5550001", "RUB", "1"),
        ("5550002", "USD", "1"),
        ("5550003", "GBP", "1"),
    ]
    response = search_stream(server, "5550000", "SELECT metrics.clicks FROM customer WHERE segments.date DURING LAST_7_DAYS")
    assert response.status_code == 400
    assert response.json()[0]["error"]["details"][0]["errors"][0]["errorCode"] == {"queryError": "REQUESTED_METRICS_FOR_MANAGER"}


@pytest.mark.parametrize(
    "headers, customer, status, grpc_status, error_code",
    [
        (None, "5550001", 401, "UNAUTHENTICATED", None),
        ({"Authorization": "Bearer expired"}, "5550001", 401, "UNAUTHENTICATED", {"authenticationError": "OAUTH_TOKEN_INVALID"}),
        ({"developer-token": "nope"}, "5550001", 401, "UNAUTHENTICATED", {"authenticationError": "DEVELOPER_TOKEN_INVALID"}),
        ({}, "9999999", 403, "PERMISSION_DENIED", {"authorizationError": "USER_PERMISSION_DENIED"}),
        ({"login-customer-id": "5550002"}, "5550001", 403, "PERMISSION_DENIED", {"authorizationError": "USER_PERMISSION_DENIED"}),
        ({"login-customer-id": "555-000-0"}, "5550001", 400, "INVALID_ARGUMENT", {"headerError": "INVALID_LOGIN_CUSTOMER_ID"}),
    ],
)
def test_google_ads_auth_and_access_errors_are_googles(server, headers, customer, status, grpc_status, error_code):
    sent = {} if headers is None else {**GOOGLE_HEADERS, **headers}
    response = search_stream(server, customer, "SELECT customer.id FROM customer", headers=sent)
    assert response.status_code == status
    body = response.json()
    assert isinstance(body, list) and len(body) == 1  # searchStream wraps its error in the array
    error = body[0]["error"]
    assert (error["code"], error["status"]) == (status, grpc_status)
    if error_code:
        assert error["details"][0]["@type"] == "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure"
        assert error["details"][0]["errors"][0]["errorCode"] == error_code
    assert DEFAULT_TOKENS["google_ads"] not in response.text


@pytest.mark.parametrize(
    "query, code",
    [
        ("SELECT campaign.id FROM campaign WHERE", "UNEXPECTED_END_OF_QUERY"),
        ("SELECT campaign.id campaign", "EXPECTED_FROM"),
        ("campaign.id FROM campaign", "EXPECTED_SELECT"),
        ("SELECT metrics.clickz FROM campaign", "UNRECOGNIZED_FIELD"),
        ("SELECT campaign.id FROM keyword_view", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"),
        ("SELECT ad_group.id FROM campaign", "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"),
        ("SELECT campaign.id, segments.date FROM campaign", "EXPECTED_FILTERS_ON_DATE_RANGE"),
        ("SELECT campaign.id, segments.date FROM campaign WHERE segments.date >= '2026-06-01'", "EXPECTED_FILTERS_ON_DATE_RANGE"),
        ("SELECT campaign.id FROM campaign WHERE segments.date BETWEEN '2026-06-01' AND '2026/06/30'", "INVALID_DATE_FORMAT"),
        ("SELECT campaign.id FROM campaign WHERE segments.date BETWEEN '2026-06-30' AND '2026-06-01'", "DATE_RANGE_TOO_NARROW"),
        ("SELECT campaign.id FROM campaign WHERE segments.date DURING LAST_3_WEEKS", "INVALID_VALUE_WITH_DURING_OPERATOR"),
        ("SELECT campaign.id FROM campaign WHERE campaign.name = 'unterminated", "STRING_NOT_TERMINATED"),
        ("SELECT campaign.id FROM campaign WHERE campaign.id ~ 3", "BAD_SYMBOL"),
        ("SELECT campaign.id FROM campaign LIMIT 0", "LIMIT_VALUE_TOO_LOW"),
        ("SELECT campaign.id FROM campaign WHERE campaign.id IN ()", "PROHIBITED_EMPTY_LIST_IN_CONDITION"),
    ],
)
def test_bad_gaql_is_invalid_argument_with_googles_query_error(server, query, code):
    response = search_stream(server, "5550002", query)
    assert response.status_code == 400, response.text
    error = response.json()[0]["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["details"][0]["errors"][0]["errorCode"] == {"queryError": code}


def test_gaql_parses_the_subset_the_sandbox_answers():
    q = gaql.parse(
        "select campaign.id, campaign.name, metrics.cost_micros FROM campaign "
        "WHERE segments.date BETWEEN '2026-06-01' AND \"2026-06-30\" AND campaign.status = ENABLED "
        "AND campaign.id IN (1, 2) AND campaign.name NOT LIKE '%test%' AND metrics.clicks > 10 "
        "AND ad_group.name IS NOT NULL ORDER BY metrics.cost_micros DESC, campaign.id LIMIT 5"
    )
    assert q.fields == ("campaign.id", "campaign.name", "metrics.cost_micros")
    assert q.resource == "campaign"
    assert q.conditions == (
        gaql.Condition("segments.date", "BETWEEN", ("2026-06-01", "2026-06-30")),
        gaql.Condition("campaign.status", "=", ("ENABLED",)),
        gaql.Condition("campaign.id", "IN", (1, 2)),
        gaql.Condition("campaign.name", "NOT LIKE", ("%test%",)),
        gaql.Condition("metrics.clicks", ">", (10,)),
        gaql.Condition("ad_group.name", "IS NOT NULL", ()),
    )
    assert q.order_by == (("metrics.cost_micros", True), ("campaign.id", False))
    assert q.limit == 5
    assert gaql.parse("SELECT customer.id FROM customer WHERE segments.date DURING last_30_days").conditions == (
        gaql.Condition("segments.date", "DURING", ("LAST_30_DAYS",)),
    )
    assert gaql.parse("SELECT campaign.name FROM campaign WHERE campaign.name = 'it\\'s'").conditions[0].values == ("it's",)


def test_gaql_filters_order_and_limit_apply_to_the_rows(server, world):
    rows = google_rows(
        server,
        "5550001",
        "SELECT campaign.name, ad_group.id, metrics.clicks FROM ad_group "
        f"WHERE segments.date BETWEEN '{world.start}' AND '{world.end}' "
        "AND campaign.name LIKE 'ru_search_%' AND metrics.clicks > 100 "
        "ORDER BY metrics.clicks DESC LIMIT 3",
    )
    clicks = [int(r["metrics"]["clicks"]) for r in rows]
    assert len(rows) == 3 and clicks == sorted(clicks, reverse=True) and min(clicks) > 100
    brand = google_rows(
        server, "5550001", "SELECT campaign.id, campaign.name FROM campaign WHERE campaign.name = 'ru_search_brand'"
    )
    assert [r["campaign"]["name"] for r in brand] == ["ru_search_brand"]


# ---- GA4 ----------------------------------------------------------------------------------


def test_full_ga4_session_report_equals_the_ground_truth(server, world):
    truth = world.truth()
    rows = ga4_read(server, world, SESSION_DIMENSIONS, SESSION_METRICS)
    assert sum(int(r["sessions"]) for r in rows) == truth.session_count
    assert sum(int(r["engagedSessions"]) for r in rows) == truth.ga4_totals["engaged_sessions"]
    assert sum(int(r["screenPageViews"]) for r in rows) == truth.ga4_totals["page_views"]
    assert sum(int(r["keyEvents"]) for r in rows) == truth.ga4_totals["conversions"]
    assert sum(float(r["averageSessionDuration"]) * int(r["sessions"]) for r in rows) == pytest.approx(
        truth.ga4_totals["duration_seconds"]
    )
    by_utm: dict[tuple, int] = defaultdict(int)
    for r in rows:
        by_utm[(r["sessionSource"], r["sessionMedium"], r["sessionCampaignName"])] += int(r["sessions"])
        assert 0 <= float(r["bounceRate"]) <= 1 and len(r["date"]) == 8 and r["date"].isdigit()
        assert int(r["keyEvents"]) <= int(r["engagedSessions"]) <= int(r["sessions"]) <= int(r["screenPageViews"])
    assert dict(by_utm) == truth.sessions_by_source_medium_campaign
    assert len(rows) == len({tuple(r[d] for d in SESSION_DIMENSIONS) for r in rows})  # one row per dimension combination
    by_day = defaultdict(int)
    for r in ga4_read(server, world, ("date", "sessionDefaultChannelGroup"), ("sessions",)):
        by_day[(r["sessionDefaultChannelGroup"], r["date"])] += int(r["sessions"])
    groups = {
        "paid_social": "Paid Social",
        "paid_search": "Paid Search",
        "organic_search": "Organic Search",
        "direct": "Direct",
        "referral": "Referral",
        "email": "Email",
        "organic_social": "Organic Social",
    }
    assert dict(by_day) == {(groups[c], d.strftime("%Y%m%d")): n for (c, d), n in truth.sessions_by_channel_day.items()}


def test_ga4_page_report_adds_up_to_the_session_report(server, world):
    truth = world.truth()
    pages = ga4_read(server, world, ("date", "pagePath"), PAGE_METRICS)
    assert sum(int(r["screenPageViews"]) for r in pages) == truth.ga4_totals["page_views"]
    assert sum(int(r["userEngagementDuration"]) for r in pages) == truth.ga4_totals["duration_seconds"]
    views: dict[str, int] = defaultdict(int)
    for r in pages:
        views[r["pagePath"]] += int(r["screenPageViews"])
        assert int(r["sessions"]) <= int(r["screenPageViews"])
    assert dict(views) == truth.page_views_by_page


def test_organic_content_trend_is_visible_week_over_week(later_server, world):
    """The UTM guide loses organic-search landings through the period; the attribution article gains them."""
    rows = ga4_read(later_server, world, ("date", "sessionMedium", "landingPage"), ("sessions",))
    first, last = defaultdict(int), defaultdict(int)
    for r in rows:
        if r["sessionMedium"] == "organic" and r["date"] < (world.start + timedelta(days=14)).strftime("%Y%m%d"):
            first[r["landingPage"]] += int(r["sessions"])
        elif r["sessionMedium"] == "organic" and r["date"] > (world.end - timedelta(days=14)).strftime("%Y%m%d"):
            last[r["landingPage"]] += int(r["sessions"])
    assert last["/blog/utm-tagging-guide"] < first["/blog/utm-tagging-guide"] / 2
    assert last["/blog/attribution-models-explained"] > first["/blog/attribution-models-explained"] * 1.5


def test_ga4_days_appear_when_they_end_and_late_hits_arrive_for_72_hours(sandbox, world):
    day = world.start + timedelta(days=40)
    body = {
        "dateRanges": [{"startDate": str(day), "endDate": str(day)}],
        "dimensions": [{"name": "date"}],
        "metrics": [{"name": "sessions"}],
    }

    def sessions_at(clock):
        sandbox.set_clock(clock)
        page = run_report(sandbox, body).json()
        return int(page["rows"][0]["metricValues"][0]["value"]) if "rows" in page else None

    end = property_day_end(day)
    assert end.hour == 4  # midnight in New York (EDT) is 04:00 UTC
    assert sessions_at(end - timedelta(minutes=1)) is None
    readings = [sessions_at(end + timedelta(hours=h)) for h in (0, 24, 48, 72)]
    assert readings[0] < readings[-1] and readings == sorted(readings)
    assert sessions_at(end + timedelta(days=30)) == readings[-1]
    truth = world.truth(end + timedelta(hours=72))
    assert readings[-1] == sum(n for (_, d), n in truth.sessions_by_channel_day.items() if d == day)


def test_every_paid_click_is_a_ga4_session_and_every_contact_one_of_them(later_server, world):
    rows = ga4_read(later_server, world, ("sessionSource", "sessionMedium", "sessionCampaignName"), ("sessions", "keyEvents"))
    sessions = {(r["sessionSource"], r["sessionMedium"], r["sessionCampaignName"]): int(r["sessions"]) for r in rows}
    conversions = {(r["sessionSource"], r["sessionMedium"], r["sessionCampaignName"]): int(r["keyEvents"]) for r in rows}
    google_clicks: dict[str, int] = defaultdict(int)
    query = f"SELECT campaign.name, metrics.clicks FROM campaign WHERE segments.date BETWEEN '{world.start}' AND '{world.end}'"
    for customer in GOOGLE_ADS_CUSTOMERS:
        for row in google_rows(later_server, customer.customer_id, query):
            google_clicks[row["campaign"]["name"]] += int(row["metrics"]["clicks"])
    assert set(google_clicks) == {c.name for c in SEARCH_CAMPAIGNS}
    truth = world.truth(later_server.sandbox.now)
    contacts = truth.contacts_created_by_utm
    created = Counter(c.ad_campaign for c in world.iter_contacts(later_server.sandbox.now) if c.ad_campaign)
    for campaign, clicks in google_clicks.items():
        # tagged or auto-tagged, GA4 reports a Google Ads click as google / cpc with its campaign
        assert sessions[("google", "cpc", campaign)] == clicks, campaign
        assert conversions[("google", "cpc", campaign)] == created[campaign] <= clicks
    for campaign in CAMPAIGNS:  # each Meta account's own tags: facebook / paid_social (US), facebook / cpc (EU)
        tags = ("facebook", campaign.account.utm_medium, campaign.name)
        assert sessions[tags] == truth.ad_clicks_by_campaign[campaign.name]
        assert conversions[tags] == contacts[tags] == created[campaign.name]
    assert sum(conversions.values()) == sum(contacts.values())  # organic contacts too: one converting session each


def test_paid_search_contacts_carry_the_ad_group_that_brought_them(server, world):
    """Tagged accounts' contacts carry campaign, ad group and keyword in their UTM tags; the auto-tagged
    account's carry no UTM tags, HubSpot's PAID_SEARCH and the gclid, which click_view lists with the campaign
    and ad group of the click."""
    ad_groups = {g.ad_group_id: (c.name, g.keyword) for c in SEARCH_CAMPAIGNS for g in c.ad_groups}
    auto_tagged = {c.name for c in SEARCH_CAMPAIGNS if c.customer.auto_tagged}
    assert auto_tagged == {"ru_search_brand", "ru_search_generic"}
    paid_search = [c for c in world.iter_contacts(world.default_now) if c.channel == "paid_search"]
    tagged = [c for c in paid_search if c.ad_campaign not in auto_tagged]
    untagged = [c for c in paid_search if c.ad_campaign in auto_tagged]
    assert len(tagged) == 440 and len(untagged) == 455
    for c in tagged:
        assert (c.utm_source, c.utm_medium, c.hs_analytics_source, c.gclid) == ("google", "cpc", "PAID_SEARCH", None)
        assert ad_groups[c.utm_content] == (c.utm_campaign, c.utm_term) and c.utm_campaign == c.ad_campaign
        assert (c.source_data_1, c.source_data_2) == (c.utm_campaign, c.utm_term)  # drill-downs: campaign, search term
    record = world.contact_record(tagged[0], world.default_now, None)
    assert record["properties"]["utm_content"] == tagged[0].utm_content
    assert record["properties"]["utm_term"] == tagged[0].utm_term
    assert record["properties"]["hs_google_click_id"] is None
    clicks = {}
    days = sorted({c.created_at.astimezone(SEARCH_CAMPAIGNS[0].customer.tz).date() for c in untagged})[:5]
    for day in days:
        query = (
            f"SELECT campaign.name, ad_group.id, click_view.gclid, segments.date FROM click_view WHERE segments.date = '{day}'"
        )
        clicks.update(
            {r["clickView"]["gclid"]: (r["campaign"]["name"], r["adGroup"]["id"]) for r in google_rows(server, "5550001", query)}
        )
    checked = 0
    for c in untagged:
        assert (c.utm_source, c.utm_medium, c.utm_campaign, c.utm_content, c.hs_analytics_source) == (
            None,
            None,
            None,
            None,
            "PAID_SEARCH",
        )
        record = world.contact_record(c, world.default_now, None)["properties"]
        assert record["hs_google_click_id"] == c.gclid and record["utm_campaign"] is None
        if c.gclid in clicks:
            assert clicks[c.gclid] == (c.ad_campaign, c.ad_group_id)
            checked += 1
    # every contact of those five account days is one of their clicks
    assert checked == sum(c.created_at.astimezone(SEARCH_CAMPAIGNS[0].customer.tz).date() in days for c in untagged) == 19
    currencies = {c.deal.currency for c in paid_search if c.deal}
    assert currencies == {"RUB", "USD", "GBP"}


def test_ga4_names_the_google_ads_campaign_of_auto_tagged_clicks_only(server, world):
    rows = ga4_read(
        server,
        world,
        ("sessionSource", "sessionMedium", "sessionCampaignName", "sessionGoogleAdsCampaignId", "sessionGoogleAdsCampaignName"),
        ("sessions",),
    )
    named = {
        (r["sessionCampaignName"], r["sessionGoogleAdsCampaignId"], r["sessionGoogleAdsCampaignName"])
        for r in rows
        if r["sessionGoogleAdsCampaignId"] != "(not set)"
    }
    assert named == {(c.name, c.campaign_id, c.name) for c in SEARCH_CAMPAIGNS if c.customer.auto_tagged}
    assert all(
        (r["sessionSource"], r["sessionMedium"]) == ("google", "cpc")
        for r in rows
        if r["sessionGoogleAdsCampaignId"] != "(not set)"
    )
    assert all(r["sessionGoogleAdsCampaignName"] == "(not set)" for r in rows if r["sessionGoogleAdsCampaignId"] == "(not set)")


def test_click_view_answers_one_day_at_most_90_days_back(server, world):
    """Google's two limits on click_view: one day per query, and no further back than 90 days."""
    query = "SELECT click_view.gclid, segments.date FROM click_view WHERE segments.date {}"
    day = world.start + timedelta(days=10)
    rows = google_rows(server, "5550001", query.format(f"= '{day}'"))
    assert len(rows) == sum(agd.clicks for agd in world.ad_group_days(day) if agd.customer.customer_id == "5550001")
    assert len({r["clickView"]["gclid"] for r in rows}) == len(rows)
    assert rows[0]["clickView"]["resourceName"] == f"customers/5550001/clickViews/{day}~{rows[0]['clickView']['gclid']}"
    for where, code in (
        (f"BETWEEN '{day}' AND '{day + timedelta(days=1)}'", "EXPECTED_FILTER_ON_A_SINGLE_DAY"),
        ("= '2026-05-30'", "DATE_TOO_OLD"),
    ):
        response = search_stream(server, "5550001", query.format(where))
        assert response.status_code == 400
        assert response.json()[0]["error"]["details"][0]["errors"][0]["errorCode"] == {"clickViewError": code}


@pytest.mark.parametrize(
    "headers, property_id, body_change, status, grpc_status, message",
    [
        ({}, PROPERTY_ID, {}, 401, "UNAUTHENTICATED", "missing required authentication credential"),
        ({"Authorization": "Bearer expired"}, PROPERTY_ID, {}, 401, "UNAUTHENTICATED", "invalid authentication credentials"),
        (None, "999", {}, 403, "PERMISSION_DENIED", "sufficient permissions for this property"),
        (
            None,
            PROPERTY_ID,
            {"dimensions": [{"name": "sessionPotato"}]},
            400,
            "INVALID_ARGUMENT",
            "sessionPotato is not a valid dimension",
        ),
        (None, PROPERTY_ID, {"metrics": [{"name": "visits"}]}, 400, "INVALID_ARGUMENT", "visits is not a valid metric"),
        # not Data API metrics (googleapis/google-cloud-java#9279, googleanalytics/ga-dev-tools#1658)
        (
            None,
            PROPERTY_ID,
            {"dimensions": [{"name": "pagePath"}], "metrics": [{"name": "exits"}]},
            400,
            "INVALID_ARGUMENT",
            "Field exits is not a valid metric",
        ),
        (
            None,
            PROPERTY_ID,
            {"dimensions": [{"name": "landingPage"}], "metrics": [{"name": "entrances"}]},
            400,
            "INVALID_ARGUMENT",
            "Field entrances is not a valid metric",
        ),
        # renamed keyEvents in 2024
        (
            None,
            PROPERTY_ID,
            {"metrics": [{"name": "conversions"}]},
            400,
            "INVALID_ARGUMENT",
            "Field conversions is not a valid metric",
        ),
        (
            None,
            PROPERTY_ID,
            {"dimensions": [{"name": "pagePath"}], "metrics": [{"name": "bounceRate"}]},
            400,
            "INVALID_ARGUMENT",
            "incompatible",
        ),
        (
            None,
            PROPERTY_ID,
            {"dateRanges": [{"startDate": "2026-07-02", "endDate": "2026-07-01"}]},
            400,
            "INVALID_ARGUMENT",
            "must be on or before",
        ),
        (None, PROPERTY_ID, {"limit": "lots"}, 400, "INVALID_ARGUMENT", "limit"),
    ],
)
def test_ga4_errors_are_googles(server, headers, property_id, body_change, status, grpc_status, message):
    body = {
        "dateRanges": [{"startDate": "2026-07-01", "endDate": "2026-07-01"}],
        "dimensions": [{"name": "date"}],
        "metrics": [{"name": "sessions"}],
        **body_change,
    }
    response = run_report(server, body, headers=headers, property_id=property_id)
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (status, grpc_status)
    assert message in error["message"]


def test_ga4_relative_dates_filters_and_order(sandbox, world):
    sandbox.set_clock(world.default_now + timedelta(days=5))
    body = {
        "dateRanges": [{"startDate": "7daysAgo", "endDate": "yesterday"}],
        "dimensions": [{"name": "date"}, {"name": "sessionCampaignName"}],
        "metrics": [{"name": "sessions"}],
        "dimensionFilter": {
            "andGroup": {
                "expressions": [
                    {"filter": {"fieldName": "sessionMedium", "stringFilter": {"value": "cpc"}}},
                    {
                        "filter": {
                            "fieldName": "sessionCampaignName",
                            "inListFilter": {"values": ["us_search_brand", "us_search_generic"]},
                        }
                    },
                ]
            }
        },
        "orderBys": [{"metric": {"metricName": "sessions"}, "desc": True}],
    }
    page = run_report(sandbox, body).json()
    rows = [([v["value"] for v in r["dimensionValues"]], int(r["metricValues"][0]["value"])) for r in page["rows"]]
    assert {name for (_, name), _ in rows} == {"us_search_brand", "us_search_generic"}
    assert [n for _, n in rows] == sorted((n for _, n in rows), reverse=True)
    # Los Angeles clicks after 21:00 local fall on the next New York date: one day past the world's last day.
    assert max(d for (d, _), _ in rows) == (world.end + timedelta(days=1)).strftime("%Y%m%d")
    empty = run_report(sandbox, {**body, "dateRanges": [{"startDate": "2020-01-01", "endDate": "2020-01-02"}]}).json()
    assert "rows" not in empty and "rowCount" not in empty and empty["metadata"]["timeZone"] == "America/New_York"


# ---- the business as a whole ---------------------------------------------------------------


def test_one_paid_campaign_is_clearly_best_and_one_plainly_loses_money(world):
    truth = world.truth()
    roas = {c: truth.revenue_by_campaign_usd.get(c, Decimal(0)) / spend for c, spend in truth.spend_by_campaign_usd.items()}
    assert set(truth.spend_usd_by_platform) == {"meta_ads", "google_ads"}
    assert max(roas, key=roas.get) == "us_retargeting_site_visitors"
    assert roas["us_retargeting_site_visitors"] > Decimal("1.5") * max(
        v for c, v in roas.items() if c != "us_retargeting_site_visitors"
    )
    assert roas["eu_brand_awareness_video"] == 0
    assert roas["uk_search_competitors"] < 1  # paid search has a loser too
    assert truth.total_spend_usd == sum(truth.spend_usd_by_platform.values()) == Decimal("92368.39")
    assert truth.spend_usd_by_channel["paid_social"] == Decimal("55880.31")
    # each ad group day converted at its own day's rate (the last the Bank set on or before it) ...
    days = list(world.iter_ad_group_days(None, world.start, world.end, truth.as_of))
    daily = sum(world.fx.convert(Decimal(d.cost_micros) / 1_000_000, d.customer.currency, d.day) for d in days)
    assert truth.spend_usd_by_platform["google_ads"] == daily == Decimal("36488.08")
    # ... which is not what one rate for the whole summer gives: the rates move
    first = sum(world.fx.convert(Decimal(d.cost_micros) / 1_000_000, d.customer.currency, world.start) for d in days)
    assert abs(first - daily) > 10


def test_connections_point_at_the_google_ads_and_ga4_sandbox(server):
    import json

    conns = server.connections()
    google = json.loads(conns["AIRFLOW_CONN_GOOGLE_ADS"])
    assert google["host"] == server.base_url and google["password"] == DEFAULT_TOKENS["google_ads"]
    assert google["extra"]["customer_ids"] == ["5550001", "5550002", "5550003"]
    assert google["extra"]["login_customer_id"] == "5550000"
    ga4 = json.loads(conns["AIRFLOW_CONN_GA4"])
    # the property's BigQuery export is linked, on the same server: the demo reads exits from it
    assert ga4["extra"] == {
        "property_ids": [PROPERTY_ID],
        "bigquery_project_id": "funnelhouse-sandbox",
        "bigquery_url": server.base_url,
    }


@pytest.mark.slow
def test_two_servers_with_the_same_seed_answer_identical_bytes(world):
    body = {
        "dateRanges": [{"startDate": "2026-06-01", "endDate": "2026-08-30"}],
        "dimensions": [{"name": d} for d in SESSION_DIMENSIONS],
        "metrics": [{"name": m} for m in SESSION_METRICS],
    }
    query = AD_GROUP_QUERY.format(start="2026-06-01", end="2026-08-29")
    answers = []
    for _ in range(2):
        with SandboxServer(World(seed=7)) as server:
            answers.append(
                (
                    search_stream(server, "5550003", query).content,
                    run_report(server, body).content,
                    run_report(
                        server,
                        {
                            **body,
                            "dimensions": [{"name": "date"}, {"name": "pagePath"}],
                            "metrics": [{"name": m} for m in PAGE_METRICS],
                        },
                    ).content,
                )
            )
    assert answers[0] == answers[1]
    with SandboxServer(World(seed=8)) as other:
        assert search_stream(other, "5550003", query).content != answers[0][0]


@pytest.mark.slow
def test_generation_is_lazy_and_memory_stays_flat_as_scale_grows():
    big = World(seed=7, scale=40)
    day = big.start + timedelta(days=45)
    list(big.iter_session_blocks(day, day, big.default_now))
    assert big.cache_info()["generated_days"] == 3  # a GA4 date needs its simulated day and the ones either side

    peaks = {}
    for scale in (2, 16):
        world = World(seed=7, scale=scale, days=30)
        tracemalloc.start()
        sessions = sum(b.sessions for b in world.iter_session_blocks(*world.session_dates, world.default_now))
        peaks[scale] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert world.cache_info()["cached_days"] <= world.cache_info()["capacity"]
        assert sessions > 45_000 * scale
    assert world.cache_info()["cached_days"] < 30
    assert peaks[16] < 2.5 * peaks[2]  # 8x the business, not 8x the memory
    assert peaks[16] < 50_000_000


def test_ga4_folds_a_report_above_its_row_limit_into_an_other_row_and_says_so(sandbox, world):
    """GA4 keeps the most common rows and condenses the rest into "(other)" (support answer 13331684)."""
    day = world.start + timedelta(days=20)
    body = {
        "dateRanges": [{"startDate": str(day), "endDate": str(day + timedelta(days=6))}],
        "dimensions": [{"name": d} for d in SESSION_DIMENSIONS],
        "metrics": [{"name": "sessions"}, {"name": "keyEvents"}],
    }
    whole = run_report(sandbox, body).json()
    assert "dataLossFromOtherRow" not in whole["metadata"] and whole["rowCount"] > 100
    sandbox.sandbox.ga4_row_limit = 100
    folded = run_report(sandbox, body).json()
    assert folded["metadata"]["dataLossFromOtherRow"] is True
    assert folded["rowCount"] == len(folded["rows"]) == 100
    other = [r for r in folded["rows"] if r["dimensionValues"][0]["value"] == "(other)"]
    assert len(other) == 1 and {v["value"] for v in other[0]["dimensionValues"]} == {"(other)"}
    kept = {tuple(v["value"] for v in r["dimensionValues"]): int(r["metricValues"][0]["value"]) for r in folded["rows"]}
    original = {tuple(v["value"] for v in r["dimensionValues"]): int(r["metricValues"][0]["value"]) for r in whole["rows"]}
    # the 99 kept rows are the most common ones, exact; the rest add up in (other); nothing is lost from the totals
    smallest_kept = min(n for key, n in kept.items() if key[0] != "(other)")
    assert all(original[key] == n for key, n in kept.items() if key[0] != "(other)")
    assert all(n <= smallest_kept for key, n in original.items() if key not in kept)
    assert sum(kept.values()) == sum(original.values())
    for i in (0, 1):
        assert sum(int(r["metricValues"][i]["value"]) for r in folded["rows"]) == sum(
            int(r["metricValues"][i]["value"]) for r in whole["rows"]
        )
    one_day = run_report(sandbox, {**body, "dateRanges": [{"startDate": str(day), "endDate": str(day)}]}).json()
    assert one_day["rowCount"] < 100 and "dataLossFromOtherRow" not in one_day["metadata"]


def test_ga4_returns_the_property_quota_and_refuses_with_429_once_the_hours_tokens_are_spent(sandbox, world):
    sandbox.sandbox.ga4_quota = {"tokensPerProjectPerHour": 3}
    body = {
        "dateRanges": [{"startDate": str(world.start), "endDate": str(world.start)}],
        "dimensions": [{"name": "date"}],
        "metrics": [{"name": "sessions"}],
        "returnPropertyQuota": True,
    }
    quotas = [run_report(sandbox, body).json()["propertyQuota"] for _ in range(3)]
    assert list(quotas[0]) == [
        "tokensPerDay",
        "tokensPerHour",
        "concurrentRequests",
        "serverErrorsPerProjectPerHour",
        "potentiallyThresholdedRequestsPerHour",
        "tokensPerProjectPerHour",
    ]
    assert [q["tokensPerProjectPerHour"] for q in quotas] == [{"consumed": 1, "remaining": r} for r in (2, 1, 0)]
    assert [q["tokensPerHour"]["remaining"] for q in quotas] == [39_999, 39_998, 39_997]
    assert quotas[0]["tokensPerDay"] == {"consumed": 1, "remaining": 199_999}
    assert quotas[0]["concurrentRequests"] == {"consumed": 1, "remaining": 9}
    refused = run_report(sandbox, body)
    assert refused.status_code == 429
    assert refused.json()["error"] == {
        "code": 429,
        "status": "RESOURCE_EXHAUSTED",
        "message": "Exhausted property tokens for a project per hour. These quota tokens will return in under an hour. "
        "To learn more, see https://developers.google.com/analytics/devguides/reporting/data/v1/quotas",
    }
    assert "propertyQuota" not in run_report(sandbox, {**body, "returnPropertyQuota": False}).json().get("error", {})
    sandbox.set_clock(sandbox.sandbox.now + timedelta(hours=1))  # the next hour's tokens
    again = run_report(sandbox, body)
    assert again.status_code == 200 and again.json()["propertyQuota"]["tokensPerProjectPerHour"]["remaining"] == 2
