"""Meta Marketing API: ad accounts and ad-level daily insights
(https://developers.facebook.com/docs/marketing-api/insights, Graph API v21.0).

Credentials: Airflow connection ``meta_ads``: host = https://graph.facebook.com,
password = a system-user access token (sent as Bearer, so it never appears in
paging URLs), extra ``{"account_ids": ["1234", ...], "api_version": "v21.0",
"start_date": "2026-01-01"}``; account ids without the ``act_`` prefix.

Insights are report data: conversions keep arriving for days after the click,
so every run re-reads a lookback window (28 days, Meta's longest attribution
window) and those days replace what was loaded before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

from extractors.connections import PlatformConnection
from extractors.pagination import NextUrl, PageRequest, paginate
from extractors.sources import Source
from extractors.streams import KeyColumn, Stream

INSIGHT_FIELDS = ("account_id", "account_currency", "campaign_id", "campaign_name", "adset_id", "adset_name",
                  "ad_id", "ad_name", "spend", "impressions", "clicks", "actions", "action_values", "date_start", "date_stop")
ACCOUNT_FIELDS = ("id", "account_id", "name", "currency", "timezone_name", "timezone_offset_hours_utc")
PAGE_LIMIT = 500


class MetaAds(Source):
    name = "meta_ads"
    conn_id = "meta_ads"
    max_concurrency = 4
    streams = (
        Stream("ad_accounts", (KeyColumn("id", "$.id"),), description="ad account currency and time zone"),
        Stream("insights", (KeyColumn("ad_id", "$.ad_id"), KeyColumn("date_start", "$.date_start", "DATE")),
               load="window", window_key="date_start", lookback=timedelta(days=28),
               description="ad-level daily spend, impressions, clicks, actions in the account's currency and time zone"),
    )

    def accounts(self, conn: PlatformConnection, stream: Stream) -> list[str]:
        ids = conn.list_extra("account_ids", '{"account_ids": ["1234567890"]}')
        return [i.removeprefix("act_") for i in ids]

    def read(self, client, conn, stream, account, window) -> Iterator[list[dict]]:
        version = conn.extra.get("api_version", "v21.0")
        if stream.name == "ad_accounts":
            record = client.request("GET", f"/{version}/act_{account}", params={"fields": ",".join(ACCOUNT_FIELDS)},
                                    what=f"ad_accounts [act_{account}]")
            yield [record]
            return
        params = {
            "level": "ad", "time_increment": 1, "limit": PAGE_LIMIT, "fields": ",".join(INSIGHT_FIELDS),
            "time_range": json.dumps({"since": window.first_day.isoformat(), "until": window.last_day.isoformat()}),
        }
        first = PageRequest("GET", f"/{version}/act_{account}/insights", params=params)
        yield from paginate(client, first, NextUrl(("paging", "next")), ("data",), what=f"insights [act_{account}]")
