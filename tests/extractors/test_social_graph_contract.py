"""The Graph API contract for page insights, followers and comments, on both sides: the
sandbox answers like Graph, and the facebook_pages extractor reads it without walking
into the future.

Page insights page by time: every answer links the windows before and after it
(``paging.previous`` / ``paging.next``), also past today, so a client that follows
``next`` never stops. ``page_fans`` and ``page_impressions`` were removed by Meta on
2025-11-15 (``page_follows`` and ``page_media_view`` replace them). Instagram comments
are IGComment nodes (id, text, timestamp, username, like_count); Facebook comments are
Comment nodes (id, message, created_time).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from extractors.api_versions import PLATFORMS
from sandbox.server import DEFAULT_TOKENS
from sandbox.world_social import FACEBOOK_PAGE, INSTAGRAM_ACCOUNT
from tests.pipeline_helpers import rows, run
from tests.spec_contracts import MetaSpec

PAGE_TOKEN = DEFAULT_TOKENS["facebook"]
PAGE, IG = FACEBOOK_PAGE.account_id, INSTAGRAM_ACCOUNT.account_id
METRICS = "page_media_view,page_post_engagements,page_follows"


def graph(sandbox, path: str, **params) -> requests.Response:
    return requests.get(
        f"{sandbox.base_url}/v21.0{path}", params=params, headers={"Authorization": f"Bearer {PAGE_TOKEN}"}, timeout=60
    )


def window(url: str) -> tuple[int, int]:
    query = parse_qs(urlsplit(url).query)
    return int(query["since"][0]), int(query["until"][0])


def test_page_insights_link_the_windows_before_and_after_like_graph(sandbox, world):
    # GIVEN a 14-day window in the middle of the simulated period
    since, until = int(datetime(2026, 7, 1, tzinfo=UTC).timestamp()), int(datetime(2026, 7, 15, tzinfo=UTC).timestamp())
    # WHEN the page's insights are asked for
    body = graph(sandbox, f"/{PAGE}/insights", metric=METRICS, period="day", since=since, until=until).json()
    # THEN both links are there, each the same span next to the window, keeping the other parameters
    span = until - since
    assert window(body["paging"]["previous"]) == (since - span, since)
    assert window(body["paging"]["next"]) == (until, until + span)
    assert parse_qs(urlsplit(body["paging"]["next"]).query)["metric"] == [METRICS]
    assert [len(d["values"]) for d in body["data"]] == [14, 14, 14]


def test_following_next_never_ends_even_past_the_clock(sandbox, world):
    """Why the extractor must not follow paging.next here: past the clock, the answers are empty and still link onwards."""
    since = int((world.default_now - timedelta(days=7)).timestamp())
    url = None
    body = graph(sandbox, f"/{PAGE}/insights", metric="page_follows", period="day", since=since, until=since + 7 * 86400).json()
    for _ in range(5):
        url = body["paging"]["next"]
        body = requests.get(url, headers={"Authorization": f"Bearer {PAGE_TOKEN}"}, timeout=60).json()
        assert body["data"][0]["values"] == []
    assert window(url)[0] == since + 5 * 7 * 86400 > world.default_now.timestamp() and "next" in body["paging"]


@pytest.mark.parametrize("metric", ["page_fans", "page_fan_adds", "page_impressions", "page_impressions_unique"])
def test_metrics_meta_removed_answer_an_invalid_metric_error(sandbox, metric):
    response = graph(sandbox, f"/{PAGE}/insights", metric=f"page_post_engagements,{metric}", period="day")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100 and "valid insights metric" in response.json()["error"]["message"]


def test_page_follows_is_the_followers_at_each_days_end(sandbox, world):
    truth = world.truth()
    body = graph(
        sandbox,
        f"/{PAGE}/insights",
        metric="page_follows",
        period="day",
        since=int(datetime(2026, 8, 1, tzinfo=UTC).timestamp()),
        until=int(world.default_now.timestamp()),
    ).json()
    (follows,) = body["data"]
    ends = {datetime.strptime(v["end_time"], "%Y-%m-%dT%H:%M:%S%z"): v["value"] for v in follows["values"]}
    assert max(ends.values()) == ends[max(ends)] == truth.followers["facebook"] == 12_433
    assert not MetaSpec().object_errors(
        "InsightsResult", {k: v for k, v in follows.items() if k != "description"}, "page_follows"
    )


def test_comment_fields_are_each_platforms_own(sandbox, world):
    media = next(p for p in world.social.posts(INSTAGRAM_ACCOUNT, world.default_now) if p.comments.count_at(world.default_now))
    post = next(p for p in world.social.posts(FACEBOOK_PAGE, world.default_now) if p.comments.count_at(world.default_now))
    ig = graph(sandbox, f"/{media.post_id}/comments", fields="id,text,timestamp,username,like_count").json()["data"][0]
    assert set(ig) == {"id", "text", "timestamp", "username", "like_count"}
    assert ig["text"] == media.comment(0).message
    fb = graph(sandbox, f"/{post.post_id}/comments", fields="id,message,created_time").json()["data"][0]
    assert set(fb) == {"id", "message", "created_time"} and fb["message"] == post.comment(0).message
    # IGComment has no message or created_time: Graph refuses them
    for field in ("message", "created_time"):
        refused = graph(sandbox, f"/{media.post_id}/comments", fields=f"id,{field}")
        assert refused.status_code == 400 and f"({field}) on node type (IGComment)" in refused.json()["error"]["message"]


def test_extractor_reads_the_window_it_asked_for_once(sandbox, connections, data_dir, world):
    # GIVEN the sandbox, which links a next window after every page-insights answer
    seen = []
    sandbox.sandbox.request_hooks.append(lambda request: seen.append(request.path))
    # WHEN the page insights of the 90 days before the clock are extracted
    run("facebook_pages", world.default_now, streams=["page_insights"])
    # THEN one request was made and every metric of every reported day landed once
    assert [p for p in seen if p.endswith("/insights")] == [f"/{PLATFORMS['graph'].default}/{PAGE}/insights"]
    truth = world.truth()
    landed = rows("SELECT metric, count(*), count(DISTINCT end_time) FROM raw_facebook_pages.page_insights GROUP BY 1 ORDER BY 1")
    assert landed == [(m, 90, 90) for m in sorted(METRICS.split(","))] and len(truth.page_insights_by_day) == 90
    follows = rows(
        "SELECT (_record->>'$.value')::BIGINT FROM raw_facebook_pages.page_insights "
        "WHERE metric = 'page_follows' ORDER BY end_time"
    )
    assert [v for (v,) in follows] == [d["page_follows"] for _, d in sorted(truth.page_insights_by_day.items())]


def test_account_snapshots_read_both_accounts_followers_at_the_interval_end(sandbox, connections, data_dir, world):
    run("facebook_pages", world.default_now, streams=["account_snapshots"])
    run("facebook_pages", world.default_now, streams=["account_snapshots"])  # the same interval again replaces it
    truth = world.truth()
    assert rows(
        "SELECT id, snapshot_at, (_record->>'$.followers_count')::BIGINT FROM raw_facebook_pages.account_snapshots ORDER BY id"
    ) == [(PAGE, world.default_now, truth.followers["facebook"]), (IG, world.default_now, truth.followers["instagram"])]
    assert truth.followers == {"facebook": 12_433, "instagram": 9_146}
