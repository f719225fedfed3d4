"""YouTube: daily video metrics from the YouTube Analytics API v2 and the channel, its videos and
their comments from the YouTube Data API v3
(https://developers.google.com/youtube/analytics/reference/reports/query,
https://developers.google.com/youtube/v3/docs).

Credentials: Airflow connection ``youtube``: host = https://www.googleapis.com (the Data API),
password = an OAuth access token of the channel's owner (sent as Bearer) or, for unattended runs,
extra ``client_id``/``client_secret``/``refresh_token`` (see google_oauth.py; scopes
youtube.readonly and yt-analytics.readonly; the Analytics API takes no service account), extra
``{"channel_ids": ["UC..."], "analytics_url": "https://youtubeanalytics.googleapis.com" (default),
"quota_units": 10000 (optional: the project's Data API units a day), "start_date": "YYYY-MM-DD"}``.

Streams:
- ``video_daily``: ``GET /v2/reports?ids=channel==<id>&dimensions=day,video&metrics=views,
  estimatedMinutesWatched,averageViewDuration,likes,comments,shares,subscribersGained,
  subscribersLost&sort=day,video&maxResults=200&startIndex=n`` (one-based, until a short page).
  Each row becomes a record keyed by its ``columnHeaders`` names, never by position: Google lists
  dimensions then metrics in request order, and nothing here relies on it. ``rows`` is absent
  when nothing matched, and the latest days are missing however far ``endDate`` reaches, so the
  window re-reads 3 days (LOOKBACK) and a missing day is filled by a later run.
- ``channels``: channels.list (snippet, contentDetails, statistics) for each channel: its uploads
  playlist and its subscriber and view counts as read.
- ``videos``: playlistItems.list of the uploads playlist (50 a page), then videos.list (snippet,
  statistics) 50 ids at a time: titles, publish time, description (with its tagged link) and
  lifetime counters as read.
- ``comment_threads``: commentThreads.list of each video (100 a page): top-level comments.

Quota: the Data API charges units per request (every list call here: 1) against 10,000 a day per
Google Cloud project, reset at midnight Pacific; a 403 ``quotaExceeded`` lasts until then. The
source counts the units a run sends (QuotaBudget) and stops with one line before the request that
would pass ``quota_units``; a page is either read whole or not requested. Units other tools of the
project spend are not known here: give ``quota_units`` what this pipeline may use. The Analytics
API has its own quota and is not counted.

Verified against: reports.query reference and ResultTable (columnHeaders name/columnType/dataType,
rows omitted without data, no rows for the latest days with the day dimension), the Analytics
metrics list, the Data API quota cost table (list calls 1 unit; 10,000 units a day; reset at
midnight Pacific), channels/playlistItems/videos/commentThreads references (uploads playlist,
50 ids per videos.list, nextPageToken, statistics as strings), users' recorded quotaExceeded
bodies (403, domain youtube.quota).
Not verified: the day,video dimension pair without a video filter (Google's documented top-videos
report sorts by views); how many days the latest data lags (2-3 by users' reports; the lookback
assumes at most 3).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from extractors.connections import PlatformConnection
from extractors.errors import ConfigError, QuotaExhausted
from extractors.http import HttpClient
from extractors.sources import Source
from extractors.sources.google_oauth import google_access_token
from extractors.streams import KeyColumn, Stream

ANALYTICS_URL = "https://youtubeanalytics.googleapis.com"
METRICS = ("views", "estimatedMinutesWatched", "averageViewDuration", "likes", "comments", "shares",
           "subscribersGained", "subscribersLost")
PAGE_ROWS = 200  # the most reports.query answers with the video dimension
LOOKBACK = timedelta(days=3)
DAILY_UNITS = 10_000
UNIT_COST = 1  # every list call this source makes
VIDEO_IDS_PER_CALL = 50
PACIFIC = ZoneInfo("America/Los_Angeles")


class QuotaBudget:
    """The Data API units this run has sent today (Pacific), shared by its threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._day = None
        self.used = 0

    def spend(self, units: int, limit: int, what: str) -> None:
        with self._lock:
            today = datetime.now(UTC).astimezone(PACIFIC).date()
            if today != self._day:
                self._day, self.used = today, 0
            if self.used + units > limit:
                raise QuotaExhausted(
                    f"youtube {what}: stopped before the Data API quota: {self.used} of {limit} units a day spent, the next "
                    f"request costs {units}; the quota resets at midnight Pacific time: run again then (or raise the "
                    "connection's extra 'quota_units' if the project has more)")
            self.used += units


class YouTube(Source):
    name = "youtube"
    conn_id = "youtube"
    max_concurrency = 2
    streams = (
        Stream("video_daily", (KeyColumn("video", "$.video"), KeyColumn("day", "$.day", "DATE")), load="window",
               window_key="day", lookback=LOOKBACK,
               description="YouTube Analytics per video and Pacific day: views, watch time, reactions, subscribers"),
        Stream("channels", (KeyColumn("channel_id", "$.id"),), description="the channel: title, uploads playlist, counters as read"),
        Stream("videos", (KeyColumn("video_id", "$.id"),), description="the channel's videos: snippet and lifetime statistics as read"),
        Stream("comment_threads", (KeyColumn("comment_thread_id", "$.id"),),
               description="top-level comments of the channel's videos"),
    )

    def __init__(self):
        self.budget = QuotaBudget()

    def accounts(self, conn: PlatformConnection, stream: Stream) -> list[str]:
        return conn.list_extra("channel_ids", '{"channel_ids": ["UC..."]}')

    def client(self, conn: PlatformConnection) -> HttpClient:
        token = google_access_token(self.name, conn)
        return self.http_client(conn, headers={"Authorization": f"Bearer {token}"}, secrets=[token])

    def _units(self, conn: PlatformConnection) -> int:
        try:
            return int(conn.extra.get("quota_units", DAILY_UNITS))
        except (TypeError, ValueError):
            raise ConfigError(f"connection '{conn.conn_id}' extra 'quota_units' is not a whole number of units") from None

    def _data(self, client: HttpClient, conn: PlatformConnection, path: str, params: dict, what: str) -> dict:
        self.budget.spend(UNIT_COST, self._units(conn), what)
        return client.request("GET", f"/youtube/v3/{path}", params=params, what=what)

    def _pages(self, client, conn, path: str, params: dict, what: str) -> Iterator[list[dict]]:
        token = None
        while True:
            page = self._data(client, conn, path, {**params, **({"pageToken": token} if token else {})}, what)
            yield page.get("items") or []
            token = page.get("nextPageToken")
            if not token:
                return

    def read(self, client, conn, stream, account, window) -> Iterator[list[dict]]:
        what = f"{stream.name} [{account}]"
        if stream.name == "video_daily":
            yield from self._video_daily(client, conn, account, window, what)
        elif stream.name == "channels":
            yield self._channel(client, conn, account, what)
        elif stream.name == "videos":
            ids = self._video_ids(client, conn, account, what)
            for i in range(0, len(ids), VIDEO_IDS_PER_CALL):
                chunk = ids[i:i + VIDEO_IDS_PER_CALL]
                yield self._data(client, conn, "videos", {"part": "snippet,statistics", "id": ",".join(chunk),
                                                          "maxResults": VIDEO_IDS_PER_CALL}, what).get("items") or []
        else:
            for video_id in self._video_ids(client, conn, account, what):
                yield from self._pages(client, conn, "commentThreads",
                                       {"part": "snippet", "videoId": video_id, "maxResults": 100, "textFormat": "plainText"}, what)

    def _video_daily(self, client, conn, account, window, what) -> Iterator[list[dict]]:
        url = f"{str(conn.extra.get('analytics_url') or ANALYTICS_URL).rstrip('/')}/v2/reports"
        params = {"ids": f"channel=={account}", "startDate": window.first_day.isoformat(), "endDate": window.last_day.isoformat(),
                  "metrics": ",".join(METRICS), "dimensions": "day,video", "sort": "day,video", "maxResults": PAGE_ROWS}
        start = 1
        while True:
            page = client.request("GET", url, params={**params, "startIndex": start}, what=what)
            records = _rows_by_header(page)
            yield records
            if len(records) < PAGE_ROWS:
                return
            start += PAGE_ROWS

    def _channel(self, client, conn, account, what) -> list[dict]:
        page = self._data(client, conn, "channels", {"part": "snippet,contentDetails,statistics", "id": account}, what)
        return page.get("items") or []

    def _video_ids(self, client, conn, account, what) -> list[str]:
        channels = self._channel(client, conn, account, what)
        if not channels:
            raise ConfigError(f"connection 'youtube' extra 'channel_ids' names {account!r}, which the token cannot read: "
                              "use the id of the channel the token's Google account owns (UC...)")
        uploads = ((channels[0].get("contentDetails") or {}).get("relatedPlaylists") or {}).get("uploads")
        ids = []
        for items in self._pages(client, conn, "playlistItems", {"part": "contentDetails", "playlistId": uploads,
                                                                 "maxResults": 50}, what):
            ids += [(i.get("contentDetails") or {}).get("videoId") for i in items]
        return [i for i in ids if i]


def _rows_by_header(page: dict) -> list[dict]:
    """Each row as {column name: value}, by the answer's own columnHeaders; names in sorted order, so a
    row lands byte-identical whatever order the columns came in."""
    names = [h.get("name") for h in page.get("columnHeaders") or []]
    return [dict(sorted(zip(names, row, strict=True))) for row in page.get("rows") or []]
