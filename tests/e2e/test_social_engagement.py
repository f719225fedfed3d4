"""Organic social marts against the simulated business, from the real DAG's two runs.

GIVEN the sandbox's Facebook page (65 posts) and Instagram account (90 media) and the DAG
run twice over the same interval (session fixture `pipeline_runs` in tests/conftest.py, shared with
tests/e2e/test_end_to_end.py),
THEN the raw facebook_pages tables hold exactly what Graph serves and the second run
changes none of them, social_post_engagement recovers every post's counters and the
sessions, leads and customers its tagged link drove, and social_engagement recovers the
page's daily insights, the counters per publishing day and the followers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pytest

from extractors.sources.facebook_pages import MEDIA_METRICS
from sandbox.world_social import FACEBOOK_PAGE, INSTAGRAM_ACCOUNT, day_of

pytestmark = pytest.mark.timeout(1200)

RAW_TABLES = ("account_snapshots", "ig_comments", "ig_media", "ig_media_insights", "page_insights", "page_posts", "post_comments")
LAST_DAY = date(2026, 8, 29)  # the run's day in the page's time zone (its interval ends 2026-08-30 00:00 UTC)


def by_publishing_day(truth, world) -> dict[tuple[str, date], dict[str, int]]:
    """The world's post counters summed per (platform, publishing day in the page's time zone), and how
    many of the day's media Graph has no insights for."""
    out: dict[tuple[str, date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for post_id, counters in truth.social_by_post.items():
        cell = out[(counters["platform"], day_of(counters["published_at"]))]
        cell["posts"] += 1
        cell["without_insights"] += not world.social.has_insights(world.social.by_id[post_id])
        for name in ("impressions", "reach", "likes", "comments", "shares", "saved"):
            cell[name] += counters[name]
    return {k: dict(v) for k, v in out.items()}


def test_raw_facebook_tables_hold_graphs_records_and_the_second_run_changes_none(pipeline_runs, world):
    truth = world.truth()
    first, second = pipeline_runs["first"]["raw"], pipeline_runs["second"]["raw"]
    counts = {t: first[f"raw_facebook_pages.{t}"][0] for t in RAW_TABLES}
    fb = [p for p in truth.social_by_post.values() if p["platform"] == "facebook"]
    ig = [p for p in truth.social_by_post.values() if p["platform"] == "instagram"]
    assert counts == {
        "account_snapshots": 2,  # the page and the Instagram account, at the interval end
        "ig_comments": sum(p["comments"] for p in ig),
        "ig_media": len(ig),
        # each media's type's metrics (albums: no likes, comments); none for the two posted before the business conversion
        "ig_media_insights": sum(
            len(MEDIA_METRICS[(m.media_product_type, m.kind)])
            for m in world.social.posts(INSTAGRAM_ACCOUNT, truth.as_of)
            if world.social.has_insights(m)
        ),
        "page_insights": len(truth.page_insights_by_day) * 3,  # page_media_view, page_post_engagements, page_follows
        "page_posts": len(fb),
        "post_comments": sum(p["comments"] for p in fb),
    }
    assert [counts[t] for t in RAW_TABLES] == [2, 2766, 90, 492, 270, 65, 1045]
    assert {t: second[f"raw_facebook_pages.{t}"] for t in RAW_TABLES} == {t: first[f"raw_facebook_pages.{t}"] for t in RAW_TABLES}
    assert (
        pipeline_runs["second"]["marts"]["marts.social_engagement"] == pipeline_runs["first"]["marts"]["marts.social_engagement"]
    )
    assert (
        pipeline_runs["second"]["marts"]["marts.social_post_engagement"]
        == pipeline_runs["first"]["marts"]["marts.social_post_engagement"]
    )


def test_social_post_engagement_has_every_posts_counters(marts, world):
    truth = world.truth()
    rows = {
        r[0]: r[1:]
        for r in marts.execute("""
        SELECT post_id, platform, published_at, views, reach, likes, comments, shares, saves, engagements, comments_extracted,
               permalink
        FROM marts.social_post_engagement""").fetchall()
    }
    assert len(rows) == len(truth.social_by_post) == 155
    posts = {
        p.post_id: p
        for account_posts in (world.social.posts(a, truth.as_of) for a in (FACEBOOK_PAGE, INSTAGRAM_ACCOUNT))
        for p in account_posts
    }
    for post_id, t in truth.social_by_post.items():
        is_ig = t["platform"] == "instagram"
        if world.social.has_insights(posts[post_id]):
            expected = (
                t["platform"],
                t["published_at"].replace(tzinfo=None),
                t["impressions"] if is_ig else None,
                t["reach"] if is_ig else None,
                t["likes"],
                t["comments"],
                t["shares"],
                t["saved"] if is_ig else None,
                t["likes"] + t["comments"] + t["shares"] + t["saved"],
                t["comments"],
                posts[post_id].permalink,
            )
        else:  # posted before the business conversion: Graph has no insights, the mart makes none up
            expected = (
                t["platform"],
                t["published_at"].replace(tzinfo=None),
                None,
                None,
                t["likes"],
                t["comments"],
                None,
                None,
                t["likes"] + t["comments"],
                t["comments"],
                posts[post_id].permalink,
            )
        assert rows[post_id] == expected, post_id


def test_social_post_engagement_credits_each_post_with_the_sessions_and_leads_it_drove(marts, world):
    truth = world.truth()
    rows = {
        r[0]: r[1:]
        for r in marts.execute(
            "SELECT post_id, sessions, leads, customers, won_revenue FROM marts.social_post_engagement"
        ).fetchall()
    }
    for post_id, funnel in truth.social_funnel_by_post.items():
        sessions, leads, customers, revenue = rows[post_id]
        assert (sessions, leads, customers) == (funnel["sessions"], funnel["leads"], funnel["customers"]), post_id
        assert revenue == funnel["revenue_usd"], post_id  # exact: DECIMAL money
    totals = marts.execute("SELECT sum(sessions), sum(leads), sum(customers) FROM marts.social_post_engagement").fetchone()
    assert totals == (truth.sessions_by_channel["organic_social"], 299, 6) == (14993, 299, 6)


def test_social_engagement_facebook_days_are_the_page_insights(marts, world):
    truth = world.truth()
    rows = {
        d: r
        for d, *r in marts.execute("""
        SELECT date_day, impressions, engagements, followers, net_follower_change FROM marts.social_engagement
        WHERE channel = 'facebook'""").fetchall()
    }
    for day, insights in truth.page_insights_by_day.items():
        impressions, engagements, followers, change = rows[day]
        assert (impressions, engagements, followers) == (
            insights["page_media_view"],
            insights["page_post_engagements"],
            insights["page_follows"],
        ), day
        previous = truth.page_insights_by_day.get(day - timedelta(days=1))
        assert change == (insights["page_follows"] - previous["page_follows"] if previous else None), day
    # the run's own day has not ended: no insights yet, followers as read that day
    assert rows[LAST_DAY] == [None, None, truth.followers["facebook"], 0]


def test_social_engagement_counts_posts_per_publishing_day(marts, world):
    expected = by_publishing_day(world.truth(), world)
    rows = {
        (c, d): r
        for c, d, *r in marts.execute("""
        SELECT channel, date_day, posts_published, impressions, reach, likes, comments, shares, saves, engagements, engagement_rate
        FROM marts.social_engagement""").fetchall()
    }
    assert {k for k, r in rows.items() if r[0]} == expected.keys()
    for (channel, day), t in expected.items():
        posts, impressions, reach, likes, comments, shares, saves, engagements, rate = rows[(channel, day)]
        assert (posts, likes, comments) == (t["posts"], t["likes"], t["comments"]), (channel, day)
        assert shares == (None if t["without_insights"] else t["shares"]), (channel, day)
        if channel == "instagram" and t["without_insights"]:  # the day's media were posted before the business conversion
            assert t["without_insights"] == t["posts"] == 1, day
            assert (impressions, reach, shares, saves, engagements, rate) == (None, None, None, None, likes + comments, None)
        elif channel == "instagram":
            ig_engagements = t["likes"] + t["comments"] + t["shares"] + t["saved"]
            assert (impressions, reach, saves, engagements) == (t["impressions"], t["reach"], t["saved"], ig_engagements), day
            assert rate == pytest.approx(ig_engagements / t["impressions"])
        else:
            assert (reach, saves) == (None, None)
    totals = marts.execute(
        "SELECT channel, count(*), sum(posts_published) FROM marts.social_engagement GROUP BY 1 ORDER BY 1"
    ).fetchall()
    # Facebook: the page's 90 insight days (2026-05-31 .. 08-28 Pacific) and the run's day; Instagram: its 90 publishing days
    assert totals == [("facebook", 91, 65), ("instagram", 90, 90)]


def test_social_engagement_followers_at_the_run_day_equal_the_worlds(marts, world):
    truth = world.truth()
    followers = dict(
        marts.execute("SELECT channel, followers FROM marts.social_engagement WHERE date_day = ?", [LAST_DAY]).fetchall()
    )
    assert followers == truth.followers == {"facebook": 12_433, "instagram": 9_146}
    # Instagram keeps no follower history in Graph: only the days a run read it have a count
    assert marts.execute("SELECT count(followers) FROM marts.social_engagement WHERE channel = 'instagram'").fetchone() == (1,)
