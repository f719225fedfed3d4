"""The VK API (https://dev.vk.com/method): a VK community's wall posts, their comments, its daily
statistics and its member count, in the version API_VERSION (the ``api_version`` extra overrides it).

Credentials: Airflow connection ``vk_community``: host = https://api.vk.com, password = an access
token that may read the community and its statistics (a community admin's user token; sent as the
``access_token`` parameter, which the client masks in every line), extra ``{"group_ids": ["219000001"]}``
and optionally ``"start_date": "YYYY-MM-DD"``, ``"api_version": "5.199"``.

Streams, per community:
    community_snapshots  groups.getById (fields=members_count), keyed on the run's interval end
    wall_posts           wall.get, owner_id = -group_id, 100 a page by offset until ``count``
    post_comments        wall.getComments of every post with comments, 100 a page, oldest first
    daily_stats          stats.get, interval day, timestamp_from / timestamp_to: one record per day, its
                         ``date`` (the community's day, from period_from) added; the last 2 days re-read

VK answers errors with HTTP 200 and ``{"error": {"error_code", "error_msg"}}``; the shared client
looks inside: error 6 "Too many requests per second" waits a second and asks again, and the client
keeps to RATE_PER_SECOND requests a second (VK's limit for user tokens) so that a run does not
meet it; 5 (the token) stops the source with one line; 15 (no access) fails that community alone.

Verified against: the VK API reference pages of wall.get, wall.getComments, stats.get and
groups.getById (version 5.199: groups.getById answers {groups, profiles}) and its error list
(errors under HTTP 200; 5, 6, 15, 100), the per-second limit for user tokens (3); rvkstat's stats.get
calls (timestamp_from, timestamp_to, interval=day).
Not verified: the time zone of stats.get's days (the community's, Moscow, taken from period_from);
whether a post's counters stop changing after two weeks (every run reads the whole wall again).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from extractors.connections import PlatformConnection
from extractors.http import RateLimit
from extractors.sources import Source
from extractors.streams import KeyColumn, Stream

API_VERSION = "5.199"
RATE_PER_SECOND = 3
PAGE = 100
COMMUNITY_TZ = ZoneInfo("Europe/Moscow")  # stats.get's days are the community's


class VkCommunity(Source):
    name = "vk_community"
    conn_id = "vk_community"
    max_concurrency = 3
    rate_limits = (RateLimit(r"^/method/", RATE_PER_SECOND, 1.0),)
    streams = (
        Stream("community_snapshots", (KeyColumn("id", "$.id"), KeyColumn("snapshot_at", "$.snapshot_at", "TIMESTAMPTZ")),
               description="the community's name and members_count as read at the run"),
        Stream("wall_posts", (KeyColumn("id", "$.id"),), description="wall posts with their views, likes, reposts and comments counters"),
        Stream("post_comments", (KeyColumn("post_id", "$.post_id"), KeyColumn("id", "$.id")),
               description="every comment of every post"),
        Stream("daily_stats", (KeyColumn("date", "$.date", "DATE"),), load="window", window_key="date",
               lookback=timedelta(days=2), description="the community's daily views, visitors, reach and activity"),
    )

    def accounts(self, conn: PlatformConnection, stream: Stream) -> list[str]:
        return [str(g).lstrip("-") for g in conn.list_extra("group_ids", '{"group_ids": ["219000001"]}')]

    def client(self, conn: PlatformConnection):
        return self.http_client(conn)  # the token goes in each request's parameters, as VK documents it

    def _call(self, client, conn, name: str, params: dict, what: str):
        version = str(conn.extra.get("api_version") or API_VERSION)
        return client.request("POST", f"/method/{name}", form={**params, "access_token": conn.password, "v": version},
                              what=what)["response"]

    def read(self, client, conn, stream, account, window) -> Iterator[list[dict]]:
        what = f"{stream.name} [{account}]"
        if stream.name == "community_snapshots":
            answer = self._call(client, conn, "groups.getById", {"group_id": account, "fields": "members_count"}, what)
            groups = answer.get("groups", []) if isinstance(answer, dict) else answer  # a list before version 5.194
            # Keyed on the run's interval end, so re-running an interval replaces its snapshot.
            yield [{**g, "snapshot_at": window.end.isoformat()} for g in groups]
        elif stream.name == "wall_posts":
            yield from self._wall(client, conn, account, what)
        elif stream.name == "post_comments":
            for page in self._wall(client, conn, account, what):
                for post in page:
                    if (post.get("comments") or {}).get("count"):
                        yield from self._paged(client, conn, "wall.getComments", {"owner_id": f"-{account}", "post_id": post["id"],
                                                                                  "sort": "asc"}, f"{what} post {post['id']}")
        else:
            params = {"group_id": account, "interval": "day", "stats_groups": "visitors,reach,activity",
                      "timestamp_from": int(datetime.combine(window.first_day, datetime.min.time(), COMMUNITY_TZ).timestamp()),
                      "timestamp_to": int(datetime.combine(window.last_day + timedelta(days=1), datetime.min.time(),
                                                           COMMUNITY_TZ).timestamp()) - 1}
            days = self._call(client, conn, "stats.get", params, what)
            yield [{**d, "date": datetime.fromtimestamp(int(d["period_from"]), UTC).astimezone(COMMUNITY_TZ).date().isoformat()}
                   for d in days]

    def _wall(self, client, conn, account, what) -> Iterator[list[dict]]:
        return self._paged(client, conn, "wall.get", {"owner_id": f"-{account}"}, what)

    def _paged(self, client, conn, name: str, params: dict, what: str) -> Iterator[list[dict]]:
        offset = 0
        while True:
            answer = self._call(client, conn, name, {**params, "count": PAGE, "offset": offset}, what)
            items = answer.get("items") or []
            yield items
            offset += len(items)
            if not items or offset >= int(answer.get("count") or 0):
                return
