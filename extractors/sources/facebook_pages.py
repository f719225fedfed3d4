"""Facebook Pages and Instagram (Graph API v21.0): posts and media with their counters,
daily page insights, media insights and comments
(https://developers.facebook.com/docs/graph-api/reference/page/, .../instagram-api).

Credentials: Airflow connection ``facebook_pages``: host = https://graph.facebook.com,
password = a page (or system-user) access token sent as Bearer, extra
``{"page_ids": ["..."], "ig_user_ids": ["..."], "api_version": "v21.0", "start_date": "YYYY-MM-DD"}``.

Counters (likes, comments, shares) keep growing after a post is published, so
posts and media of the last 28 days are re-read every run and merged on their id.
Insights arrive as ``{name, period, values: [{value, end_time}]}`` and are
landed one record per metric and day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from extractors.connections import PlatformConnection
from extractors.pagination import NextUrl, PageRequest, paginate
from extractors.sources import Source
from extractors.streams import KeyColumn, Stream

POST_FIELDS = "id,message,created_time,permalink_url,shares,comments.summary(true),reactions.summary(true)"
MEDIA_FIELDS = "id,caption,media_type,timestamp,like_count,comments_count,permalink"
PAGE_METRICS = "page_impressions,page_post_engagements,page_fans"
MEDIA_METRICS = "reach,comments,shares,saved,likes"
COUNTER_LOOKBACK = timedelta(days=28)
NEXT = NextUrl(("paging", "next"))

PAGE_STREAMS = {"page_posts", "page_insights", "post_comments"}


class FacebookPages(Source):
    name = "facebook_pages"
    conn_id = "facebook_pages"
    max_concurrency = 4
    streams = (
        Stream("page_posts", (KeyColumn("id", "$.id"),), lookback=COUNTER_LOOKBACK, description="page posts with share, comment and reaction counts"),
        Stream("page_insights", (KeyColumn("metric", "$.name"), KeyColumn("end_time", "$.end_time", "TIMESTAMPTZ")),
               load="window", window_key="end_time", lookback=timedelta(days=3), description="daily page impressions, engagements, fans"),
        Stream("post_comments", (KeyColumn("id", "$.id"),), lookback=COUNTER_LOOKBACK, description="comments on recent posts"),
        Stream("ig_media", (KeyColumn("id", "$.id"),), lookback=COUNTER_LOOKBACK, description="Instagram media with like and comment counts"),
        Stream("ig_media_insights", (KeyColumn("media_id", "$.media_id"), KeyColumn("metric", "$.name")),
               lookback=COUNTER_LOOKBACK, description="reach, comments, shares, saves, likes per recent media"),
        Stream("ig_comments", (KeyColumn("id", "$.id"),), lookback=COUNTER_LOOKBACK, description="comments on recent media"),
    )

    def accounts(self, conn: PlatformConnection, stream: Stream) -> list[str]:
        if stream.name in PAGE_STREAMS:
            return conn.list_extra("page_ids", '{"page_ids": ["<page id>"]}')
        return conn.list_extra("ig_user_ids", '{"ig_user_ids": ["<instagram business account id>"]}')

    def read(self, client, conn, stream, account, window) -> Iterator[list[dict]]:
        v = conn.extra.get("api_version", "v21.0")
        since = {"since": int(window.start.timestamp())} if window.start else {}
        until = {"until": int(window.end.timestamp())}
        what = f"{stream.name} [{account}]"
        if stream.name == "page_posts":
            yield from paginate(client, PageRequest("GET", f"/{v}/{account}/posts", params={"fields": POST_FIELDS, **since, **until}),
                                NEXT, ("data",), what=what)
        elif stream.name == "page_insights":
            params = {"metric": PAGE_METRICS, "period": "day", **since, **until}
            yield from paginate(client, PageRequest("GET", f"/{v}/{account}/insights", params=params), NEXT, _metric_values, what=what)
        elif stream.name == "ig_media":
            yield from self._recent_media(client, v, account, window, what)
        elif stream.name == "ig_media_insights":
            for media in self._recent_media(client, v, account, window, what):
                for m in media:
                    page = client.request("GET", f"/{v}/{m['id']}/insights", params={"metric": MEDIA_METRICS}, what=f"{what} media {m['id']}")
                    yield [{"media_id": m["id"], "name": d["name"], "period": d.get("period"), "id": d.get("id"),
                            "value": d.get("total_value", {}).get("value") if "total_value" in d else (d.get("values") or [{}])[0].get("value")}
                           for d in page.get("data") or []]
        else:  # comments on the posts / media of the window
            parents = (paginate(client, PageRequest("GET", f"/{v}/{account}/posts", params={"fields": "id", **since, **until}), NEXT, ("data",), what=what)
                       if stream.name == "post_comments" else self._recent_media(client, v, account, window, what))
            for page in parents:
                for parent in page:
                    first = PageRequest("GET", f"/{v}/{parent['id']}/comments", params={"fields": "id,message,created_time", "filter": "stream"})
                    for comments in paginate(client, first, NEXT, ("data",), what=f"{what} on {parent['id']}"):
                        yield [{**c, "parent_id": parent["id"]} for c in comments]

    def _recent_media(self, client, v, account, window, what) -> Iterator[list[dict]]:
        """Instagram's media edge has no since filter: page newest-first and stop past the window."""
        first = PageRequest("GET", f"/{v}/{account}/media", params={"fields": MEDIA_FIELDS})
        for page in paginate(client, first, NEXT, ("data",), what=what):
            recent = [m for m in page if window.start is None or m.get("timestamp", "") >= window.start.strftime("%Y-%m-%dT%H:%M:%S")]
            yield recent
            if len(recent) < len(page):
                return


def _metric_values(page: dict) -> list[dict]:
    return [{"name": d["name"], "period": d.get("period"), "title": d.get("title"), "id": d.get("id"), **value}
            for d in page.get("data") or [] for value in d.get("values") or []]
