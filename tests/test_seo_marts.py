"""seo_performance and seo_page_performance against the world's ground truth.

GIVEN Search Console and GA4's sessions report extracted from the sandbox (seed 7) into one warehouse,
WHEN dbt builds the two marts and what they depend on,
THEN every (day, page, query) row holds the world's clicks, impressions and impression-weighted
position, every (day, page) row the page's whole clicks (anonymised queries included), the share
its query rows miss, and GA4's Google organic sessions and key events of the same landing page.
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
            run("ga4", end=world.default_now, streams=["sessions_daily"])
        path = settings.warehouse_path()
        run_dbt("build", "--select", "+seo_performance", "+seo_page_performance", "--indirect-selection", "cautious",
                workdir=data, warehouse=path)
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
