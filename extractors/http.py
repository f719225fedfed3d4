"""The one HTTP client and retry policy every source uses.

A ``requests.Session`` per source (connection pooling), a timeout on every
call, a concurrency limit per platform, and one retry policy that understands
each platform's own throttling signal:

- HubSpot: HTTP 429 with ``X-HubSpot-RateLimit-Interval-Milliseconds``;
  ``policyName: DAILY`` means the day's quota is gone, so we stop instead of spinning.
- Meta: HTTP 400 (not 429) with error codes 4, 17, 32, 613, 80000-80014 and
  ``X-Business-Use-Case-Usage`` whose ``estimated_time_to_regain_access`` is in minutes.
  Not retried: code 2635 (a retired Marketing API version: ``ApiVersionError``) and HTTP 500
  code 1 "Please reduce the amount of data you're asking for" (``RequestTooLarge``: the same
  request fails again, the source asks for less). A call Meta auto-upgraded to another version
  (``X-Ad-Api-Version-Warning``) is logged once.
- Google: ``RESOURCE_EXHAUSTED`` with ``quotaErrorDetails.retryDelay`` ("30s"); GA4's Data API names
  no delay, and its hourly and daily token quotas ("Exhausted property tokens for a project per
  hour") come back within the hour or the day, so those are not retried (``QuotaExhausted``).
- Mailchimp and everyone else: 429, and ``Retry-After`` wherever it is sent.

Reacting is the fallback: where a platform documents a rate for some paths, the source
declares it (``RateLimit``) and the client paces its sends to stay under it, across all
the threads that share the client, so a correct run never sees that 429 (HubSpot's CRM
search: 4 per second per token; a 429 costs at least ``min_throttle_wait_s``).

5xx, 408, timeouts, dropped connections and truncated/malformed JSON bodies are
retried with exponential backoff and full jitter. Any other 4xx is a refusal the platform
will repeat (``RefusedError``): it is raised at once, never retried. An answer that is a
JSON array with an error element anywhere in it (Google Ads searchStream, also after result
batches under HTTP 200) is that error, never a shorter result. Secrets never leave this
module unredacted: they are masked in every log line and exception.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from extractors.errors import ApiError, ApiVersionError, AuthError, ForbiddenError, QuotaExhausted, RefusedError, RequestTooLarge

log = logging.getLogger(__name__)

META_THROTTLE_CODES = {4, 17, 32, 613, *range(80000, 80015)}
META_AUTH_CODES = {102, 190}
META_PERMISSION_CODES = {10, 200, 294}
META_NO_ACCESS = (100, 33)  # "object does not exist, cannot be loaded due to missing permissions"
META_RETIRED_VERSION = 2635  # "You are calling a deprecated version of the Ads API"
META_TOO_MUCH_DATA = "reduce the amount of data"  # HTTP 500 code 1; Meta publishes no subcode for it
_TOKEN_PARAM = re.compile(r"(access_token|apikey|key)=[^&\s]+", re.IGNORECASE)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 60.0
    max_throttle_wait_s: float = 300.0  # longest server-requested wait we honour before giving up
    min_throttle_wait_s: float = 5.0  # a platform that says "slow down" gets at least this long
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 120.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^attempt)] so parallel workers spread out."""
        return random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2**attempt))


@dataclass(frozen=True)
class RateLimit:
    """A documented request rate the client keeps under: at most ``max_requests`` sends in any
    ``window_s`` seconds to the paths matching ``path`` (a regex searched in the URL's path)."""

    path: str
    max_requests: int
    window_s: float


class _Pacer:
    """One RateLimit, shared by every thread of the client (one token).

    Counted from when each answer came back rather than when its request left: the platform
    counts a request somewhere in between, so however long requests take to arrive, no window
    of the platform's ever holds more than ``max_requests`` of ours (a round trip of headroom)."""

    def __init__(self, limit: RateLimit):
        self.limit = limit
        self._pattern = re.compile(limit.path)
        self._turns = threading.Condition()
        self._in_flight = 0
        self._answered: deque[float] = deque()  # monotonic times the recent answers came back, oldest first

    def applies(self, path: str) -> bool:
        return self._pattern.search(path) is not None

    @contextmanager
    def turn(self) -> Iterator[float]:
        """Hold one send of this limit (wait for room first); yields the seconds waited."""
        with self._turns:
            asked, waited = time.monotonic(), False
            while True:
                now = time.monotonic()
                while self._answered and self._answered[0] <= now - self.limit.window_s:
                    self._answered.popleft()
                if self._in_flight + len(self._answered) < self.limit.max_requests:
                    self._in_flight += 1
                    break
                # Room comes when the oldest answer leaves the window, or sooner news from a send in flight.
                self._turns.wait(self._answered[0] + self.limit.window_s - now if self._answered else None)
                waited = True
        try:
            yield now - asked if waited else 0.0
        finally:
            with self._turns:
                self._in_flight -= 1
                self._answered.append(time.monotonic())
                self._turns.notify_all()


class _Retry(Exception):
    def __init__(self, reason: str, wait_s: float | None = None, throttled: bool = False):
        super().__init__(reason)
        self.reason, self.wait_s, self.throttled = reason, wait_s, throttled


class HttpClient:
    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        secrets: list[str] | None = None,
        max_concurrency: int = 4,
        policy: RetryPolicy | None = None,
        rate_limits: tuple[RateLimit, ...] = (),
    ):
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self._pacers = [_Pacer(limit) for limit in rate_limits]
        self._secrets = [s for s in (secrets or []) if s]
        self._version_warnings: set[str] = set()
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=max_concurrency, pool_maxsize=max_concurrency)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"User-Agent": "funnelhouse-extractors", "Accept": "application/json"})
        self.session.headers.update(headers or {})

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return _TOKEN_PARAM.sub(r"\1=***", text)

    def url(self, path_or_url: str) -> str:
        return path_or_url if "://" in path_or_url else f"{self.base_url}/{path_or_url.lstrip('/')}"

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        what: str,
        params: dict | None = None,
        json_body: dict | None = None,
        form: dict | None = None,
        decode: Callable[[bytes], object] | None = None,
    ) -> dict | list:
        """Send one request and return its parsed JSON body, retrying what can be retried.

        ``what`` names the stream and account for error messages ("hubspot contacts"). ``decode``
        reads a 2xx body that is not JSON (e.g. XML) and raises ValueError for a damaged one,
        which is retried like a truncated JSON body.
        """
        url = self.url(path_or_url)
        label = f"{self.source} {what}: {method} {self.redact(url.split('?')[0])}"
        pacers = [p for p in self._pacers if p.applies(urlsplit(url).path)]
        reason = "no attempt made"
        for attempt in range(self.policy.max_attempts):
            try:
                with ExitStack() as held:
                    for pacer in pacers:  # a turn first: waiting for one holds no slot other paths could use
                        if (waited := held.enter_context(pacer.turn())) > 0:
                            log.debug(
                                "%s waited %.2fs for its turn (at most %d per %.1fs)",
                                label,
                                waited,
                                pacer.limit.max_requests,
                                pacer.limit.window_s,
                            )
                    held.enter_context(self._slots)
                    response = self.session.request(
                        method,
                        url,
                        params=params,
                        json=json_body,
                        data=form,
                        timeout=(self.policy.connect_timeout_s, self.policy.read_timeout_s),
                    )
                return self._parse(response, label, decode)
            except _Retry as retry:
                reason = retry.reason
                if retry.wait_s is not None and retry.wait_s > self.policy.max_throttle_wait_s:
                    raise QuotaExhausted(
                        f"{label} is rate limited for {retry.wait_s:.0f}s ({reason}); run again later or raise the platform quota"
                    ) from None
                # Throttled without a stated delay: back off, but never less than the floor.
                wait = retry.wait_s if retry.wait_s is not None else self.policy.backoff(attempt)
                if retry.throttled:
                    wait = max(wait, self.policy.min_throttle_wait_s)
            except (requests.Timeout, requests.ConnectionError) as exc:
                reason = f"{type(exc).__name__}: {self.redact(str(exc))}"
                wait = self.policy.backoff(attempt)
            except requests.RequestException as exc:  # e.g. an invalid header: not retryable, and may quote the token
                raise RefusedError(f"{label} could not be sent: {type(exc).__name__}: {self.redact(str(exc))}") from None
            if attempt + 1 < self.policy.max_attempts:
                log.warning(
                    "%s attempt %d/%d failed (%s); retrying in %.1fs", label, attempt + 1, self.policy.max_attempts, reason, wait
                )
                self.policy.sleep(wait)
        raise ApiError(f"{label} failed after {self.policy.max_attempts} attempts: {reason}")

    def _parse(self, response: requests.Response, label: str, decode: Callable[[bytes], object] | None = None) -> dict | list:
        status = response.status_code
        if decode is not None and 200 <= status < 300:
            try:
                return decode(response.content)
            except ValueError as exc:  # truncated or malformed: the request is safe to repeat
                raise _Retry(f"HTTP {status} with a body that could not be read ({exc}; {len(response.content)} bytes)") from None
        try:
            # The standard library's parser on the bytes (JSON is UTF-8): requests' .json() decodes the
            # text first and, where simplejson is installed, parses with that instead.
            body = json.loads(response.content)
        except ValueError:  # UnicodeDecodeError too
            body = None
        streamed = _stream_error(body)
        if 200 <= status < 300 and streamed is None:
            if body is None:  # truncated or malformed body: the request is safe to repeat
                raise _Retry(f"HTTP {status} with a body that is not valid JSON ({len(response.content)} bytes)")
            if (upgraded := response.headers.get("X-Ad-Api-Version-Warning")) and upgraded not in self._version_warnings:
                self._version_warnings.add(upgraded)
                log.warning(
                    "%s: Meta served the call from another API version than the one asked for (%s); "
                    "set the connection's extra 'api_version' to a current version",
                    label,
                    self.redact(upgraded),
                )
            return body
        if streamed is not None:
            # Google's streaming methods (Google Ads searchStream) answer a JSON array, and an error comes as
            # one of its elements: alone, or after result batches once the answer has begun (HTTP 200). The
            # answer is then that error, whatever came before it: those batches are not the whole result.
            position, body = streamed
            if 200 <= status < 300:
                status = _int(body["error"].get("code")) or 500
        error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}
        detail = self.redact(_describe(body, response.text))
        if streamed is not None and streamed[0]:
            detail += f", an error element after {streamed[0]} result batches of an HTTP {response.status_code} answer"
        if error.get("code") == META_RETIRED_VERSION:
            raise ApiVersionError(
                f"{label} was refused: the API version is retired (HTTP {status}: {detail})", status=status, body=body
            )
        if status == 500 and error.get("code") == 1 and META_TOO_MUCH_DATA in str(error.get("message", "")).lower():
            raise RequestTooLarge(
                f"{label} asked for more data than the platform answers at once (HTTP {status}: {detail})",
                status=status,
                body=body,
            )
        throttled = _throttle_signal(response, status, body, error)
        if throttled is not None:
            raise _Retry(f"throttled (HTTP {status}: {detail})", throttled.wait_s, throttled=True)
        # OAuth token endpoints answer a bad refresh token or client with a string error.
        oauth_error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None
        if (
            status == 401
            or error.get("code") in META_AUTH_CODES
            or oauth_error in ("invalid_grant", "invalid_client", "unauthorized_client")
        ):
            raise AuthError(
                f"{label} was refused: the credentials were rejected (HTTP {status}: {detail}); "
                "put a valid token in the connection's password",
                status=status,
                body=body,
            )
        if (
            status == 403
            or error.get("code") in META_PERMISSION_CODES
            or (error.get("code"), error.get("error_subcode")) == META_NO_ACCESS
        ):
            raise ForbiddenError(f"{label} was refused: no permission (HTTP {status}: {detail})", status=status, body=body)
        if status >= 500 or status == 408:
            raise _Retry(f"HTTP {status}: {detail}")
        # Any other 4xx: the platform will answer the same request the same way, so it is not repeated.
        raise RefusedError(
            f"{label} was rejected (HTTP {status}: {detail}); not retried: the same request gets the same answer",
            status=status,
            body=body,
        )


def _stream_error(body) -> tuple[int, dict] | None:
    """The first element of a JSON-array answer that is an error, with how many elements came before it."""
    if isinstance(body, list):
        for position, element in enumerate(body):
            if isinstance(element, dict) and isinstance(element.get("error"), dict):
                return position, element
    return None


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _describe(body, text: str) -> str:
    if isinstance(body, dict):
        if isinstance(body.get("error"), str):  # OAuth: {"error": "invalid_grant", "error_description": ...}
            return f"{body['error']}: {body.get('error_description', '')}".rstrip(": ")
        if isinstance(body.get("error"), dict):
            e = body["error"]
            # Google puts what went wrong in the GoogleAdsFailure details; the message only says "invalid argument".
            failures = [
                str(f["message"]).strip()
                for d in e.get("details") or []
                if isinstance(d, dict)
                for f in d.get("errors") or []
                if isinstance(f, dict) and f.get("message")
            ]
            return f"{e.get('message') or e.get('status')}{': ' + '; '.join(failures) if failures else ''} (code {e.get('code')})"
        for key in ("message", "detail", "title"):
            if body.get(key):
                return str(body[key])
    return text[:200].replace("\n", " ")


class _Throttled:
    """A throttling signal; ``wait_s`` is None when the platform names no delay (use backoff)."""

    def __init__(self, wait_s: float | None = None):
        self.wait_s = wait_s


def _throttle_signal(response: requests.Response, status: int, body, error: dict) -> _Throttled | None:
    """The platform's own 'slow down', if this response is one."""
    retry_after = response.headers.get("Retry-After", "").strip()
    if retry_after.isdigit():
        return _Throttled(float(retry_after))
    if error.get("code") in META_THROTTLE_CODES:
        minutes = _meta_usage_minutes(response)
        return _Throttled(minutes * 60 if minutes else None)
    if error.get("status") == "RESOURCE_EXHAUSTED":
        return _Throttled(_google_retry_delay(error) or _google_quota_period(error))
    if status == 429:
        if isinstance(body, dict) and body.get("policyName") == "DAILY":
            return _Throttled(float("inf"))  # the day's quota is spent: waiting seconds will not help
        interval = response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
        if interval and interval.isdigit() and response.headers.get("X-HubSpot-RateLimit-Remaining") == "0":
            return _Throttled(int(interval) / 1000)
        return _Throttled()
    return None


def _meta_usage_minutes(response: requests.Response) -> float | None:
    raw = response.headers.get("X-Business-Use-Case-Usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
        waits = [entry.get("estimated_time_to_regain_access", 0) for entries in usage.values() for entry in entries]
    except (ValueError, AttributeError, TypeError):
        return None
    return max(waits, default=0) or None


# GA4 Data API quotas that last an hour or a day (PropertyQuota): their 429 names no retry delay.
_GOOGLE_PERIOD_QUOTAS = (
    (re.compile(r"per day", re.IGNORECASE), 86400.0),
    (re.compile(r"per hour|thresholded requests", re.IGNORECASE), 3600.0),
)


def _google_quota_period(error: dict) -> float | None:
    """Seconds until a spent hourly or daily quota returns, from the message; None for short-lived ones."""
    message = str(error.get("message") or "")
    return next((seconds for pattern, seconds in _GOOGLE_PERIOD_QUOTAS if pattern.search(message)), None)


def _google_retry_delay(error: dict) -> float | None:
    for detail in error.get("details") or []:
        for err in detail.get("errors") or [detail]:
            delay = (err.get("details") or {}).get("quotaErrorDetails", {}).get("retryDelay") or err.get(
                "quotaErrorDetails", {}
            ).get("retryDelay")
            if delay:
                return float(str(delay).rstrip("s"))
    return None
