"""Meta Marketing API (Graph API): ad account and ad-level insights, synchronous and as report runs.

Contract: Meta's Marketing API reference, with the evidence listed under "Verified against" in
extractors/sources/meta_ads.py; field names and types follow tests/specs/meta (AdAccount.json, AdsInsights.json, enum_types.json). Numbers are
strings, paging is cursor based with a full ``next`` URL, errors are the Graph
API error envelope.

    GET  /vNN.0/act_{id}                                   the ad account
    GET  /vNN.0/act_{id}/insights?level=ad&time_increment=1&time_range=...&filtering=...
    POST /vNN.0/act_{id}/insights (same parameters)        -> {"report_run_id": "..."}
    GET  /vNN.0/{report_run_id}                            -> AdReportRun: async_status, async_percent_completion
    GET  /vNN.0/{report_run_id}/insights?limit=&after=     the finished report, paged like the synchronous answer

Versions: a version past its expiry at the sandbox clock (Meta's "Marketing API version history",
``MARKETING_API_VERSIONS``; any version older than the table is long expired) is refused as Meta
refuses it, HTTP 400 code 2635 naming the latest version. With ``Sandbox.meta_auto_upgrade`` (an app
that kept Meta's version auto-upgrade on) the call is served instead, as the next available version,
with an ``X-Ad-Api-Version-Warning`` header (its wording is the sandbox's: Meta's is not documented).

Large requests: a synchronous request for more than ``SYNC_ROW_LIMIT`` rows is refused as Meta refuses
big ad x day reads on large accounts, HTTP 500 code 1 "Please reduce the amount of data you're asking
for, then retry your request" (facebook-python-business-sdk #470, Airbyte's fb_call_amount_data_response
fixture). Meta publishes no threshold; the demo accounts stay under it, tests lower it to play a large
account. Report runs have no limit: a run starts "Job Not Started" and advances one state per poll
("Job Running" at 50%, then "Job Completed"); its rows are computed at the clock it was created, so
its pages agree with each other. A failed or skipped run is injected with the fault plan
(``report_failed``). Reading a run's insights before it completed is refused with (#100): the sandbox's
choice, Meta does not document that answer.

Statuses: account-level insights leave out ads whose effective_status is DELETED unless
``filtering=[{"field": "ad.effective_status", "operator": "IN", "value": [...]}]`` asks for them
(Meta, "Manage your ad object's status"; with a filter, only the statuses listed come back).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qs, urlencode

from sandbox.apis import facebook
from sandbox.http import Request, Response
from sandbox.world_meta import AD_ACCOUNTS

ACCOUNTS = {a.account_id: a for a in AD_ACCOUNTS}
INSIGHTS_DEFAULT_LIMIT = 25
INSIGHTS_MAX_LIMIT = 5000
SYNC_ROW_LIMIT = 1000  # rows one synchronous insights request may ask for (the demo accounts: 720 in 90 days)

# version: (released, expires or None while unannounced), Meta's "Marketing API version history".
MARKETING_API_VERSIONS = {
    "v21.0": (date(2024, 10, 2), date(2025, 9, 9)),
    "v22.0": (date(2025, 1, 21), date(2026, 2, 19)),
    "v23.0": (date(2025, 5, 29), date(2026, 6, 9)),
    "v24.0": (date(2025, 10, 8), date(2026, 11, 10)),
    "v25.0": (date(2026, 2, 18), date(2027, 2, 23)),
    "v26.0": (date(2026, 7, 29), None),
    "v27.0": (date(2026, 11, 4), None),
}
# Meta's Ad_effective_status values (tests/specs/meta/enum_types.json).
AD_EFFECTIVE_STATUSES = (
    "ACTIVE",
    "ADSET_PAUSED",
    "ARCHIVED",
    "CAMPAIGN_PAUSED",
    "DELETED",
    "DISAPPROVED",
    "IN_PROCESS",
    "PAUSED",
    "PENDING_BILLING_INFO",
    "PENDING_REVIEW",
    "PREAPPROVED",
    "WITH_ISSUES",
)
DEFAULT_STATUSES = frozenset(AD_EFFECTIVE_STATUSES) - {"DELETED"}  # what the account edge shows unless asked
TOO_MUCH_DATA = "Please reduce the amount of data you're asking for, then retry your request"
JOB_STATES = (("Job Not Started", 0), ("Job Running", 50), ("Job Completed", 100))  # one step per poll
_VERSION = re.compile(r"/(v(\d+)\.(\d+))/")
_jobs_lock = threading.Lock()


class _Refusal(Exception):
    def __init__(
        self, message: str, type_: str = "OAuthException", code: int = 100, status: int = 400, subcode: int | None = None
    ):
        super().__init__(message)
        self.message, self.type, self.code, self.status, self.subcode = message, type_, code, status, subcode


def _error(request: Request, message: str, type_: str, code: int, status: int = 400, subcode: int | None = None) -> Response:
    err = {"message": message, "type": type_, "code": code, "fbtrace_id": request.correlation_id().replace("-", "")[:22]}
    if subcode is not None:
        err["error_subcode"] = subcode
    return Response(status, {"error": err})


def _check_auth(request: Request) -> Response | None:
    token = request.query.get("access_token") or request.bearer_token()
    if token is None:
        return _error(request, "An access token is required to request this resource.", "OAuthException", 104)
    if token != request.sandbox.tokens["meta"]:
        return _error(request, "Invalid OAuth access token - Cannot parse access token", "OAuthException", 190)
    return None


def _version_key(version: str) -> tuple[int, int]:
    major, minor = version[1:].split(".")
    return int(major), int(minor)


def _version_answer(request: Request) -> tuple[Response | None, dict[str, str]]:
    """(a refusal, or None) and the headers of a served answer, for the version in the path."""
    m = _VERSION.match(request.path + "/")
    version = m.group(1)
    today = request.sandbox.now.date()
    expires = MARKETING_API_VERSIONS.get(version, (None, None))[1]
    oldest_known = min(MARKETING_API_VERSIONS, key=_version_key)
    expired = (expires is not None and expires <= today) or _version_key(version) < _version_key(oldest_known)
    if not expired:
        return None, {}
    live = sorted(
        (v for v, (released, ends) in MARKETING_API_VERSIONS.items() if released <= today and (ends is None or ends > today)),
        key=_version_key,
    )
    if request.sandbox.meta_auto_upgrade and live:
        return None, {"X-Ad-Api-Version-Warning": f"{version} is deprecated: this call was upgraded to {live[0]}"}
    latest = live[-1] if live else max(MARKETING_API_VERSIONS, key=_version_key)
    return _error(
        request,
        f"(#2635) You are calling a deprecated version of the Ads API. Please update to the latest version: {latest}.",
        "OAuthException",
        2635,
    ), {}


def _marketing(handler):
    """Auth, then the version check, then the endpoint; the version's headers go on its answer."""

    def handle(request: Request) -> Response:
        if (denied := _check_auth(request)) is not None:
            return denied
        refused, headers = _version_answer(request)
        if refused is not None:
            return refused
        try:
            response = handler(request)
        except _Refusal as e:
            return _error(request, e.message, e.type, e.code, e.status, e.subcode)
        response.headers.update(headers)
        return response

    return handle


def _account(request: Request):
    account = ACCOUNTS.get(request.match["account"])
    if account is None:
        raise _Refusal(
            f"Unsupported get request. Object with ID 'act_{request.match['account']}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation.",
            "GraphMethodException",
            subcode=33,
        )
    return account


def get_account(request: Request) -> Response:
    account = _account(request)
    record = {
        "id": f"act_{account.account_id}",
        "account_id": account.account_id,
        "name": account.name,
        "currency": account.currency,
        "timezone_name": account.timezone_name,
        "timezone_offset_hours_utc": account.timezone_offset_hours_utc,
    }
    fields = [f for f in request.query.get("fields", "").split(",") if f]
    return Response(200, {k: v for k, v in record.items() if not fields or k in fields or k == "id"})


# ---- the report a request describes ------------------------------------------------------


@dataclass(frozen=True)
class _Report:
    account_id: str
    since: date
    until: date
    fields: tuple[str, ...]
    statuses: frozenset[str]

    def rows(self, request: Request, as_of) -> list[dict]:
        world = request.sandbox.world
        rows = [
            r
            for r in world.insights_rows(self.account_id, self.since, self.until, as_of)
            if world.ad_effective_status(r["ad_id"], as_of) in self.statuses
        ]
        return [
            {k: v for k, v in row.items() if not self.fields or k in self.fields or k in ("date_start", "date_stop")}
            for row in rows
        ]


def _report(request: Request, q: dict[str, str]) -> _Report:
    account = _account(request)
    # Meta's defaults are level=account and one row for the whole range; the sandbox
    # serves the ad-level daily report only, so a request relying on defaults is refused, not guessed.
    if q.get("level") != "ad" or q.get("time_increment") != "1":
        raise _Refusal("(#100) The sandbox serves insights with level=ad and time_increment=1 only")
    try:
        time_range = json.loads(q["time_range"])
        since, until = date.fromisoformat(time_range["since"]), date.fromisoformat(time_range["until"])
    except (KeyError, ValueError, TypeError):
        raise _Refusal("(#100) Param time_range must be a JSON object with since and until (YYYY-MM-DD)") from None
    if since > until:
        raise _Refusal("(#100) time_range since must be on or before until")
    fields = tuple(f for f in q.get("fields", "").split(",") if f)
    return _Report(account.account_id, since, until, fields, _statuses(q.get("filtering")))


def _statuses(text: str | None) -> frozenset[str]:
    """The effective statuses a ``filtering`` parameter asks for (Meta's default when it names none)."""
    if not text:
        return DEFAULT_STATUSES
    try:
        filters = json.loads(text)
        if not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters):
            raise ValueError(text)
    except ValueError:
        raise _Refusal("(#100) Param filtering must be a JSON array of {field, operator, value} objects") from None
    statuses = set(DEFAULT_STATUSES)
    for f in filters:
        if f.get("field") != "ad.effective_status" or f.get("operator") not in ("IN", "NOT_IN"):
            raise _Refusal("(#100) The sandbox filters insights on ad.effective_status with IN or NOT_IN only")
        values = f.get("value")
        if not isinstance(values, list) or not values or any(v not in AD_EFFECTIVE_STATUSES for v in values):
            raise _Refusal(f"(#100) Filtering field ad.effective_status takes a list of {', '.join(AD_EFFECTIVE_STATUSES)}")
        statuses = set(values) if f["operator"] == "IN" else set(AD_EFFECTIVE_STATUSES) - set(values)
    return frozenset(statuses)


def _page(request: Request, rows: list[dict], q: dict[str, str]) -> dict:
    try:
        limit = min(int(q.get("limit", INSIGHTS_DEFAULT_LIMIT)), INSIGHTS_MAX_LIMIT)
        if limit < 1:
            raise ValueError(limit)
    except ValueError:
        raise _Refusal(f"(#100) Param limit must be a positive integer, not '{q.get('limit')}'") from None
    try:
        offset = _decode_cursor(q["after"]) if q.get("after") else 0
    except ValueError:
        raise _Refusal(f"(#100) Invalid paging cursor after='{q['after']}'") from None
    data = rows[offset : offset + limit]
    body: dict = {"data": data}
    if data:
        cursor = lambda n: base64.b64encode(str(n).encode()).decode()  # noqa: E731
        body["paging"] = {"cursors": {"before": cursor(offset), "after": cursor(offset + len(data))}}
        if offset + limit < len(rows):
            next_query = {k: v for k, v in q.items() if k != "after"} | {"after": cursor(offset + len(data))}
            body["paging"]["next"] = f"{request.base_url}{request.path}?{urlencode(next_query)}"
    return body


def get_insights(request: Request) -> Response:
    q = request.query
    report = _report(request, q)
    rows = report.rows(request, request.sandbox.now)
    if len(rows) > SYNC_ROW_LIMIT:
        # Meta's answer carries the code and the message only (no type, no subcode).
        return Response(500, {"error": {"message": TOO_MUCH_DATA, "code": 1}})
    return Response(200, _page(request, rows, q))


# ---- report runs -------------------------------------------------------------------------


def _jobs(request: Request) -> dict:
    with _jobs_lock:
        return request.sandbox.cache.setdefault("meta_report_runs", {})


def post_insights(request: Request) -> Response:
    """Start a report run: the parameters come in the form body (as the SDKs send them) or the query."""
    form = {k: v[-1] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()} if request.body else {}
    q = {**request.query, **form}
    report = _report(request, q)
    jobs = _jobs(request)
    with _jobs_lock:
        # Deterministic ids: the same requests in the same order give the same ids on any server.
        n = sum(1 for j in jobs.values() if j["report"] == report)
        digest = hashlib.sha256(f"{report}:{n}".encode()).hexdigest()
        run_id = "6" + str(int(digest[:16], 16) % 10**14).zfill(14)
        jobs[run_id] = {"report": report, "as_of": request.sandbox.now, "polls": 0}
    return Response(200, {"report_run_id": run_id})


def _run_node(run_id: str, job: dict) -> dict:
    status, percent = JOB_STATES[min(job["polls"], len(JOB_STATES) - 1)]
    report = job["report"]
    node = {
        "id": run_id,
        "account_id": report.account_id,
        "time_ref": int(job["as_of"].timestamp()),
        "async_status": status,
        "async_percent_completion": percent,
        "date_start": report.since.isoformat(),
        "date_stop": report.until.isoformat(),
        "is_running": percent < 100,
    }
    if percent == 100:
        node["time_completed"] = int(job["as_of"].timestamp())
    return node


def get_report_run(request: Request) -> Response:
    run_id = request.match["node"]
    job = _jobs(request)[run_id]
    with _jobs_lock:
        job["polls"] += 1
    return Response(200, _run_node(run_id, job))


def get_report_run_insights(request: Request) -> Response:
    run_id = request.match["node"]
    job = _jobs(request)[run_id]
    status, percent = JOB_STATES[min(job["polls"], len(JOB_STATES) - 1)]
    if percent < 100:
        raise _Refusal(f"(#100) The report {run_id} is not ready: its async_status is {status}")
    return Response(200, _page(request, job["report"].rows(request, job["as_of"]), request.query))


def _report_run_or_graph(run_handler, graph_handler):
    """Report runs and Graph nodes share the path /vNN.0/{id}: a known run is ours, any other id Graph's."""
    marketing = _marketing(run_handler)

    def handle(request: Request) -> Response:
        return marketing(request) if request.match["node"] in _jobs(request) else graph_handler(request)

    return handle


def _decode_cursor(cursor: str) -> int:
    try:
        offset = int(base64.b64decode(cursor, validate=True).decode())
    except (ValueError, UnicodeDecodeError) as exc:  # binascii.Error is a ValueError
        raise ValueError(cursor) from exc
    if offset < 0:
        raise ValueError(cursor)
    return offset


def _routes():
    return [
        ("GET", r"/v\d+\.\d+/act_(?P<account>\d+)", _marketing(get_account)),
        ("GET", r"/v\d+\.\d+/act_(?P<account>\d+)/insights", _marketing(get_insights)),
        ("POST", r"/v\d+\.\d+/act_(?P<account>\d+)/insights", _marketing(post_insights)),
        ("GET", r"/v\d+\.\d+/(?P<node>\d+)", _report_run_or_graph(get_report_run, facebook.node_handler)),
        ("GET", r"/v\d+\.\d+/(?P<node>\d+)/insights", _report_run_or_graph(get_report_run_insights, facebook.insights_handler)),
    ]


ROUTES = _routes()
