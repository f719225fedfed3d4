"""Yandex Direct API v5, the Reports service, over the world's Direct account (world_yandex_direct.py).

    POST /json/v5/reports
    Authorization: Bearer <OAuth token>; Client-Login: <advertiser login> (an agency's token);
    processingMode: online | offline | auto (default auto); returnMoneyInMicros: false (else money
    in micros); skipReportHeader / skipColumnHeader / skipReportSummary: true
    {"params": {"SelectionCriteria": {"DateFrom", "DateTo", "Filter": [{"Field", "Operator", "Values"}]},
                "FieldNames": [...], "ReportName": "...", "ReportType": "CUSTOM_REPORT", "DateRangeType":
                "CUSTOM_DATE", "Format": "TSV", "IncludeVAT": "YES" | "NO", "IncludeDiscount": "YES" | "NO"}}

The answer is TSV in UTF-8: a title line (the report name and its dates), the header line of
FieldNames, one line per row, and "Total rows: N", each of the three left out on request.
Money (Cost) is an integer of micros unless ``returnMoneyInMicros: false`` (then two decimals); a
metric without a value is "--". Cost includes VAT when IncludeVAT is YES.

Online or offline: in auto mode a report of more than ONLINE_ROW_LIMIT rows (and every report in
offline mode) is queued: the first request answers 201 with ``retryIn`` (seconds) and
``reportsInQueue``, the identical request answers 202 while it is built (POLLS_TO_BUILD), then
200 with the report as of the moment it was queued. A queued report is kept 5 hours of the
sandbox clock; at most 5 reports wait per advertiser (a sixth: HTTP 400 error_code 9000). A
ReportName already used for other parameters is refused (HTTP 400 error_code 4000).

    POST /json/v5/campaigns
    {"method": "get", "params": {"SelectionCriteria": {}, "FieldNames": ["Id", "Name", "Currency", "TimeZone", ...],
                                 "Page": {"Limit": N, "Offset": M}}}
        the advertiser's campaigns: ``{"result": {"Campaigns": [...], "LimitedBy": M + N}}``, LimitedBy only
        when more campaigns follow (the next Offset).

Errors: HTTP 400 (500 for a server error) with ``{"error": {"request_id", "error_code",
"error_string", "error_detail"}}``: 53 an invalid token, 54 a Client-Login that is not the token's
client, 8000 an invalid request (a missing or unknown parameter or field).

Verified against: Yandex Direct API v5 docs "Reports service", "Request: report specification",
"HTTP headers" (processingMode, returnMoneyInMicros, the skip* headers, retryIn, reportsInQueue),
"Report content" (title, header, rows, row count), "Online and offline reports", "Response codes
and errors" (200, 201, 202, 400, 500, 502 and the error structure), "Restrictions" (20 requests in
10 s, 5 offline reports queued, 5 hours kept) and "Errors and warnings" (52, 53, 54, 58, 1000-1002);
tapi-yandex-direct (201/202 repeated after retryIn; error 9000 the full queue, 56 and 506 request limits).
and the Campaigns service's get (CampaignFieldEnum, Page, LimitedBy).
Not verified: the exact text of the title and total lines; "--" for a metric without a value;
the error codes of a reused ReportName (4000 here) and of an invalid request (8000); the HTTP
status of an authorization error (400 here); the row count at which auto mode goes offline.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import date, timedelta
from decimal import Decimal

from sandbox.server import Request, Response
from sandbox.world_yandex_direct import DIRECT_ACCOUNT, DIRECT_CAMPAIGNS, DirectAdGroupDay

ONLINE_ROW_LIMIT = 100
POLLS_TO_BUILD = 2  # 201, then 202 once, then the report
RETRY_IN_S = 1
MAX_QUEUED = 5
KEPT_FOR = timedelta(hours=5)
REQUIRED = ("SelectionCriteria", "FieldNames", "ReportName", "ReportType", "DateRangeType", "Format", "IncludeVAT")
REPORT_TYPES = ("CUSTOM_REPORT", "ADGROUP_PERFORMANCE_REPORT", "CAMPAIGN_PERFORMANCE_REPORT")
TSV = "text/tab-separated-values; charset=utf-8"


def _money(micros: int, in_micros: bool) -> str:
    return str(micros) if in_micros else f"{Decimal(micros) / 1_000_000:.2f}"


FIELDS = {
    "Date": lambda d, as_of, vat, micros: d.day.isoformat(),
    "CampaignId": lambda d, as_of, vat, micros: d.campaign.campaign_id,
    "CampaignName": lambda d, as_of, vat, micros: d.campaign.name,
    "CampaignType": lambda d, as_of, vat, micros: "TEXT_CAMPAIGN",
    "AdGroupId": lambda d, as_of, vat, micros: d.ad_group.ad_group_id,
    "AdGroupName": lambda d, as_of, vat, micros: d.ad_group.name,
    "Impressions": lambda d, as_of, vat, micros: str(d.impressions),
    "Clicks": lambda d, as_of, vat, micros: str(d.clicks),
    "Cost": lambda d, as_of, vat, micros: _money(d.cost_micros_with(vat), micros),
    "Conversions": lambda d, as_of, vat, micros: str(d.conversions_at(as_of)) if d.conversions_at(as_of) else "--",
}
GROUPING = ("Date", "CampaignId", "CampaignName", "CampaignType", "AdGroupId", "AdGroupName")
_lock = threading.Lock()


class _Refusal(Exception):
    def __init__(self, code: int, string: str, detail: str, status: int = 400):
        super().__init__(detail)
        self.code, self.string, self.detail, self.status = code, string, detail, status


def _error(request: Request, refusal: _Refusal) -> Response:
    request_id = str(int(request.correlation_id().replace("-", "")[:15], 16))
    return Response(refusal.status, {"error": {"request_id": request_id, "error_code": str(refusal.code),
                                               "error_string": refusal.string, "error_detail": refusal.detail}},
                    {"RequestId": request_id})


def _flag(request: Request, name: str) -> bool:
    return request.headers.get(name.lower(), "").strip().lower() == "true"


def _spec(request: Request) -> dict:
    try:
        params = request.json().get("params")
    except (ValueError, AttributeError):
        params = None
    if not isinstance(params, dict):
        raise _Refusal(8000, "Invalid request", "The request must be a JSON object with 'params'")
    for name in REQUIRED:
        if name not in params:
            raise _Refusal(8000, "Invalid request", f"ReportDefinition is missing the required field {name}")
    if params["ReportType"] not in REPORT_TYPES or params["Format"] != "TSV" or params["IncludeVAT"] not in ("YES", "NO"):
        raise _Refusal(8000, "Invalid request", "Invalid value of ReportType, Format or IncludeVAT")
    unknown = [f for f in params["FieldNames"] if f not in FIELDS]
    if unknown or not params["FieldNames"]:
        raise _Refusal(8000, "Invalid request", f"Unknown FieldNames: {', '.join(unknown) or '(none given)'}")
    if params["DateRangeType"] != "CUSTOM_DATE":
        raise _Refusal(8000, "Invalid request", "The sandbox serves DateRangeType CUSTOM_DATE only")
    criteria = params["SelectionCriteria"]
    try:
        since, until = date.fromisoformat(criteria["DateFrom"]), date.fromisoformat(criteria["DateTo"])
    except (KeyError, TypeError, ValueError):
        raise _Refusal(8000, "Invalid request", "CUSTOM_DATE needs DateFrom and DateTo as YYYY-MM-DD") from None
    if since > until:
        raise _Refusal(4001, "Invalid request parameters", "DateFrom is later than DateTo")
    return params | {"_since": since, "_until": until}


def _matches(d: DirectAdGroupDay, filters: list[dict]) -> bool:
    for f in filters:
        value = {"CampaignId": d.campaign.campaign_id, "AdGroupId": d.ad_group.ad_group_id}.get(f.get("Field"))
        values = [str(v) for v in f.get("Values") or []]
        if f.get("Operator") in ("EQUALS", "IN") and value not in values:
            return False
        if f.get("Operator") in ("NOT_EQUALS", "NOT_IN") and value in values:
            return False
    return True


def _rows(request: Request, spec: dict, as_of, include_vat: bool, micros: bool) -> list[list[str]]:
    """The report's rows: metrics summed over what the FieldNames do not group by."""
    fields = spec["FieldNames"]
    grouped: dict[tuple, list] = {}
    filters = spec["SelectionCriteria"].get("Filter") or []
    for d in request.sandbox.world.iter_direct_days(spec["_since"], spec["_until"], as_of):
        if not _matches(d, filters):
            continue
        key = tuple(FIELDS[f](d, as_of, include_vat, micros) for f in fields if f in GROUPING)
        grouped.setdefault(key, []).append(d)
    out = []
    for key, days in grouped.items():
        values, dims = [], iter(key)
        for f in fields:
            if f in GROUPING:
                values.append(next(dims))
            elif f == "Cost":
                values.append(_money(sum(d.cost_micros_with(include_vat) for d in days), micros))
            else:
                total = sum(int(FIELDS[f](d, as_of, include_vat, micros).replace("--", "0")) for d in days)
                values.append(str(total) if total or f != "Conversions" else "--")
        out.append(values)
    return out


def _tsv(request: Request, spec: dict, rows: list[list[str]]) -> bytes:
    lines = []
    if not _flag(request, "skipReportHeader"):
        lines.append(f'"{spec["ReportName"]} ({spec["_since"]} - {spec["_until"]})"')
    if not _flag(request, "skipColumnHeader"):
        lines.append("\t".join(spec["FieldNames"]))
    lines += ["\t".join(r) for r in rows]
    if not _flag(request, "skipReportSummary"):
        lines.append(f"Total rows: {len(rows)}")
    return ("\n".join(lines) + "\n").encode()


def _queue(request: Request) -> dict:
    with _lock:
        return request.sandbox.cache.setdefault("yandex_direct_reports", {})


def post_report(request: Request) -> Response:
    try:
        return _report(request)
    except _Refusal as refusal:
        return _error(request, refusal)


def _report(request: Request) -> Response:
    sandbox = request.sandbox
    if request.bearer_token() != sandbox.tokens["yandex_direct"]:
        raise _Refusal(53, "Authorization error", "Invalid OAuth token")
    login = request.headers.get("client-login") or DIRECT_ACCOUNT.client_login
    if login != DIRECT_ACCOUNT.client_login:
        raise _Refusal(54, "No rights", f"The advertiser {login} is not a client of the agency")
    spec = _spec(request)
    include_vat, micros = spec["IncludeVAT"] == "YES", request.headers.get("returnmoneyinmicros", "").lower() != "false"
    mode = request.headers.get("processingmode", "auto").lower()
    # What makes two requests "the same": the definition and the headers that shape the answer.
    shape = {k: v for k, v in spec.items() if not k.startswith("_")}
    shape["_headers"] = [micros, *(_flag(request, h) for h in ("skipReportHeader", "skipColumnHeader", "skipReportSummary"))]
    fingerprint = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()
    queue = _queue(request)
    with _lock:
        for name, job in list(queue.items()):
            if sandbox.now - job["queued_at"] > KEPT_FOR:
                del queue[name]
        key = (login, spec["ReportName"])
        job = queue.get(key)
        if job is not None and job["fingerprint"] != fingerprint:
            raise _Refusal(4000, "Invalid request parameters",
                           f"A report named {spec['ReportName']} already exists with other parameters: give it another ReportName")
        if job is None:
            rows = _rows(request, spec, sandbox.now, include_vat, micros)
            if mode == "online" or (mode == "auto" and len(rows) <= ONLINE_ROW_LIMIT):
                return Response(200, _tsv(request, spec, rows), content_type=TSV)
            waiting = sum(1 for (owner, _), j in queue.items() if owner == login and j["polls"] < POLLS_TO_BUILD)
            if waiting >= MAX_QUEUED:
                raise _Refusal(9000, "Limit of reports in the queue exceeded",
                               f"At most {MAX_QUEUED} offline reports may wait at once; repeat the request later")
            queue[key] = {"fingerprint": fingerprint, "queued_at": sandbox.now, "polls": 0,
                          "body": _tsv(request, spec, rows)}  # as of the moment it was queued
            return _pending(201, waiting + 1)
        job["polls"] += 1
        if job["polls"] < POLLS_TO_BUILD:
            return _pending(202, sum(1 for (owner, _), j in queue.items() if owner == login and j["polls"] < POLLS_TO_BUILD))
        return Response(200, job["body"], content_type=TSV)


CAMPAIGN_FIELDS = {
    "Id": lambda c: int(c.campaign_id), "Name": lambda c: c.name, "Currency": lambda c: c.account.currency,
    "TimeZone": lambda c: c.account.time_zone, "State": lambda c: "ON", "Status": lambda c: "ACCEPTED",
    "Type": lambda c: "TEXT_CAMPAIGN", "ClientInfo": lambda c: c.account.name,
}


def post_campaigns(request: Request) -> Response:
    try:
        if request.bearer_token() != request.sandbox.tokens["yandex_direct"]:
            raise _Refusal(53, "Authorization error", "Invalid OAuth token")
        login = request.headers.get("client-login") or DIRECT_ACCOUNT.client_login
        if login != DIRECT_ACCOUNT.client_login:
            raise _Refusal(54, "No rights", f"The advertiser {login} is not a client of the agency")
        try:
            body = request.json()
        except ValueError:
            body = {}
        params = body.get("params") if isinstance(body, dict) and body.get("method") == "get" else None
        if not isinstance(params, dict) or "SelectionCriteria" not in params or not params.get("FieldNames"):
            raise _Refusal(8000, "Invalid request", "get needs params with SelectionCriteria and FieldNames")
        unknown = [f for f in params["FieldNames"] if f not in CAMPAIGN_FIELDS]
        if unknown:
            raise _Refusal(8000, "Invalid request", f"Unknown FieldNames: {', '.join(unknown)}")
        page = params.get("Page") or {}
        limit, offset = int(page.get("Limit", 10_000)), int(page.get("Offset", 0))
        campaigns = [c for c in DIRECT_CAMPAIGNS if c.account.client_login == login]
        result = {"Campaigns": [{f: CAMPAIGN_FIELDS[f](c) for f in params["FieldNames"]} for c in campaigns[offset:offset + limit]]}
        if offset + limit < len(campaigns):
            result["LimitedBy"] = offset + limit
        return Response(200, {"result": result})
    except _Refusal as refusal:
        return _error(request, refusal)


def _pending(status: int, in_queue: int) -> Response:
    return Response(status, b"", {"retryIn": str(RETRY_IN_S), "reportsInQueue": str(in_queue)}, content_type=TSV)


ROUTES = [("POST", r"/json/v5/reports", post_report), ("POST", r"/json/v5/campaigns", post_campaigns)]
