"""Faults on demand: every failure a real platform produces, per request and per endpoint.

A ``FaultPlan`` is a list of ``FaultRule``s. The server asks the plan about every
routed request (``on_request``): a rule that fires either answers instead of the
platform (a rate limit in the platform's own shape, a 5xx, a permanent 4xx refusal),
delays the answer (a slow response), or rewrites the platform's answer (a truncated or
malformed body, a record repeated on the next page, a new field, a field changing type,
a Google Ads stream that ends in an error after its first batches, a Meta report run that
ends "Job Failed" or "Job Skipped").

Reproducible by construction: each rule numbers the requests it matches
(1, 2, 3, ... under a lock, so concurrent streams do not disturb a schedule),
and decides from that number alone, by an explicit ``schedule`` or by a
probability drawn from ``hash(seed, number)``. Same plan + same request
sequence per rule => the same faults on the same requests. ``fired`` records
``(request_no, endpoint, kind)`` for every fault applied; a rule that fires on a
request it cannot change (a duplicate on a first page, a type change of a field no
record has, a rewrite of an error answer) is logged and listed in ``skipped`` with
the reason, never in ``fired``.

Configure from JSON (``python -m sandbox serve --faults faults.json``)::

    {"rules": [
      {"kind": "rate_limit", "platform": "hubspot", "schedule": [1, 2]},
      {"kind": "server_error", "endpoint": "/insights$", "probability": 0.1, "seed": 3,
       "burst": 2, "params": {"status": 503}}
    ]}

or from a test: ``server.faults.add("server_error", platform="meta", schedule=[2], burst=3, status=502)``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from sandbox.http import Request, Response

log = logging.getLogger(__name__)

# Answer instead of the platform / delay the answer / rewrite the platform's (2xx) answer.
RESPONSE_KINDS = ("rate_limit", "server_error", "client_error")
DELAY_KINDS = ("slow",)
# change records (stream_error: the JSON array of a Google Ads searchStream; report_failed: a Meta
# report run's state); run before the byte-level ones
RECORD_KINDS = ("duplicate", "new_field", "change_type", "stream_error", "report_failed")
BODY_KINDS = ("truncate", "malformed")
KINDS = RESPONSE_KINDS + DELAY_KINDS + RECORD_KINDS + BODY_KINDS
# A schema change does not revert: once such a rule fires it applies to every later request it matches.
ONSET_KINDS = ("new_field", "change_type")

# Which platform a path belongs to (the paths the sandbox serves). Order matters: Meta's /vNN.N/ last.
PLATFORM_PATHS = (
    ("hubspot", re.compile(r"/crm/|/events/v3/")),
    ("google_ads", re.compile(r"/v\d+/customers/")),
    ("ga4", re.compile(r"/v1beta/properties/")),
    ("mailchimp", re.compile(r"/3\.0/")),
    ("meta", re.compile(r"/(v\d+\.\d+/)?act_\d+|/v\d+\.\d+/")),
)
PLATFORMS = tuple(name for name, _ in PLATFORM_PATHS)

# The list of records in a page, by platform: results (HubSpot, Google Ads batches),
# data (Meta), rows (GA4), and Mailchimp's per-resource names.
RECORD_LIST_KEYS = ("results", "data", "rows", "campaigns", "reports", "emails", "members")
# Request parameters that move through pages rather than naming the stream.
PAGING_PARAMS = ("after", "before", "offset", "pageToken", "page_token", "cursor")
IGNORED_PARAMS = ("access_token",)

# The field that changes type when a change_type rule names none: the first of these a page's records
# have. Meta's paths are both the Marketing API (insights: spend) and the Graph API's pages and
# Instagram (media: like_count; posts: their reactions' count; page and media insights: the value).
DEFAULT_TYPE_CHANGE_FIELD = {
    "hubspot": ("properties.hs_object_id",),
    "meta": ("spend", "like_count", "reactions.summary.total_count", "comments.summary.total_count", "values.0.value"),
    "google_ads": ("metrics.clicks",),
    "ga4": ("metricValues.0.value",),
    "mailchimp": ("emails_sent",),
}
# Where an offset-paged list says how many records it has (GA4, Mailchimp).
TOTAL_KEYS = ("rowCount", "total_items")


def platform_of(path: str) -> str | None:
    for name, pattern in PLATFORM_PATHS:
        if pattern.match(path):
            return name
    return None


class FiredFault(NamedTuple):
    request_no: int  # the rule's own count of the requests it matched, from 1
    endpoint: str  # the request path
    kind: str


class SkippedFault(NamedTuple):
    """A rule that fired on a request whose answer it could not change (not in ``fired``)."""

    request_no: int
    endpoint: str
    kind: str
    reason: str


@dataclass
class FaultRule:
    """One kind of fault on the requests matching ``platform`` and/or ``endpoint`` (a regex searched in the path).

    ``body`` (a regex searched in the request body) tells apart requests to one endpoint, e.g. one
    report among the GAQL queries or runReport bodies sent to the same path.
    Fires on the 1-based ``schedule`` indices of the requests it matches, or with
    ``probability`` drawn from ``seed``; with neither, on every matching request.
    Each firing lasts ``burst`` consecutive matching requests (a 5xx burst).
    ``params`` tune the kind (see ``PARAMS``).
    """

    kind: str
    platform: str | None = None
    endpoint: str | None = None
    method: str | None = None
    body: str | None = None
    probability: float | None = None
    schedule: list[int] | None = None
    seed: int = 0
    burst: int = 1
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(KINDS)}")
        if self.platform is not None and self.platform not in PLATFORMS:
            raise ValueError(f"unknown platform {self.platform!r}; one of {', '.join(PLATFORMS)}")
        if self.probability is not None and self.schedule is not None:
            raise ValueError(f"{self.kind}: give a probability or a schedule, not both")
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise ValueError(f"{self.kind}: probability must be within 0..1, not {self.probability}")
        if self.schedule is not None:
            if any(not isinstance(n, int) or n < 1 for n in self.schedule):
                raise ValueError(f"{self.kind}: schedule holds request numbers counted from 1, not {self.schedule}")
            self.schedule = sorted(set(self.schedule))
        if not isinstance(self.burst, int) or self.burst < 1:
            raise ValueError(f"{self.kind}: burst must be a positive integer, not {self.burst!r}")
        unknown = set(self.params) - set(PARAMS[self.kind])
        if unknown:
            raise ValueError(f"{self.kind}: unknown params {sorted(unknown)}; known: {', '.join(PARAMS[self.kind]) or 'none'}")
        _check_params(self.kind, self.params)
        self._endpoint = re.compile(self.endpoint) if self.endpoint is not None else None
        self._body = re.compile(self.body) if self.body is not None else None

    def matches(self, method: str, path: str, platform: str | None, body: bytes = b"") -> bool:
        return (
            (self.platform is None or self.platform == platform)
            and (self._endpoint is None or self._endpoint.search(path) is not None)
            and (self.method is None or self.method.upper() == method)
            and (self._body is None or self._body.search(body.decode("utf-8", "replace")) is not None)
        )

    def triggers(self, request_no: int) -> bool:
        if self.schedule is not None:
            return request_no in self.schedule
        if self.probability is not None:
            return _uniform(self.seed, request_no) < self.probability
        return True

    @classmethod
    def from_dict(cls, data: dict) -> FaultRule:
        known = {"kind", "platform", "endpoint", "method", "body", "probability", "schedule", "seed", "burst", "params"}
        if not isinstance(data, dict) or "kind" not in data:
            raise ValueError(f"a fault rule is an object with at least a 'kind', not {data!r}")
        if unknown := set(data) - known:
            raise ValueError(f"fault rule has unknown keys {sorted(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**data)

    def to_dict(self) -> dict:
        out = {
            "kind": self.kind,
            "platform": self.platform,
            "endpoint": self.endpoint,
            "method": self.method,
            "body": self.body,
            "probability": self.probability,
            "schedule": self.schedule,
            "seed": self.seed,
            "burst": self.burst,
            "params": self.params,
        }
        return {k: v for k, v in out.items() if v is not None and v != {}}


# The params each kind understands (all optional).
PARAMS: dict[str, tuple[str, ...]] = {
    # hubspot: policy (SECONDLY|DAILY|...), max, interval_ms, daily, daily_remaining, headers (false: none)
    # meta: code (4, 17, 32, 613, 80000..80014), subcode, status, regain_minutes, call_count, total_cputime, total_time, account
    # google_ads: retry_delay ("30s" or seconds), rate_scope, rate_name, quota_error; mailchimp/ga4/all: retry_after, message
    "rate_limit": (
        "policy",
        "max",
        "interval_ms",
        "daily",
        "daily_remaining",
        "headers",
        "code",
        "subcode",
        "status",
        "regain_minutes",
        "call_count",
        "total_cputime",
        "total_time",
        "account",
        "retry_delay",
        "rate_scope",
        "rate_name",
        "quota_error",
        "retry_after",
        "message",
    ),
    # status: 500|502|503|... or a list cycled through the burst; message: Meta's error message instead of
    # "An unknown error occurred" (e.g. code 1's "Please reduce the amount of data you're asking for, ...")
    "server_error": ("status", "retry_after", "message"),
    "client_error": ("status", "message"),  # status: 400 (default) | 404; message: the platform's text
    "stream_error": ("status", "after", "message"),  # Google Ads searchStream: error element after `after` batches (1)
    "slow": ("seconds",),
    "truncate": ("fraction",),  # keep this fraction of the body (default 0.5)
    "malformed": ("style",),  # trailing_comma (default) | html | xssi_prefix
    "duplicate": ("list_key",),
    "new_field": ("name", "value", "into"),  # into: a dotted path to a nested object (e.g. "properties")
    "change_type": ("field", "to"),  # field: dotted path ("spend", "actions.0.value"); to: auto|number|string|object|list
    # Meta: a polled AdReportRun (GET /vNN.0/{report_run_id}) answers this async_status (default "Job Failed")
    "report_failed": ("status",),
}
REPORT_FAILURES = ("Job Failed", "Job Skipped")


MALFORMED_STYLES = ("trailing_comma", "html", "xssi_prefix")
TYPE_CHANGES = ("auto", "number", "string", "object", "list")


def _check_params(kind: str, params: dict) -> None:
    """Refuse a bad value when the rule is made, not as a 500 on the request it fires on."""

    def bad(name, expected):
        raise ValueError(f"{kind}: param {name}={params[name]!r} is invalid; expected {expected}")

    statuses = params.get("status", 503)
    if kind == "server_error" and not all(
        isinstance(s, int) and 500 <= s <= 599 for s in (statuses if isinstance(statuses, list) else [statuses])
    ):
        bad("status", "a 5xx status or a list of them")
    if kind == "client_error" and params.get("status", 400) not in CLIENT_ERRORS:
        bad("status", " | ".join(map(str, CLIENT_ERRORS)))
    if kind == "stream_error" and params.get("status", 500) not in GOOGLE_STATUS:
        bad("status", " | ".join(map(str, GOOGLE_STATUS)))
    if kind == "stream_error" and not (isinstance(params.get("after", 1), int) and params.get("after", 1) >= 0):
        bad("after", "a number of result batches >= 0")
    if kind == "rate_limit" and "code" in params and not (params["code"] in META_THROTTLES or 80000 <= params["code"] <= 80014):
        bad("code", "a Meta throttling code: 4, 17, 32, 613 or 80000..80014")
    if kind == "slow" and not (isinstance(params.get("seconds", 1.0), int | float) and params.get("seconds", 1.0) >= 0):
        bad("seconds", "a number of seconds >= 0")
    if kind == "truncate" and not (isinstance(params.get("fraction", 0.5), int | float) and 0 <= params.get("fraction", 0.5) < 1):
        bad("fraction", "a fraction of the body to keep, within [0, 1)")
    if kind == "malformed" and params.get("style", "trailing_comma") not in MALFORMED_STYLES:
        bad("style", " | ".join(MALFORMED_STYLES))
    if kind == "change_type" and params.get("to", "auto") not in TYPE_CHANGES:
        bad("to", " | ".join(TYPE_CHANGES))
    if kind == "report_failed" and params.get("status", "Job Failed") not in REPORT_FAILURES:
        bad("status", " | ".join(REPORT_FAILURES))


def _uniform(seed: int, request_no: int) -> float:
    """A draw in [0, 1) that depends on (seed, request number) only, never on thread timing."""
    digest = hashlib.sha256(f"{seed}:{request_no}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class _Armed:
    """A rule inside a plan, with the state its decisions need."""

    def __init__(self, rule: FaultRule):
        self.rule = rule
        self.count = 0
        self.burst_left = 0
        self.burst_position = 0
        self.started = False  # an onset kind that has fired stays on
        self.last_record: dict[str, object] = {}  # duplicate: the last record of each stream's previous page
        self.offset_shift: dict[str, int] = {}  # duplicate: how far back each offset-paged stream is served

    def decide(self) -> tuple[int, int] | None:
        """Count one matching request; return (request number, position in its burst) if the rule fires."""
        self.count += 1
        n = self.count
        if self.rule.kind in ONSET_KINDS:
            self.started = self.started or self.rule.triggers(n)
            return (n, 0) if self.started else None
        if self.rule.triggers(n):
            self.burst_left, self.burst_position = self.rule.burst - 1, 0
            return n, 0
        if self.burst_left > 0:
            self.burst_left -= 1
            self.burst_position += 1
            return n, self.burst_position
        return None


class _Hit(NamedTuple):
    armed: _Armed
    request_no: int
    burst_position: int


class FaultPlan:
    """The faults one server injects. Thread-safe; the server holds one as ``server.faults``."""

    def __init__(self, rules: Iterable[FaultRule | dict] = ()):
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []
        self.fired: list[FiredFault] = []
        self.skipped: list[SkippedFault] = []  # fired, but the answer had nothing it could change (logged too)
        for rule in rules:
            self.add(rule)

    # ---- configuration ------------------------------------------------------

    @property
    def rules(self) -> list[FaultRule]:
        return [a.rule for a in self._armed]

    def add(self, rule: FaultRule | dict | str, /, **kwargs) -> FaultRule:
        """Add a rule: a FaultRule, its dict form, or a kind with FaultRule's fields as keywords;
        any other keyword is a param of the kind: ``add("server_error", platform="meta", schedule=[2], status=502)``."""
        if isinstance(rule, str):
            fields = {"platform", "endpoint", "method", "body", "probability", "schedule", "seed", "burst"}
            params = dict(kwargs.pop("params", {}))
            params.update({k: kwargs.pop(k) for k in list(kwargs) if k not in fields})
            rule = FaultRule(rule, params=params, **kwargs)
        elif isinstance(rule, dict):
            rule = FaultRule.from_dict(rule)
        elif kwargs:
            raise TypeError("keywords are for add(kind, ...), not for an already built FaultRule")
        with self._lock:
            self._armed.append(_Armed(rule))
        return rule

    def clear(self) -> None:
        """Remove every rule and forget what fired."""
        with self._lock:
            self._armed.clear()
            self.fired.clear()
            self.skipped.clear()

    def reset(self) -> None:
        """Keep the rules, restart their request numbering and forget what fired (a rerun sees the same faults)."""
        with self._lock:
            self._armed = [_Armed(a.rule) for a in self._armed]
            self.fired.clear()
            self.skipped.clear()

    @classmethod
    def from_json(cls, source: str | dict | list) -> FaultPlan:
        """``{"rules": [...]}`` or a bare list of rules, as JSON text or already parsed."""
        data = json.loads(source) if isinstance(source, str) else source
        rules = data.get("rules") if isinstance(data, dict) else data
        if not isinstance(rules, list):
            raise ValueError('a fault plan is {"rules": [...]} or a list of rules')
        return cls(FaultRule.from_dict(r) for r in rules)

    @classmethod
    def load(cls, path_or_json: str | Path) -> FaultPlan:
        """A JSON file, or inline JSON when the text starts with '{' or '['."""
        text = str(path_or_json)
        if not text.lstrip().startswith(("{", "[")):
            text = Path(text).read_text()
        return cls.from_json(text)

    def to_json(self) -> str:
        return json.dumps({"rules": [r.to_dict() for r in self.rules]}, indent=2)

    def fired_requests(self, kind: str | None = None) -> list[int]:
        """The request numbers on which faults (of one kind) fired, in the order they fired."""
        with self._lock:
            return [f.request_no for f in self.fired if kind is None or f.kind == kind]

    # ---- the server's side --------------------------------------------------

    def on_request(self, request: Request) -> FaultOutcome:
        """Decide this request's faults. Sleeps here for a slow response (outside the lock)."""
        if not self._armed:
            return NO_FAULTS
        platform = platform_of(request.path)
        with self._lock:
            hits, watchers, shifts = [], [], []
            for armed in self._armed:
                if armed.rule.matches(request.method, request.path, platform, request.body):
                    decision = armed.decide()
                    hit = _Hit(armed, *decision) if decision is not None else None
                    if armed.rule.kind == "duplicate" and _offset(request) is not None:
                        shift = _shift_offset(armed, request, fired=hit is not None)
                        if shift is None and hit is not None:
                            self._skip(hit, request, "a first page: no page before it to repeat a record from")
                        elif shift:
                            shifts.append((armed, hit, shift))
                    elif hit is not None:
                        hits.append(hit)
                    elif armed.rule.kind == "duplicate":
                        watchers.append(armed)  # must still see this page, to repeat its last record later
            outcome = FaultOutcome(self, request, platform, hits, watchers, shifts)
        if outcome.delay_s:
            time.sleep(outcome.delay_s)
        return outcome

    def _record(self, hit: _Hit, request: Request) -> None:
        """Called with the lock held."""
        self.fired.append(FiredFault(hit.request_no, request.path, hit.armed.rule.kind))
        log.info("fault %s on %s %s (request %d of its rule)", hit.armed.rule.kind, request.method, request.path, hit.request_no)

    def _skip(self, hit: _Hit, request: Request, reason: str) -> None:
        """A rule fired but could not change this answer: say so, and do not count it as fired. Lock held."""
        self.skipped.append(SkippedFault(hit.request_no, request.path, hit.armed.rule.kind, reason))
        log.warning(
            "fault %s on %s %s (request %d of its rule) did not apply: %s",
            hit.armed.rule.kind,
            request.method,
            request.path,
            hit.request_no,
            reason,
        )


class FaultOutcome:
    """What the plan decided for one request: an answer to give instead of the platform's
    (``response``), and a ``transform`` for the platform's own answer."""

    def __init__(
        self,
        plan: FaultPlan | None,
        request: Request | None,
        platform: str | None,
        hits: list[_Hit],
        watchers: list[_Armed] = (),
        shifts: list[tuple[_Armed, _Hit | None, int]] = (),
    ):
        self._plan, self._request, self._platform = plan, request, platform
        self._watchers = list(watchers)
        self._shifts = list(shifts)  # offset-paged duplicates: (rule, its hit if it fired here, the stream's shift)
        self.response: Response | None = None
        self.delay_s = 0.0
        self._rewrites: list[_Hit] = []
        for hit in hits:
            rule = hit.armed.rule
            if rule.kind in RESPONSE_KINDS:
                if self.response is None:  # the first answering rule wins; the others did not happen
                    self.response = _answer(rule, request, platform or rule.platform, hit.burst_position)
                    plan._record(hit, request)
                else:
                    plan._skip(hit, request, f"another rule ({self.response.status}) answered this request")
            elif rule.kind in DELAY_KINDS:
                self.delay_s += float(rule.params.get("seconds", 1.0))
                plan._record(hit, request)
            else:
                self._rewrites.append(hit)
        order = {kind: i for i, kind in enumerate(KINDS)}
        self._rewrites.sort(key=lambda h: order[h.armed.rule.kind])

    def transform(self, response: Response) -> Response:
        """The platform's answer as the faults rewrite it (2xx answers only; errors pass unchanged)."""
        if not self._rewrites and not self._watchers and not self._shifts:
            return response
        if response is self.response or not 200 <= response.status < 300:
            with self._plan._lock:  # nothing of the platform's to rewrite: the rewrites did not happen
                for hit in self._rewrites + [hit for _, hit, _ in self._shifts if hit is not None]:
                    self._plan._skip(hit, self._request, f"the answer was an error ({response.status}), not a page")
            return response
        body, content_type = response.body, response.content_type
        if (self._rewrites or self._shifts) and not isinstance(body, bytes):
            body = copy.deepcopy(body)  # the handler's objects may be the world's own
        with self._plan._lock:
            for armed, hit, shift in self._shifts:
                _commit_shift(armed, self._request, shift, body)
                if hit is not None:
                    self._plan._record(hit, self._request)
            for hit in self._rewrites:
                rule = hit.armed.rule
                if rule.kind in RECORD_KINDS:
                    applied = not isinstance(body, bytes) and self._rewrite_records(hit, body)
                else:
                    if rule.kind in BODY_KINDS and not isinstance(body, bytes):
                        # The non-firing duplicate rules see the page before it is serialized.
                        self._remember(body)
                    body, content_type = _rewrite_bytes(rule, body, content_type)
                    applied = True
                if applied:
                    self._plan._record(hit, self._request)
                else:
                    self._plan._skip(hit, self._request, _why_not(rule, body, self._platform))
            if not isinstance(body, bytes):
                self._remember(body)
        if body is response.body:
            return response
        return Response(response.status, body, dict(response.headers), content_type)

    def _rewrite_records(self, hit: _Hit, body: object) -> bool:
        rule = hit.armed.rule
        if rule.kind == "duplicate":
            return _duplicate(hit.armed, self._request, body)
        if rule.kind == "new_field":
            return _add_field(body, rule.params)
        if rule.kind == "report_failed":
            return _fail_report_run(body, rule.params)
        if rule.kind == "stream_error":
            return _stream_error(body, rule.params)
        return _change_type(body, rule.params, self._platform)

    def _remember(self, body: object) -> None:
        for armed in self._watchers:
            _remember_pages(armed, self._request, body)
        self._watchers = []


def _rewrite_bytes(rule: FaultRule, body: object, content_type: str) -> tuple[bytes, str]:
    payload = body if isinstance(body, bytes) else _serialize(body)
    if rule.kind == "truncate":
        return _truncate(payload, float(rule.params.get("fraction", 0.5))), content_type
    return _malformed(payload, rule.params.get("style", "trailing_comma"), content_type)


NO_FAULTS = FaultOutcome(None, None, None, [])


def _serialize(body: object) -> bytes:
    """As the server writes it (compact JSON)."""
    return json.dumps(body, separators=(",", ":")).encode()


# ---- answers instead of the platform ------------------------------------------


def _answer(rule: FaultRule, request: Request, platform: str | None, burst_position: int) -> Response:
    params = rule.params
    if rule.kind == "rate_limit":
        return rate_limit_response(platform, request, params)
    if rule.kind == "client_error":
        return client_error_response(platform, request, int(params.get("status", 400)), params.get("message"))
    status = params.get("status", 503)
    if isinstance(status, list):
        status = status[burst_position % len(status)]
    return server_error_response(platform, request, int(status), params)


def rate_limit_response(platform: str | None, request: Request, params: dict | None = None) -> Response:
    """The platform's own 'slow down' signal, as its clients see it."""
    params = params or {}
    builder = {
        "hubspot": _hubspot_rate_limit,
        "meta": _meta_rate_limit,
        "google_ads": _google_ads_rate_limit,
        "ga4": _ga4_rate_limit,
        "mailchimp": _mailchimp_rate_limit,
    }.get(platform, _generic_rate_limit)
    response = builder(request, params)
    if params.get("retry_after") is not None:
        response.headers["Retry-After"] = str(params["retry_after"])
    return response


def _hubspot_rate_limit(request: Request, params: dict) -> Response:
    policy = str(params.get("policy", "SECONDLY")).upper()
    daily = int(params.get("daily", 1_000_000))
    body = {
        "status": "error",
        "message": params.get("message", f"You have reached your {policy.lower()} limit."),
        "errorType": "RATE_LIMIT",
        "correlationId": request.correlation_id(),
        "policyName": policy,
    }
    headers = {}
    if params.get("headers", True):
        headers = {
            "X-HubSpot-RateLimit-Max": str(params.get("max", 190)),
            "X-HubSpot-RateLimit-Remaining": "0",
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(params.get("interval_ms", 10_000)),
            # Private apps also get the day's quota; it is spent when the DAILY policy trips.
            "X-HubSpot-RateLimit-Daily": str(daily),
            "X-HubSpot-RateLimit-Daily-Remaining": str(params.get("daily_remaining", 0 if policy == "DAILY" else daily - 1000)),
        }
    return Response(429, body, headers)


# code -> (message, error_subcode or None, business use case type)
META_THROTTLES = {
    4: ("(#4) Application request limit reached", None, "ads_management"),
    17: ("(#17) User request limit reached", 2446079, "ads_insights"),
    32: ("(#32) Page request limit reached", None, "pages"),
    613: ("(#613) Calls to this api have exceeded the rate limit.", 1487742, "ads_management"),
}
META_BUC_TYPES = {
    80000: "ads_insights",
    80001: "pages",
    80002: "instagram",
    80003: "custom_audience",
    80004: "ads_management",
    80005: "leadgen",
    80006: "messenger",
    80008: "whatsapp_business_management",
    80009: "catalog_management",
    80014: "catalog_batch",
}


def _meta_rate_limit(request: Request, params: dict) -> Response:
    code = int(params.get("code", 17))
    if code in META_THROTTLES:
        message, subcode, use_case = META_THROTTLES[code]
    elif 80000 <= code <= 80014:
        use_case = META_BUC_TYPES.get(code, "ads_management")
        message = (
            f"(#{code}) There have been too many calls from this ad-account. Wait a bit and try again. "
            "For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
        )
        subcode = 2446079
    else:  # refused when the rule is made (_check_params)
        raise ValueError(f"meta rate_limit code {code} is not a Meta throttling code (4, 17, 32, 613, 80000-80014)")
    subcode = params.get("subcode", subcode)
    error = {
        "message": params.get("message", message),
        "type": "OAuthException",
        "code": code,
        "is_transient": True,
        "fbtrace_id": request.correlation_id().replace("-", "")[:22],
    }
    if subcode is not None:
        error["error_subcode"] = int(subcode)
    account = str(params.get("account") or _meta_object_id(request.path))
    regain = int(params.get("regain_minutes", 1))
    call_count = int(params.get("call_count", 100))
    usage = {
        "type": use_case,
        "call_count": call_count,
        "total_cputime": int(params.get("total_cputime", 28)),
        "total_time": int(params.get("total_time", 34)),
        "estimated_time_to_regain_access": regain,
    }
    headers = {
        "X-Business-Use-Case-Usage": json.dumps({account: [usage]}, separators=(",", ":")),
        "X-App-Usage": json.dumps(
            {"call_count": 100 if code == 4 else 42, "total_cputime": 12, "total_time": 15}, separators=(",", ":")
        ),
        "X-Ad-Account-Usage": json.dumps(
            {
                "acc_id_util_pct": 100 if code in (17, 613) else 64,
                "reset_time_duration": regain * 60,
                "ads_api_access_tier": "standard_access",
            },
            separators=(",", ":"),
        ),
    }
    return Response(int(params.get("status", 400)), {"error": error}, headers)


def _meta_object_id(path: str) -> str:
    """The business object the usage is counted against: the ad account, else the first id in the path."""
    m = re.search(r"act_(\d+)", path) or re.search(r"/(\d+)(?:/|$)", path)
    return m.group(1) if m else "0"


def _google_ads_rate_limit(request: Request, params: dict) -> Response:
    m = re.match(r"/(v\d+)/", request.path)
    version = m.group(1) if m else "v21"
    delay = params.get("retry_delay", "30s")
    delay = f"{delay}s" if isinstance(delay, int | float) else str(delay)
    failure = {
        "@type": f"type.googleapis.com/google.ads.googleads.{version}.errors.GoogleAdsFailure",
        "errors": [
            {
                "errorCode": {"quotaError": params.get("quota_error", "RESOURCE_EXHAUSTED")},
                "message": params.get("message", f"Too many requests. Retry in {delay.rstrip('s')} seconds."),
                "details": {
                    "quotaErrorDetails": {
                        "rateScope": params.get("rate_scope", "DEVELOPER"),
                        "rateName": params.get("rate_name", "Number of operations for basic access"),
                        "retryDelay": delay,
                    }
                },
            }
        ],
        "requestId": _request_id(request),
    }
    return _google_ads_error(
        request,
        Response(
            429,
            {
                "error": {
                    "code": 429,
                    "message": "Resource has been exhausted (e.g. check quota).",
                    "status": "RESOURCE_EXHAUSTED",
                    "details": [failure],
                }
            },
        ),
    )


def _google_ads_error(request: Request, response: Response) -> Response:
    """searchStream answers a JSON array even when it fails: its error comes as ``[{"error": {...}}]``
    (sandbox/apis/google_ads.py answers its own errors so too)."""
    if request.path.endswith(":searchStream"):
        response.body = [response.body]
    return response


def _ga4_rate_limit(request: Request, params: dict) -> Response:
    message = params.get("message", "Exhausted concurrent requests quota for the property.")
    return Response(429, {"error": {"code": 429, "message": message, "status": "RESOURCE_EXHAUSTED"}})


def _mailchimp_rate_limit(request: Request, params: dict) -> Response:
    detail = params.get("message", "You have exceeded the limit of 10 simultaneous connections.")
    return _problem(request, 429, "Too Many Requests", detail)


def _generic_rate_limit(request: Request, params: dict) -> Response:
    return Response(429, {"message": params.get("message", "Too Many Requests")}, {"Retry-After": "1"})


def _problem(request: Request, status: int, title: str, detail: str) -> Response:
    """Mailchimp's error envelope (RFC 7807 problem details)."""
    return Response(
        status,
        {
            "type": "https://mailchimp.com/developer/marketing/docs/errors/",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": request.correlation_id(),
        },
        content_type="application/problem+json; charset=utf-8",
    )


def _request_id(request: Request) -> str:
    return request.correlation_id().replace("-", "")[:22]


GOOGLE_STATUS = {
    500: ("INTERNAL", "Internal error encountered."),
    503: ("UNAVAILABLE", "The service is currently unavailable."),
    504: ("DEADLINE_EXCEEDED", "Deadline exceeded."),
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    404: ("NOT_FOUND", "Requested entity was not found."),
}
REASON = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def server_error_response(platform: str | None, request: Request, status: int, params: dict | None = None) -> Response:
    """A 5xx as the platform (or, for 502, the load balancer in front of it) sends it."""
    params = params or {}
    if not 500 <= status <= 599:
        raise ValueError(f"server_error status must be a 5xx, not {status}")
    reason = REASON.get(status, "Server Error")
    if status == 502:  # the proxy answers, not the API: an HTML page, whoever the platform is
        response = Response(
            502,
            b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n",
            content_type="text/html",
        )
    elif platform == "hubspot":
        response = Response(
            status,
            {
                "status": "error",
                "message": reason,
                "correlationId": request.correlation_id(),
                "category": "INTERNAL_ERROR" if status == 500 else "SERVICE_UNAVAILABLE",
            },
        )
    elif platform == "meta":
        code, message = (1, "An unknown error occurred") if status == 500 else (2, "Service temporarily unavailable")
        if params.get("message"):  # a particular refusal: Meta sends it as code and message only (Airbyte's fixtures)
            response = Response(status, {"error": {"message": params["message"], "code": code}})
        else:
            response = Response(
                status,
                {
                    "error": {
                        "message": message,
                        "type": "OAuthException",
                        "code": code,
                        "is_transient": True,
                        "fbtrace_id": _request_id(request),
                    }
                },
            )
    elif platform in ("google_ads", "ga4"):
        google_status, message = GOOGLE_STATUS.get(status, ("UNKNOWN", reason))
        response = Response(status, {"error": {"code": status, "message": message, "status": google_status}})
        if platform == "google_ads":
            response = _google_ads_error(request, response)
    elif platform == "mailchimp":
        response = _problem(request, status, reason, "An unexpected error occurred. Please try the request again.")
    else:
        response = Response(status, {"message": reason})
    if params.get("retry_after") is not None:
        response.headers["Retry-After"] = str(params["retry_after"])
    return response


CLIENT_ERRORS = (400, 404)
CLIENT_ERROR_TEXT = {400: "Bad Request", 404: "Not Found"}


def client_error_response(platform: str | None, request: Request, status: int, message: str | None = None) -> Response:
    """A refusal the platform repeats for the same request (a bad parameter, an unknown object), in its own
    shape: HubSpot's error object with its category, Meta's OAuthException (#100 a bad parameter, #803 an
    unknown alias), Google's error status (inside the array on searchStream, a GoogleAdsFailure in its
    details) and Mailchimp's problem details. Not verified: the exact texts, which each platform words
    per endpoint."""
    if status not in CLIENT_ERRORS:
        raise ValueError(f"client_error status must be one of {CLIENT_ERRORS}, not {status}")
    if platform == "hubspot":
        category = "VALIDATION_ERROR" if status == 400 else "OBJECT_NOT_FOUND"
        text = message or ("Invalid input JSON on line 1" if status == 400 else "resource not found")
        return Response(
            status, {"status": "error", "message": text, "correlationId": request.correlation_id(), "category": category}
        )
    if platform == "meta":
        code, text = (
            (100, "(#100) Invalid parameter") if status == 400 else (803, "(#803) Some of the aliases you requested do not exist")
        )
        return Response(
            status,
            {"error": {"message": message or text, "type": "OAuthException", "code": code, "fbtrace_id": _request_id(request)}},
        )
    if platform in ("google_ads", "ga4"):
        google_status, text = GOOGLE_STATUS[status]
        if platform == "ga4":
            return Response(status, {"error": {"code": status, "message": message or text, "status": google_status}})
        m = re.match(r"/(v\d+)/", request.path)
        code = {"queryError": "UNRECOGNIZED_FIELD"} if status == 400 else {"requestError": "RESOURCE_NOT_FOUND"}
        detail = message or ("Error in query: unrecognized field in the query." if status == 400 else "Resource was not found.")
        failure = {
            "@type": f"type.googleapis.com/google.ads.googleads.{m.group(1) if m else 'v21'}.errors.GoogleAdsFailure",
            "errors": [{"errorCode": code, "message": detail}],
            "requestId": _request_id(request),
        }
        return _google_ads_error(
            request, Response(status, {"error": {"code": status, "message": text, "status": google_status, "details": [failure]}})
        )
    if platform == "mailchimp":
        title = "Invalid Resource" if status == 400 else "Resource Not Found"
        return _problem(
            request,
            status,
            title,
            message
            or (
                "The resource submitted could not be validated."
                if status == 400
                else "The requested resource could not be found."
            ),
        )
    return Response(status, {"message": message or CLIENT_ERROR_TEXT[status]})


# ---- rewrites of the platform's answer ------------------------------------------


def _truncate(payload: bytes, fraction: float) -> bytes:
    """Cut the body short; the server's Content-Length then matches the cut body, as after a dropped upstream."""
    if not 0 <= fraction < 1:
        raise ValueError(f"truncate fraction must be within [0, 1), not {fraction}")
    return payload[: min(len(payload) - 1, int(len(payload) * fraction))] if payload else payload


def _malformed(payload: bytes, style: str, content_type: str) -> tuple[bytes, str]:
    if style == "trailing_comma":  # {"results":[...],} - what a hand-rolled serializer gets wrong
        stripped = payload.rstrip()
        return stripped[:-1] + b"," + stripped[-1:], content_type
    if style == "html":  # a proxy's interstitial page answered with 200
        return (
            b"<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
            b"<body>Checking your browser before accessing the API.</body></html>",
            "text/html; charset=utf-8",
        )
    if style == "xssi_prefix":  # Google's anti-XSSI guard in front of the JSON
        return b")]}'\n" + payload, content_type
    raise ValueError(f"unknown malformed style {style!r}; one of {', '.join(MALFORMED_STYLES)}")


def _record_lists(body: object, list_key: str | None = None) -> list[list]:
    """The lists of records in a page: one list, or one per batch of a Google Ads stream."""
    if isinstance(body, list):  # searchStream: [{"results": [...]}, ...]
        return [b[list_key or "results"] for b in body if isinstance(b, dict) and isinstance(b.get(list_key or "results"), list)]
    if isinstance(body, dict):
        for key in (list_key,) if list_key else RECORD_LIST_KEYS:
            if isinstance(body.get(key), list):
                return [body[key]]
    return []


def _records(body: object) -> list[dict]:
    """Every record in the page; an object that is not a list page (e.g. an ad account) is one record."""
    lists = _record_lists(body)
    if not lists and isinstance(body, dict) and "error" not in body:
        return [body]
    return [r for records in lists for r in records if isinstance(r, dict)]


def _stream_key(request: Request) -> str:
    """Which paged read a request belongs to: everything but its cursor (and its token)."""
    query = {k: v for k, v in request.query.items() if k not in PAGING_PARAMS and k not in IGNORED_PARAMS}
    body = _json_body(request)
    if body is None:
        body = {"raw": request.body.decode("latin-1")}
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in PAGING_PARAMS}
    return json.dumps([request.method, request.path, sorted(query.items()), body], sort_keys=True, default=str)


def _is_first_page(request: Request) -> bool:
    body = _json_body(request)
    cursors = [request.query.get(p) for p in PAGING_PARAMS]
    if isinstance(body, dict):
        cursors += [body.get(p) for p in PAGING_PARAMS]
    return all(c in (None, "", "0", 0) for c in cursors)


def _offset(request: Request) -> tuple[str, object] | None:
    """Where an offset-paged request (Mailchimp's query, GA4's JSON body) carries its offset, and the offset."""
    if request.query.get("offset", "").isdigit():
        return "query", request.query["offset"]
    body = _json_body(request)
    if isinstance(body, dict) and str(body.get("offset", "")).isdigit():
        return "body", body["offset"]
    return None


def _json_body(request: Request) -> object:
    try:
        return json.loads(request.body) if request.body else {}
    except ValueError:
        return None


def _shift_offset(armed: _Armed, request: Request, fired: bool) -> int | None:
    """Duplicate on an offset-paged stream, as a record inserted ahead of the reader does it:
    from the firing page on the stream is served one row further back, so the firing page
    opens with the last record of the page before and page sizes do not change (a reader
    that advances by rows seen loses nothing), and its total counts the rows inserted.
    Serves this request shifted and returns the shift (kept once the page is answered:
    ``_commit_shift``); None on a first page, which starts a new read with nothing before it."""
    where, offset = _offset(request)
    key = _stream_key(request)
    if int(offset) == 0:  # a new read: nothing before its first page
        armed.offset_shift.pop(key, None)
        return None
    shift = armed.offset_shift.get(key, 0) + (1 if fired else 0)
    if shift:
        served = max(0, int(offset) - shift)
        if where == "query":
            request.query["offset"] = str(served)
        else:  # keep the client's type: GA4 sends its offset as a string
            body = _json_body(request)
            body["offset"] = str(served) if isinstance(offset, str) else served
            request.body = json.dumps(body).encode()
    return shift


def _commit_shift(armed: _Armed, request: Request, shift: int, body: object) -> None:
    """The page was answered: the stream stays shifted, and its total counts the inserted rows."""
    if not shift:
        return
    armed.offset_shift[_stream_key(request)] = shift
    if isinstance(body, dict):
        for key in TOTAL_KEYS:
            if isinstance(body.get(key), int):
                body[key] += shift


def _duplicate(armed: _Armed, request: Request, body: object) -> bool:
    """Repeat the previous page's last record at the start of this page (the extractor must dedupe).

    For cursor-paged streams (HubSpot, Meta): the next page carries one record more. A
    Google Ads stream has its pages (batches) in one answer: there each batch starts
    with the last record of the batch before it. Offset-paged streams: ``_shift_offset``.
    """
    list_key = armed.rule.params.get("list_key")
    lists = _record_lists(body, list_key)
    if isinstance(body, list):
        for previous, current in zip(lists, lists[1:], strict=False):
            if previous:
                current.insert(0, copy.deepcopy(previous[-1]))
        return len([p for p in lists[:-1] if p]) > 0
    if not lists:
        return False
    records, key = lists[0], _stream_key(request)
    last = copy.deepcopy(records[-1]) if records else None
    applied = False
    if not _new_read(armed, request, key) and key in armed.last_record:
        records.insert(0, armed.last_record[key])
        applied = True
    if last is not None:
        armed.last_record[key] = last
    return applied


def _remember_pages(armed: _Armed, request: Request, body: object) -> None:
    """A duplicate rule that did not fire still remembers each page's last record, for the page after."""
    key = _stream_key(request)
    _new_read(armed, request, key)
    lists = _record_lists(body, armed.rule.params.get("list_key"))
    if not isinstance(body, list) and lists and lists[0]:
        armed.last_record[key] = copy.deepcopy(lists[0][-1])


def _new_read(armed: _Armed, request: Request, key: str) -> bool:
    """A first page starts a new read of its stream: forget what the previous read left behind."""
    if _is_first_page(request):
        armed.last_record.pop(key, None)
        armed.offset_shift.pop(key, None)
        return True
    return False


def _stream_error(body: object, params: dict) -> bool:
    """A searchStream that fails once its answer has begun: HTTP 200, the first ``after`` batches, then
    an error element where the rest would have been. Not verified: that Google ends the array there."""
    if not isinstance(body, list):
        return False
    status = int(params.get("status", 500))
    google_status, text = GOOGLE_STATUS[status]
    del body[min(int(params.get("after", 1)), len(body)) :]
    body.append({"error": {"code": status, "message": params.get("message", text), "status": google_status}})
    return True


def _add_field(body: object, params: dict) -> bool:
    name, value, into = params.get("name", "sandbox_new_field"), params.get("value", "added mid-run"), params.get("into")
    applied = False
    for record in _records(body):
        target = _resolve(record, into.split(".")) if into else record
        if isinstance(target, dict):
            target[name] = copy.deepcopy(value)
            applied = True
    return applied


def _change_type(body: object, params: dict, platform: str | None) -> bool:
    path = _type_change_field(body, params, platform)
    if not path:
        return False
    *parents, leaf = path.split(".")
    to = params.get("to", "auto")
    applied = False
    for record in _records(body):
        container = _resolve(record, parents)
        key = int(leaf) if isinstance(container, list) and leaf.isdigit() else leaf
        try:
            value = container[key]
        except (KeyError, IndexError, TypeError):
            continue
        container[key] = _retype(value, to)
        applied = True
    return applied


def _type_change_field(body: object, params: dict, platform: str | None) -> str | None:
    """The rule's field, else the first of the platform's default fields that a record of this page has."""
    if params.get("field"):
        return params["field"]
    records = _records(body)
    for path in DEFAULT_TYPE_CHANGE_FIELD.get(platform, ()):
        if any(_has(record, path.split(".")) for record in records):
            return path
    return None


def _has(node: object, parts: list[str]) -> bool:
    *parents, leaf = parts
    container = _resolve(node, parents)
    if isinstance(container, list):
        return leaf.isdigit() and int(leaf) < len(container)
    return isinstance(container, dict) and leaf in container


def _fail_report_run(body: object, params: dict) -> bool:
    """A Meta report run that stopped: its async_status says so, and it never reaches 100%."""
    if not isinstance(body, dict) or "async_status" not in body:
        return False
    body["async_status"] = params.get("status", "Job Failed")
    body["is_running"] = False
    body.pop("time_completed", None)
    if body.get("async_percent_completion") == 100:
        body["async_percent_completion"] = 50
    return True


def _why_not(rule: FaultRule, body: object, platform: str | None) -> str:
    """Why a record rewrite changed nothing in this answer."""
    if isinstance(body, bytes):
        return "the body is no longer JSON"
    if rule.kind == "report_failed":
        return "the answer is not a report run (no async_status)"
    if not _records(body):
        return "the answer holds no records"
    if rule.kind == "duplicate":
        return "no page before it in this read to repeat a record from"
    if rule.kind == "stream_error":
        return "the answer is not a searchStream array"
    if rule.kind == "change_type":
        field = rule.params.get("field") or " | ".join(DEFAULT_TYPE_CHANGE_FIELD.get(platform, ())) or "(none)"
        return f"no record has the field {field}"
    return "no record has the object to add the field into"


def _resolve(node: object, parts: list[str]) -> object:
    for part in parts:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def _retype(value: object, to: str) -> object:
    if to == "auto":  # a string number becomes a number, a number a string, anything else an object
        if isinstance(value, str) and _number(value) is not None:
            return _number(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return {"value": value}
    if to == "number":
        return _number(str(value)) if _number(str(value)) is not None else value
    if to == "string":
        return json.dumps(value) if isinstance(value, dict | list) else str(value)
    if to == "object":
        return {"value": value}
    if to == "list":
        return [value]
    raise ValueError(f"unknown change_type 'to' {to!r}; one of {', '.join(TYPE_CHANGES)}")


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) else None
