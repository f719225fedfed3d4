"""Yandex Direct API v5, the Reports service: ad-group daily statistics
(https://yandex.com/dev/direct/doc/en/reports).

Credentials: Airflow connection ``yandex_direct``: host = https://api.direct.yandex.com,
password = an OAuth token of the advertiser or of its agency (sent as Bearer), extra
``{"client_logins": ["advertiser-login", ...]}`` (sent as Client-Login: required when an agency's
token reads a client; an advertiser's own login otherwise) and optionally ``"start_date":
"YYYY-MM-DD"``, ``"lookback_days": 7``, ``"report_timeout_s": 1800``.

Streams: ``campaigns`` (``POST /json/v5/campaigns``, method get: each campaign's name, currency and
time zone, paged by Page.Offset while LimitedBy says more follow) and ``ad_group_performance``:
``POST /json/v5/reports`` with a CUSTOM_REPORT of Date,
campaign, ad group, Impressions, Clicks, Cost and Conversions over the window's days
(DateRangeType CUSTOM_DATE, Format TSV). Cost is without VAT (IncludeVAT: NO), as Google and Meta
report theirs, and without discounts (IncludeDiscount: NO); it comes in micros of the account
currency (no ``returnMoneyInMicros: false`` header), exact integers that staging divides by
1,000,000. Dates are the account's days (Moscow time for Russian accounts). Conversions are
Yandex Metrica goal reaches, which keep arriving for days, so each run re-reads the last
``lookback_days`` (default 7) and those days replace what was loaded.

A report is TSV: the title line is skipped (``skipReportHeader: true``), the header line names the
columns and "Total rows: N" ends it, so that a body cut short is recognised and asked for again
(as a truncated JSON body is). A metric without a value is "--" and lands as sent.

Online or offline: Direct answers 200 with the report, or 201 (queued) / 202 (being built) with
``retryIn`` seconds; the identical request is sent again after that wait, until 200 or
``report_timeout_s`` (30 minutes). Each distinct request has its own ReportName (Direct keeps an
offline report 5 hours and answers a reused name with it, or refuses it for other parameters).
HTTP 400 error 9000 (5 offline reports already queued) and 56 / 506 (request limits) wait and try
again within the same bound; 500 and 502 are retried by the shared client; 53 and 58 (the token)
stop the source, 54 (no rights on the Client-Login) fails that account, any other 400 is a
refusal with Direct's own words. The client keeps under 20 requests per 10 s (per user).

Verified against: the Reports service pages of the Yandex Direct API v5 docs ("Request: report
specification", "HTTP headers", "Report content", "Online and offline reports", "Response codes
and errors", "Restrictions") and "Errors and warnings" (52, 53, 54, 58, 1000-1002);
tapi-yandex-direct's reports handling (201/202 repeated after retryIn, 9000 / 56 / 506 waited on).
Not verified: the wording of the "Total rows" line (only its number is read); "--" for an empty
metric; whether sending an advertiser's own login as Client-Login is accepted everywhere;
the length limit of ReportName.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import requests

from extractors.connections import PlatformConnection
from extractors.errors import ApiError, AuthError, ConfigError, ForbiddenError, RefusedError
from extractors.http import RateLimit
from extractors.sources import Source
from extractors.streams import KeyColumn, Stream

log = logging.getLogger(__name__)

REPORTS_PATH = "/json/v5/reports"
CAMPAIGNS_PATH = "/json/v5/campaigns"
CAMPAIGN_FIELDS = ("Id", "Name", "Currency", "TimeZone", "State", "Status", "Type")
CAMPAIGNS_PAGE = 10_000  # campaigns.get returns at most 10,000 objects
FIELD_NAMES = ("Date", "CampaignId", "CampaignName", "CampaignType", "AdGroupId", "AdGroupName", "Impressions", "Clicks",
               "Cost", "Conversions")
DEFAULT_LOOKBACK_DAYS = 7
DEFAULT_REPORT_TIMEOUT_S = 1800.0
DEFAULT_RETRY_IN_S = 10.0  # when Direct names no wait
MAX_RETRY_IN_S = 300.0
QUEUE_FULL, REQUEST_LIMITS = "9000", ("56", "506")
TOKEN_ERRORS, NO_RIGHTS = ("53", "58"), "54"
_TOTAL = re.compile(r"^Total rows: (\d+)$")


@dataclass(frozen=True)
class _Pending:
    """A 201 or 202: the report is queued or being built; ask again in ``retry_in_s``."""
    status: int
    retry_in_s: float
    in_queue: str


def read_report(response: requests.Response) -> list[dict] | _Pending:
    """A 2xx answer of the Reports service: the report's rows, or that it is not ready yet.
    A body that is not a whole report (cut short, a wrong header) raises ValueError: asked again."""
    if response.status_code in (201, 202):
        return _Pending(response.status_code, _seconds(response.headers.get("retryIn")), response.headers.get("reportsInQueue", "?"))
    return parse_tsv(response.content)


def parse_tsv(content: bytes) -> list[dict]:
    """Rows of a TSV report with its header line and "Total rows: N" (the title line, if sent, is skipped)."""
    text = content.decode("utf-8")
    if not text.endswith("\n"):
        raise ValueError("the report does not end with a line break: cut short")
    lines = text[:-1].split("\n")
    if lines and lines[0].split("\t") != list(FIELD_NAMES) and len(lines) > 1:
        lines = lines[1:]  # the title line: "<ReportName> (<DateFrom> - <DateTo>)"
    header = lines[0].split("\t") if lines else []
    if header != list(FIELD_NAMES):
        raise ValueError(f"the report's header is {header[:3]}..., not the FieldNames asked for")
    total = _TOTAL.match(lines[-1]) if len(lines) > 1 else None
    if total is None:
        raise ValueError("the report has no 'Total rows' line: cut short")
    body = [line.split("\t") for line in lines[1:-1]]
    if int(total.group(1)) != len(body) or any(len(values) != len(header) for values in body):
        raise ValueError(f"the report says {total.group(1)} rows and holds {len(body)} whole ones")
    return [dict(zip(header, values, strict=True)) for values in body]


def _seconds(text: str | None) -> float:
    try:
        return min(max(float(text), 0.0), MAX_RETRY_IN_S) if text is not None else DEFAULT_RETRY_IN_S
    except ValueError:
        return DEFAULT_RETRY_IN_S


class YandexDirect(Source):
    name = "yandex_direct"
    conn_id = "yandex_direct"
    max_concurrency = 2
    rate_limits = (RateLimit(REPORTS_PATH, 20, 10.0),)  # "20 requests in 10 seconds ... for each user"
    streams = (
        Stream("campaigns", (KeyColumn("campaign_id", "$.Id"),), description="campaign names, currency and time zone"),
        Stream("ad_group_performance", (KeyColumn("ad_group_id", "$.AdGroupId"), KeyColumn("date", "$.Date", "DATE")),
               load="window", window_key="date", lookback=timedelta(days=DEFAULT_LOOKBACK_DAYS),
               description="ad-group daily impressions, clicks, cost (micros, without VAT), Metrica conversions, "
                           "in the account's currency and time zone"),
    )

    def accounts(self, conn: PlatformConnection, stream: Stream) -> list[str]:
        return conn.list_extra("client_logins", '{"client_logins": ["advertiser-login"]}')

    def lookback(self, conn: PlatformConnection, stream: Stream) -> timedelta:
        days = conn.extra.get("lookback_days", DEFAULT_LOOKBACK_DAYS)
        if not isinstance(days, int) or isinstance(days, bool) or days < 0:
            raise ConfigError(f"connection '{conn.conn_id}' extra 'lookback_days' is {days!r}: give a whole number of days, e.g. 7")
        return timedelta(days=days)

    def read(self, client, conn, stream, account, window) -> Iterator[list[dict]]:
        if stream.name == "campaigns":
            yield from self._campaigns(client, conn, account)
            return
        criteria = {"DateFrom": window.first_day.isoformat(), "DateTo": window.last_day.isoformat()}
        definition = {"SelectionCriteria": criteria, "FieldNames": list(FIELD_NAMES), "ReportType": "CUSTOM_REPORT",
                      "DateRangeType": "CUSTOM_DATE", "Format": "TSV", "IncludeVAT": "NO", "IncludeDiscount": "NO"}
        # Unique per distinct request and per read: a reused name would get a report kept from hours ago.
        digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:10]
        definition["ReportName"] = f"funnelhouse {stream.name} {criteria['DateFrom']}..{criteria['DateTo']} {digest}-{uuid.uuid4().hex[:8]}"
        headers = {"Client-Login": account, "processingMode": "auto", "skipReportHeader": "true",
                   "skipColumnHeader": "false", "skipReportSummary": "false", "Accept-Language": "en"}
        yield self._report(client, conn, {"params": definition}, headers, f"{stream.name} [{account}] {criteria['DateFrom']}..{criteria['DateTo']}")

    def _campaigns(self, client, conn, account) -> Iterator[list[dict]]:
        offset = 0
        while True:
            body = {"method": "get", "params": {"SelectionCriteria": {}, "FieldNames": list(CAMPAIGN_FIELDS),
                                                "Page": {"Limit": CAMPAIGNS_PAGE, "Offset": offset}}}
            answer = _post(client, conn, CAMPAIGNS_PATH, body, {"Client-Login": account}, f"campaigns [{account}]")
            result = answer.get("result") or {}
            yield result.get("Campaigns") or []
            if result.get("LimitedBy") is None:
                return
            offset = int(result["LimitedBy"])

    def _report(self, client, conn, body: dict, headers: dict, what: str) -> list[dict]:
        return _post(client, conn, REPORTS_PATH, body, headers, what, read=read_report)


def _post(client, conn, path: str, body: dict, headers: dict, what: str, read=None):
    """One Direct request, sent again while Direct says to wait (201 / 202 with retryIn, a full offline
    queue, a request limit), at most ``report_timeout_s``; its answer, or the refusal the user acts on."""
    timeout_s = _timeout(conn)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            answer = client.request("POST", path, json_body=body, headers=headers, what=what, read=read)
        except RefusedError as exc:
            answer = _refusal(exc, conn, what)  # a wait, or raises
        if isinstance(answer, dict) and isinstance(answer.get("error"), dict):  # the JSON services may answer errors so
            answer = _refusal(RefusedError(f"yandex_direct {what}: {_words(answer['error'])}", status=200, body=answer), conn, what)
        if not isinstance(answer, _Pending):
            return answer
        if time.monotonic() + answer.retry_in_s > deadline:
            raise ApiError(f"yandex_direct {what}: still not answered within {timeout_s:.0f}s (last answer HTTP "
                           f"{answer.status}): run again later, or raise the extra 'report_timeout_s'")
        log.info("yandex_direct %s: HTTP %d, %s; asking again in %.0fs", what, answer.status,
                 {201: "queued", 202: "being built"}.get(answer.status, f"a limit (queue {answer.in_queue})"), answer.retry_in_s)
        client.policy.sleep(answer.retry_in_s)


def _refusal(exc: RefusedError, conn: PlatformConnection, what: str) -> _Pending:
    """Direct's HTTP 400 ``{"error": {request_id, error_code, error_string, error_detail}}``: a limit to wait
    out (a pending answer), or the error the user acts on."""
    error = exc.platform_error
    code = str(error.get("error_code", ""))
    words = _words(error)
    if code == QUEUE_FULL or code in REQUEST_LIMITS:
        return _Pending(exc.status or 400, DEFAULT_RETRY_IN_S, "full" if code == QUEUE_FULL else "?")
    if code in TOKEN_ERRORS:
        raise AuthError(f"yandex_direct {what} was refused: the token was rejected ({words}); put a valid OAuth token "
                        f"in the '{conn.conn_id}' connection's password", status=exc.status, body=exc.body) from None
    if code == NO_RIGHTS:
        raise ForbiddenError(f"yandex_direct {what} was refused: no rights on this Client-Login ({words}); check the "
                             f"'{conn.conn_id}' extra 'client_logins'", status=exc.status, body=exc.body) from None
    if not error:
        raise exc
    raise RefusedError(f"yandex_direct {what} was rejected (HTTP {exc.status}: {words}); not retried: the same request "
                       "gets the same answer",
                       status=exc.status, body=exc.body) from None


def _words(error: dict) -> str:
    return (f"{error.get('error_string', '')}: {error.get('error_detail', '')} (error_code {error.get('error_code')}, "
            f"request_id {error.get('request_id')})")


def _timeout(conn: PlatformConnection) -> float:
    try:
        return float(conn.extra.get("report_timeout_s", DEFAULT_REPORT_TIMEOUT_S))
    except (TypeError, ValueError):
        raise ConfigError(f"connection '{conn.conn_id}' extra 'report_timeout_s' is not a number of seconds") from None
