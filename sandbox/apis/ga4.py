"""Google Analytics 4 Data API v1beta: ``properties/{id}:runReport``.

Contract: the GA4 Data API v1beta reference; the evidence is listed under "Verified against" in
extractors/sources/ga4.py.

    POST /v1beta/properties/420000001:runReport      Authorization: Bearer <token>
    {"dateRanges": [{"startDate": "2026-06-01", "endDate": "2026-06-30"}],
     "dimensions": [{"name": "date"}, {"name": "sessionSource"}, ...],
     "metrics": [{"name": "sessions"}, ...], "limit": "100000", "offset": "0"}

Answers ``{dimensionHeaders, metricHeaders: [{name, type}], rows: [{dimensionValues:
[{value}], metricValues: [{value}]}], rowCount, metadata, kind}`` with every value a
string and ``date`` as YYYYMMDD in the property's time zone (America/New_York).
Like the real API, ``rows`` and ``rowCount`` are absent when nothing matched. Page
with ``offset``/``limit`` until offset reaches rowCount (limit defaults to 10,000,
at most 250,000). Rows are ordered by ``orderBys`` when given, else by the
dimension values in request order.

Two report shapes over the same sessions:
- session scope: any of date, sessionSource, sessionMedium, sessionSourceMedium,
  sessionCampaignName, sessionDefaultChannelGroup, sessionGoogleAdsCampaignId,
  sessionGoogleAdsCampaignName (the Google Ads campaign of an auto-tagged click, GA4
  being linked to Google Ads; '(not set)' for every other session), landingPage with sessions,
  engagedSessions, bounceRate, engagementRate, averageSessionDuration,
  screenPageViews, screenPageViewsPerSession, keyEvents, userEngagementDuration;
- page scope (``pagePath`` among the dimensions): screenPageViews, sessions
  (sessions that viewed the page) and userEngagementDuration.
Any other name answers 400 INVALID_ARGUMENT "Field <name> is not a valid metric" as the Data API
does: ``exits`` and ``entrances`` exist only in GA4's explorations, not in the API
(googleapis/google-cloud-java#9279, googleanalytics/ga-dev-tools#1658; exits per page come from the
BigQuery export, sandbox/apis/bigquery.py), and ``conversions`` was renamed ``keyEvents`` in 2024
(Data API changelog; under Google's data deprecation policy a renamed field stops working after six
months, so the sandbox refuses the old name).

The (other) row: when a report holds more rows than its table's row limit, GA4 keeps the most
common dimension values and condenses the rest into one row whose dimension values are
"(other)", and says so in ``metadata.dataLossFromOtherRow`` (support.google.com/analytics/answer/
13331684; the limit varies by property and table, the article's example is 100,000 rows). The
sandbox folds a report of more than ``Sandbox.ga4_row_limit`` rows (default 100,000; a test sets
it low to fold at demo scale): rows ranked by their first metric, the top ``limit - 1`` kept.

Quotas (developers.google.com/analytics/devguides/reporting/data/v1/quotas, PropertyQuota):
``returnPropertyQuota: true`` adds ``propertyQuota`` with tokensPerDay, tokensPerHour,
concurrentRequests, serverErrorsPerProjectPerHour, potentiallyThresholdedRequestsPerHour and
tokensPerProjectPerHour, each {consumed, remaining}, at a standard property's limits (200,000 a
day, 40,000 an hour, 14,000 per project an hour, 10 concurrent, 10 server errors an hour, 120
thresholded requests an hour; ``Sandbox.ga4_quota`` overrides them). Hours and days are the
sandbox clock's UTC hour and day. A request that finds a token quota spent answers 429
RESOURCE_EXHAUSTED "Exhausted property tokens for a project per hour. These quota tokens will
return in under an hour. ..." (a user's recorded body) or the hourly / daily equivalent. Google does
not publish the token cost; the sandbox charges 1 token plus 1 per 1,000 rows of the report.

A date shows once it has ended in the property's time zone; late hits keep
adding to it for up to 72 hours. ``dimensionFilter`` supports stringFilter,
inListFilter and and/or/not groups; ``metricFilter`` and several date ranges are
refused with INVALID_ARGUMENT rather than answered wrongly.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, date, timedelta

from sandbox.http import Request, Response
from sandbox.world_google_ads import SEARCH_CAMPAIGNS
from sandbox.world_web import PROFILES, PROPERTY_CURRENCY, PROPERTY_ID, PROPERTY_TIME_ZONE, PROPERTY_TZ, SessionBlock

DEFAULT_LIMIT = 10_000
MAX_LIMIT = 250_000
SCHEMA_HELP = "For a list of valid dimensions and metrics, see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
AUTH_HELP = (
    "Expected OAuth 2 access token, login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)

# GA4 knows the Google Ads campaign of a click by its gclid: only auto-tagged accounts' sessions have one.
AUTO_TAGGED_CAMPAIGNS = {c.name: c for c in SEARCH_CAMPAIGNS if c.customer.auto_tagged}
NOT_SET = "(not set)"


def _google_ads_campaign(b: SessionBlock):
    return AUTO_TAGGED_CAMPAIGNS.get(b.campaign) if (b.source, b.medium) == ("google", "cpc") else None


# Dimension values of a session block; pagePath comes from the block's pages.
DIMENSIONS: dict[str, Callable[[SessionBlock], str]] = {
    "date": lambda b: b.property_date.strftime("%Y%m%d"),
    "sessionSource": lambda b: b.source,
    "sessionMedium": lambda b: b.medium,
    "sessionSourceMedium": lambda b: f"{b.source} / {b.medium}",
    "sessionCampaignName": lambda b: b.campaign,
    "sessionDefaultChannelGroup": lambda b: PROFILES[b.channel].default_channel_group,
    "sessionGoogleAdsCampaignId": lambda b: c.campaign_id if (c := _google_ads_campaign(b)) else NOT_SET,
    "sessionGoogleAdsCampaignName": lambda b: c.name if (c := _google_ads_campaign(b)) else NOT_SET,
    "landingPage": lambda b: b.landing_page,
}
PAGE_DIMENSION = "pagePath"

# name -> (type, value from the summed counters s, w)
METRICS: dict[str, tuple[str, Callable[[dict], float]]] = {
    "sessions": ("TYPE_INTEGER", lambda s: s["sessions"]),
    "engagedSessions": ("TYPE_INTEGER", lambda s: s["engaged"]),
    "bounceRate": ("TYPE_FLOAT", lambda s: 1 - s["engaged"] / s["sessions"] if s["sessions"] else 0.0),
    "engagementRate": ("TYPE_FLOAT", lambda s: s["engaged"] / s["sessions"] if s["sessions"] else 0.0),
    "averageSessionDuration": ("TYPE_SECONDS", lambda s: s["duration"] / s["sessions"] if s["sessions"] else 0.0),
    "screenPageViews": ("TYPE_INTEGER", lambda s: s["views"]),
    "screenPageViewsPerSession": ("TYPE_FLOAT", lambda s: s["views"] / s["sessions"] if s["sessions"] else 0.0),
    "keyEvents": ("TYPE_INTEGER", lambda s: s["key_events"]),
    "userEngagementDuration": ("TYPE_SECONDS", lambda s: s["duration"]),
}
PAGE_METRICS = ("screenPageViews", "sessions", "userEngagementDuration")
COUNTERS = ("sessions", "engaged", "duration", "views", "key_events")
OTHER = "(other)"
DEFAULT_ROW_LIMIT = 100_000
QUOTA_HELP = "To learn more, see https://developers.google.com/analytics/devguides/reporting/data/v1/quotas"
# A standard property's limits (PropertyQuota); Sandbox.ga4_quota overrides any of them.
QUOTA_LIMITS = {
    "tokensPerDay": 200_000,
    "tokensPerHour": 40_000,
    "concurrentRequests": 10,
    "serverErrorsPerProjectPerHour": 10,
    "potentiallyThresholdedRequestsPerHour": 120,
    "tokensPerProjectPerHour": 14_000,
}
# The token quotas a request checks first, with Google's 429 message for each (the per-project one as recorded).
TOKEN_QUOTAS = {
    "tokensPerProjectPerHour": "Exhausted property tokens for a project per hour. These quota tokens will return in under an hour.",
    "tokensPerHour": "Exhausted property tokens per hour. These quota tokens will return in under an hour.",
    "tokensPerDay": "Exhausted property tokens per day. These quota tokens will return in under 24 hours.",
}


class _BadRequest(Exception):
    pass


def _error(status: int, grpc_status: str, message: str) -> Response:
    return Response(status, {"error": {"code": status, "message": message, "status": grpc_status}})


def _check_auth(request: Request) -> Response | None:
    token = request.bearer_token()
    if token is None:
        return _error(401, "UNAUTHENTICATED", f"Request is missing required authentication credential. {AUTH_HELP}")
    if token != request.sandbox.tokens["ga4"]:
        return _error(401, "UNAUTHENTICATED", f"Request had invalid authentication credentials. {AUTH_HELP}")
    if request.match["property"] != PROPERTY_ID:
        return _error(
            403,
            "PERMISSION_DENIED",
            "User does not have sufficient permissions for this property. To learn more about Property ID, "
            "see https://developers.google.com/analytics/devguides/reporting/data/v1/property-id.",
        )
    return None


def run_report(request: Request) -> Response:
    if (denied := _check_auth(request)) is not None:
        return denied
    try:
        body = request.json()
        if not isinstance(body, dict):
            raise ValueError(body)
    except ValueError:
        return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received. The body must be a JSON object.")
    quota = _quota(request)
    with quota.request() as refused:
        if refused:
            return _error(429, "RESOURCE_EXHAUSTED", f"{refused} {QUOTA_HELP}")
        try:
            out = _report(request, body)
        except _BadRequest as exc:
            return _error(400, "INVALID_ARGUMENT", str(exc))
        status = quota.charge(1 + out.pop("_rows") // 1000)
        if body.get("returnPropertyQuota"):
            out["propertyQuota"] = status
        return Response(200, out)


class _PropertyQuota:
    """One property's quota buckets, on the sandbox clock (hours and days in UTC)."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.used: dict[tuple[str, str], int] = {}  # (quota, period) -> tokens
        self.in_flight = 0
        self.lock = threading.Lock()

    @property
    def limits(self) -> dict[str, int]:
        return {**QUOTA_LIMITS, **(self.sandbox.ga4_quota or {})}

    def _period(self, name: str) -> str:
        now = self.sandbox.now.astimezone(UTC)
        return f"{now:%Y-%m-%d}" if name == "tokensPerDay" else f"{now:%Y-%m-%dT%H}"

    def _remaining(self, name: str) -> int:
        return max(0, self.limits[name] - self.used.get((name, self._period(name)), 0))

    @contextmanager
    def request(self):
        """Admit one request (yields None) or refuse it (yields the 429 message)."""
        with self.lock:
            spent = next((message for name, message in TOKEN_QUOTAS.items() if self._remaining(name) <= 0), None)
            if spent is None and self.in_flight >= self.limits["concurrentRequests"]:
                spent = "Exhausted concurrent requests quota."
            if spent is None:
                self.in_flight += 1
        if spent is not None:
            yield spent
            return
        try:
            yield None
        finally:
            with self.lock:
                self.in_flight -= 1

    def charge(self, tokens: int) -> dict:
        """Take the request's tokens from every token quota; the PropertyQuota answer after it."""
        with self.lock:
            for name in TOKEN_QUOTAS:
                key = (name, self._period(name))
                self.used[key] = self.used.get(key, 0) + tokens
            status = {name: {"consumed": tokens, "remaining": self._remaining(name)} for name in TOKEN_QUOTAS}
            status["concurrentRequests"] = {
                "consumed": 1,
                "remaining": max(0, self.limits["concurrentRequests"] - self.in_flight),
            }
            for name in ("serverErrorsPerProjectPerHour", "potentiallyThresholdedRequestsPerHour"):
                status[name] = {"consumed": 0, "remaining": self.limits[name]}  # no errors, no thresholded dimensions
        return {name: status[name] for name in QUOTA_LIMITS}


def _quota(request: Request) -> _PropertyQuota:
    with request.sandbox._lock:
        quotas = request.sandbox.cache.setdefault("ga4_quota", {})
        return quotas.setdefault(request.match["property"], _PropertyQuota(request.sandbox))


def _names(body: dict, key: str) -> list[str]:
    items = body.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        raise _BadRequest(f"{key} must be a list of objects with a name.")
    return [i["name"] for i in items]


def _report(request: Request, body: dict) -> dict:
    dimensions, metrics = _names(body, "dimensions"), _names(body, "metrics")
    if not dimensions and not metrics:
        raise _BadRequest("A report needs at least one dimension or metric.")
    for d in dimensions:
        if d not in DIMENSIONS and d != PAGE_DIMENSION:
            raise _BadRequest(f"Field {d} is not a valid dimension. {SCHEMA_HELP}")
    for m in metrics:
        if m not in METRICS:
            raise _BadRequest(f"Field {m} is not a valid metric. {SCHEMA_HELP}")
    page_scope = PAGE_DIMENSION in dimensions
    if page_scope and (incompatible := [m for m in metrics if m not in PAGE_METRICS]):
        raise _BadRequest(
            f"Please remove {', '.join(incompatible)} to make the request compatible. The request's dimensions & "
            f"metrics are incompatible: with pagePath the sandbox serves {', '.join(PAGE_METRICS)}."
        )
    if body.get("metricFilter"):
        raise _BadRequest("The sandbox does not support metricFilter; filter the rows after reading them.")
    start, end = _date_range(request, body.get("dateRanges"))
    limit = _integer(body.get("limit"), "limit", DEFAULT_LIMIT)
    offset = _integer(body.get("offset"), "offset", 0)
    if limit <= 0 or offset < 0:
        raise _BadRequest("limit must be positive and offset must not be negative.")
    limit = min(limit, MAX_LIMIT)
    keep = _filter(body.get("dimensionFilter"))

    # Without a filter only the requested dimensions are needed: a report walks ~13,000 blocks (~150,000 pages).
    getters = (
        list(DIMENSIONS.items()) if body.get("dimensionFilter") else [(d, DIMENSIONS[d]) for d in dimensions if d in DIMENSIONS]
    )
    totals: dict[tuple[str, ...], list[int]] = {}
    for block in request.sandbox.world.iter_session_blocks(start, end, request.sandbox.now):
        values = {name: get(block) for name, get in getters}
        if page_scope:
            for path, views, sessions, _, engagement in block.pages:
                values[PAGE_DIMENSION] = path
                if keep(values):
                    _add(totals, tuple([values[d] for d in dimensions]), sessions, 0, engagement, views, 0)
        elif keep(values):
            _add(
                totals,
                tuple([values[d] for d in dimensions]),
                block.sessions,
                block.engaged_sessions,
                block.duration_seconds,
                block.page_views,
                block.conversions,
            )

    folded = len(totals) > request.sandbox.ga4_row_limit
    if folded:
        totals = _fold(totals, metrics, request.sandbox.ga4_row_limit, len(dimensions))
    rows = [(key, {m: METRICS[m][1](dict(zip(COUNTERS, sums, strict=True))) for m in metrics}) for key, sums in totals.items()]
    rows.sort(key=lambda r: r[0])
    for order in reversed(body.get("orderBys") or []):
        rows.sort(key=_order_key(order, dimensions, metrics), reverse=bool(order.get("desc")))
    out: dict = {
        "dimensionHeaders": [{"name": d} for d in dimensions],
        "metricHeaders": [{"name": m, "type": METRICS[m][0]} for m in metrics],
    }
    page = rows[offset : offset + limit]
    if page:
        out["rows"] = [
            {
                "dimensionValues": [{"value": v} for v in key],
                "metricValues": [{"value": _value(METRICS[m][0], values[m])} for m in metrics],
            }
            for key, values in page
        ]
    if rows:
        out["rowCount"] = len(rows)
    out["metadata"] = {"currencyCode": PROPERTY_CURRENCY, "timeZone": PROPERTY_TIME_ZONE}
    if folded:
        out["metadata"]["dataLossFromOtherRow"] = True
    out["kind"] = "analyticsData#runReport"
    out["_rows"] = len(rows)  # for the token charge; not sent
    return out


def _add(totals: dict, key: tuple, sessions: int, engaged: int, duration: int, views: int, key_events: int) -> None:
    """Add one block's (or page's) counters to its row's sums (a list in COUNTERS order)."""
    sums = totals.get(key)
    if sums is None:
        totals[key] = [sessions, engaged, duration, views, key_events]
        return
    sums[0] += sessions
    sums[1] += engaged
    sums[2] += duration
    sums[3] += views
    sums[4] += key_events


def _fold(totals: dict, metrics: list[str], limit: int, width: int) -> dict:
    """Keep the ``limit - 1`` most common rows (by the first metric) and sum the rest into one (other) row."""
    first = METRICS[metrics[0]][1] if metrics else (lambda counters: 0)
    ranked = sorted(totals.items(), key=lambda kv: (-first(dict(zip(COUNTERS, kv[1], strict=True))), kv[0]))
    kept = dict(ranked[: max(limit - 1, 0)])
    other = [sum(column) for column in zip(*(sums for _, sums in ranked[max(limit - 1, 0) :]), strict=True)]
    kept[(OTHER,) * width] = other
    return kept


def _value(metric_type: str, value: float) -> str:
    if metric_type == "TYPE_INTEGER" or (metric_type == "TYPE_SECONDS" and float(value).is_integer()):
        return str(int(value))
    return repr(float(value))


def _integer(value, name: str, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)  # int64 fields arrive as strings or numbers
    except (TypeError, ValueError):
        raise _BadRequest(f"Invalid value at '{name}' (TYPE_INT64), \"{value}\"") from None


def _date_range(request: Request, ranges) -> tuple[date, date]:
    if not isinstance(ranges, list) or not ranges:
        raise _BadRequest('dateRanges is required: e.g. [{"startDate": "2026-06-01", "endDate": "2026-06-30"}].')
    if len(ranges) > 1:
        raise _BadRequest("The sandbox serves one date range per request; send one request per range.")
    today = request.sandbox.now.astimezone(PROPERTY_TZ).date()
    start, end = (_date(ranges[0].get(k) if isinstance(ranges[0], dict) else None, k, today) for k in ("startDate", "endDate"))
    if start > end:
        raise _BadRequest(f"The dateRange's startDate ({start}) must be on or before its endDate ({end}).")
    return start, end


def _date(value, name: str, today: date) -> date:
    if value == "today":
        return today
    if value == "yesterday":
        return today - timedelta(days=1)
    if isinstance(value, str):
        if m := re.fullmatch(r"(\d+)daysAgo", value):
            return today - timedelta(days=int(m[1]))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
    raise _BadRequest(f"Invalid {name} '{value}': use YYYY-MM-DD, NdaysAgo, yesterday or today.")


def _order_key(order: dict, dimensions: list[str], metrics: list[str]):
    if isinstance(order.get("dimension"), dict):
        name = order["dimension"].get("dimensionName")
        if name not in dimensions:
            raise _BadRequest(f"orderBys dimension {name} must be one of the request's dimensions.")
        i = dimensions.index(name)
        return lambda r: r[0][i]
    if isinstance(order.get("metric"), dict):
        name = order["metric"].get("metricName")
        if name not in metrics:
            raise _BadRequest(f"orderBys metric {name} must be one of the request's metrics.")
        return lambda r: r[1][name]
    raise _BadRequest("Each orderBys entry needs a dimension or a metric.")


def _filter(expression) -> Callable[[dict], bool]:
    """A predicate over a row's dimension values from a FilterExpression."""
    if not expression:
        return lambda values: True
    if not isinstance(expression, dict):
        raise _BadRequest("dimensionFilter must be a FilterExpression object.")
    if "andGroup" in expression or "orGroup" in expression:
        group = expression.get("andGroup") or expression.get("orGroup") or {}
        parts = [_filter(e) for e in group.get("expressions", [])]
        combine = all if "andGroup" in expression else any
        return lambda values: combine(p(values) for p in parts)
    if "notExpression" in expression:
        inner = _filter(expression["notExpression"])
        return lambda values: not inner(values)
    spec = expression.get("filter")
    if not isinstance(spec, dict):
        raise _BadRequest("A FilterExpression needs andGroup, orGroup, notExpression or filter.")
    field = spec.get("fieldName")
    if field not in DIMENSIONS and field != PAGE_DIMENSION:
        raise _BadRequest(f"Field {field} is not a valid dimension. {SCHEMA_HELP}")
    if "stringFilter" in spec:
        f = spec["stringFilter"]
        case = bool(f.get("caseSensitive"))
        target = f.get("value", "") if case else f.get("value", "").lower()
        match = {
            "EXACT": lambda v: v == target,
            "BEGINS_WITH": lambda v: v.startswith(target),
            "ENDS_WITH": lambda v: v.endswith(target),
            "CONTAINS": lambda v: target in v,
            "FULL_REGEXP": lambda v: re.fullmatch(target, v) is not None,
            "PARTIAL_REGEXP": lambda v: re.search(target, v) is not None,
        }.get(f.get("matchType", "EXACT"))
        if match is None:
            raise _BadRequest(f"Unsupported stringFilter matchType {f.get('matchType')}.")
        return lambda values: field in values and match(values[field] if case else values[field].lower())
    if "inListFilter" in spec:
        f = spec["inListFilter"]
        case = bool(f.get("caseSensitive"))
        targets = {v if case else v.lower() for v in f.get("values", [])}
        return lambda values: field in values and (values[field] if case else values[field].lower()) in targets
    raise _BadRequest("The sandbox filters dimensions with stringFilter or inListFilter only.")


ROUTES = [
    ("POST", r"/v1beta/properties/(?P<property>[^/:]+):runReport", run_report),
]
