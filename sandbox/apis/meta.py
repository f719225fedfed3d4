"""Meta Marketing API (Graph API): ad account and ad-level insights.

Contract: ../shared/CONTRACTS.md "Ads: Meta Marketing API"; field names and
types follow tests/specs/meta (AdAccount.json, AdsInsights.json). Numbers are
strings, paging is cursor based with a full ``next`` URL, errors are the Graph
API error envelope.
"""

from __future__ import annotations

import base64
import json
from datetime import date
from urllib.parse import urlencode

from sandbox.server import Request, Response
from sandbox.world import AD_ACCOUNTS

ACCOUNTS = {a.account_id: a for a in AD_ACCOUNTS}
INSIGHTS_DEFAULT_LIMIT = 25
INSIGHTS_MAX_LIMIT = 5000


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


def _account(request: Request):
    account = ACCOUNTS.get(request.match["account"])
    if account is None:
        return None, _error(request, f"Unsupported get request. Object with ID 'act_{request.match['account']}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", "GraphMethodException", 100, subcode=33)
    return account, None


def get_account(request: Request) -> Response:
    if (denied := _check_auth(request)) is not None:
        return denied
    account, missing = _account(request)
    if missing:
        return missing
    record = {"id": f"act_{account.account_id}", "account_id": account.account_id, "name": account.name,
              "currency": account.currency, "timezone_name": account.timezone_name,
              "timezone_offset_hours_utc": account.timezone_offset_hours_utc}
    fields = [f for f in request.query.get("fields", "").split(",") if f]
    return Response(200, {k: v for k, v in record.items() if not fields or k in fields or k == "id"})


def get_insights(request: Request) -> Response:
    if (denied := _check_auth(request)) is not None:
        return denied
    account, missing = _account(request)
    if missing:
        return missing
    q = request.query
    # Meta's defaults are level=account and one row for the whole range; the sandbox
    # serves the ad-level daily report only, so a request relying on defaults is refused, not guessed.
    if q.get("level") != "ad" or q.get("time_increment") != "1":
        return _error(request, "(#100) The sandbox serves insights with level=ad and time_increment=1 only", "OAuthException", 100)
    try:
        time_range = json.loads(q["time_range"])
        since, until = date.fromisoformat(time_range["since"]), date.fromisoformat(time_range["until"])
    except (KeyError, ValueError, TypeError):
        return _error(request, "(#100) Param time_range must be a JSON object with since and until (YYYY-MM-DD)", "OAuthException", 100)
    if since > until:
        return _error(request, "(#100) time_range since must be on or before until", "OAuthException", 100)
    try:
        limit = min(int(q.get("limit", INSIGHTS_DEFAULT_LIMIT)), INSIGHTS_MAX_LIMIT)
        if limit < 1:
            raise ValueError(limit)
    except ValueError:
        return _error(request, f"(#100) Param limit must be a positive integer, not '{q.get('limit')}'", "OAuthException", 100)
    try:
        offset = _decode_cursor(q["after"]) if q.get("after") else 0
    except ValueError:
        return _error(request, f"(#100) Invalid paging cursor after='{q['after']}'", "OAuthException", 100)
    fields = [f for f in q.get("fields", "").split(",") if f]
    rows = request.sandbox.world.insights_rows(account.account_id, since, until, request.sandbox.now)
    page = rows[offset:offset + limit]
    data = [{k: v for k, v in row.items() if not fields or k in fields or k in ("date_start", "date_stop")} for row in page]
    body: dict = {"data": data}
    if data:
        cursor = lambda n: base64.b64encode(str(n).encode()).decode()  # noqa: E731
        body["paging"] = {"cursors": {"before": cursor(offset), "after": cursor(offset + len(page))}}
        if offset + limit < len(rows):
            next_query = {k: v for k, v in q.items() if k != "after"} | {"after": cursor(offset + len(page))}
            body["paging"]["next"] = f"{request.base_url}{request.path}?{urlencode(next_query)}"
    return Response(200, body)


def _decode_cursor(cursor: str) -> int:
    try:
        offset = int(base64.b64decode(cursor, validate=True).decode())
    except (ValueError, UnicodeDecodeError) as exc:  # binascii.Error is a ValueError
        raise ValueError(cursor) from exc
    if offset < 0:
        raise ValueError(cursor)
    return offset


ROUTES = [
    ("GET", r"/v\d+\.\d+/act_(?P<account>\d+)", get_account),
    ("GET", r"/v\d+\.\d+/act_(?P<account>\d+)/insights", get_insights),
]
