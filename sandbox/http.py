"""What every platform module speaks: the Request it is handed, the Response it gives back,
and the SandboxState behind both (the world, the clock, the accepted tokens).

It imports no routing: the server (sandbox/server.py) imports the platform modules
(sandbox/apis/), the fault plan and the platform limits, and they import this module.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sandbox.world import World

DEFAULT_TOKENS = {
    "hubspot": "sandbox-hubspot-token",
    "meta": "sandbox-meta-token",
    "google_ads": "sandbox-google-ads-token",
    "google_ads_developer": "sandbox-google-ads-developer-token",
    "ga4": "sandbox-ga4-token",
    "mailchimp": "sandbox-mailchimp-key-us21",
    "facebook": "sandbox-facebook-token",
}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    base_url: str
    match: re.Match
    sandbox: SandboxState

    def json(self) -> dict:
        return json.loads(self.body or b"{}")

    def bearer_token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None

    def correlation_id(self) -> str:
        """Deterministic per request, so two servers with one seed answer identical bytes."""
        digest = hashlib.sha256(f"{self.method} {self.path} {sorted(self.query.items())} {self.body!r}".encode()).hexdigest()
        return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


@dataclass
class Response:
    status: int
    body: object
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json;charset=utf-8"


@dataclass
class SandboxState:
    """The state one server serves, as the platform modules see it: the world, its clock and the accepted tokens.

    The server's own machinery in front of the platforms (fault plan, platform limits) is added by
    ``sandbox.server.Sandbox``, so that this module needs neither.
    """

    world: World
    now: datetime | None = None
    tokens: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TOKENS))
    # False: a HubSpot portal without Marketing Hub Enterprise, whose events API answers 403.
    hubspot_enterprise: bool = True
    # True: an app with Meta's Marketing API version auto-upgrade on, whose calls to an expired version
    # are served as the next one (with X-Ad-Api-Version-Warning) instead of refused with code 2635.
    meta_auto_upgrade: bool = False
    # HubSpot search's empty pages that still carry a cursor (sandbox/apis/hubspot.py); False: every page full.
    hubspot_search_gaps: bool = True
    request_count: int = 0
    cache: dict = field(default_factory=dict, repr=False)  # per-clock indexes an API module may keep
    # Called with each Request before it is answered: lets a test change the world mid-run.
    request_hooks: list[Callable[[Request], None]] = field(default_factory=list)
    # GA4 (sandbox/apis/ga4.py): a report of more rows than this folds the rest into "(other)";
    # quota limits that override a standard property's (e.g. {"tokensPerProjectPerHour": 10}).
    ga4_row_limit: int = 100_000
    ga4_quota: dict[str, int] | None = None
    # BigQuery (sandbox/apis/bigquery.py): answers a query job gives with jobComplete false first.
    bigquery_pending_polls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self):
        if self.now is None:
            self.now = self.world.default_now

    def count_request(self) -> None:
        with self._lock:
            self.request_count += 1
