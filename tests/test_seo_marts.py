"""seo_performance, seo_page_performance and video_performance against the world's ground truth.

GIVEN Search Console, YouTube and GA4's sessions report extracted from the sandbox (seed 7) into one warehouse,
WHEN dbt builds the marts and what they depend on,
THEN every (day, page, query) row holds the world's clicks, impressions and impression-weighted
position, every (day, page) row the page's whole clicks (anonymised queries included), the share
its query rows miss, and GA4's Google organic sessions and key events of the same landing page;
every (video, day) YouTube's numbers and the GA4 sessions of the video's tagged link.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import duckdb
import pytest

from extractors import settings
from sandbox.world_search import ORIGIN, SITE_URL
from tests.pipeline_helpers import run
from tests.test_dbt_project import run_dbt


@pytest.fixture(scope="module")
def seo_warehouse(tmp_path_factory, world):
    from sandbox.server import SandboxServer

    data = tmp_path_factory.mktemp("seo")
    patch = pytest.MonkeyPatch()
    patch.setenv("FUNNELHOUSE_DATA_DIR", str(data / "data"))
    patch.delenv("FUNNELHOUSE_WAREHOUSE", raising=False)
    try:
        with SandboxServer(world) as sandbox:
            for key, value in sandbox.connections().items():
                patch.setenv(key, value)
            run("search_console", end=world.default_now)
            run("youtube", end=world.default_now)
            run("ga4", end=world.default_now, streams=["sessions_daily"])
            for source in ("hubspot", "meta_ads", "cbr"):  # video_performance's leads: the CRM, the ad campaigns, the rates
                run(source, end=world.default_now)
        path = settings.warehouse_path()
        # sources the marts do not need (Google Ads, Mailchimp, Facebook) read empty relations; only these marts' tests run
        run_dbt("seed", workdir=data, warehouse=path)
        run_dbt("run", "--select", "+seo_performance", "+seo_page_performance", "+video_performance", "stg_youtube__comment_threads",
                "+channel_performance_daily",
                workdir=data, warehouse=path)
        run_dbt("test", "--select", "staging.search_console", "staging.youtube", "seo_performance", "seo_page_performance",
                "video_performance", "--indirect-selection", "cautious", workdir=data, warehouse=path)
    finally:
        patch.undo()
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def first_day(world):
    return (world.default_now - timedelta(days=90)).date()


def test_seo_performance_equals_the_worlds_clicks_impressions_and_positions(seo_warehouse, world):
    truth = {k: v for k, v in world.search.truth_by_page_query(world.default_now).items() if k[0] >= first_day(world)}
    built = {(d, p, q): (c, i, pos, final) for d, p, q, c, i, pos, final in seo_warehouse.execute(
        "select date_day, page_path, search_query, clicks, impressions, avg_position, is_final from marts.seo_performance "
        "where site_url = ?", [SITE_URL]).fetchall()}
    assert set(built) == set(truth)
    for key, (clicks, impressions, position, _) in built.items():
        assert (clicks, impressions) == (truth[key]["clicks"], truth[key]["impressions"]), key
        assert position == pytest.approx(truth[key]["position"], abs=1e-9), key
    assert sum(v[0] for v in built.values()) == sum(v["clicks"] for v in truth.values())
    assert {d for (d, _, _), v in built.items() if not v[3]} == {world.end - timedelta(days=n) for n in range(3)}


def test_seo_page_performance_shows_the_anonymised_share_and_ga4s_organic_sessions(seo_warehouse, world):
    now = world.default_now
    pages = {k: v for k, v in world.search.truth_by_page(now).items() if k[0] >= first_day(world)}
    sessions: dict = defaultdict(lambda: [0, 0])
    for b in world.iter_session_blocks(first_day(world), world.end, now):
        if (b.source, b.medium) == ("google", "organic"):
            sessions[(b.property_date, b.landing_page)][0] += b.sessions
            sessions[(b.property_date, b.landing_page)][1] += b.conversions
    built = {(d, p): row for d, p, *row in seo_warehouse.execute(
        "select date_day, page_path, page_url, clicks, impressions, query_clicks, anonymised_click_share, organic_sessions, "
        "organic_leads from marts.seo_page_performance").fetchall()}
    assert set(built) == set(pages)
    for key, (url, clicks, impressions, query_clicks, share, organic, leads) in built.items():
        truth = pages[key]
        assert url == ORIGIN + key[1]
        assert (clicks, impressions, query_clicks) == (truth["clicks"], truth["impressions"], truth["query_clicks"]), key
        assert share == pytest.approx(1 - truth["query_clicks"] / truth["clicks"]), key
        assert (organic, leads) == tuple(sessions.get(key, (0, 0))), key
    # close, not equal: Search Console counts more clicks than GA4 sees sessions
    clicks, organic = sum(v[1] for v in built.values()), sum(v[5] for v in built.values())
    assert organic < clicks < 1.15 * organic
    # the site's anonymised share per day comes from the date-only report
    daily = world.search.truth_daily(now)
    for day, share in seo_warehouse.execute(
            "select distinct date_day, site_anonymised_click_share from marts.seo_page_performance").fetchall():
        assert share == pytest.approx(1 - daily[day]["query_clicks"] / daily[day]["clicks"]), day


def test_video_performance_equals_youtubes_numbers_and_the_sessions_its_links_drove(seo_warehouse, world):
    from sandbox.world_video import BY_ID

    now = world.default_now
    first = first_day(world)
    truth = {(d.video_id, d.day): d for d in world.video.reported(first, world.end, now)}
    sessions: dict = defaultdict(int)
    for b in world.iter_session_blocks(first, world.end, now):
        if (b.source, b.medium) == ("youtube", "video"):
            sessions[(b.campaign, b.property_date)] += b.sessions
    built = {(v, d): row for v, d, *row in seo_warehouse.execute(
        "select video_id, date_day, views, minutes_watched, likes, comments, shares, subscribers_gained, subscribers_lost, "
        "sessions, leads, has_analytics, title from marts.video_performance").fetchall()}
    for key, d in truth.items():
        assert built[key][:7] == [d.views, d.minutes_watched, d.likes, d.comments, d.shares, d.subscribers_gained,
                                  d.subscribers_lost], key
        assert built[key][9] is True and built[key][10] == BY_ID[key[0]].title
    assert {k for k, row in built.items() if row[9]} == set(truth)
    # the last three days: sessions already, analytics not yet
    waiting = {d for (_, d), row in built.items() if not row[9]}
    assert waiting and waiting <= {world.end - timedelta(days=n) for n in range(3)}
    assert {k: row[7] for k, row in built.items() if row[7]} == {k: n for k, n in sessions.items() if n and first <= k[1] <= world.end}
    assert sum(row[8] for row in built.values()) == 0  # the world's videos make no CRM contacts


def test_channel_performance_daily_carries_search_clicks_and_video_views_on_their_channels_rows(seo_warehouse, world):
    now = world.default_now
    first = first_day(world)
    search = {d: (c, i) for d, c, i in seo_warehouse.execute(
        "select date_day, search_clicks, search_impressions from marts.channel_performance_daily "
        "where channel = 'organic_search' and source = 'google' and medium = 'organic' and search_impressions > 0").fetchall()}
    assert search == {d: (v["clicks"], v["impressions"]) for d, v in world.search.truth_daily(now).items() if d >= first}
    views = {(c, d): v for c, d, v in seo_warehouse.execute(
        "select campaign, date_day, video_views from marts.channel_performance_daily "
        "where channel = 'organic_video' and source = 'youtube' and medium = 'video' and video_views > 0").fetchall()}
    assert views == {(d.video_id, d.day): d.views for d in world.video.reported(first, world.end, now) if d.views}
    # the rows' other sides are where they were: GA4's google / organic sessions sit beside the clicks
    sessions = seo_warehouse.execute("select sum(sessions), sum(search_clicks) from marts.channel_performance_daily "
                                     "where channel = 'organic_search' and source = 'google'").fetchone()
    assert sessions[0] < sessions[1] < 1.15 * sessions[0]
    assert seo_warehouse.execute("select sum(search_clicks) + sum(video_views) from marts.channel_performance_daily "
                                 "where channel not in ('organic_search', 'organic_video')").fetchone()[0] == 0
