"""Facebook Pages and Instagram (Graph API, the version extractors/api_versions.py gives: default v25.0;
the connection's ``api_version`` extra overrides it): posts and media with their counters,
daily page insights, media insights and comments
(https://developers.facebook.com/docs/graph-api/reference/page/, .../instagram-api).

Credentials: Airflow connection ``facebook_pages``: host = https://graph.facebook.com,
password = a page (or system-user) access token sent as Bearer, extra
``{"page_ids": ["..."], "ig_user_ids": ["..."], "start_date": "YYYY-MM-DD"}`` (optionally ``"api_version"``).

Counters (likes, comments, shares) keep growing after a post is published, so
posts and media of the last 28 days are re-read every run and merged on their id.
Insights arrive as ``{name, period, values: [{value, end_time}]}`` and are
landed one record per metric and day.

Page insights page by time, not by cursor: every answer carries ``paging.previous`` and
``paging.next`` links to the neighbouring since/until windows, and ``next`` exists even
past today, so following it never ends. We ask for the window we need (in chunks of
at most 90 days, Graph's limit) and read each answer once.

Metrics are the ones Graph serves since 2025-11-15: ``page_media_view`` (it replaced
``page_impressions``) and ``page_follows``, the page's followers at the end of each day
(it replaced ``page_fans``, which now answers with an invalid metric error). Instagram
has no daily follower series that counts losses, so ``account_snapshots`` reads the
page's and the account's ``followers_count`` each run, keyed on the run's interval end.

Comments: Facebook Comment nodes are ``id,message,created_time``; Instagram IGComment
nodes are ``id,text,timestamp,username,like_count`` (they have no message field).

Media insights: the valid metrics differ by ``media_product_type`` and ``media_type``, and one metric a
media does not answer fails its whole request with (#100); so each media is asked only for its type's
metrics (``MEDIA_METRICS``). Should Graph still refuse one of them ("The metric X is not supported for
this media type"), that metric is dropped for that media with a warning and the others are read. A media
posted before the account became a business account (error 100 / 2108006) has no insights: it is skipped,
with a warning naming it and a count for the unit; the rest of the batch loads.

Versions: Graph serves a call to an expired version as its oldest available version, so nothing fails;
the run warns 60 days before the version in use expires.

Verified against:
- tests/specs/meta: Page.json, PagePost.json, IGMedia.json (media_type, media_product_type),
  InsightsResult.json / InstagramInsightsResult.json; Meta, "Graph API changelog: versions" and
  "Platform Versioning" (an unavailable version is served as the oldest available one).
- Meta, IG Media Insights reference (views for FEED, STORY and REELS; no insights for media inside albums;
  stories only for 24 hours); Airbyte source-instagram's manifest and mock-server tests (per-type metric
  lists; 2108006 skipped, PR #26599; views refused on a FEED video, PR #62902); exileum/meta-mcp #120
  (the wording of a refused metric).
- Meta's 2025-11-15 page metric removals (page_impressions, page_fans) and their replacements.

Not verified:
- Which of Meta's lists is right for FEED images: Airbyte asks for shares, likes and comments (and has for
  years), one report (exileum/meta-mcp #120) saw shares refused on an image; we follow Airbyte, and the
  drop-and-retry above keeps a refusal from costing the media's other metrics.
- Whether albums answer views (Meta's FEED rule says yes; Airbyte does not ask).
- Stories (GET /{ig-user-id}/stories, 24 hours only) are not read, so STORY has no row in MEDIA_METRICS.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta

from extractors.api_versions import api_version
from extractors.connections import PlatformConnection
from extractors.errors import ApiError
from extractors.pagination import NextUrl, PageRequest, paginate
from extractors.sources import Source
from extractors.streams import KeyColumn, Stream

POST_FIELDS = "id,message,created_time,permalink_url,status_type,shares,comments.summary(true),reactions.summary(true)"
MEDIA_FIELDS = "id,caption,media_type,media_product_type,timestamp,like_count,comments_count,permalink"
PAGE_METRICS = "page_media_view,page_post_engagements,page_follows"
POST_COMMENT_FIELDS = "id,message,created_time"
IG_COMMENT_FIELDS = "id,text,timestamp,username,like_count"
PAGE_ACCOUNT_FIELDS = "id,name,username,followers_count,fan_count"
IG_ACCOUNT_FIELDS = "id,name,username,followers_count,follows_count,media_count"
INSIGHTS_MAX_SPAN = timedelta(days=90)  # Graph: at most 90 days between since and until
# The lifetime metrics each (media_product_type, media_type) answers (views replaced impressions): albums
# answer no likes or comments (the media node's like_count and comments_count have them), a legacy FEED
# video no views. A type not listed is asked for the two every type answers.
MEDIA_METRICS = {
    ("FEED", "IMAGE"): ("views", "reach", "saved", "shares", "likes", "comments"),
    ("FEED", "CAROUSEL_ALBUM"): ("views", "reach", "saved", "shares"),
    ("FEED", "VIDEO"): ("reach", "saved"),
    ("REELS", "VIDEO"): ("views", "reach", "saved", "shares", "likes", "comments"),
}
OTHER_MEDIA_METRICS = ("reach", "saved")
POSTED_BEFORE_BUSINESS = (100, 2108006)  # "Media posted before business account conversion"
_REFUSED_METRIC = re.compile(r"metric (\w+) is not supported|does not support the (\w+) metric")
COUNTER_LOOKBACK = timedelta(days=28)
NEXT = NextUrl(("paging", "next"))

log = logging.getLogger(__name__)

PAGE_STREAMS = {"page_posts", "page_insights", "post_comments"}
ACCOUNT_STREAMS = {"account_snapshots"}


class FacebookPages(Source):
    name = "facebook_pages"
    conn_id = "facebook_pages"
    max_concurrency = 4
    streams = (
        Stream(
            "page_posts",
            (KeyColumn("id", "$.id"),),
            lookback=COUNTER_LOOKBACK,
            description="page posts with share, comment and reaction counts",
        ),
        Stream(
            "page_insights",
            (KeyColumn("metric", "$.name"), KeyColumn("end_time", "$.end_time", "TIMESTAMPTZ")),
            load="window",
            window_key="end_time",
            lookback=timedelta(days=3),
            description="daily page media views, engagements, followers",
        ),
        Stream("post_comments", (KeyColumn("id", "$.id"),), lookback=COUNTER_LOOKBACK, description="comments on recent posts"),
        Stream(
            "ig_media",
            (KeyColumn("id", "$.id"),),
            lookback=COUNTER_LOOKBACK,
            description="Instagram media with like and comment counts",
        ),
        Stream(
            "ig_media_insights",
            (KeyColumn("media_id", "$.media_id"), KeyColumn("metric", "$.name")),
            lookback=COUNTER_LOOKBACK,
            description="lifetime views, reach, saves, shares (and likes, comments where its type has them) per recent media",
        ),
        Stream("ig_comments", (KeyColumn("id", "$.id"),), lookback=COUNTER_LOOKBACK, description="comments on recent media"),
        Stream(
            "account_snapshots",
            (KeyColumn("id", "$.id"), KeyColumn("snapshot_at", "$.snapshot_at", "TIMESTAMPTZ")),
            description="followers of the page and the Instagram account, read once per run",
        ),
    )

    def accounts(self, conn: PlatformConnection, stream: Stream) -> list[str]:
        if stream.name in PAGE_STREAMS:
            return _page_ids(conn)
        if stream.name in ACCOUNT_STREAMS:
            return _page_ids(conn) + _ig_user_ids(conn)
        return _ig_user_ids(conn)

    def read(self, client, conn, stream, account, window) -> Iterator[list[dict]]:
        # Graph serves a call to an expired version as its oldest available one: nothing fails, so the
        # warning (60 days ahead) is the only sign; see extractors/api_versions.py.
        v = api_version("graph", conn)
        since = {"since": int(window.start.timestamp())} if window.start else {}
        until = {"until": int(window.end.timestamp())}
        what = f"{stream.name} [{account}]"
        if stream.name == "page_posts":
            yield from paginate(
                client,
                PageRequest("GET", f"/{v}/{account}/posts", params={"fields": POST_FIELDS, **since, **until}),
                NEXT,
                ("data",),
                what=what,
            )
        elif stream.name == "page_insights":
            # Time-paged: paging.next always exists (it points past today), so read our own windows once each.
            start = window.start or window.end - INSIGHTS_MAX_SPAN
            while start < window.end:
                stop = min(start + INSIGHTS_MAX_SPAN, window.end)
                params = {
                    "metric": PAGE_METRICS,
                    "period": "day",
                    "since": int(start.timestamp()),
                    "until": int(stop.timestamp()),
                }
                yield _metric_values(client.request("GET", f"/{v}/{account}/insights", params=params, what=what))
                start = stop
        elif stream.name == "account_snapshots":
            fields = PAGE_ACCOUNT_FIELDS if account in _page_ids(conn) else IG_ACCOUNT_FIELDS
            node = client.request("GET", f"/{v}/{account}", params={"fields": fields}, what=what)
            # Keyed on the run's interval end, so re-running an interval replaces its snapshot.
            yield [{**node, "snapshot_at": window.end.isoformat()}]
        elif stream.name == "ig_media":
            yield from self._recent_media(client, v, account, window, what)
        elif stream.name == "ig_media_insights":
            without: list[str] = []
            for media in self._recent_media(client, v, account, window, what):
                for m in media:
                    page = _media_insights(client, v, m, f"{what} media {m['id']}")
                    if page is None:
                        without.append(m["id"])
                        continue
                    yield [
                        {
                            "media_id": m["id"],
                            "name": d["name"],
                            "period": d.get("period"),
                            "id": d.get("id"),
                            "value": d.get("total_value", {}).get("value")
                            if "total_value" in d
                            else (d.get("values") or [{}])[0].get("value"),
                        }
                        for d in page.get("data") or []
                    ]
            if without:
                log.warning(
                    "facebook_pages %s: %d media have no insights (posted before the account became a business "
                    "account), the others loaded: %s",
                    what,
                    len(without),
                    ", ".join(without),
                )
        else:  # comments on the posts / media of the window
            parents = (
                paginate(
                    client,
                    PageRequest("GET", f"/{v}/{account}/posts", params={"fields": "id", **since, **until}),
                    NEXT,
                    ("data",),
                    what=what,
                )
                if stream.name == "post_comments"
                else self._recent_media(client, v, account, window, what)
            )
            fields = POST_COMMENT_FIELDS if stream.name == "post_comments" else IG_COMMENT_FIELDS
            for page in parents:
                for parent in page:
                    first = PageRequest("GET", f"/{v}/{parent['id']}/comments", params={"fields": fields, "filter": "stream"})
                    for comments in paginate(client, first, NEXT, ("data",), what=f"{what} on {parent['id']}"):
                        yield [{**c, "parent_id": parent["id"]} for c in comments]

    def _recent_media(self, client, v, account, window, what) -> Iterator[list[dict]]:
        """Instagram's media edge has no since filter: page newest-first and stop past the window."""
        first = PageRequest("GET", f"/{v}/{account}/media", params={"fields": MEDIA_FIELDS})
        for page in paginate(client, first, NEXT, ("data",), what=what):
            recent = [
                m for m in page if window.start is None or m.get("timestamp", "") >= window.start.strftime("%Y-%m-%dT%H:%M:%S")
            ]
            yield recent
            if len(recent) < len(page):
                return


def _media_insights(client, v: str, media: dict, what: str) -> dict | None:
    """One media's lifetime insights, asked for the metrics of its type; None when Graph has none for it."""
    metrics = list(MEDIA_METRICS.get((media.get("media_product_type"), media.get("media_type")), OTHER_MEDIA_METRICS))
    while True:
        try:
            return client.request("GET", f"/{v}/{media['id']}/insights", params={"metric": ",".join(metrics)}, what=what)
        except ApiError as exc:
            error = exc.platform_error
            if (error.get("code"), error.get("error_subcode")) == POSTED_BEFORE_BUSINESS:
                log.warning(
                    "facebook_pages %s: skipped, %s (Graph error 100/2108006)",
                    what,
                    error.get("error_user_title") or error.get("message"),
                )
                return None
            refused = _REFUSED_METRIC.search(str(error.get("message", ""))) if error.get("code") == 100 else None
            name = refused and (refused.group(1) or refused.group(2))
            if name not in metrics or len(metrics) == 1:
                raise
            log.warning(
                "facebook_pages %s: Graph refused the metric %s for this %s %s media; reading the others",
                what,
                name,
                media.get("media_product_type"),
                media.get("media_type"),
            )
            metrics.remove(name)


def _page_ids(conn: PlatformConnection) -> list[str]:
    return conn.list_extra("page_ids", '{"page_ids": ["<page id>"]}')


def _ig_user_ids(conn: PlatformConnection) -> list[str]:
    return conn.list_extra("ig_user_ids", '{"ig_user_ids": ["<instagram business account id>"]}')


def _metric_values(page: dict) -> list[dict]:
    return [
        {"name": d["name"], "period": d.get("period"), "title": d.get("title"), "id": d.get("id"), **value}
        for d in page.get("data") or []
        for value in d.get("values") or []
    ]
