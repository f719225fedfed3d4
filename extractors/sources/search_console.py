"""Google Search Console API (Webmasters v3): search clicks, impressions, CTR and position per day,
page, query, country and device, and the site's daily totals
(https://developers.google.com/webmaster-tools/v1/searchanalytics/query).

Credentials: Airflow connection ``search_console``: host = https://www.googleapis.com,
password = an OAuth access token (sent as Bearer) or, for unattended runs, extra
``client_id``/``client_secret``/``refresh_token`` or ``service_account_key`` (see google_oauth.py;
scope webmasters.readonly; a service account must be added as a user of the property), extra
``{"site_urls": ["sc-domain:example.com"], "start_date": "YYYY-MM-DD"}``: domain properties as
``sc-domain:<domain>``, URL-prefix properties as their URL with the trailing slash.

Requests, one per page:
    POST /webmasters/v3/sites/{siteUrl}/searchAnalytics/query   (siteUrl percent-encoded)
    {"startDate", "endDate" (Pacific days, inclusive), "dimensions", "type": "web",
     "dataState": "all", "rowLimit": 25000, "startRow": n}
Each answer's rows ``{keys: [...], clicks, impressions, ctr, position}`` become one record with
the keys named by their dimensions (``{"date": "2026-06-01", "page": "https://...", "query":
"...", "country": "usa", "device": "MOBILE", "clicks": 3, ...}``). No total is sent: pages are
read with startRow until one comes back shorter than rowLimit (25,000, the most Google answers).

Three reports (REPORTS): ``search_analytics_by_query`` (date, page, query, country, device),
``search_analytics_by_page`` (date, page) and ``search_analytics_by_date`` (date only). Search
Console leaves rare ("anonymised") queries out of every query row, so query rows add up to less
than the page and the site; the page and date-only reports keep the whole, and the marts show the
share that is missing rather than hiding it.

Freshness: data arrives 2-3 days late and the last days change until Google calls them final.
Both reports ask for ``dataState: all`` (fresh data included) and re-read the last 4 days every
run, which replace what was loaded for them; each record carries ``data_state``: ``partial`` from
the answer's ``metadata.firstIncompleteDate`` on, ``final`` before it. Days without data are absent.

Quotas: 1,200 queries a minute per site and per user (paced below that, RATE_LIMITS), and a
short-term (10 minutes) and long-term (a day) load quota that page x query grouping spends most;
its 403 ``quotaExceeded`` ("Search Analytics load quota exceeded") and the per-minute 429
``rateLimitExceeded`` are told apart by the HTTP client's Google usage-limit rule (extractors/http.py):
the minute is waited out and retried, the load quota stops the unit with QuotaExhausted (Google
asks for 15 minutes at least), which keeps its cursor for the next run.

Verified against: the searchanalytics.query reference (request body, Pacific dates, rowLimit
default 1,000 and at most 25,000, zero-based startRow, dates without data omitted, rows sorted by
clicks, scope webmasters.readonly), the searchconsole v1 Metadata reference (firstIncompleteDate:
dataState all, grouped by date, all later values may still change), the usage limits page (QPM per
site and per user, load quotas, page and query the costliest), Airbyte source-google-search-console
(recorded rows and 429 body; ``rows`` absent when empty) and singer-io/tap-google-search-console
(1,200 requests per 60 s, startRow paging), users' clients recording the load quota's 403.
Not verified: the load cost of our requests (unpublished); whether the load quota also answers 429;
how Google orders rows with equal clicks (paging relies on a stable order between pages, as the peers do).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from extractors.connections import PlatformConnection
from extractors.http import HttpClient, RateLimit
from extractors.pagination import PageRequest, ShortPage, paginate
from extractors.sources import Source
from extractors.sources.google_oauth import google_access_token
from extractors.streams import KeyColumn, Stream

ROW_LIMIT = 25_000
LOOKBACK = timedelta(days=4)
HISTORY = timedelta(days=16 * 30)  # Search Console keeps 16 months


@dataclass(frozen=True)
class Report:
    dimensions: tuple[str, ...]
    description: str


REPORTS = {
    "search_analytics_by_query": Report(("date", "page", "query", "country", "device"),
                                        "clicks, impressions, ctr, position per day, page, query, country, device "
                                        "(anonymised queries left out by Google)"),
    "search_analytics_by_page": Report(("date", "page"), "clicks, impressions, ctr, position per day and page "
                                                         "(anonymised queries included)"),
    "search_analytics_by_date": Report(("date",), "the site's clicks, impressions, ctr, position per day "
                                                  "(anonymised queries included)"),
}


def _key(name: str) -> KeyColumn:
    return KeyColumn(name, f"$.{name}", "DATE") if name == "date" else KeyColumn(name, f"$.{name}")


class SearchConsole(Source):
    name = "search_console"
    conn_id = "search_console"
    max_concurrency = 2
    rate_limits = (RateLimit(r"/searchAnalytics/query$", 1_000, 60.0),)  # under 1,200 a minute per site and user
    streams = tuple(Stream(name, tuple(_key(d) for d in report.dimensions), load="window", window_key="date",
                           lookback=LOOKBACK, max_history=HISTORY, description=report.description)
                    for name, report in REPORTS.items())

    def accounts(self, conn: PlatformConnection, stream: Stream) -> list[str]:
        return conn.list_extra("site_urls", '{"site_urls": ["sc-domain:example.com"]}')

    def client(self, conn: PlatformConnection) -> HttpClient:
        token = google_access_token(self.name, conn)
        return self.http_client(conn, headers={"Authorization": f"Bearer {token}"}, secrets=[token])

    def read(self, client, conn, stream, account, window) -> Iterator[list[dict]]:
        dimensions = REPORTS[stream.name].dimensions
        body = {"startDate": window.first_day.isoformat(), "endDate": window.last_day.isoformat(),
                "dimensions": list(dimensions), "type": "web", "dataState": "all",
                "rowLimit": ROW_LIMIT, "startRow": 0}
        request = PageRequest("POST", f"/webmasters/v3/sites/{quote(account, safe='')}/searchAnalytics/query", json_body=body)
        yield from paginate(client, request, ShortPage(("rows",), "startRow", "rowLimit"), lambda page: _records(page, dimensions),
                            what=f"{stream.name} [{account}]")


def _records(page: dict, dimensions: tuple[str, ...]) -> list[dict]:
    """Each row with its keys named; ``data_state`` from the answer's first incomplete date."""
    incomplete = (page.get("metadata") or {}).get("firstIncompleteDate")
    records = []
    for row in page.get("rows") or []:
        record = dict(zip(dimensions, row.get("keys") or [], strict=False))
        record.update({k: v for k, v in row.items() if k != "keys"})
        record["data_state"] = "partial" if incomplete and record.get("date", "") >= incomplete else "final"
        records.append(record)
    return records
