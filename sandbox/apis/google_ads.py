"""Google Ads API (REST): ``googleAds:searchStream`` with a GAQL subset.

Contract: the Google Ads API REST reference; the evidence is listed under "Verified against" in
extractors/sources/google_ads.py.

    POST /v26/customers/{customer_id}/googleAds:searchStream
    Authorization: Bearer <oauth token>; developer-token: <token>; login-customer-id: <manager id> (optional)
    {"query": "SELECT campaign.id, metrics.cost_micros, segments.date FROM campaign
               WHERE segments.date BETWEEN '2026-06-01' AND '2026-06-30'"}

The answer is a JSON array of batches of up to 10,000 rows, each
``{"results": [...], "fieldMask": "...", "requestId": "..."}`` (``results`` is
absent when nothing matched). Field names are lowerCamelCase, int64 values are
strings, doubles are numbers, cost is in micros of the account currency, dates
are the account's own (its time zone). A day appears once it has ended in the
account's time zone; its conversions keep changing for 30 days.

Resources: ``customer``, ``campaign``, ``ad_group`` (with metrics and
``segments.date``), ``click_view`` (one row per click with its ``gclid``, campaign and
ad group; like Google, only with a filter on a single day, ClickViewError
EXPECTED_FILTER_ON_A_SINGLE_DAY otherwise, and no further back than 90 days,
DATE_TOO_OLD) and ``customer_client`` (the manager's account list; no metrics). Errors are Google's, inside the array as searchStream sends them:
``[{"error": {"code", "message", "status", "details": [GoogleAdsFailure]}}]``:
401 UNAUTHENTICATED (OAuth token or developer token), 403 PERMISSION_DENIED
(a customer the caller cannot reach), 400 INVALID_ARGUMENT (bad GAQL, metrics
asked of a manager account, a sunset version).

A version is refused from its sunset day on (``SUNSETS``, the days of Google's sunset
reminders; every version before v17 too), at the sandbox's clock: HTTP 400
INVALID_ARGUMENT "Request contains an invalid argument." with a GoogleAdsFailure whose
error is ``requestError: UNSUPPORTED_VERSION``, "Version vNN is deprecated. Requests to this
version will be blocked." (the answer users quote: googleads/google-ads-python#332 with the
older code UNKNOWN, floriankuwala/googlesearch2postgres#1 with UNSUPPORTED_VERSION, the REST
message in selesnow/rgoogleads#33). Not verified: the version named in the failure's
``@type`` (the requested one here). Release days are not modelled: a version newer than the
clock is served.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sandbox.gaql import Condition, GaqlError, Query, parse
from sandbox.http import Request, Response
from sandbox.world_google_ads import ALL_GOOGLE_ADS_CUSTOMERS, MANAGER, SEARCH_CAMPAIGNS, GoogleAdsCustomer

CUSTOMERS = {c.customer_id: c for c in ALL_GOOGLE_ADS_CUSTOMERS}
SUNSETS = {
    17: date(2025, 6, 4),
    18: date(2025, 8, 20),
    19: date(2026, 2, 11),
    20: date(2026, 6, 10),
    21: date(2026, 8, 5),
    22: date(2026, 10, 7),
}
OLDEST_SUNSET_LISTED = min(SUNSETS)
BATCH_SIZE = 10_000
AUTH_HELP = (
    "Expected OAuth 2 access token, login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)

# Which resources' fields a query FROM each resource may use.
SCOPE = {
    "customer": ("customer",),
    "campaign": ("customer", "campaign"),
    "ad_group": ("customer", "campaign", "ad_group"),
    "click_view": ("customer", "campaign", "ad_group", "click_view"),
    "customer_client": ("customer_client",),
}
METRIC_RESOURCES = ("customer", "campaign", "ad_group", "click_view")
CLICK_VIEW_DAYS = 90  # "can be requested for dates back to 90 days before the time of the request"


@dataclass(frozen=True)
class Click:
    gclid: str


@dataclass(frozen=True)
class FieldSpec:
    kind: str  # int64, double, string, enum, bool, date
    get: Callable[[dict], object]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _json_path(field: str) -> tuple[str, str]:
    resource, name = field.split(".", 1)
    return _camel(resource), _camel(name)


FIELDS: dict[str, FieldSpec] = {
    "customer.id": FieldSpec("int64", lambda f: f["customer"].customer_id),
    "customer.resource_name": FieldSpec("string", lambda f: f["customer"].resource_name),
    "customer.descriptive_name": FieldSpec("string", lambda f: f["customer"].name),
    "customer.currency_code": FieldSpec("string", lambda f: f["customer"].currency),
    "customer.time_zone": FieldSpec("string", lambda f: f["customer"].time_zone),
    "customer.manager": FieldSpec("bool", lambda f: f["customer"].manager),
    "campaign.id": FieldSpec("int64", lambda f: f["campaign"].campaign_id),
    "campaign.resource_name": FieldSpec(
        "string", lambda f: f"{f['customer'].resource_name}/campaigns/{f['campaign'].campaign_id}"
    ),
    "campaign.name": FieldSpec("string", lambda f: f["campaign"].name),
    "campaign.status": FieldSpec("enum", lambda f: "ENABLED"),
    "campaign.advertising_channel_type": FieldSpec("enum", lambda f: "SEARCH"),
    "ad_group.id": FieldSpec("int64", lambda f: f["ad_group"].ad_group_id),
    "ad_group.resource_name": FieldSpec(
        "string", lambda f: f"{f['customer'].resource_name}/adGroups/{f['ad_group'].ad_group_id}"
    ),
    "ad_group.name": FieldSpec("string", lambda f: f["ad_group"].name),
    "ad_group.status": FieldSpec("enum", lambda f: "ENABLED"),
    "ad_group.type": FieldSpec("enum", lambda f: "SEARCH_STANDARD"),
    "ad_group.campaign": FieldSpec("string", lambda f: f"{f['customer'].resource_name}/campaigns/{f['campaign'].campaign_id}"),
    "click_view.gclid": FieldSpec("string", lambda f: f["click"].gclid),
    "click_view.resource_name": FieldSpec(
        "string", lambda f: f"{f['customer'].resource_name}/clickViews/{f['date']}~{f['click'].gclid}"
    ),
    "customer_client.resource_name": FieldSpec(
        "string", lambda f: f"{f['customer'].resource_name}/customerClients/{f['client'].customer_id}"
    ),
    "customer_client.client_customer": FieldSpec("string", lambda f: f["client"].resource_name),
    "customer_client.id": FieldSpec("int64", lambda f: f["client"].customer_id),
    "customer_client.descriptive_name": FieldSpec("string", lambda f: f["client"].name),
    "customer_client.currency_code": FieldSpec("string", lambda f: f["client"].currency),
    "customer_client.time_zone": FieldSpec("string", lambda f: f["client"].time_zone),
    "customer_client.manager": FieldSpec("bool", lambda f: f["client"].manager),
    "customer_client.level": FieldSpec("int64", lambda f: 0 if f["client"] is f["customer"] else 1),
    "segments.date": FieldSpec("date", lambda f: f["date"]),
    "metrics.impressions": FieldSpec("int64", lambda f: f["m"]["impressions"]),
    "metrics.clicks": FieldSpec("int64", lambda f: f["m"]["clicks"]),
    "metrics.cost_micros": FieldSpec("int64", lambda f: f["m"]["cost_micros"]),
    "metrics.conversions": FieldSpec("double", lambda f: round(f["m"]["conversions"], 6)),
    "metrics.conversions_value": FieldSpec("double", lambda f: round(f["m"]["conversions_value"], 6)),
    "metrics.ctr": FieldSpec("double", lambda f: f["m"]["clicks"] / f["m"]["impressions"] if f["m"]["impressions"] else 0.0),
    "metrics.average_cpc": FieldSpec("double", lambda f: f["m"]["cost_micros"] / f["m"]["clicks"] if f["m"]["clicks"] else 0.0),
}
SUMMED_METRICS = ("impressions", "clicks", "cost_micros", "conversions", "conversions_value")


class _QueryRejected(Exception):
    def __init__(self, response: Response):
        self.response = response


def _request_id(request: Request) -> str:
    return request.correlation_id().replace("-", "")[:22]


def _error(
    request: Request, status: int, grpc_status: str, message: str, error_code: dict | None = None, detail: str | None = None
) -> Response:
    error: dict = {"code": status, "message": message, "status": grpc_status}
    if error_code is not None:
        error["details"] = [
            {
                "@type": f"type.googleapis.com/google.ads.googleads.v{request.match['version']}.errors.GoogleAdsFailure",
                "errors": [{"errorCode": error_code, "message": detail or message}],
                "requestId": _request_id(request),
            }
        ]
    return Response(status, [{"error": error}])


def _query_error(request: Request, code: str, message: str) -> Response:
    return _error(request, 400, "INVALID_ARGUMENT", "Request contains an invalid argument.", {"queryError": code}, message)


def _check_access(request: Request) -> Response | GoogleAdsCustomer:
    tokens = request.sandbox.tokens
    token = request.bearer_token()
    if token is None:
        return _error(request, 401, "UNAUTHENTICATED", f"Request is missing required authentication credential. {AUTH_HELP}")
    if token != tokens["google_ads"]:
        return _error(
            request,
            401,
            "UNAUTHENTICATED",
            f"Request had invalid authentication credentials. {AUTH_HELP}",
            {"authenticationError": "OAUTH_TOKEN_INVALID"},
            "Oauth token is invalid.",
        )
    if request.headers.get("developer-token") != tokens["google_ads_developer"]:
        return _error(
            request,
            401,
            "UNAUTHENTICATED",
            "Request is missing required authentication credential.",
            {"authenticationError": "DEVELOPER_TOKEN_INVALID"},
            "The developer token is not valid.",
        )
    login = request.headers.get("login-customer-id")
    if login is not None and not re.fullmatch(r"\d+", login):
        return _error(
            request,
            400,
            "INVALID_ARGUMENT",
            "Request contains an invalid argument.",
            {"headerError": "INVALID_LOGIN_CUSTOMER_ID"},
            "The login customer ID header must be the customer id as digits without dashes.",
        )
    customer = CUSTOMERS.get(request.match["customer"])
    reachable = customer is not None and (login is None or login == customer.customer_id or login == MANAGER.customer_id)
    if not reachable:
        return _error(
            request,
            403,
            "PERMISSION_DENIED",
            "The caller does not have permission",
            {"authorizationError": "USER_PERMISSION_DENIED"},
            "User doesn't have permission to access customer. Note: If you're accessing a client customer, "
            "the manager's customer id must be set in the 'login-customer-id' header. "
            "See https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid",
        )
    return customer


def _sunset(request: Request) -> Response | None:
    """Google's refusal of a version past its sunset day, before anything else about the request."""
    version = int(request.match["version"])
    day = SUNSETS.get(version, date.min if version < OLDEST_SUNSET_LISTED else None)
    if day is None or request.sandbox.now.date() < day:
        return None
    return _error(
        request,
        400,
        "INVALID_ARGUMENT",
        "Request contains an invalid argument.",
        {"requestError": "UNSUPPORTED_VERSION"},
        f"Version v{version} is deprecated. Requests to this version will be blocked.",
    )


def search_stream(request: Request) -> Response:
    if (retired := _sunset(request)) is not None:
        return retired
    checked = _check_access(request)
    if isinstance(checked, Response):
        return checked
    customer = checked
    try:
        body = request.json()
        query_text = body["query"]
    except (ValueError, KeyError, TypeError):
        return _error(
            request,
            400,
            "INVALID_ARGUMENT",
            "Invalid JSON payload received. The body must be a JSON object with a 'query' string.",
        )
    try:
        query = parse(query_text)
        rows = _run(request, customer, query)
    except GaqlError as exc:
        return _query_error(request, exc.code, exc.message)
    except _QueryRejected as exc:
        return exc.response
    field_mask = ",".join(".".join(_json_path(f)) for f in query.fields)
    request_id = _request_id(request)
    batches = [
        {"results": rows[i : i + BATCH_SIZE], "fieldMask": field_mask, "requestId": request_id}
        for i in range(0, len(rows), BATCH_SIZE)
    ]
    return Response(200, batches or [{"fieldMask": field_mask, "requestId": request_id}])


def _validate(request: Request, customer: GoogleAdsCustomer, query: Query) -> None:
    if query.resource not in SCOPE:
        raise GaqlError(
            "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
            f"Error in query: the sandbox serves FROM {', '.join(SCOPE)}, not '{query.resource}'.",
        )
    used = (
        [(f, "SELECT") for f in query.fields]
        + [(c.field, "WHERE") for c in query.conditions]
        + [(f, "ORDER BY") for f, _ in query.order_by]
    )
    for field, clause in used:
        if field not in FIELDS:
            raise GaqlError("UNRECOGNIZED_FIELD", f"Error in query: unrecognized field in the query: '{field}'.")
        resource = field.split(".", 1)[0]
        if resource in ("metrics", "segments"):
            if query.resource not in METRIC_RESOURCES:
                raise GaqlError(
                    "PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE"
                    if resource == "metrics"
                    else "PROHIBITED_SEGMENT_IN_SELECT_OR_WHERE_CLAUSE",
                    f"Error in query: '{field}' cannot be used with the resource in the FROM clause: '{query.resource}'.",
                )
        elif resource not in SCOPE[query.resource]:
            code = (
                "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE" if clause == "SELECT" else "PROHIBITED_RESOURCE_TYPE_IN_WHERE_CLAUSE"
            )
            raise GaqlError(
                code,
                f"Error in query: cannot {clause} '{field}': resource '{resource}' is not "
                f"reachable from the resource in the FROM clause: '{query.resource}'.",
            )
    wants_metrics = any(f.startswith("metrics.") for f, _ in used)
    if customer.manager and wants_metrics:
        raise GaqlError(
            "REQUESTED_METRICS_FOR_MANAGER",
            "Metrics cannot be requested for a manager account. To retrieve metrics, issue separate "
            "requests against each client account under the manager account.",
        )


def _date_bounds(request: Request, customer: GoogleAdsCustomer, query: Query) -> tuple[date | None, date | None]:
    """The date range the segments.date conditions allow: (first, last), None where open."""
    low: date | None = None
    high: date | None = None
    today = request.sandbox.now.astimezone(customer.tz).date()
    for c in query.conditions:
        if c.field != "segments.date":
            continue
        if c.operator == "DURING":
            lo, hi = _during(c.values[0], today)
        elif c.operator == "BETWEEN":
            lo, hi = _date(c.values[0]), _date(c.values[1])
            if lo > hi:
                raise GaqlError("DATE_RANGE_TOO_NARROW", f"Error in query: the date range starts ({lo}) after it ends ({hi}).")
        elif c.operator in ("IN", "="):
            days = [_date(v) for v in c.values]
            lo, hi = min(days), max(days)
        elif c.operator in (">=", ">"):
            lo, hi = _date(c.values[0]) + timedelta(days=1 if c.operator == ">" else 0), None
        elif c.operator in ("<=", "<"):
            lo, hi = None, _date(c.values[0]) - timedelta(days=1 if c.operator == "<" else 0)
        else:  # != and NOT IN narrow nothing; LIKE makes no sense on a date
            for v in c.values:
                _date(v)
            continue
        if lo is not None:
            low = lo if low is None else max(low, lo)
        if hi is not None:
            high = hi if high is None else min(high, hi)
    if "segments.date" in query.fields and (low is None or high is None):
        raise GaqlError(
            "EXPECTED_FILTERS_ON_DATE_RANGE",
            "Error in query: segments.date is selected, so the WHERE clause must limit it to a finite range "
            "(BETWEEN, DURING, or both a lower and an upper bound).",
        )
    if low is not None and high is not None and low > high:
        raise GaqlError("DATE_RANGE_TOO_NARROW", f"Error in query: the date range starts ({low}) after it ends ({high}).")
    return low, high


def _date(value) -> date:
    try:
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise GaqlError("INVALID_DATE_FORMAT", f"Error in query: invalid date '{value}'. Expected 'YYYY-MM-DD'.")


def _during(literal: str, today: date) -> tuple[date, date]:
    yesterday = today - timedelta(days=1)
    if literal == "TODAY":
        return today, today
    if literal == "YESTERDAY":
        return yesterday, yesterday
    if literal.startswith("LAST_") and literal.endswith("_DAYS"):
        return today - timedelta(days=int(literal.split("_")[1])), yesterday
    if literal == "THIS_MONTH":
        return today.replace(day=1), today
    last_month_end = today.replace(day=1) - timedelta(days=1)
    return last_month_end.replace(day=1), last_month_end.replace(
        day=calendar.monthrange(last_month_end.year, last_month_end.month)[1]
    )


def _facts(request: Request, customer: GoogleAdsCustomer, query: Query, low: date | None, high: date | None):
    """Facts at the finest grain the query needs: ad-group days, or entities when nothing is measured."""
    world, now = request.sandbox.world, request.sandbox.now
    if query.resource == "customer_client":
        clients = [customer] + ([c for c in ALL_GOOGLE_ADS_CUSTOMERS if not c.manager] if customer.manager else [])
        for client in clients:
            yield {"customer": customer, "client": client}
        return
    measured = any(f.startswith(("metrics.", "segments.")) for f in query.fields) or any(
        c.field.startswith(("metrics.", "segments.")) for c in query.conditions
    )
    if not measured:  # an attribute listing: every entity, active or not
        if query.resource == "customer":
            yield {"customer": customer}
            return
        for campaign in SEARCH_CAMPAIGNS:
            if campaign.customer is not customer:
                continue
            if query.resource == "campaign":
                yield {"customer": customer, "campaign": campaign}
            else:
                for group in campaign.ad_groups:
                    yield {"customer": customer, "campaign": campaign, "ad_group": group}
        return
    if query.resource == "click_view":
        yield from _clicks(request, customer, low, high)
        return
    for agd in world.iter_ad_group_days(customer.customer_id, low or world.start, high or world.end, now):
        yield {
            "customer": customer,
            "campaign": agd.campaign,
            "ad_group": agd.ad_group,
            "date": agd.day.isoformat(),
            "m": {
                "impressions": agd.impressions,
                "clicks": agd.clicks,
                "cost_micros": agd.cost_micros,
                "conversions": agd.conversions_at(now),
                "conversions_value": agd.conversions_value_at(now),
            },
        }


def _clicks(request: Request, customer: GoogleAdsCustomer, low: date | None, high: date | None):
    """click_view: one fact per click of one account day, Google's two limits first."""
    if low is None or low != high:
        raise _QueryRejected(
            _error(
                request,
                400,
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                {"clickViewError": "EXPECTED_FILTER_ON_A_SINGLE_DAY"},
                "Missing filter on a single day.",
            )
        )
    today = request.sandbox.now.astimezone(customer.tz).date()
    if low < today - timedelta(days=CLICK_VIEW_DAYS):
        raise _QueryRejected(
            _error(
                request,
                400,
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                {"clickViewError": "DATE_TOO_OLD"},
                "The requested date is too old.",
            )
        )
    world = request.sandbox.world
    for agd in world.iter_ad_group_days(customer.customer_id, low, high, request.sandbox.now):
        for gclid in agd.gclids():
            yield {
                "customer": customer,
                "campaign": agd.campaign,
                "ad_group": agd.ad_group,
                "click": Click(gclid),
                "date": agd.day.isoformat(),
                "m": {"impressions": 0, "clicks": 1, "cost_micros": 0, "conversions": 0.0, "conversions_value": 0.0},
            }


GRAIN = {  # the ids that make one row of each FROM resource
    "customer": (("customer", "customer_id"),),
    "campaign": (("customer", "customer_id"), ("campaign", "campaign_id")),
    "ad_group": (("customer", "customer_id"), ("campaign", "campaign_id"), ("ad_group", "ad_group_id")),
    "click_view": (("customer", "customer_id"), ("click", "gclid")),
    "customer_client": (("client", "customer_id"),),
}


def _group_key(query: Query, fact: dict) -> tuple:
    key = tuple(getattr(fact[part], attribute) for part, attribute in GRAIN[query.resource])
    return ((fact["date"],) if "segments.date" in query.fields else ()) + key


def _run(request: Request, customer: GoogleAdsCustomer, query: Query) -> list[dict]:
    _validate(request, customer, query)
    low, high = _date_bounds(request, customer, query)
    attribute_conditions = [c for c in query.conditions if not c.field.startswith("metrics.")]
    metric_conditions = [c for c in query.conditions if c.field.startswith("metrics.")]
    groups: dict[tuple, dict] = {}
    for fact in _facts(request, customer, query, low, high):
        if not all(_matches(FIELDS[c.field], FIELDS[c.field].get(fact), c) for c in attribute_conditions):
            continue
        key = _group_key(query, fact)
        group = groups.get(key)
        if group is None:
            groups[key] = group = dict(fact)
            if "m" in fact:
                group["m"] = dict(fact["m"])
        elif "m" in fact:
            for name in SUMMED_METRICS:
                group["m"][name] += fact["m"][name]
    rows = [g for _, g in sorted(groups.items(), key=lambda kv: kv[0])]
    rows = [g for g in rows if all(_matches(FIELDS[c.field], FIELDS[c.field].get(g), c) for c in metric_conditions)]
    for field, descending in reversed(query.order_by):
        rows.sort(key=lambda g, f=field: _typed(FIELDS[f], FIELDS[f].get(g)), reverse=descending)
    if query.limit is not None:
        rows = rows[: query.limit]
    return [_format(query, g) for g in rows]


def _typed(spec: FieldSpec, value):
    if value is None:
        return None
    if spec.kind in ("int64", "double"):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise GaqlError("BAD_NUMBER", f"Error in query: '{value}' is not a number.") from None
    if spec.kind == "bool":
        return str(value).upper() == "TRUE" if not isinstance(value, bool) else value
    return str(value)


def _matches(spec: FieldSpec, actual, condition: Condition) -> bool:
    op = condition.operator
    if op == "IS NULL":
        return actual is None
    if op == "IS NOT NULL":
        return actual is not None
    if op == "DURING":
        return True  # already applied as the date bounds
    value = _typed(spec, actual)
    targets = [_typed(spec, v) for v in condition.values]
    if op in ("LIKE", "NOT LIKE"):
        if spec.kind not in ("string", "enum"):
            raise GaqlError(
                "INVALID_VALUE_WITH_LIKE_OPERATOR", f"Error in query: LIKE needs a string field, not '{condition.field}'."
            )
        pattern = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in str(targets[0]))
        hit = re.fullmatch(pattern, value, re.DOTALL) is not None
        return hit if op == "LIKE" else not hit
    if op == "IN":
        return value in targets
    if op == "NOT IN":
        return value not in targets
    if op == "BETWEEN":
        return targets[0] <= value <= targets[1]
    return {
        "=": value == targets[0],
        "!=": value != targets[0],
        ">": value > targets[0],
        ">=": value >= targets[0],
        "<": value < targets[0],
        "<=": value <= targets[0],
    }[op]


def _format(query: Query, group: dict) -> dict:
    """One GoogleAdsRow: an object per selected resource (with its resourceName), metrics, segments."""
    row: dict = {}

    def section(resource: str) -> dict:
        key = _camel(resource)
        if key not in row:
            row[key] = (
                {} if resource in ("metrics", "segments") else {"resourceName": FIELDS[f"{resource}.resource_name"].get(group)}
            )
        return row[key]

    section(query.resource)
    for field in query.fields:
        resource, name = field.split(".", 1)
        spec = FIELDS[field]
        section(resource)[_camel(name)] = _wire(spec, spec.get(group))
    return row


def _wire(spec: FieldSpec, value):
    if spec.kind == "int64":
        return str(value)  # int64 is a JSON string in Google's REST mapping
    if spec.kind == "double":
        return float(value)
    return value


ROUTES = [
    ("POST", r"/v(?P<version>\d+)/customers/(?P<customer>\d+)/googleAds:searchStream", search_stream),
]
