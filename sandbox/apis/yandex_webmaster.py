"""Yandex Webmaster API v4: a host's external links (``links/external/samples``) and their count
over time (``links/external/history``), over the world's links (sandbox/world_links.py).

    GET /v4/user/880000001/hosts/https:www.funnelhouse.example:443/links/external/samples?offset=0&limit=100
        Authorization: OAuth <token>
        {"count": 93, "links": [{"source_url", "destination_url", "discovery_date": "2026-06-03",
                                 "source_last_access_date": "2026-08-28"}]}
    GET .../links/external/history?indicator=LINKS_TOTAL_COUNT
        {"indicators": {"LINKS_TOTAL_COUNT": [{"date": "2026-06-01T00:00:00.000+03:00", "value": 52}]}}

Quirks served: ``limit`` 1..100 (default 10), ``offset`` paging against ``count``; the set of links
changes between runs (discovered and lost links); a wrong user or host answers 403/404 with
``error_code``. History has one point per day, stamped at Moscow midnight.

Verified against: users' clients of the v4 API (paths, ``Authorization: OAuth``, host ids as
scheme:host:port, limit 1-100 with offset, ``links`` items with source_url, destination_url,
discovery_date, source_last_access_date, the history's indicator LINKS_TOTAL_COUNT).
Not verified: the history's point spacing (here daily) and date format; the error bodies' exact
text; how soon a lost link leaves the samples.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from sandbox.server import Request, Response
from sandbox.world_links import HOST_ID, USER_ID

MOSCOW = ZoneInfo("Europe/Moscow")


def _error(status: int, code: str, message: str) -> Response:
    return Response(status, {"error_code": code, "error_message": message})


def _check(request: Request) -> Response | None:
    auth = request.headers.get("authorization", "")
    if auth != f"OAuth {request.sandbox.tokens['yandex_webmaster']}":
        return _error(401, "INVALID_OAUTH_TOKEN", "Invalid oauth token")
    if request.match["user"] != USER_ID:
        return _error(403, "ACCESS_FORBIDDEN", "Access forbidden for this user")
    if unquote(request.match["host"]) != HOST_ID:
        return _error(404, "HOST_NOT_FOUND", f"Host not found: {unquote(request.match['host'])}")
    return None


def samples(request: Request) -> Response:
    if (refused := _check(request)) is not None:
        return refused
    try:
        offset, limit = int(request.query.get("offset", 0)), int(request.query.get("limit", 10))
    except ValueError:
        return _error(400, "FIELD_VALIDATION_ERROR", "offset and limit must be integers")
    if not 1 <= limit <= 100 or offset < 0:
        return _error(400, "FIELD_VALIDATION_ERROR", "limit must be between 1 and 100, offset at least 0")
    now = request.sandbox.now
    known = request.sandbox.world.links.known(now)
    last_access = (now - timedelta(days=1)).date().isoformat()
    return Response(200, {"count": len(known), "links": [
        {"source_url": link.source_url, "destination_url": link.destination_url, "discovery_date": link.discovered.isoformat(),
         "source_last_access_date": last_access} for link in known[offset:offset + limit]]})


def history(request: Request) -> Response:
    if (refused := _check(request)) is not None:
        return refused
    if request.query.get("indicator") != "LINKS_TOTAL_COUNT":
        return _error(400, "FIELD_VALIDATION_ERROR", "indicator must be LINKS_TOTAL_COUNT")
    world = request.sandbox.world
    now = request.sandbox.now
    try:
        first = date.fromisoformat(request.query.get("date_from", "")[:10]) if request.query.get("date_from") else world.start
        last = date.fromisoformat(request.query.get("date_to", "")[:10]) if request.query.get("date_to") else now.date()
    except ValueError:
        return _error(400, "FIELD_VALIDATION_ERROR", "date_from and date_to are ISO dates")
    points = []
    day = max(first, world.start)
    while day <= min(last, now.date() - timedelta(days=1), world.end):
        stamp = datetime.combine(day, time.min, MOSCOW).isoformat(timespec="milliseconds")
        points.append({"date": stamp, "value": world.links.total_on(day)})
        day += timedelta(days=1)
    return Response(200, {"indicators": {"LINKS_TOTAL_COUNT": points}})


ROUTES = [
    ("GET", r"/v4/user/(?P<user>[^/]+)/hosts/(?P<host>[^/]+)/links/external/samples", samples),
    ("GET", r"/v4/user/(?P<user>[^/]+)/hosts/(?P<host>[^/]+)/links/external/history", history),
]
