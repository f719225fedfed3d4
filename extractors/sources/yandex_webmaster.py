"""Yandex Webmaster API v4: the external links (backlinks) Yandex knows for a site, and their count
over time (https://yandex.ru/dev/webmaster/doc/dg/reference/host-links-external-samples.html).
Search Console has no links API; Yandex's crawler sees the same web, so its link samples stand in.

Credentials: Airflow connection ``yandex_webmaster`` (optional: add it to FUNNELHOUSE_SOURCES):
host = https://api.webmaster.yandex.net, password = an OAuth token of the site's Yandex account
(sent as ``Authorization: OAuth <token>``, scope webmaster:hostinfo), extra ``{"user_id":
"<GET /v4/user answers it>", "host_ids": ["https:example.com:443"]}``.

Streams:
- ``external_links``: ``GET /v4/user/{user_id}/hosts/{host_id}/links/external/samples?offset&limit=100``
  paged by offset against ``count``: every link Yandex lists at the run, as a snapshot dated the
  run's last day (``snapshot_date``). The set changes between runs (new links found, old ones
  gone), so snapshots are kept side by side and a link missing from a later snapshot is lost.
- ``external_links_history``: ``.../links/external/history?indicator=LINKS_TOTAL_COUNT&date_from&date_to``:
  Yandex's count of the host's external links per day, re-read over a week (LOOKBACK).

Verified against: users' clients of the v4 API (paths, OAuth header, host ids as scheme:host:port,
limit 1..100 with offset, links with source_url, destination_url, discovery_date,
source_last_access_date; the history's indicator LINKS_TOTAL_COUNT with points {date, value}).
Not verified: whether samples are capped below the full set for large sites (the name suggests
it; ``count`` is taken as the whole); the history's point spacing; the rate limit (none is
published for these methods: one request at a time).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import quote

from extractors.connections import PlatformConnection
from extractors.http import HttpClient
from extractors.pagination import OffsetTotal, PageRequest, paginate
from extractors.sources import Source
from extractors.streams import KeyColumn, Stream

PAGE_LIMIT = 100
LOOKBACK = timedelta(days=7)
ISO_DAY = "try_cast(substr({}, 1, 10) AS {type})"  # the history's points are stamped 2026-06-01T00:00:00.000+03:00


class YandexWebmaster(Source):
    name = "yandex_webmaster"
    conn_id = "yandex_webmaster"
    max_concurrency = 1
    streams = (
        Stream("external_links", (KeyColumn("snapshot_date", "$.snapshot_date", "DATE"), KeyColumn("source_url", "$.source_url"),
                                  KeyColumn("destination_url", "$.destination_url")),
               load="window", window_key="snapshot_date",
               description="the external links Yandex lists at a run, dated the run's last day"),
        Stream("external_links_history", (KeyColumn("date", "$.date", "DATE", parse=ISO_DAY),), load="window", window_key="date",
               lookback=LOOKBACK, description="Yandex's daily count of the host's external links (LINKS_TOTAL_COUNT)"),
    )

    def accounts(self, conn: PlatformConnection, stream: Stream) -> list[str]:
        conn.require_extra("user_id", '{"user_id": "<your Yandex Webmaster user id>"}')
        return conn.list_extra("host_ids", '{"host_ids": ["https:example.com:443"]}')

    def client(self, conn: PlatformConnection) -> HttpClient:
        return self.http_client(conn, headers={"Authorization": f"OAuth {conn.password}"})

    def read(self, client, conn, stream, account, window) -> Iterator[list[dict]]:
        base = f"/v4/user/{quote(str(conn.extra['user_id']), safe='')}/hosts/{quote(account, safe=':')}/links/external"
        what = f"{stream.name} [{account}]"
        if stream.name == "external_links":
            snapshot = window.last_day.isoformat()
            request = PageRequest("GET", f"{base}/samples", params={"offset": 0, "limit": PAGE_LIMIT})
            for links in paginate(client, request, OffsetTotal(("count",)), ("links",), what=what):
                yield [{**link, "snapshot_date": snapshot} for link in links]
            return
        params = {"indicator": "LINKS_TOTAL_COUNT", "date_from": window.first_day.isoformat(), "date_to": window.last_day.isoformat()}
        page = client.request("GET", f"{base}/history", params=params, what=what)
        yield list(((page.get("indicators") or {}).get("LINKS_TOTAL_COUNT")) or [])
