"""VK Ads (ads.vk.com) API v2: the cabinet, its ad plans, ad groups and banners, and banner-level
daily statistics (https://ads.vk.com/doc/api/info/Statistics).

Credentials: Airflow connection ``vk_ads``: host = https://ads.vk.com, password = the cabinet's
access token (sent as Bearer; VK Ads gives each cabinet its own, an agency's token does not read a
client's cabinet), extra ``{"account_id": "<cabinet id>"}`` (names the cabinet's rows) and optionally
``"start_date": "YYYY-MM-DD"``.

Streams: ``cabinet`` (GET /api/v2/user.json: the cabinet's user and its currency), ``ad_plans``, ``ad_groups`` and
``banners`` (GET /api/v2/{kind}.json with ``fields``, paged by limit / offset against ``count``), and
``banner_statistics``: GET /api/v2/statistics/banners/day.json?id=...&date_from&date_to&metrics=base,
one record per banner and day: ``{"banner_id", "date", "base": {shows, clicks, goals, spent, cpm, cpc,
cpa, ctr, cr, vk: {goals, cpa, cr}}}`` as sent (spent is roubles as a string). VK serves at most 200
objects and 366 days a request, and no day further back than 366 days (ERR_LIMIT_EXCEEDED): the
banners are asked for 200 at a time, the window in pieces of at most 366 days and never earlier
(max_history). Goals arrive after their show, so a run re-reads the last 7 days.

A 429 (VK counts requests per second, hour and day) is waited out by the shared client; 401 stops
the source; other 4xx come with VK's code (ERR_WRONG_PARAMETER, ERR_WRONG_BANNERS, ...).

Verified against: the VK Ads API docs "Statistics" (the v2 day.json resources, parameters, the
366-day and 200-object limits, the error table, items / rows / total with base and base.vk),
"AdPlans", "AdGroups", "Banners" (limit 20 by default, offset, count; ad_plan_id, ad_group_id),
"User" (currency) and the API's status codes and X-RateLimit-* headers, as mirrored in
leonid293-ops/vk-ads-doc-api and metapeka/vk-ads-api-docs.
Not verified: the largest list ``limit`` (LIST_LIMIT); the time zone of a statistics day (taken as
the cabinet's, Moscow); how long goals are restated (the 7-day lookback is a margin).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from extractors.connections import PlatformConnection
from extractors.pagination import OffsetTotal, PageRequest, paginate
from extractors.sources import Source
from extractors.streams import KeyColumn, Stream

IDS_PER_REQUEST = 200
DAYS_PER_REQUEST = 366
LIST_LIMIT = 250
LISTS = {"ad_plans": "id,name,status", "ad_groups": "id,name,status,ad_plan_id", "banners": "id,name,status,ad_group_id"}


class VkAds(Source):
    name = "vk_ads"
    conn_id = "vk_ads"
    max_concurrency = 2
    streams = (
        Stream("cabinet", (KeyColumn("id", "$.id"),), description="the cabinet's user (user.json) and its currency"),
        Stream("ad_plans", (KeyColumn("id", "$.id"),), description="ad plans (campaigns): names and status"),
        Stream("ad_groups", (KeyColumn("id", "$.id"),), description="ad groups with their ad plan"),
        Stream("banners", (KeyColumn("id", "$.id"),), description="banners (ads) with their ad group"),
        Stream("banner_statistics", (KeyColumn("banner_id", "$.banner_id"), KeyColumn("date", "$.date", "DATE")),
               load="window", window_key="date", lookback=timedelta(days=7), max_history=timedelta(days=DAYS_PER_REQUEST),
               description="banner-level daily shows, clicks, spent (roubles), goals, in the cabinet's days"),
    )

    def accounts(self, conn: PlatformConnection, stream: Stream) -> list[str]:
        return [str(conn.require_extra("account_id", '{"account_id": "<the VK Ads cabinet id>"}'))]

    def read(self, client, conn, stream, account, window) -> Iterator[list[dict]]:
        what = f"{stream.name} [{account}]"
        if stream.name == "cabinet":
            yield [client.request("GET", "/api/v2/user.json", what=what)]
        elif stream.name in LISTS:
            yield from self._list(client, stream.name, LISTS[stream.name], what)
        else:
            banner_ids = [b["id"] for page in self._list(client, "banners", "id", what) for b in page]
            yield from self._statistics(client, banner_ids, window, what)

    def _list(self, client, kind: str, fields: str, what: str) -> Iterator[list[dict]]:
        first = PageRequest("GET", f"/api/v2/{kind}.json", params={"fields": fields, "limit": LIST_LIMIT, "offset": 0})
        yield from paginate(client, first, OffsetTotal(("count",)), ("items",), what=what)

    def _statistics(self, client, banner_ids: list[int], window, what: str) -> Iterator[list[dict]]:
        day = window.first_day
        while day <= window.last_day:
            last = min(window.last_day, day + timedelta(days=DAYS_PER_REQUEST - 1))
            for n in range(0, len(banner_ids), IDS_PER_REQUEST):
                ids = banner_ids[n:n + IDS_PER_REQUEST]
                params = {"id": ",".join(map(str, ids)), "date_from": day.isoformat(), "date_to": last.isoformat(),
                          "metrics": "base"}
                answer = client.request("GET", "/api/v2/statistics/banners/day.json", params=params,
                                        what=f"{what} {day}..{last}")
                yield [{"banner_id": item["id"], **row} for item in answer.get("items") or [] for row in item.get("rows") or []]
            day = last + timedelta(days=1)
