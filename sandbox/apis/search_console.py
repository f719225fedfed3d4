"""Google Search Console API (Webmasters v3): ``searchAnalytics.query`` over the world's search
clicks (sandbox/world_search.py).

    POST /webmasters/v3/sites/sc-domain%3Afunnelhouse.example/searchAnalytics/query
    Authorization: Bearer <token>
    {"startDate": "2026-06-01", "endDate": "2026-06-30", "dimensions": ["date", "page", "query"],
     "type": "web", "dataState": "all", "rowLimit": 25000, "startRow": 0}

Answers ``{"rows": [{"keys": [...], "clicks": 12, "impressions": 340, "ctr": 0.035, "position":
4.2}], "responseAggregationType": "byPage" | "byProperty", "metadata": {"firstIncompleteDate":
"YYYY-MM-DD"}}``: keys in the order of ``dimensions`` (date as YYYY-MM-DD, page as a full URL,
country as lower-case ISO 3166-1 alpha-3, device DESKTOP / MOBILE / TABLET), ``rows`` absent when
nothing matched, days without data absent, rows sorted by clicks descending (ties here by keys, so
paging is stable). ``metadata.firstIncompleteDate`` only for ``dataState: all`` grouped by date over
a range holding incomplete days. Dates are Pacific days, both ends included.

Quirks served: ``rowLimit`` 1..25,000 (default 1,000) with ``startRow`` paging, so a client pages
until a short page; ``dataState`` final (the default) leaves out the days still being processed
(the last ~3), ``all`` serves them with partial numbers; query rows leave out anonymised queries,
which a grouping without ``query`` still counts. Load quota: with ``Sandbox.search_console_load_limit``
set, the rows a request groups by page and query cost 3 load units per 1,000 (others 1), counted per
10 minutes of the sandbox clock; a request past the limit answers 403 ``quotaExceeded`` "Search
Analytics load quota exceeded (short-term)".

Verified against: the searchanalytics.query reference (request body, PST dates, rowLimit default
1,000 and 25,000 maximum, startRow zero-based, days without data omitted, sorted by clicks
descending, "does not guarantee to return all data rows"), the searchconsole v1 Metadata reference
(firstIncompleteDate with dataState all grouped by date), the usage limits page (1,200 queries per
minute per site and per user, short- and long-term load quotas, page x query the most expensive),
Airbyte source-google-search-console's recorded responses (rows/keys shape, ``rows`` absent when
empty, the 429 RESOURCE_EXHAUSTED rateLimitExceeded body) and users' clients recording the load
quota answer (403, reason quotaExceeded, "Search Analytics load quota exceeded").
Not verified: the load cost of a request (Google publishes none; ours is made up); whether the
load quota can also answer 429; rowLimit over 25,000 (here 400); the exact set of days
``final`` withholds; whether grouping by page without query counts anonymised queries (here yes).
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from datetime import date, datetime, timedelta
from urllib.parse import unquote

from sandbox.server import Request, Response
from sandbox.world_search import SITE_URL, is_final

DIMENSIONS = ("date", "query", "page", "country", "device")
MAX_ROW_LIMIT = 25_000
DEFAULT_ROW_LIMIT = 1_000
LOAD_BUCKET_S = 600  # the short-term load quota's 10 minutes


def _error(status: int, message: str, reason: str, grpc_status: str, domain: str = "global") -> Response:
    return Response(status, {"error": {"code": status, "message": message,
                                       "errors": [{"message": message, "domain": domain, "reason": reason}],
                                       "status": grpc_status}})


def _bad(message: str) -> Response:
    return _error(400, message, "badRequest", "INVALID_ARGUMENT")


def _check_auth(request: Request) -> Response | None:
    token = request.bearer_token()
    if token != request.sandbox.tokens["search_console"]:
        return _error(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                      "or other valid authentication credential.", "authError", "UNAUTHENTICATED")
    site = unquote(request.match["site"])
    if site != SITE_URL:
        return _error(403, f"User does not have sufficient permission for site '{site}'. See also: "
                      "https://support.google.com/webmasters/answer/2451999.", "forbidden", "PERMISSION_DENIED")
    return None


def _day(value, name: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"Invalid value at '{name}' ({value!r}): dates are YYYY-MM-DD") from None


def query(request: Request) -> Response:
    if (denied := _check_auth(request)) is not None:
        return denied
    try:
        body = request.json()
        if not isinstance(body, dict):
            raise ValueError
    except ValueError:
        return _bad("Invalid JSON payload received.")
    try:
        if "startDate" not in body or "endDate" not in body:
            raise ValueError("startDate and endDate are required")
        first, last = _day(body["startDate"], "start_date"), _day(body["endDate"], "end_date")
        if first > last:
            raise ValueError("startDate must be earlier than or equal to endDate")
        dimensions = [str(d).lower() for d in body.get("dimensions") or []]
        unknown = [d for d in dimensions if d not in DIMENSIONS]
        if unknown:
            raise ValueError(f"Invalid value at 'dimensions' ({unknown[0]!r})")
        row_limit = int(body.get("rowLimit", DEFAULT_ROW_LIMIT))
        start_row = int(body.get("startRow", 0))
        if not 1 <= row_limit <= MAX_ROW_LIMIT or start_row < 0:
            raise ValueError(f"rowLimit must be between 1 and {MAX_ROW_LIMIT} and startRow zero or more")
        data_state = str(body.get("dataState", "final")).lower()
        if data_state not in ("final", "all"):
            raise ValueError(f"Invalid value at 'data_state' ({body.get('dataState')!r})")
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))
    search_type = str(body.get("type") or body.get("searchType") or "web").lower()
    rows = _rows(request, first, last, dimensions, data_state) if search_type == "web" else []
    refused = _charge_load(request, len(rows), "page" in dimensions and "query" in dimensions)
    if refused is not None:
        return refused
    out: dict = {"responseAggregationType": "byPage" if "page" in dimensions else "byProperty"}
    page = rows[start_row:start_row + row_limit]
    if page:
        out["rows"] = page
    now = request.sandbox.now
    if data_state == "all" and "date" in dimensions:
        incomplete = next((first + timedelta(days=i) for i in range((last - first).days + 1)
                           if not is_final(first + timedelta(days=i), now)), None)
        if incomplete is not None:
            out["metadata"] = {"firstIncompleteDate": incomplete.isoformat()}
    return Response(200, out)


def _rows(request: Request, first: date, last: date, dimensions: list[str], data_state: str) -> list[dict]:
    """Every row of the report, sorted as Search Console sorts them (cached per clock and request)."""
    key = ("search_console", request.sandbox.now, first, last, tuple(dimensions), data_state)
    cached = request.sandbox.cache.get(key)
    if cached is not None:
        return cached
    search = request.sandbox.world.search
    sums: dict[tuple, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    day = max(first, search.dates[0])
    while day <= min(last, search.dates[1]):
        for cell, clicks, impressions in search.shown(day, request.sandbox.now, data_state):
            if cell.query is None and "query" in dimensions:
                continue  # anonymised: counted in totals, never in query rows
            values = {"date": day.isoformat(), "query": cell.query, "page": cell.page, "country": cell.country,
                      "device": cell.device}
            s = sums[tuple(values[d] for d in dimensions)]
            s[0] += clicks
            s[1] += impressions
            s[2] += cell.position * impressions
        day += timedelta(days=1)
    rows = [{"keys": list(keys), "clicks": clicks, "impressions": impressions,
             "ctr": clicks / impressions, "position": weighted / impressions}
            for keys, (clicks, impressions, weighted) in sums.items()]
    rows.sort(key=lambda r: (-r["clicks"], r["keys"]))
    request.sandbox.cache[key] = rows
    return rows


_load_lock = threading.Lock()


def _charge_load(request: Request, rows: int, page_and_query: bool) -> Response | None:
    limit = request.sandbox.search_console_load_limit
    if limit is None:
        return None
    now: datetime = request.sandbox.now
    bucket = ("search_console_load", int(now.timestamp()) // LOAD_BUCKET_S)
    cost = max(1, math.ceil(rows / 1000)) * (3 if page_and_query else 1)
    with _load_lock:
        spent = request.sandbox.cache.get(bucket, 0)
        if spent + cost > limit:
            return _error(403, "Search Analytics load quota exceeded (short-term). Learn more at "
                          "https://developers.google.com/webmaster-tools/limits", "quotaExceeded", "PERMISSION_DENIED",
                          domain="usageLimits")
        request.sandbox.cache[bucket] = spent + cost
    return None


ROUTES = [
    ("POST", r"/webmasters/v3/sites/(?P<site>[^/]+)/searchAnalytics/query", query),
]
