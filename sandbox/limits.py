"""The platforms' own rate limits, enforced by the server itself (opt-in).

Off by default, so the demo and the test suite keep their speed; on with
``Sandbox.platform_limits = True``, ``SandboxServer(..., platform_limits=True)`` or
``python -m sandbox serve --platform-limits``. Then, as the platforms document them:

- HubSpot CRM search (``POST /crm/v3/objects/{type}/search``): at most 4 requests per
  second per token, counted over a sliding 1 s window. The 5th answers 429 with
  ``policyName: SECONDLY`` and ``X-HubSpot-RateLimit-Max: 4``, ``-Remaining: 0``,
  ``-Interval-Milliseconds: 1000``. A refused request does not count against the window.
- Mailchimp (every ``/3.0/`` path): at most 10 requests in flight per API key; the 11th
  gets 429 problem+json. A request holds its place from its arrival until its answer is
  written; a refused one holds none.

The answers are the ones sandbox/faults.py builds for its ``rate_limit`` rules. Decisions
use the server's monotonic clock (``clock``), under one lock, in the order requests
arrive: no randomness. Only requests carrying the accepted token count (a wrong token
gets the platform's 401, whatever its rate). ``refused`` lists every 429 given.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

from sandbox.apis.mailchimp import api_key
from sandbox.faults import rate_limit_response
from sandbox.http import Request, Response

log = logging.getLogger(__name__)

HUBSPOT_SEARCH = re.compile(r"/crm/v3/objects/[^/]+/search")
HUBSPOT_SEARCH_MAX = 4  # requests per token ...
HUBSPOT_SEARCH_WINDOW_S = 1.0  # ... in any window this long
MAILCHIMP_PATH = re.compile(r"/3\.0/")
MAILCHIMP_MAX_CONNECTIONS = 10  # simultaneous requests per API key


class Refusal(NamedTuple):
    platform: str
    method: str
    path: str
    policy: str  # SECONDLY (HubSpot search) | CONCURRENCY (Mailchimp)


class PlatformLimits:
    """The limits' state for one server. Thread-safe: the server answers requests in parallel."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._searches: dict[str, deque[float]] = {}  # token -> arrival times of its admitted searches
        self._in_flight: dict[str, int] = {}  # Mailchimp API key -> requests being answered
        self.refused: list[Refusal] = []

    @contextmanager
    def admit(self, request: Request) -> Iterator[Response | None]:
        """Decide on arrival; yields the platform's 429 (answer it instead), or None. A Mailchimp
        request holds its connection slot until the block ends: wrap the writing of the answer too."""
        key = _mailchimp_key(request)
        if key is not None:
            with self._lock:
                held = self._in_flight.get(key, 0)
                admitted = held < MAILCHIMP_MAX_CONNECTIONS
                if admitted:
                    self._in_flight[key] = held + 1
            if not admitted:
                yield self._refuse(request, "mailchimp", "CONCURRENCY", f"{held} requests already in flight")
                return
            try:
                yield None
            finally:
                with self._lock:
                    self._in_flight[key] -= 1
            return
        yield self._hubspot_search(request)

    def in_flight(self, key: str) -> int:
        with self._lock:
            return self._in_flight.get(key, 0)

    def _hubspot_search(self, request: Request) -> Response | None:
        token = request.bearer_token()
        if (
            request.method != "POST"
            or not HUBSPOT_SEARCH.fullmatch(request.path)
            or token is None
            or token != request.sandbox.tokens["hubspot"]
        ):
            return None
        with self._lock:
            now = self.clock()
            recent = self._searches.setdefault(token, deque())
            while recent and recent[0] <= now - HUBSPOT_SEARCH_WINDOW_S:
                recent.popleft()
            if len(recent) < HUBSPOT_SEARCH_MAX:
                recent.append(now)
                return None
            since_ms = (now - recent[0]) * 1000
        return self._refuse(request, "hubspot", "SECONDLY", f"{len(recent)} searches in the last {since_ms:.0f} ms")

    def _refuse(self, request: Request, platform: str, policy: str, why: str) -> Response:
        with self._lock:
            self.refused.append(Refusal(platform, request.method, request.path, policy))
        log.info("platform limit: 429 %s on %s %s (%s)", policy, request.method, request.path, why)
        if platform == "hubspot":
            return rate_limit_response(
                "hubspot",
                request,
                {"policy": policy, "max": HUBSPOT_SEARCH_MAX, "interval_ms": int(HUBSPOT_SEARCH_WINDOW_S * 1000)},
            )
        return rate_limit_response("mailchimp", request)


def _mailchimp_key(request: Request) -> str | None:
    """The accepted API key of a Mailchimp request, else None (not Mailchimp, or a key it refuses)."""
    if not MAILCHIMP_PATH.match(request.path):
        return None
    key = api_key(request)
    return key if key and key == request.sandbox.tokens["mailchimp"] else None
