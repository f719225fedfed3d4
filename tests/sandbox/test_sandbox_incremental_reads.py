"""Full and incremental reads over HTTP return exactly the world's records (issue #3).

Per platform: a full paged read equals the world's ground truth record for record, and an
incremental read (the platform's own filter: HubSpot's modified-since search, Meta's restated
window, Mailchimp's since_* parameters, Graph's since/until) returns exactly the records the
world says are in that window, at more than one clock, across pages, with each bound
inclusive or exclusive as the platform (or, where its docs are silent, the sandbox's
documented choice) defines it.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
import requests

from extractors.sources.facebook_pages import IG_COMMENT_FIELDS, MEDIA_FIELDS, POST_COMMENT_FIELDS, POST_FIELDS
from extractors.sources.hubspot import CONTACT_PROPERTIES, DEAL_PROPERTIES
from extractors.sources.meta_ads import AD_EFFECTIVE_STATUSES, INSIGHT_FIELDS, PAGE_LIMIT
from sandbox.server import DEFAULT_TOKENS
from sandbox.world import AD_ACCOUNTS
from sandbox.world_email import AUDIENCES, member_email
from sandbox.world_social import FACEBOOK_PAGE, INSTAGRAM_ACCOUNT

HUBSPOT_AUTH = {"Authorization": f"Bearer {DEFAULT_TOKENS['hubspot']}"}
META_AUTH = {"Authorization": f"Bearer {DEFAULT_TOKENS['meta']}"}
GRAPH_AUTH = {"Authorization": f"Bearer {DEFAULT_TOKENS['facebook']}"}
MAILCHIMP_AUTH = ("anyone", DEFAULT_TOKENS["mailchimp"])
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# world._meta_day: a day's view-through leads are claimed up to 7 days after the day's UTC midnight
# (and its click-through leads within 90 minutes of the click, inside that span too).
VIEW_THROUGH_DAYS = 7
LEAD_ACTIONS = ("lead", "offsite_conversion.fb_pixel_lead")
SEARCH_PAGE = 100  # small, so every search below spans several pages
SEARCH_CAP = 10_000


# ---- Meta Marketing API: insights ---------------------------------------------------------------


def meta_insights(server, account_id: str, since: date, until: date) -> list[dict]:
    """Every row of the extractor's insights request (synchronously), following paging.next."""
    url = f"{server.base_url}/v26.0/act_{account_id}/insights"
    params = {
        "level": "ad",
        "time_increment": "1",
        "limit": PAGE_LIMIT,
        "fields": ",".join(INSIGHT_FIELDS),
        "filtering": json.dumps([{"field": "ad.effective_status", "operator": "IN", "value": list(AD_EFFECTIVE_STATUSES)}]),
        "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()}),
    }
    rows = []
    while url:
        response = requests.get(url, params=params, headers=META_AUTH, timeout=60)
        assert response.status_code == 200, response.text
        page = response.json()
        rows += page["data"]
        url, params = page.get("paging", {}).get("next"), None
    return rows


def by_ad_day(rows: list[dict]) -> dict[tuple[str, str], dict]:
    keyed = {(r["ad_id"], r["date_start"]): r for r in rows}
    assert len(keyed) == len(rows), "an ad-day came twice"
    return keyed


def lead_count(row: dict) -> int:
    values = {a["action_type"]: int(a["value"]) for a in row["actions"] if a["action_type"] in LEAD_ACTIONS}
    assert len(set(values.values())) <= 1, f"lead and pixel lead disagree: {values}"
    return values.get("lead", 0)


def without_leads(row: dict) -> dict:
    """The row less what lead restatement changes: the lead actions and their values (action_values
    holds only lead values; tests/sandbox/test_sandbox_meta_action_values.py checks how they grow)."""
    rest = {k: v for k, v in row.items() if k != "action_values"}
    return {**rest, "actions": [a for a in row["actions"] if a["action_type"] not in LEAD_ACTIONS]}


@pytest.mark.parametrize("account", AD_ACCOUNTS, ids=lambda a: a.currency)
def test_meta_full_insights_read_equals_the_worlds_rows(sandbox, world, account):
    rows = meta_insights(sandbox, account.account_id, world.start, world.end)

    expected = world.insights_rows(account.account_id, world.start, world.end, sandbox.sandbox.now)
    assert len(rows) > PAGE_LIMIT  # more than one page was followed
    assert by_ad_day(rows) == by_ad_day(expected)  # spend, impressions, clicks, actions per ad-day, every field
    assert sum(lead_count(r) for r in rows) > 0


def test_meta_leads_are_restated_within_the_attribution_window_as_the_clock_moves(sandbox, world):
    earlier = world.default_now - timedelta(days=20)
    later = earlier + timedelta(days=VIEW_THROUGH_DAYS + 3)  # every lead of the days read earlier has been claimed
    reads: dict[datetime, dict] = {}
    for clock in (earlier, later):
        sandbox.set_clock(clock)
        reads[clock] = {}
        for account in AD_ACCOUNTS:
            rows = by_ad_day(meta_insights(sandbox, account.account_id, world.start, world.end))
            assert rows == by_ad_day(world.insights_rows(account.account_id, world.start, world.end, clock))
            reads[clock] |= rows
    before, after = reads[earlier], reads[later]

    assert before.keys() < after.keys()  # days that ended in between were added; none went away
    restated = {key for key in before if lead_count(after[key]) != lead_count(before[key])}
    assert restated, "view-through leads claimed after the first read must restate earlier days"
    for key, row in before.items():
        assert without_leads(after[key]) == without_leads(row)  # spend, impressions, clicks, link clicks: final
        assert lead_count(after[key]) >= lead_count(row)
    restated_days = {date.fromisoformat(day) for _, day in restated}
    assert all(datetime.combine(d, time.min, UTC) + timedelta(days=VIEW_THROUGH_DAYS) > earlier for d in restated_days)
    assert min(restated_days) <= earlier.date() - timedelta(days=3)  # view-through leads, not only the last day's late clicks


# ---- HubSpot CRM v3: list and modified-since search ------------------------------------------------


def epoch_ms(iso: str) -> int:
    """A HubSpot time property as the epoch ms its search filters compare (exact, no float)."""
    return (datetime.fromisoformat(iso) - EPOCH) // timedelta(milliseconds=1)


def hubspot_list(server, object_type: str, params: dict) -> list[dict]:
    records, after = [], None
    while True:
        response = requests.get(
            f"{server.base_url}/crm/v3/objects/{object_type}",
            params={**params, **({"after": after} if after else {})},
            headers=HUBSPOT_AUTH,
            timeout=60,
        )
        assert response.status_code == 200, response.text
        page = response.json()
        records += page["results"]
        after = page.get("paging", {}).get("next", {}).get("after")
        if after is None:
            return records


def hubspot_search(server, object_type: str, modified: str, operator: str, since_ms: int, properties) -> list[dict]:
    """The extractor's incremental search, paged with ``after`` until no next page."""
    records, after = [], None
    while True:
        body = {
            "filterGroups": [{"filters": [{"propertyName": modified, "operator": operator, "value": str(since_ms)}]}],
            "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
            "properties": list(properties),
            "limit": SEARCH_PAGE,
            **({"after": after} if after else {}),
        }
        response = requests.post(
            f"{server.base_url}/crm/v3/objects/{object_type}/search", json=body, headers=HUBSPOT_AUTH, timeout=60
        )
        assert response.status_code == 200, response.text
        page = response.json()
        records += page["results"]
        after = page.get("paging", {}).get("next", {}).get("after")
        if after is None:
            assert page["total"] == len(records)
            return records
        assert int(after) + SEARCH_PAGE <= SEARCH_CAP  # the window must stay under the cap, or this test reads nothing true


def rendered(world, object_type: str, now: datetime, properties) -> list[dict]:
    """Every record the CRM holds at ``now`` (archived contacts too), rendered as the world renders it."""
    if object_type == "contacts":
        return [world.contact_record(c, now, list(properties)) for c in world.iter_contacts(now)]
    return [world.deal_record(d, now, list(properties), False) for d in world.iter_deals(now)]


@pytest.mark.parametrize(
    "object_type, modified, properties",
    [
        ("contacts", "lastmodifieddate", CONTACT_PROPERTIES),
        ("deals", "hs_lastmodifieddate", DEAL_PROPERTIES),
    ],
    ids=["contacts", "deals"],
)
@pytest.mark.parametrize("days_before_end", [20, 0], ids=["mid-period", "period-end"])
def test_hubspot_modified_since_search_returns_exactly_the_records_changed_since(
    sandbox, world, object_type, modified, properties, days_before_end
):
    # GIVEN the CRM at a clock, and a bound that is one live record's own modified time (GTE includes it)
    now = world.default_now - timedelta(days=days_before_end)
    sandbox.set_clock(now)
    records = rendered(world, object_type, now, properties)
    ms = lambda r: epoch_ms(r["properties"][modified])  # noqa: E731
    ten_days_ago = (now - timedelta(days=10) - EPOCH) // timedelta(milliseconds=1)
    since = min(ms(r) for r in records if not r["archived"] and ms(r) >= ten_days_ago)
    expected = {r["id"]: r for r in records if not r["archived"] and ms(r) >= since}

    # WHEN the extractor's search pages through everything modified since then
    got = hubspot_search(sandbox, object_type, modified, "GTE", since, properties)

    # THEN exactly the live records modified since, each as the world renders it, oldest change first
    assert len(got) == len({r["id"] for r in got}), "a record came twice"
    assert {r["id"]: r for r in got} == expected
    assert [ms(r) for r in got] == sorted(ms(r) for r in got) and ms(got[0]) == since
    assert len(got) > SEARCH_PAGE  # more than one page
    archived_since = {r["id"] for r in records if r["archived"] and ms(r) >= since}
    if object_type == "contacts":  # the world never archives a deal
        assert archived_since, "no archived contact changed in the window: the next check would prove nothing"
    assert not archived_since & {r["id"] for r in got}
    # GT is strict: the records modified at the bound's very millisecond drop out, no other
    strict = hubspot_search(sandbox, object_type, modified, "GT", since, properties)
    assert {r["id"] for r in strict} == {i for i, r in expected.items() if ms(r) > since} < expected.keys()


@pytest.mark.parametrize(
    "object_type, archived",
    [("contacts", False), ("contacts", True), ("deals", False)],
    ids=["contacts", "contacts-archived", "deals"],
)
def test_hubspot_list_records_equal_the_worlds_rendering(sandbox, world, object_type, archived):
    now = sandbox.sandbox.now
    properties = CONTACT_PROPERTIES if object_type == "contacts" else DEAL_PROPERTIES
    params = {"limit": 100, "properties": ",".join(properties), "archived": str(archived).lower()}
    if object_type == "deals":
        params["associations"] = "contacts"
    records = hubspot_list(sandbox, object_type, params)

    if object_type == "contacts":
        expected = [r for r in rendered(world, "contacts", now, properties) if r["archived"] is archived]
    else:
        expected = [world.deal_record(d, now, list(properties), True) for d in world.iter_deals(now)]
    assert len(expected) > 2 * params["limit"] or archived
    assert records == expected  # in id order, every property and association as the world has it


# ---- Mailchimp Marketing API 3.0: since_send_time, since, since_last_changed -------------------------
#
# Mailchimp documents these filters as "after the set time" without saying whether the instant itself
# counts; the sandbox takes them as inclusive (sandbox/apis/mailchimp.py), which an incremental read
# that restarts from its last cursor needs so as to miss nothing. The tests pin that on both sides.


def mc_time(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def mailchimp_all(server, path: str, key: str, count: int, **params) -> list[dict]:
    """Every item of a Mailchimp list endpoint, paged with count/offset until total_items."""
    items, offset = [], 0
    while True:
        response = requests.get(
            f"{server.base_url}/3.0{path}", params={**params, "count": count, "offset": offset}, auth=MAILCHIMP_AUTH, timeout=60
        )
        assert response.status_code == 200, response.text
        page = response.json()
        items += page[key]
        offset += count
        if offset >= page["total_items"]:
            assert len(items) == page["total_items"]
            return items


# Mid-period: a Saturday evening, when the next newsletter exists as a draft (created three days before its send).
MAILCHIMP_CLOCKS = {"mid-period": timedelta(days=28, hours=5), "period-end": timedelta(0)}


@pytest.mark.parametrize("before_end", MAILCHIMP_CLOCKS.values(), ids=MAILCHIMP_CLOCKS.keys())
def test_mailchimp_since_send_time_returns_exactly_the_campaigns_sent_since(sandbox, world, before_end):
    now = world.default_now - before_end
    sandbox.set_clock(now)
    sent = world.mailchimp.sent_campaigns(now)
    since = sent[len(sent) // 2].send_time  # a campaign's own send time
    # the sandbox excludes since_send_time's exact second as a real account does for since_last_changed and since;
    # for since_send_time itself that is unverified (extractors/sources/mailchimp.py): the campaign at the bound is left out
    expected = sorted((c for c in sent if c.send_time > since), key=lambda c: (c.send_time, c.campaign_id))
    drafts = [c for c in world.mailchimp.campaigns if c.create_time <= now < c.send_time]  # listed, but never sent since
    assert 1 < len(expected) < len(sent) and (drafts or now == world.default_now)

    campaigns = mailchimp_all(sandbox, "/campaigns", "campaigns", 2, status="sent", since_send_time=mc_time(since))
    reports = mailchimp_all(sandbox, "/reports", "reports", 2, since_send_time=mc_time(since))

    assert [c["id"] for c in campaigns] == [r["id"] for r in reports] == [c.campaign_id for c in expected]
    for campaign, report, c in zip(campaigns, reports, expected, strict=True):
        counts = world.mailchimp.activity(c).counts(now)
        assert (
            campaign["status"],
            campaign["send_time"],
            campaign["emails_sent"],
            campaign["recipients"]["list_id"],
            campaign["tracking"]["google_analytics"],
        ) == ("sent", mc_time(c.send_time), counts["emails_sent"], c.audience.list_id, c.tracking_name)
        assert (
            report["send_time"],
            report["emails_sent"],
            report["opens"]["opens_total"],
            report["opens"]["unique_opens"],
            report["clicks"]["clicks_total"],
            report["clicks"]["unique_clicks"],
            report["bounces"]["hard_bounces"],
            report["bounces"]["soft_bounces"],
            report["unsubscribed"],
        ) == (
            mc_time(c.send_time),
            counts["emails_sent"],
            counts["opens"],
            counts["unique_opens"],
            counts["clicks"],
            counts["unique_clicks"],
            counts["hard_bounces"],
            counts["soft_bounces"],
            counts["unsubscribed"],
        )
    # a second earlier, the campaign sent at the bound comes in, and only it
    earlier = mailchimp_all(sandbox, "/reports", "reports", 2, since_send_time=mc_time(since - timedelta(seconds=1)))
    assert [r["id"] for r in earlier] == [sent[len(sent) // 2].campaign_id] + [c.campaign_id for c in expected]


def expected_activity(campaign, activity, position: int, now: datetime, since: datetime) -> list[dict]:
    out = []
    for a in activity.actions_of(position, now):
        if a.at > since:  # `since` excludes its exact second, as a real account answers
            item = {"action": a.action, "timestamp": mc_time(a.at)}
            if a.action == "click":
                item["url"] = campaign.url(a.detail)
            elif a.action == "bounce":
                item["type"] = a.detail
            out.append(item)
    return out


@pytest.mark.parametrize("audience", AUDIENCES, ids=lambda a: a.name)
def test_mailchimp_email_activity_since_returns_exactly_the_actions_since(sandbox, world, audience):
    # GIVEN a campaign three days after its send (opens and clicks still arriving), and a bound that is an action's instant
    campaign = next(
        c for c in world.mailchimp.campaigns if c.audience is audience and c.send_time > datetime(2026, 7, 1, tzinfo=UTC)
    )
    now = campaign.send_time + timedelta(days=3)
    sandbox.set_clock(now)
    activity = world.mailchimp.activity(campaign)
    since = min(
        a.at
        for p in range(len(activity.recipients))
        for a in activity.actions_of(p, now)
        if a.at >= campaign.send_time + timedelta(days=1)
    )

    # WHEN every page of the email activity since then is read
    emails = mailchimp_all(sandbox, f"/reports/{campaign.campaign_id}/email-activity", "emails", 500, since=mc_time(since))

    # THEN every recipient, in member order, with exactly their actions after the bound up to the clock
    expected = [
        (member_email(audience, number), expected_activity(campaign, activity, p, now, since))
        for p, number in enumerate(activity.recipients)
    ]
    assert [(e["email_address"], e["activity"]) for e in emails] == expected
    returned = [a for e in emails for a in e["activity"]]
    assert mc_time(since) not in {a["timestamp"] for a in returned} and {"open", "click"} <= {a["action"] for a in returned}
    every = sum(len(activity.actions_of(p, now)) for p in range(len(activity.recipients)))
    assert 0 < len(returned) < every  # the filter dropped the first day's actions


@pytest.mark.parametrize("audience", AUDIENCES, ids=lambda a: a.name)
@pytest.mark.parametrize("before_end", MAILCHIMP_CLOCKS.values(), ids=MAILCHIMP_CLOCKS.keys())
def test_mailchimp_since_last_changed_returns_exactly_the_members_changed_since(sandbox, world, audience, before_end):
    now = world.default_now - before_end
    sandbox.set_clock(now)
    members = list(world.mailchimp.iter_members(audience, now))
    since = min(m.last_changed_at(now) for m in members if m.last_changed_at(now) >= now - timedelta(days=5))
    # member order, the endpoint's order; since_last_changed excludes its exact second, as a real account answers
    expected = [m for m in members if m.last_changed_at(now) > since]

    got = mailchimp_all(sandbox, f"/lists/{audience.list_id}/members", "members", 10, since_last_changed=mc_time(since))

    assert [(g["id"], g["email_address"], g["status"], g["last_changed"]) for g in got] == [
        (m.member_id, m.email, m.status_at(now), mc_time(m.last_changed_at(now))) for m in expected
    ]
    assert len(got) > 10 and {"subscribed", "pending"} <= {g["status"] for g in got}
    earlier = mailchimp_all(
        sandbox, f"/lists/{audience.list_id}/members", "members", 1000, since_last_changed=mc_time(since - timedelta(seconds=1))
    )
    assert [g["id"] for g in earlier] == [m.member_id for m in members if m.last_changed_at(now) >= since]
    assert len(earlier) > len(got)


# ---- Facebook Pages and Instagram (Graph API): since/until on posts and media, since on comments ----------
#
# Graph's docs call since and until the start and end of a time range without saying whether each
# instant counts; the sandbox serves [since, until) (sandbox/apis/facebook.py), pinned here. The
# Instagram platform docs list since/until on an IG user's media; the Graph reference of that edge
# lists no parameters, so the extractor does not rely on them (it stops paging past its window).


def graph_time(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def graph_all(server, path: str, **params) -> tuple[list[dict], int]:
    """Every item of a Graph edge following paging.next, and the number of pages read."""
    response = requests.get(f"{server.base_url}/v21.0{path}", params=params, headers=GRAPH_AUTH, timeout=60)
    items, pages = [], 0
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["data"]
        pages += 1
        next_url = page.get("paging", {}).get("next")
        if not next_url:
            return items, pages
        response = requests.get(next_url, headers=GRAPH_AUTH, timeout=60)


def counters_as_graph_shows_them(platform: str, record: dict) -> dict:
    if platform == "instagram":
        return {"likes": record["like_count"], "comments": record["comments_count"]}
    return {
        "likes": record["reactions"]["summary"]["total_count"],
        "comments": record["comments"]["summary"]["total_count"],
        "shares": record.get("shares", {"count": 0})["count"],
    }


@pytest.mark.parametrize(
    "account, edge, fields",
    [(FACEBOOK_PAGE, "posts", POST_FIELDS), (INSTAGRAM_ACCOUNT, "media", MEDIA_FIELDS)],
    ids=["page-posts", "ig-media"],
)
@pytest.mark.parametrize("before_end", [timedelta(days=30, hours=3), timedelta(0)], ids=["mid-period", "period-end"])
def test_graph_since_until_returns_exactly_the_posts_published_in_the_window(sandbox, world, account, edge, fields, before_end):
    now = world.default_now - before_end
    sandbox.set_clock(now)
    posts = world.social.posts(account, now)  # newest first, as Graph pages
    # since is one post's own second (inclusive), until another's (exclusive)
    since, until = posts[25].published_at, posts[5].published_at
    expected = [p for p in posts if since <= p.published_at < until]

    got, pages = graph_all(
        sandbox,
        f"/{account.account_id}/{edge}",
        fields=fields,
        limit=4,
        since=int(since.timestamp()),
        until=int(until.timestamp()),
    )

    assert [g["id"] for g in got] == [p.post_id for p in expected] == [p.post_id for p in posts[6:26]]
    assert pages == 5
    time_field = "timestamp" if account.platform == "instagram" else "created_time"
    for record, post in zip(got, expected, strict=True):
        assert record[time_field] == graph_time(post.published_at)
        shown, counters = counters_as_graph_shows_them(account.platform, record), post.counters_at(now)
        assert shown == {k: counters[k] for k in shown}


@pytest.mark.parametrize("order", ["chronological", "reverse_chronological"])
def test_graph_comments_since_returns_exactly_the_comments_made_since(sandbox, world, order):
    # GIVEN the page's most commented post a day after publishing (comments still arriving)
    post = max(world.social.posts(FACEBOOK_PAGE, world.default_now), key=lambda p: p.comments.total)
    now = post.published_at + timedelta(days=1)
    sandbox.set_clock(now)
    made = post.comments_at(now)
    since = made[len(made) // 2].created_at  # a comment's own second: inclusive

    # WHEN its comments since then are read three at a time
    got, pages = graph_all(
        sandbox,
        f"/{post.post_id}/comments",
        fields=POST_COMMENT_FIELDS,
        filter="stream",
        order=order,
        since=int(since.timestamp()),
        limit=3,
    )

    # THEN exactly the comments the world has made from the bound to the clock, in the order asked for
    expected = list(post.comments_at(now, since))
    if order == "reverse_chronological":
        expected.reverse()
    assert [(c["id"], c["message"], c["created_time"]) for c in got] == [
        (c.comment_id, c.message, graph_time(c.created_at)) for c in expected
    ]
    assert 3 < len(expected) < len(made) < post.comments.total and pages == -(-len(expected) // 3)


def test_graph_instagram_comments_read_equals_the_worlds_comments(sandbox, world):
    """IGMedia's comments edge takes no since (tests/specs/meta/IGMedia.json): a full paged read, oldest first."""
    media = max(world.social.posts(INSTAGRAM_ACCOUNT, world.default_now), key=lambda p: p.comments.total)
    now = media.published_at + timedelta(days=2)
    sandbox.set_clock(now)

    got, pages = graph_all(sandbox, f"/{media.post_id}/comments", fields=IG_COMMENT_FIELDS, limit=10)

    expected = list(media.comments_at(now))
    assert [(c["id"], c["text"], c["timestamp"]) for c in got] == [
        (c.comment_id, c.message, graph_time(c.created_at)) for c in expected
    ]
    assert pages > 2 and len(expected) < media.comments.total
