"""Mailchimp and Facebook Pages / Instagram in the sandbox, over the same world as every other platform.

GIVEN the seed-7 business, WHEN the real extractors read its Mailchimp account and its
Facebook page and Instagram account, THEN they land exactly the world's records and its
ground truth; incremental reads after the clock moves equal full reads; counters grow
as the clock moves and stop when posts and campaigns age; email campaign clicks and
social post link clicks are the GA4 sessions and HubSpot contacts of their channel
(clicks >= sessions >= contacts, per campaign and per post); errors are each
platform's own; the injected faults are survived; the same seed answers the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest
import requests

from extractors import pipeline, settings
from extractors.api_versions import PLATFORMS
from extractors.errors import AuthError
from extractors.http import HttpClient, RetryPolicy
from extractors.sources import Source, get_source
from extractors.sources.facebook_pages import MEDIA_FIELDS, MEDIA_METRICS, POST_FIELDS
from sandbox.server import DEFAULT_TOKENS, SandboxServer
from sandbox.world import World
from sandbox.world_email import AUDIENCES, NEWSLETTER
from sandbox.world_social import COUNTER_DAYS, FACEBOOK_PAGE, INSTAGRAM_ACCOUNT, account_day_bounds
from sandbox.world_web import PROPERTY_ID
from tests.spec_contracts import MetaSpec

MAILCHIMP_KEY = DEFAULT_TOKENS["mailchimp"]
PAGE_TOKEN = DEFAULT_TOKENS["facebook"]
PAGE, IG = FACEBOOK_PAGE.account_id, INSTAGRAM_ACCOUNT.account_id


# ---- helpers ----------------------------------------------------------------------------------


def run(source: str, end: datetime, start: datetime | None = None):
    pipeline.extract(source, end=end, start=start, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    return pipeline.load(source, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())


def query(sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def records(table: str) -> list[dict]:
    return [json.loads(r) for (r,) in query(f"SELECT _record FROM {table}")]


def checksums(source: str) -> dict[str, tuple[int, str]]:
    out = {}
    for stream in get_source(source).streams:
        rows = query(f"SELECT * EXCLUDE (_loaded_at, _batch_id) FROM raw_{source}.{stream.name} ORDER BY ALL")
        out[stream.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return out


def mailchimp(server, path: str, key: str | None = MAILCHIMP_KEY, **params) -> requests.Response:
    return requests.get(f"{server.base_url}/3.0{path}", params=params, auth=("anyone", key) if key else None, timeout=60)


def graph(server, path: str, token: str | None = PAGE_TOKEN, **params) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{server.base_url}/v21.0{path}", params=params, headers=headers, timeout=60)


def graph_all(server, path: str, **params) -> list[dict]:
    """Every item of a Graph edge, following paging.next."""
    response = graph(server, path, **params)
    out = []
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        out += page["data"]
        next_url = page.get("paging", {}).get("next")
        if not next_url:
            return out
        response = requests.get(next_url, headers={"Authorization": f"Bearer {PAGE_TOKEN}"}, timeout=60)


def ga4_sessions(server, medium: str) -> dict[tuple[str, str], tuple[int, int]]:
    """(source, campaign) -> (sessions, key events) of one medium, every property date, from GA4's runReport."""
    first, last = server.world.session_dates
    body = {
        "dateRanges": [{"startDate": str(first), "endDate": str(last)}],
        "dimensions": [{"name": "sessionSource"}, {"name": "sessionCampaignName"}],
        "metrics": [{"name": "sessions"}, {"name": "keyEvents"}],
        "limit": "100000",
        "dimensionFilter": {"filter": {"fieldName": "sessionMedium", "stringFilter": {"value": medium}}},
    }
    response = requests.post(
        f"{server.base_url}/v1beta/properties/{PROPERTY_ID}:runReport",
        json=body,
        headers={"Authorization": f"Bearer {DEFAULT_TOKENS['ga4']}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return {
        (r["dimensionValues"][0]["value"], r["dimensionValues"][1]["value"]): (
            int(r["metricValues"][0]["value"]),
            int(r["metricValues"][1]["value"]),
        )
        for r in response.json().get("rows", [])
    }


def graph_time(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


@pytest.fixture(scope="module")
def later_server(world):
    """A server four days past the simulated period: every GA4 late hit has arrived."""
    with SandboxServer(world, now=world.default_now + timedelta(days=4)) as server:
        yield server


# ---- full reads with the real extractors equal the world ---------------------------------------------


def assert_mailchimp_tables_equal_the_world(world):
    now = world.default_now
    truth = world.truth()
    sent = world.mailchimp.sent_campaigns(now)
    # campaigns: every sent campaign, its tracking name the utm_campaign of its links
    campaigns = {r["id"]: r for r in records("raw_mailchimp.campaigns")}
    assert sorted(campaigns) == sorted(c.campaign_id for c in sent)
    assert {r["tracking"]["google_analytics"] for r in campaigns.values()} == set(truth.email_by_campaign)
    for c in sent:
        record = campaigns[c.campaign_id]
        assert record["status"] == "sent" and record["send_time"] == c.send_time.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        assert record["recipients"]["list_id"] == c.audience.list_id
        assert record["emails_sent"] == truth.email_by_campaign[c.tracking_name]["emails_sent"]
    # reports: exactly the world's counters
    reports = {r["id"]: r for r in records("raw_mailchimp.reports")}
    assert reports.keys() == campaigns.keys()
    for c in sent:
        r, t = reports[c.campaign_id], truth.email_by_campaign[c.tracking_name]
        assert (
            r["emails_sent"],
            r["opens"]["opens_total"],
            r["opens"]["unique_opens"],
            r["opens"]["open_rate"],
            r["clicks"]["clicks_total"],
            r["clicks"]["unique_clicks"],
            r["clicks"]["unique_subscriber_clicks"],
            r["clicks"]["click_rate"],
            r["bounces"]["hard_bounces"],
            r["bounces"]["soft_bounces"],
            r["unsubscribed"],
        ) == (
            t["emails_sent"],
            t["opens"],
            t["unique_opens"],
            t["open_rate"],
            t["clicks"],
            t["unique_clicks"],
            t["unique_subscriber_clicks"],
            t["click_rate"],
            t["hard_bounces"],
            t["soft_bounces"],
            t["unsubscribed"],
        ), c.tracking_name
    # email activity, one row per action, adds up to each report exactly
    activity = query("""SELECT campaign_id,
                               count(*) FILTER (WHERE action = 'open'),
                               count(DISTINCT email_id) FILTER (WHERE action = 'open'),
                               count(*) FILTER (WHERE action = 'click'),
                               count(DISTINCT (email_id, (_record->>'$.url'))) FILTER (WHERE action = 'click'),
                               count(DISTINCT email_id) FILTER (WHERE action = 'click'),
                               count(*) FILTER (WHERE action = 'bounce' AND (_record->>'$.type') = 'hard'),
                               count(*) FILTER (WHERE action = 'bounce' AND (_record->>'$.type') = 'soft')
                        FROM raw_mailchimp.email_activity GROUP BY 1""")
    assert {row[0] for row in activity} == set(campaigns)
    for campaign_id, *counts in activity:
        r = reports[campaign_id]
        assert counts == [
            r["opens"]["opens_total"],
            r["opens"]["unique_opens"],
            r["clicks"]["clicks_total"],
            r["clicks"]["unique_clicks"],
            r["clicks"]["unique_subscriber_clicks"],
            r["bounces"]["hard_bounces"],
            r["bounces"]["soft_bounces"],
        ], campaign_id
    tracking = {c.campaign_id: c.tracking_name for c in sent}
    for campaign_id, url in query(
        "SELECT campaign_id, _record->>'$.url' FROM raw_mailchimp.email_activity WHERE action = 'click'"
    ):
        assert url.endswith(f"?utm_source=newsletter&utm_medium=email&utm_campaign={tracking[campaign_id]}")
    # list members: every member of both audiences with their status and last change
    members = {
        (row[0], row[1]): (row[2], row[3])
        for row in query("SELECT list_id, id, _record->>'$.status', _record->>'$.last_changed' FROM raw_mailchimp.list_members")
    }
    expected = {
        (a.list_id, m.member_id): (m.status_at(now), m.last_changed_at(now).strftime("%Y-%m-%dT%H:%M:%S+00:00"))
        for a in AUDIENCES
        for m in world.mailchimp.iter_members(a, now)
    }
    assert members == expected
    by_status: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (list_id, _), (status, _) in members.items():
        by_status[list_id][status] += 1
    assert {k: dict(v) for k, v in by_status.items()} == truth.list_members_by_status


@pytest.mark.slow
def test_full_mailchimp_read_equals_the_world(sandbox, connections, data_dir, world):
    run("mailchimp", end=world.default_now)
    assert_mailchimp_tables_equal_the_world(world)
    truth = world.truth()
    assert len(truth.email_by_campaign) == 17
    assert sum(t["emails_sent"] for t in truth.email_by_campaign.values()) == 62_635
    assert sum(t["clicks"] for t in truth.email_by_campaign.values()) == 4_715
    assert truth.list_members_by_status[NEWSLETTER.list_id] == {
        "subscribed": 5290,
        "unsubscribed": 126,
        "pending": 373,
        "cleaned": 82,
    }


def assert_facebook_tables_equal_the_world(world):
    now = world.default_now
    truth = world.truth()
    posts = {p.post_id: p for p in world.social.posts(FACEBOOK_PAGE, now)}
    media = {p.post_id: p for p in world.social.posts(INSTAGRAM_ACCOUNT, now)}
    # page posts with their counters
    landed = {r["id"]: r for r in records("raw_facebook_pages.page_posts")}
    assert landed.keys() == posts.keys()
    for post_id, r in landed.items():
        t = truth.social_by_post[post_id]
        assert (
            r["reactions"]["summary"]["total_count"],
            r["comments"]["summary"]["total_count"],
            r.get("shares", {"count": 0})["count"],
        ) == (t["likes"], t["comments"], t["shares"]), post_id
        assert r["created_time"] == graph_time(posts[post_id].published_at)
        assert f"utm_source=facebook&utm_medium=social&utm_campaign={post_id}" in r["message"]
    # Instagram media and their insights
    landed_media = {r["id"]: r for r in records("raw_facebook_pages.ig_media")}
    assert landed_media.keys() == media.keys()
    for media_id, r in landed_media.items():
        t = truth.social_by_post[media_id]
        assert (r["like_count"], r["comments_count"], r["media_type"]) == (t["likes"], t["comments"], media[media_id].kind)
    insights = {(r["media_id"], r["name"]): r["value"] for r in records("raw_facebook_pages.ig_media_insights")}
    truth_name = {"views": "impressions"}  # Instagram's views are the world's impressions
    # each media's type's metrics; none for the media posted before the business conversion (Graph's 2108006)
    assert insights == {
        (m, name): truth.social_by_post[m][truth_name.get(name, name)]
        for m, p in media.items()
        if world.social.has_insights(p)
        for name in MEDIA_METRICS[(p.media_product_type, p.kind)]
    }
    assert sum(not world.social.has_insights(p) for p in media.values()) == 2
    # daily page insights
    page_days = defaultdict(dict)
    for r in records("raw_facebook_pages.page_insights"):
        end_time = datetime.strptime(r["end_time"], "%Y-%m-%dT%H:%M:%S%z")
        day = next(d for d in truth.page_insights_by_day if account_day_bounds(d)[1] == end_time)
        page_days[day][r["name"]] = r["value"]
    assert dict(page_days) == truth.page_insights_by_day
    # comments, with the post or media they are on
    # (Facebook Comment nodes carry message / created_time, Instagram IGComment nodes text / timestamp)
    for table, parents, text, at in (
        ("post_comments", posts, "message", "created_time"),
        ("ig_comments", media, "text", "timestamp"),
    ):
        landed_comments = {r["id"]: r for r in records(f"raw_facebook_pages.{table}")}
        expected = {c.comment_id: (post_id, c) for post_id, p in parents.items() for c in p.comments_at(now)}
        assert landed_comments.keys() == expected.keys(), table
        for comment_id, r in landed_comments.items():
            post_id, c = expected[comment_id]
            assert (r["parent_id"], r[text], r[at]) == (post_id, c.message, graph_time(c.created_at))


@pytest.mark.slow
def test_full_facebook_and_instagram_read_equals_the_world(sandbox, connections, data_dir, world):
    run("facebook_pages", end=world.default_now)
    assert_facebook_tables_equal_the_world(world)
    truth = world.truth()
    assert len(truth.social_by_post) == 155 and len(truth.page_insights_by_day) == 90
    assert truth.followers == {"facebook": 12_433, "instagram": 9_146}


def test_the_sandbox_connections_name_every_audience_page_and_account(server):
    conns = server.connections()
    mc = json.loads(conns["AIRFLOW_CONN_MAILCHIMP"])
    assert mc["host"] == server.base_url and mc["password"] == MAILCHIMP_KEY
    assert mc["extra"] == {"list_ids": [a.list_id for a in AUDIENCES]}
    fb = json.loads(conns["AIRFLOW_CONN_FACEBOOK_PAGES"])
    assert fb["password"] == PAGE_TOKEN != DEFAULT_TOKENS["meta"]
    # No api_version: the extractor's default (extractors/api_versions.py) is what a run sends.
    assert fb["extra"] == {"page_ids": [PAGE], "ig_user_ids": [IG]}


# ---- incremental reads after the clock moves equal full reads ---------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("source", ["mailchimp", "facebook_pages"])
def test_incremental_read_after_the_clock_moves_equals_a_full_read(
    sandbox, connections, data_dir, world, tmp_path, monkeypatch, source
):
    earlier = world.default_now - timedelta(days=20)
    sandbox.set_clock(earlier)
    first = run(source, end=earlier)[0].loaded
    sandbox.set_clock(world.default_now)
    second = run(source, end=world.default_now)[0].loaded  # from the saved cursors, minus each stream's lookback
    incremental = checksums(source)
    partial = {"mailchimp": "list_members", "facebook_pages": "page_posts"}[source]
    assert 0 < second[partial] < incremental[partial][0] and first  # the second run read only what may have changed
    latest_snapshots = (
        query(
            "SELECT * EXCLUDE (_loaded_at, _batch_id) FROM raw_facebook_pages.account_snapshots "
            "WHERE snapshot_at = (SELECT max(snapshot_at) FROM raw_facebook_pages.account_snapshots) ORDER BY ALL"
        )
        if source == "facebook_pages"
        else None
    )
    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path / "full"))
    run(source, end=world.default_now)
    full = checksums(source)
    if (
        source == "facebook_pages"
    ):  # follower snapshots are one per run: the incremental side ran twice, its last one equals the full's
        assert (incremental.pop("account_snapshots")[0], full.pop("account_snapshots")[0]) == (4, 2)
        assert (
            query("SELECT * EXCLUDE (_loaded_at, _batch_id) FROM raw_facebook_pages.account_snapshots ORDER BY ALL")
            == latest_snapshots
        )
    assert full == incremental


# ---- counters grow as the clock moves --------------------------------------------------------------


def test_social_counters_grow_for_two_weeks_after_publishing(sandbox, world):
    t1 = datetime(2026, 7, 22, 23, tzinfo=UTC)  # a Wednesday evening: the page posted in the last two days
    t2 = t1 + timedelta(days=2)

    def read(clock):
        sandbox.set_clock(clock)
        posts = {p["id"]: p for p in graph_all(sandbox, f"/{PAGE}/posts", fields=POST_FIELDS, limit=100)}
        media = {m["id"]: m for m in graph_all(sandbox, f"/{IG}/media", fields=MEDIA_FIELDS, limit=100)}
        return posts, media

    posts1, media1 = read(t1)
    posts2, media2 = read(t2)
    assert set(posts1) < set(posts2) and set(media1) < set(media2)  # new posts appeared
    young = [i for i in posts1 if world.social.by_id[i].published_at > t1 - timedelta(days=2)]
    old = [i for i in posts1 if world.social.by_id[i].published_at < t1 - timedelta(days=COUNTER_DAYS)]
    assert young and old
    for counter in ("reactions", "comments"):
        before = [posts1[i][counter]["summary"]["total_count"] for i in young]
        after = [posts2[i][counter]["summary"]["total_count"] for i in young]
        assert all(a >= b for a, b in zip(after, before, strict=True)), counter
    assert sum(posts2[i]["reactions"]["summary"]["total_count"] for i in young) > sum(
        posts1[i]["reactions"]["summary"]["total_count"] for i in young
    )
    for i in old:  # two weeks on, a post's numbers are final
        assert posts2[i] == posts1[i]
    growing = [i for i in media1 if media2[i]["like_count"] > media1[i]["like_count"]]
    assert growing and all(media2[i]["comments_count"] >= media1[i]["comments_count"] for i in media1)
    reach = [graph(sandbox, f"/{growing[0]}/insights", metric="reach").json()["data"][0]["values"][0]["value"]]
    sandbox.set_clock(t1)
    reach.append(graph(sandbox, f"/{growing[0]}/insights", metric="reach").json()["data"][0]["values"][0]["value"])
    assert reach[0] > reach[1]
    assert world.truth(t2).followers["facebook"] != world.truth(t1).followers["facebook"]


def test_email_reports_activity_and_members_change_as_the_clock_moves(sandbox, world):
    campaign = next(c for c in world.mailchimp.campaigns if c.send_time > datetime(2026, 7, 1, tzinfo=UTC))
    t1, t2 = campaign.send_time + timedelta(hours=6), campaign.send_time + timedelta(days=3)

    def read(clock):
        sandbox.set_clock(clock)
        report = mailchimp(sandbox, f"/reports/{campaign.campaign_id}").json()
        members = mailchimp(
            sandbox, f"/lists/{campaign.audience.list_id}/members", count=1000, since_last_changed=t1.isoformat()
        ).json()
        return report, members

    report1, members1 = read(t1)
    report2, members2 = read(t2)
    assert report2["emails_sent"] == report1["emails_sent"]
    assert report2["opens"]["opens_total"] > report1["opens"]["opens_total"] > 0
    assert report2["clicks"]["clicks_total"] > report1["clicks"]["clicks_total"]
    assert report2["unsubscribed"] >= report1["unsubscribed"]
    # members who changed after t1: sign-ups, confirmations, unsubscribes and cleans of the three days
    changed = {m["status"] for m in members2["members"]}
    assert members2["total_items"] > members1["total_items"] and {"subscribed", "pending", "unsubscribed"} <= changed
    assert all(m["last_changed"] >= t1.strftime("%Y-%m-%dT%H:%M:%S+00:00") for m in members2["members"])
    sandbox.set_clock(campaign.send_time - timedelta(minutes=1))
    assert mailchimp(sandbox, f"/reports/{campaign.campaign_id}").status_code == 404  # not sent yet
    assert mailchimp(sandbox, f"/campaigns/{campaign.campaign_id}").json()["status"] == "save"
    sandbox.set_clock(campaign.activity_end + timedelta(days=30))
    final = mailchimp(sandbox, f"/reports/{campaign.campaign_id}").json()
    sandbox.set_clock(campaign.activity_end)
    assert mailchimp(sandbox, f"/reports/{campaign.campaign_id}").json() == final  # a week after the send it is over


# ---- the platforms agree with GA4 and HubSpot ------------------------------------------------------


def test_email_clicks_are_the_email_sessions_and_contacts_per_campaign(later_server, world):
    truth = world.truth(later_server.sandbox.now)
    reports = mailchimp(later_server, "/reports", count=1000).json()["reports"]
    campaigns = {
        c["id"]: c["tracking"]["google_analytics"]
        for c in mailchimp(later_server, "/campaigns", status="sent", count=1000).json()["campaigns"]
    }
    sessions = ga4_sessions(later_server, "email")
    assert {source for source, _ in sessions} == {"newsletter"}
    assert {campaign for _, campaign in sessions} == set(campaigns.values())  # every email session names a sent campaign
    contacts = truth.contacts_created_by_utm
    for r in reports:
        name = campaigns[r["id"]]
        visits, conversions = sessions[("newsletter", name)]
        assert r["clicks"]["clicks_total"] >= visits >= conversions, name
        assert conversions == contacts[("newsletter", "email", name)] <= r["clicks"]["unique_subscriber_clicks"], name
        assert truth.email_funnel_by_campaign[name]["sessions"] == visits
    assert sum(v for v, _ in sessions.values()) == truth.sessions_by_channel["email"]
    # an email contact is the subscriber who clicked: same address as their Mailchimp member
    emails = {m.email for a in AUDIENCES for m in world.mailchimp.iter_members(a, later_server.sandbox.now)}
    email_contacts = [c for c in world.iter_contacts(later_server.sandbox.now) if c.channel == "email"]
    assert email_contacts and all(c.email in emails and c.utm_campaign in campaigns.values() for c in email_contacts)
    assert all(
        world.contact_record(c, later_server.sandbox.now, ["email"])["properties"]["email"] == c.email
        for c in email_contacts[:20]
    )


def test_social_link_clicks_are_the_organic_social_sessions_and_contacts_per_post(later_server, world):
    truth = world.truth(later_server.sandbox.now)
    posts = {p["id"] for p in graph_all(later_server, f"/{PAGE}/posts", fields="id", limit=100)}
    media = {m["id"] for m in graph_all(later_server, f"/{IG}/media", fields="id", limit=100)}
    sessions = ga4_sessions(later_server, "social")
    assert {campaign for source, campaign in sessions if source == "facebook"} <= posts
    assert {campaign for source, campaign in sessions if source == "instagram"} <= media
    assert {source for source, _ in sessions} == {"facebook", "instagram"}
    contacts = truth.contacts_created_by_utm
    for (source, post_id), (visits, conversions) in sessions.items():
        assert truth.social_by_post[post_id]["link_clicks"] >= visits >= conversions, post_id
        assert conversions == contacts.get((source, "social", post_id), 0), post_id
        assert truth.social_funnel_by_post[post_id]["sessions"] == visits
    assert sum(v for v, _ in sessions.values()) == truth.sessions_by_channel["organic_social"]
    assert sum(f["contacts"] for f in truth.social_funnel_by_post.values()) == sum(
        n for (source, medium, _), n in contacts.items() if medium == "social"
    )


def test_page_insights_add_up_the_posts_of_each_day(server, world):
    """page_post_engagements of a day = reactions, comments, shares and link clicks of the page's posts that day."""
    truth = world.truth()
    response = graph(
        server,
        f"/{PAGE}/insights",
        metric="page_post_engagements,page_follows",
        period="day",
        since=int(datetime(2026, 7, 1, tzinfo=UTC).timestamp()),
        until=int(datetime(2026, 7, 15, tzinfo=UTC).timestamp()),
    )
    engagements, fans = response.json()["data"]
    assert [v["end_time"] for v in engagements["values"]] == [f"2026-07-{d:02d}T07:00:00+0000" for d in range(1, 15)]
    for value in engagements["values"]:
        end = datetime.strptime(value["end_time"], "%Y-%m-%dT%H:%M:%S%z")
        start = end - timedelta(days=1)
        expected = sum(p.engagements_between(start, end) for p in world.social.posts(FACEBOOK_PAGE, world.default_now))
        assert value["value"] == expected
    values = [v["value"] for v in fans["values"]]
    assert values == [truth.page_insights_by_day[date(2026, 6, 30) + timedelta(days=i)]["page_follows"] for i in range(14)]


# ---- contracts and errors -----------------------------------------------------------------------


def test_graph_records_use_the_meta_spec_fields_and_types(server, world):
    meta = MetaSpec()
    post_fields = meta.fields("PagePost")
    edges = {a.get("endpoint") for a in meta.node("PagePost")["apis"] if a["method"] == "GET"}
    for post in graph_all(server, f"/{PAGE}/posts", fields=POST_FIELDS, limit=100):
        assert set(post) <= post_fields.keys() | ({"comments", "reactions"} & edges)
        assert not meta.object_errors("PagePost", {k: v for k, v in post.items() if k in post_fields}, post["id"])
    for media in graph_all(server, f"/{IG}/media", fields=MEDIA_FIELDS, limit=100):
        assert not meta.object_errors("IGMedia", media, media["id"])
    metric_enum = meta.enum_values(
        dict((p["name"], p["type"]) for p in meta.edge("IGMedia", "insights")["params"])["metric"][5:-1]
    )
    assert {m for metrics in MEDIA_METRICS.values() for m in metrics} <= set(metric_enum)
    newest = world.social.posts(INSTAGRAM_ACCOUNT, world.default_now)[0]
    metrics = ",".join(MEDIA_METRICS[(newest.media_product_type, newest.kind)])
    insights = graph(server, f"/{newest.post_id}/insights", metric=metrics).json()
    assert not [e for d in insights["data"] for e in meta.object_errors("InstagramInsightsResult", d, d["name"])]
    page = graph(server, f"/{PAGE}/insights", metric="page_media_view,page_follows", period="day").json()
    assert not [e for d in page["data"] for e in meta.object_errors("InsightsResult", d, d["name"])]
    node = graph(server, f"/{PAGE}", fields="id,name,fan_count,followers_count,link").json()
    assert not meta.object_errors("Page", node, PAGE) and node["fan_count"] == world.truth().followers["facebook"]


@pytest.mark.parametrize(
    "path, key, params, status, title",
    [
        ("/campaigns", None, {}, 401, "API Key Missing"),
        ("/campaigns", "wrong-key-us21", {}, 401, "API Key Invalid"),
        ("/reports/0000000000", MAILCHIMP_KEY, {}, 404, "Resource Not Found"),
        ("/lists/nolist/members", MAILCHIMP_KEY, {}, 404, "Resource Not Found"),
        ("/campaigns", MAILCHIMP_KEY, {"since_send_time": "last tuesday"}, 400, "Invalid Resource"),
    ],
)
def test_mailchimp_errors_are_problem_json(server, path, key, params, status, title):
    response = mailchimp(server, path, key=key, **params)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert (body["status"], body["title"]) == (status, title) and set(body) == {"type", "title", "status", "detail", "instance"}


def test_mailchimp_time_filters_count_and_unsent_activity_follow_the_probes(sandbox, world):
    """Estuary's recorded probes against a real account: ``since_*`` (and email activity's ``since``)
    exclude the exact second, ``before_*`` include it; a count over 1000 is not refused; the email
    activity of a campaign not sent yet is an empty page."""

    def iso(ts: str, seconds: int = 0) -> str:
        return (datetime.fromisoformat(ts) + timedelta(seconds=seconds)).isoformat()

    def ids(path, key, **params):
        return {r["id"] for r in mailchimp(sandbox, path, count=1000, **params).json()[key]}

    c = mailchimp(sandbox, "/campaigns", status="sent", count=1).json()["campaigns"][0]
    for path, key in (("/campaigns", "campaigns"), ("/reports", "reports")):
        assert c["id"] not in ids(path, key, since_send_time=c["send_time"], before_send_time=iso(c["send_time"], 1))
        assert c["id"] in ids(path, key, since_send_time=iso(c["send_time"], -1), before_send_time=c["send_time"])
    members = f"/lists/{AUDIENCES[0].list_id}/members"
    m = mailchimp(sandbox, members, count=1).json()["members"][0]
    assert m["id"] not in ids(
        members, "members", since_last_changed=m["last_changed"], before_last_changed=iso(m["last_changed"], 1)
    )
    assert m["id"] in ids(
        members, "members", since_last_changed=iso(m["last_changed"], -1), before_last_changed=m["last_changed"]
    )

    activity = f"/reports/{c['id']}/email-activity"
    email = next(e for e in mailchimp(sandbox, activity, count=1000).json()["emails"] if e["activity"])
    position = [e["email_id"] for e in mailchimp(sandbox, activity, count=1000).json()["emails"]].index(email["email_id"])
    last = max(a["timestamp"] for a in email["activity"])

    def actions(since):
        return mailchimp(sandbox, activity, count=1, offset=position, since=since).json()["emails"][0]["activity"]

    assert last not in {a["timestamp"] for a in actions(last)} and last in {a["timestamp"] for a in actions(iso(last, -1))}

    big = mailchimp(sandbox, members, count=5000).json()
    assert big["total_items"] > 1000 and len(big["members"]) == 1000
    unsent = world.mailchimp.campaigns[-1]
    sandbox.set_clock(unsent.send_time - timedelta(minutes=1))  # created, not sent yet
    response = mailchimp(sandbox, f"/reports/{unsent.campaign_id}/email-activity")
    assert response.status_code == 200
    assert response.json() == {"emails": [], "campaign_id": unsent.campaign_id, "total_items": 0}


@pytest.mark.parametrize(
    "path, token, params, code",
    [
        (f"/{PAGE}/posts", None, {}, 104),
        (f"/{PAGE}/posts", "expired", {}, 190),
        (f"/{PAGE}/posts", DEFAULT_TOKENS["meta"], {}, 190),  # the ads token is not the page's token
        ("/999999/posts", PAGE_TOKEN, {}, 100),
        (f"/{PAGE}/posts", PAGE_TOKEN, {"fields": "id,impressions"}, 100),
        (f"/{IG}/posts", PAGE_TOKEN, {}, 100),
        (f"/{PAGE}/insights", PAGE_TOKEN, {"metric": "page_visits"}, 100),
        (f"/{PAGE}/insights", PAGE_TOKEN, {"metric": "page_follows", "since": "1780000000", "until": "1790000000"}, 100),
        (f"/{PAGE}/insights", PAGE_TOKEN, {"metric": "page_fans"}, 100),  # removed by Meta on 2025-11-15
        (f"/{PAGE}/insights", PAGE_TOKEN, {"metric": "page_impressions,page_post_engagements"}, 100),  # likewise
    ],
)
def test_graph_errors_use_the_error_envelope(server, path, token, params, code):
    response = graph(server, path, token=token, **params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and error["fbtrace_id"]
    assert PAGE_TOKEN not in response.text


@pytest.mark.parametrize(
    "source, conn, password",
    [
        ("mailchimp", "AIRFLOW_CONN_MAILCHIMP", "expired-key-us21"),
        ("facebook_pages", "AIRFLOW_CONN_FACEBOOK_PAGES", "expired-page-token"),
    ],
)
def test_extractors_with_a_rejected_key_stop_with_an_auth_error(
    sandbox, connections, data_dir, world, monkeypatch, source, conn, password
):
    monkeypatch.setenv(conn, json.dumps({**json.loads(connections[conn]), "password": password}))
    with pytest.raises(AuthError) as error:
        pipeline.extract(source, end=world.default_now, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    assert "credentials were rejected" in str(error.value) and password not in str(error.value)
    assert not settings.warehouse_path().exists()


# ---- faults ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_extractors_load_exactly_the_world_through_rate_limits_5xx_and_duplicates(
    sandbox, connections, data_dir, world, monkeypatch
):
    waits: list[float] = []
    monkeypatch.setattr(
        Source,
        "http_client",
        lambda self, conn, headers=None, secrets=None: HttpClient(
            self.name,
            conn.base_url,
            headers=headers,
            secrets=[conn.password],
            max_concurrency=self.max_concurrency,
            policy=RetryPolicy(sleep=waits.append),
        ),
    )
    sandbox.faults.add("duplicate", platform="mailchimp", probability=0.3, seed=1)
    sandbox.faults.add("duplicate", platform="meta", endpoint=r"/(posts|media|comments)$", probability=0.3, seed=2)
    sandbox.faults.add("server_error", probability=0.04, seed=3, burst=2, status=[500, 502, 503])
    sandbox.faults.add("rate_limit", platform="mailchimp", schedule=[3, 40])
    sandbox.faults.add("rate_limit", platform="meta", schedule=[5], code=32)
    sandbox.faults.add("truncate", schedule=[9], fraction=0.6)
    sandbox.faults.add("new_field", platform="mailchimp", endpoint="/members$", schedule=[4], name="sandbox_new_field")
    for source in ("mailchimp", "facebook_pages"):
        run(source, end=world.default_now)
    fired = {(f.kind, f.endpoint.split("/")[1]) for f in sandbox.faults.fired}
    graph_version = PLATFORMS["graph"].default
    assert {
        ("duplicate", "3.0"),
        ("duplicate", graph_version),
        ("rate_limit", "3.0"),
        ("rate_limit", graph_version),
        ("new_field", "3.0"),
    } <= fired
    assert {"server_error", "truncate"} <= {kind for kind, _ in fired} and waits
    assert_mailchimp_tables_equal_the_world(world)
    assert_facebook_tables_equal_the_world(world)
    added = query("SELECT count(*) FROM raw_mailchimp.list_members WHERE _record->>'$.sandbox_new_field' IS NOT NULL")[0][0]
    assert 0 < added < len(records("raw_mailchimp.list_members"))  # a field that appeared mid-run is kept


# ---- determinism ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_servers_with_the_same_seed_answer_identical_bytes(world):
    campaign = world.mailchimp.campaigns[3]
    post = world.social.posts(FACEBOOK_PAGE, world.default_now)[5]

    def answers(server):
        return tuple(
            content.replace(server.base_url.encode(), b"")
            for content in (  # paging links name the server's own address
                mailchimp(server, "/campaigns", count=1000).content,
                mailchimp(server, "/reports", count=1000).content,
                mailchimp(server, f"/reports/{campaign.campaign_id}/email-activity", count=1000, offset=1000).content,
                mailchimp(server, f"/lists/{NEWSLETTER.list_id}/members", count=1000, offset=3000).content,
                graph(server, f"/{PAGE}/posts", fields=POST_FIELDS, limit=100).content,
                graph(server, f"/{IG}/media", fields=MEDIA_FIELDS, limit=100).content,
                graph(server, f"/{post.post_id}/comments", fields="id,message,created_time").content,
                graph(
                    server,
                    f"/{PAGE}/insights",
                    metric="page_media_view,page_post_engagements,page_follows",
                    period="day",
                    since=int(datetime(2026, 6, 1, tzinfo=UTC).timestamp()),
                    until=int(datetime(2026, 8, 30, tzinfo=UTC).timestamp()),
                ).content,
            )
        )

    runs = []
    for _ in range(2):
        with SandboxServer(World(seed=7)) as server:
            runs.append(answers(server))
    assert runs[0] == runs[1]
    with SandboxServer(World(seed=8)) as other:
        different = answers(other)
    assert all(a != b for a, b in zip(runs[0], different, strict=True))


def test_email_generation_is_lazy_and_compact():
    world = World(seed=7, scale=20)
    campaign = world.mailchimp.campaigns[0]
    activity = world.mailchimp.activity(campaign)
    assert world.cache_info()["generated_days"] == 0  # a campaign needs its audience, not the web's days
    assert len(activity.recipients) > 60_000
    # columns, not objects: a few bytes per recipient and per action
    size = sum(
        a.buffer_info()[1] * a.itemsize
        for a in (
            activity.recipients,
            activity.actors,
            activity.starts,
            activity.at,
            activity.code,
            activity.link,
            activity.flags,
        )
    )
    assert size < 40 * len(activity.recipients)
