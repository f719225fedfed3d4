"""Instagram media insights and Graph versions as Graph answers them.

GIVEN the sandbox's Instagram account (FEED images and carousels, REELS; two media posted before the
account became a business account), THEN each media is asked only for its type's metrics, a media Graph
has no insights for is skipped and named while the rest loads, and an expired Graph version is served
(Graph defaults it to its oldest available version) with the run warning about it.
"""

from __future__ import annotations

import json
import logging

import pytest
import requests

from extractors.api_versions import PLATFORMS
from extractors.sources import facebook_pages
from sandbox.server import DEFAULT_TOKENS
from sandbox.world_social import FACEBOOK_PAGE, INSTAGRAM_ACCOUNT
from tests.pipeline_helpers import rows, run

GRAPH_AUTH = {"Authorization": f"Bearer {DEFAULT_TOKENS['facebook']}"}
VERSION = PLATFORMS["graph"].default


def media_of(world, product: str, media_type: str, with_insights: bool = True):
    return next(
        p
        for p in world.social.posts(INSTAGRAM_ACCOUNT, world.default_now)
        if (p.media_product_type, p.kind) == (product, media_type) and world.social.has_insights(p) == with_insights
    )


def insights(sandbox, media_id: str, metrics) -> requests.Response:
    return requests.get(
        f"{sandbox.base_url}/{VERSION}/{media_id}/insights", params={"metric": ",".join(metrics)}, headers=GRAPH_AUTH, timeout=30
    )


def test_one_metric_a_media_type_does_not_answer_fails_the_whole_request(sandbox, world):
    album = media_of(world, "FEED", "CAROUSEL_ALBUM")
    refused = insights(sandbox, album.post_id, ["views", "reach", "likes", "saved"])
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert {k: error[k] for k in ("message", "type", "code")} == {
        "message": "(#100) The metric likes is not supported for this media type",
        "type": "OAuthException",
        "code": 100,
    }
    ok = insights(sandbox, album.post_id, facebook_pages.MEDIA_METRICS[("FEED", "CAROUSEL_ALBUM")]).json()
    counters = album.counters_at(world.default_now)
    assert {d["name"]: d["values"][0]["value"] for d in ok["data"]} == {
        "views": counters["impressions"],
        "reach": counters["reach"],
        "saved": counters["saved"],
        "shares": counters["shares"],
    }
    for product, media_type in (("FEED", "IMAGE"), ("REELS", "VIDEO")):
        media = media_of(world, product, media_type)
        answer = insights(sandbox, media.post_id, facebook_pages.MEDIA_METRICS[(product, media_type)])
        assert answer.status_code == 200 and len(answer.json()["data"]) == 6, (product, media_type)


def test_media_posted_before_the_business_conversion_answer_2108006(sandbox, world):
    early = media_of(world, "FEED", "IMAGE", with_insights=False)
    assert early.published_at < world.social.instagram_business_since
    refused = insights(sandbox, early.post_id, facebook_pages.MEDIA_METRICS[("FEED", "IMAGE")])
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert {k: v for k, v in error.items() if k != "fbtrace_id"} == {
        "message": "Invalid parameter",
        "type": "OAuthException",
        "code": 100,
        "error_subcode": 2108006,
        "error_data": {"blame_field_specs": [[""]]},
        "is_transient": False,
        "error_user_title": "Media posted before business account conversion",
        "error_user_msg": "The media was posted before the most recent time that the user's account was converted to a "
        "business account from a personal account.",
    }
    node = requests.get(
        f"{sandbox.base_url}/{VERSION}/{early.post_id}", params={"fields": "id,like_count"}, headers=GRAPH_AUTH, timeout=30
    )
    assert node.json()["like_count"] == early.counters_at(world.default_now)["likes"]  # the media itself is there


def test_each_media_lands_its_types_metrics_and_media_without_insights_are_skipped_and_named(
    sandbox, connections, data_dir, world, caplog
):
    """Old code asked every media for the same six metrics: the first album failed the whole source."""
    with caplog.at_level(logging.WARNING, logger="extractors.sources.facebook_pages"):
        run("facebook_pages", world.default_now, streams=["ig_media", "ig_media_insights"])
    media = world.social.posts(INSTAGRAM_ACCOUNT, world.default_now)
    landed = {}
    for media_id, metric in rows("SELECT media_id, metric FROM raw_facebook_pages.ig_media_insights"):
        landed.setdefault(media_id, set()).add(metric)
    assert landed == {
        p.post_id: set(facebook_pages.MEDIA_METRICS[(p.media_product_type, p.kind)])
        for p in media
        if world.social.has_insights(p)
    }
    assert len(rows("SELECT 1 FROM raw_facebook_pages.ig_media_insights")) == 492  # 36 x 6 + 36 x 6 + 18 x 4 - 2 x 6
    assert len(rows("SELECT 1 FROM raw_facebook_pages.ig_media")) == len(media) == 90  # every media, early ones too
    skipped = [p.post_id for p in media if not world.social.has_insights(p)]
    lines = [r.getMessage() for r in caplog.records]
    assert len(skipped) == 2 and all(
        any(f"media {m}: skipped, Media posted before business account conversion" in line for line in lines) for m in skipped
    )
    assert any("2 media have no insights" in line and all(m in line for m in skipped) for line in lines), lines


def test_a_metric_graph_still_refuses_is_dropped_for_that_media_and_the_others_load(
    sandbox, connections, data_dir, world, monkeypatch, caplog
):
    monkeypatch.setitem(facebook_pages.MEDIA_METRICS, ("FEED", "CAROUSEL_ALBUM"), ("views", "reach", "saved", "shares", "likes"))
    with caplog.at_level(logging.WARNING, logger="extractors.sources.facebook_pages"):
        run("facebook_pages", world.default_now, streams=["ig_media_insights"])
    albums = {p.post_id for p in world.social.posts(INSTAGRAM_ACCOUNT, world.default_now) if p.kind == "CAROUSEL_ALBUM"}
    got = {(m, metric) for m, metric in rows("SELECT media_id, metric FROM raw_facebook_pages.ig_media_insights") if m in albums}
    assert got == {(m, metric) for m in albums for metric in ("views", "reach", "saved", "shares")}
    assert sum("refused the metric likes" in r.getMessage() for r in caplog.records) == len(albums) == 18


def test_an_expired_graph_version_is_served_and_the_run_warns(sandbox, connections, data_dir, world, monkeypatch, caplog):
    expired = PLATFORMS["graph"].version("v19.0")
    assert expired.expires < world.default_now.date()
    page = f"/{FACEBOOK_PAGE.account_id}"
    answers = [
        requests.get(
            f"{sandbox.base_url}/{v}{page}", params={"fields": "id,name,followers_count"}, headers=GRAPH_AUTH, timeout=30
        )
        for v in ("v19.0", VERSION)
    ]
    assert [a.status_code for a in answers] == [200, 200] and answers[0].json() == answers[1].json()
    conn = json.loads(connections["AIRFLOW_CONN_FACEBOOK_PAGES"])
    conn["extra"]["api_version"] = "v19.0"
    monkeypatch.setenv("AIRFLOW_CONN_FACEBOOK_PAGES", json.dumps(conn))
    with caplog.at_level(logging.WARNING, logger="extractors.api_versions"):
        run("facebook_pages", world.default_now, streams=["page_insights"])
    assert len(rows("SELECT 1 FROM raw_facebook_pages.page_insights")) == 270
    assert any(
        "Graph API v19.0 expired on 2026-05-21" in r.getMessage() and "'facebook_pages'" in r.getMessage() for r in caplog.records
    )


@pytest.mark.parametrize("key", sorted(facebook_pages.MEDIA_METRICS))
def test_the_extractor_asks_no_type_for_a_metric_the_sandbox_refuses_it(key):
    from sandbox.apis.facebook import MEDIA_METRICS_BY_TYPE

    if key not in MEDIA_METRICS_BY_TYPE:
        pytest.skip(f"the world publishes no {key} media")
    assert set(facebook_pages.MEDIA_METRICS[key]) <= MEDIA_METRICS_BY_TYPE[key]
