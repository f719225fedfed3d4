"""The sandbox HTTP server: every platform API on loopback, over one World.

Each platform lives in its own module under ``sandbox/apis/`` and registers
routes (method, path regex, handler); a handler takes a ``sandbox.http.Request``
and returns a ``Response``. This module only routes, checks nothing
platform-specific, and writes JSON; the fault plan (sandbox/faults.py) may answer
or rewrite any answer on the way. It is threaded so that the extractors'
parallel requests are served concurrently.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sandbox.apis import bigquery, cbr, facebook, ga4, google_ads, google_oauth, hubspot, mailchimp, meta
from sandbox.faults import FaultPlan
from sandbox.http import DEFAULT_TOKENS, Request, Response, SandboxState
from sandbox.limits import PlatformLimits
from sandbox.world import World
from sandbox.world_email import AUDIENCES
from sandbox.world_fx import CURRENCIES
from sandbox.world_google_ads import GOOGLE_ADS_CUSTOMERS, MANAGER
from sandbox.world_meta import AD_ACCOUNTS
from sandbox.world_social import FACEBOOK_PAGE, INSTAGRAM_ACCOUNT
from sandbox.world_web import PROPERTY_ID

__all__ = ["DEFAULT_TOKENS", "Request", "Response", "Sandbox", "SandboxServer", "connection_env"]

log = logging.getLogger(__name__)


@dataclass
class Sandbox(SandboxState):
    """The state one server serves, plus what the server puts in front of the platforms."""

    # Failures to inject (sandbox/faults.py): 429s, 5xx, slow, truncated or changed bodies.
    faults: FaultPlan | None = None
    # The platforms' own rate limits (sandbox/limits.py): HubSpot search 4/s per token, Mailchimp
    # 10 requests in flight per key. Off by default: the demo and the tests run at full speed.
    platform_limits: bool = False
    limits: PlatformLimits | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.faults is None:
            self.faults = FaultPlan()
        if self.limits is None:
            self.limits = PlatformLimits()


def _routes():
    return [
        *hubspot.ROUTES,
        *meta.ROUTES,
        *google_ads.ROUTES,
        *ga4.ROUTES,
        *bigquery.ROUTES,
        *google_oauth.ROUTES,
        *mailchimp.ROUTES,
        *facebook.ROUTES,
        *cbr.ROUTES,
    ]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real APIs do; the client pools connections
    # Headers and body go out in two writes: with Nagle's algorithm on, the body waits for the
    # client's delayed ACK of the headers (~40 ms per request on loopback).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        log.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
        sandbox = self.server.sandbox
        sandbox.count_request()
        for route_method, pattern, handler in self.server.routes:
            m = pattern.fullmatch(parts.path)
            if m and route_method == method:
                request = Request(
                    method, parts.path, query, {k.lower(): v for k, v in self.headers.items()}, body, f"http://{host}", m, sandbox
                )
                # The platforms' own limits decide on arrival; a request in flight holds its place
                # (Mailchimp's connection count) until its answer is written.
                with sandbox.limits.admit(request) if sandbox.platform_limits else nullcontext() as refused:
                    self._write(self._answer(request, handler, refused))
                return
        self._write(Response(404, {"status": "error", "message": f"no route for {method} {parts.path}"}))

    def _answer(self, request: Request, handler, refused: Response | None = None) -> Response:
        sandbox = self.server.sandbox  # request.sandbox, with the fault plan
        for hook in sandbox.request_hooks:
            hook(request)
        if refused is not None:  # over the platform's own limit: neither the platform nor a fault answers
            return refused
        fault = sandbox.faults.on_request(request)  # may sleep; may answer for the platform (429, 5xx)
        try:
            response = fault.response or handler(request)
        except Exception:  # a bug in the sandbox must look like a platform 500, not a hung socket
            log.exception("sandbox handler failed for %s %s", request.method, request.path)
            response = Response(500, {"message": "internal error"})
        try:
            return fault.transform(response)  # on an error answer: records the faults it could not apply as skipped
        except Exception:
            log.exception("sandbox fault plan failed for %s %s", request.method, request.path)
            return Response(500, {"message": "internal error"})

    def _write(self, response: Response) -> None:
        payload = response.body if isinstance(response.body, bytes) else json.dumps(response.body, separators=(",", ":")).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for k, v in response.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):  # noqa: N802 - http.server naming
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, sandbox: Sandbox):
        super().__init__(address, _Handler)
        self.sandbox = sandbox
        self.routes = [(m, re.compile(p), h) for m, p, h in _routes()]

    def handle_error(self, request, client_address):
        # A client that gave up waiting (its read timeout, e.g. against a slow fault) is no sandbox error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("client %s went away before its answer", client_address)
            return
        super().handle_error(request, client_address)


class SandboxServer:
    """A running sandbox on loopback. Use as a context manager in tests::

    with SandboxServer(World(seed=7)) as server:
        server.base_url  # http://127.0.0.1:<port>
    """

    def __init__(
        self,
        world: World,
        port: int = 0,
        now: datetime | None = None,
        host: str = "127.0.0.1",
        faults: FaultPlan | None = None,
        platform_limits: bool = False,
    ):
        self.sandbox = Sandbox(world, now, faults=faults, platform_limits=platform_limits)
        self._server = _Server((host, port), self.sandbox)
        # serve_forever polls for shutdown every 0.5 s by default: every stop would wait that long
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="sandbox-server", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def world(self) -> World:
        return self.sandbox.world

    @property
    def faults(self) -> FaultPlan:
        """Add, clear and inspect injected failures: ``server.faults.add("rate_limit", platform="hubspot", schedule=[1])``."""
        return self.sandbox.faults

    def set_clock(self, now: datetime) -> None:
        self.sandbox.now = now

    def connections(self) -> dict[str, str]:
        """AIRFLOW_CONN_* values that point the extractors at this server."""
        return connection_env(self.base_url, self.sandbox.tokens)

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def connection_env(base_url: str, tokens: dict[str, str] | None = None) -> dict[str, str]:
    """Airflow Connections (JSON form of AIRFLOW_CONN_<ID>) for every sandbox platform."""
    tokens = {**DEFAULT_TOKENS, **(tokens or {})}
    conns = {
        "hubspot": {"conn_type": "http", "host": base_url, "password": tokens["hubspot"], "extra": {"portal_id": "4400001"}},
        # No api_version: the extractors' defaults (extractors/api_versions.py) are what a run sends.
        "meta_ads": {
            "conn_type": "http",
            "host": base_url,
            "password": tokens["meta"],
            "extra": {"account_ids": [a.account_id for a in AD_ACCOUNTS]},
        },
        "google_ads": {
            "conn_type": "http",
            "host": base_url,
            "password": tokens["google_ads"],
            "extra": {
                "developer_token": tokens["google_ads_developer"],
                "login_customer_id": MANAGER.customer_id,
                "customer_ids": [c.customer_id for c in GOOGLE_ADS_CUSTOMERS],
            },
        },  # the default version
        # The property's BigQuery export is linked (sandbox/apis/bigquery.py): the ga4_export stream reads exits.
        "ga4": {
            "conn_type": "http",
            "host": base_url,
            "password": tokens["ga4"],
            "extra": {"property_ids": [PROPERTY_ID], "bigquery_project_id": bigquery.PROJECT_ID, "bigquery_url": base_url},
        },
        # Mailchimp's base URL is https://<dc>.api.mailchimp.com; the key (its password) ends in the data center.
        "mailchimp": {
            "conn_type": "http",
            "host": base_url,
            "login": "funnelhouse",
            "password": tokens["mailchimp"],
            "extra": {"list_ids": [a.list_id for a in AUDIENCES]},
        },
        "facebook_pages": {
            "conn_type": "http",
            "host": base_url,
            "password": tokens["facebook"],
            "extra": {"page_ids": [FACEBOOK_PAGE.account_id], "ig_user_ids": [INSTAGRAM_ACCOUNT.account_id]},
        },
        # The Bank of Russia's rates need no token (its base URL is https://www.cbr.ru).
        "cbr": {"conn_type": "http", "host": base_url, "extra": {"currencies": [c.code for c in CURRENCIES]}},
    }
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn) for conn_id, conn in conns.items()}
