"""The platforms' own rate limits: the sandbox enforces them (opt-in), the extractors stay under them.

GIVEN a sandbox with ``platform_limits`` on, THEN HubSpot's CRM search answers the 5th
request within a second with HubSpot's 429 SECONDLY (body and headers as documented) and
answers again once the window has passed, and Mailchimp answers the requests over 10 in
flight per API key with its 429 problem+json; with the mode off nothing is limited.
WHEN the extractors read against it, THEN they are never refused (they pace HubSpot search
and keep Mailchimp to 10 requests in flight) and land exactly the rows of an unlimited read.
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import duckdb
import pytest
import requests

from extractors import http, settings, sources
from extractors.connections import get_connection
from extractors.errors import ApiError
from extractors.http import HttpClient, RetryPolicy
from extractors.sources.hubspot import HubSpot
from extractors.sources.mailchimp import Mailchimp
from sandbox.limits import Refusal
from sandbox.server import DEFAULT_TOKENS, SandboxServer
from tests.pipeline_helpers import run
from tests.sandbox.test_sandbox_determinism import serve
from tests.spec_contracts import REPO

HUBSPOT = {"Authorization": f"Bearer {DEFAULT_TOKENS['hubspot']}"}
MAILCHIMP = ("funnelhouse", DEFAULT_TOKENS["mailchimp"])
SEARCH = "/crm/v3/objects/contacts/search"
QUERY = {
    "filterGroups": [],
    "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
    "properties": ["email"],
    "limit": 1,
}
RATE_LIMIT_BODY_KEYS = {"status", "message", "errorType", "correlationId", "policyName"}


@pytest.fixture
def limited(world):
    """A sandbox enforcing the platforms' own limits, its HubSpot search index already built
    (the first search of a clock builds it, which takes longer than the 1 s window)."""
    with SandboxServer(world, platform_limits=True) as server:
        server.sandbox.platform_limits = False
        assert requests.post(server.base_url + SEARCH, json=QUERY, headers=HUBSPOT, timeout=60).status_code == 200
        server.sandbox.platform_limits = True
        yield server


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def search(server, headers=HUBSPOT) -> requests.Response:
    return requests.post(server.base_url + SEARCH, json=QUERY, headers=headers, timeout=30)


# ---- HubSpot: CRM search, 4 requests per second per token ----------------------------------------


def test_the_fifth_search_within_a_second_gets_hubspots_429_secondly_with_its_headers(limited):
    answers = [search(limited) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    refused = answers[4]
    body = refused.json()
    assert set(body) == RATE_LIMIT_BODY_KEYS
    assert (body["status"], body["errorType"], body["policyName"]) == ("error", "RATE_LIMIT", "SECONDLY")
    assert body["correlationId"] and body["message"]
    assert refused.headers["Content-Type"].startswith("application/json")
    # The search policy's own numbers: 4 per 1000 ms, none left.
    assert refused.headers["X-HubSpot-RateLimit-Max"] == "4"
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert refused.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "1000"
    assert limited.sandbox.limits.refused == [Refusal("hubspot", "POST", SEARCH, "SECONDLY")]
    # Other endpoints have their own (higher) limit: a list still answers.
    assert (
        requests.get(limited.base_url + "/crm/v3/objects/contacts", params={"limit": 1}, headers=HUBSPOT, timeout=30).status_code
        == 200
    )
    # Once the window has passed, search answers again.
    time.sleep(1.05)
    assert search(limited).status_code == 200


def test_the_search_window_slides_and_a_refused_search_does_not_count(limited):
    clock = FakeClock()
    limited.sandbox.limits.clock = clock
    statuses = []
    for at in (0.0, 0.1, 0.2, 0.3, 0.999, 1.0, 1.05, 1.1):
        clock.now = 1000.0 + at
        statuses.append((at, search(limited).status_code))
    # 4 in [0, 0.3]; 0.999 is within a second of 0.0; at 1.0 the search at 0.0 has left the window
    # (the refused one at 0.999 took no place); 1.05 makes 5 within a second of 0.1; at 1.1 0.1 has left.
    assert statuses == [(0.0, 200), (0.1, 200), (0.2, 200), (0.3, 200), (0.999, 429), (1.0, 200), (1.05, 429), (1.1, 200)]
    assert [r.policy for r in limited.sandbox.limits.refused] == ["SECONDLY", "SECONDLY"]


def test_the_search_limit_is_per_accepted_token_and_a_wrong_token_gets_401(limited):
    clock = FakeClock()
    limited.sandbox.limits.clock = clock
    assert [search(limited).status_code for _ in range(4)] == [200] * 4
    wrong = search(limited, {"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401 and wrong.json()["category"] == "INVALID_AUTHENTICATION"
    assert search(limited).status_code == 429


# ---- Mailchimp: 10 requests in flight per API key ------------------------------------------------


def hold_mailchimp_requests(server, release: threading.Event) -> list[str]:
    """A request hook that keeps every Mailchimp request in flight until ``release`` is set."""
    arrived: list[str] = []
    lock = threading.Lock()

    def hook(request):
        if request.path.startswith("/3.0/"):
            with lock:
                arrived.append(request.path)
            release.wait(timeout=30)

    server.sandbox.request_hooks.append(hook)
    return arrived


def wait_for(condition, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_eleven_mailchimp_requests_in_flight_the_one_over_ten_gets_429_problem_json(sandbox):
    sandbox.sandbox.platform_limits = True
    release = threading.Event()
    arrived = hold_mailchimp_requests(sandbox, release)
    key = DEFAULT_TOKENS["mailchimp"]
    with ThreadPoolExecutor(max_workers=11) as pool:
        first_ten = [pool.submit(requests.get, f"{sandbox.base_url}/3.0/ping", auth=MAILCHIMP, timeout=60) for _ in range(10)]
        wait_for(lambda: sandbox.sandbox.limits.in_flight(key) == 10)
        eleventh = pool.submit(requests.get, f"{sandbox.base_url}/3.0/ping", auth=MAILCHIMP, timeout=60)
        wait_for(lambda: len(arrived) == 11)  # every request is held, the refused one too, until released
        release.set()
        answers = [f.result() for f in first_ten]
        refused = eleventh.result()
    assert [a.status_code for a in answers] == [200] * 10
    assert all(a.json() == {"health_status": "Everything's Chimpy!"} for a in answers)
    assert refused.status_code == 429
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    problem = refused.json()
    assert set(problem) == {"type", "title", "status", "detail", "instance"}
    assert (problem["status"], problem["title"]) == (429, "Too Many Requests")
    assert "10 simultaneous connections" in problem["detail"]
    assert sandbox.sandbox.limits.refused == [Refusal("mailchimp", "GET", "/3.0/ping", "CONCURRENCY")]
    # Answered requests give their places back.
    wait_for(lambda: sandbox.sandbox.limits.in_flight(key) == 0)
    assert requests.get(f"{sandbox.base_url}/3.0/ping", auth=MAILCHIMP, timeout=30).status_code == 200


def test_a_wrong_mailchimp_key_gets_401_and_takes_no_place(sandbox):
    sandbox.sandbox.platform_limits = True
    wrong = requests.get(f"{sandbox.base_url}/3.0/ping", auth=("funnelhouse", "wrong-key-us21"), timeout=30)
    assert wrong.status_code == 401 and wrong.json()["title"] == "API Key Invalid"
    assert sandbox.sandbox.limits.in_flight("wrong-key-us21") == 0 and sandbox.sandbox.limits.refused == []


# ---- mode off ------------------------------------------------------------------------------------


def test_with_the_mode_off_nothing_is_limited(sandbox):
    assert sandbox.sandbox.platform_limits is False
    search(sandbox)  # builds the index
    assert [search(sandbox).status_code for _ in range(12)] == [200] * 12
    release = threading.Event()
    arrived = hold_mailchimp_requests(sandbox, release)
    with ThreadPoolExecutor(max_workers=15) as pool:
        futures = [pool.submit(requests.get, f"{sandbox.base_url}/3.0/ping", auth=MAILCHIMP, timeout=60) for _ in range(15)]
        wait_for(lambda: len(arrived) == 15)  # 15 in flight at once
        release.set()
        assert [f.result().status_code for f in futures] == [200] * 15
    assert sandbox.sandbox.limits.refused == []


@pytest.mark.slow
def test_serve_platform_limits_flag_is_documented_and_turns_the_limits_on():
    help_text = " ".join(
        subprocess.run(
            [sys.executable, "-m", "sandbox", "serve", "--help"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert "--platform-limits" in help_text and "4 requests per second" in help_text
    for args, expected in ((("--platform-limits",), 429), ((), 200)):
        with serve("--days", "14", *args) as base_url:
            requests.post(base_url + SEARCH, json=QUERY, headers=HUBSPOT, timeout=60)  # builds the index
            time.sleep(1.05)
            statuses = [requests.post(base_url + SEARCH, json=QUERY, headers=HUBSPOT, timeout=30).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 200, expected], args


# ---- the extractors' side -----------------------------------------------------------------------


def client_responses(monkeypatch) -> tuple[list[int], list[float]]:
    """Every status the HTTP client receives, and every wait for a turn of a declared rate, counted
    in the client (not from logs: the first import of Airflow replaces the root log handlers)."""
    statuses: list[int] = []
    turns: list[float] = []
    parse, turn = http.HttpClient._parse, http._Pacer.turn

    def counting_parse(self, response, label, decode=None):
        statuses.append(response.status_code)
        return parse(self, response, label, decode)

    @contextmanager
    def counting_turn(self):
        with turn(self) as waited:
            turns.append(waited)
            yield waited

    monkeypatch.setattr(http.HttpClient, "_parse", counting_parse)
    monkeypatch.setattr(http._Pacer, "turn", counting_turn)
    return statuses, turns


@pytest.mark.slow
def test_a_client_that_declares_the_search_rate_is_never_refused_and_one_that_does_not_is(limited, monkeypatch):
    _, turns = client_responses(monkeypatch)
    limit = HubSpot.rate_limits[0]
    paced = HttpClient("hubspot", limited.base_url, headers=HUBSPOT, rate_limits=(limit,), policy=RetryPolicy(max_attempts=1))
    # Four threads sharing one client (one token), three searches each.
    with ThreadPoolExecutor(max_workers=4) as pool:
        pages = list(pool.map(lambda _: paced.request("POST", SEARCH, json_body=QUERY, what="contacts (search)"), range(12)))
    assert len(pages) == 12 and all(p["results"] for p in pages)
    assert limited.sandbox.limits.refused == []
    # 12 searches, 4 at once: each thread's next search finds the 4 answers of the first wave in the
    # window and waits its turn (later waves too, unless a slow answer already let the window pass)
    assert len(turns) == 12 and sum(w > 0 for w in turns) >= 4
    # Other paths are not paced: a list right after them takes no turn.
    paced.request("GET", "/crm/v3/objects/contacts", params={"limit": 1}, what="contacts")
    assert len(turns) == 12

    time.sleep(1.05)
    unpaced = HttpClient("hubspot", limited.base_url, headers=HUBSPOT, policy=RetryPolicy(max_attempts=1))
    with pytest.raises(ApiError, match="throttled"):
        for _ in range(5):
            unpaced.request("POST", SEARCH, json_body=QUERY, what="contacts (search)")
    assert [r.policy for r in limited.sandbox.limits.refused] == ["SECONDLY"]


def checksums() -> dict[str, str]:
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        return {
            t: hashlib.sha256(
                repr(
                    con.execute(f"SELECT * EXCLUDE (_loaded_at, _batch_id) FROM raw_hubspot.{t} ORDER BY ALL").fetchall()
                ).encode()
            ).hexdigest()
            for t in ("contacts", "deals", "contact_visits")
        }


@pytest.mark.slow
def test_an_incremental_hubspot_read_of_many_search_pages_is_never_throttled_and_lands_the_same_rows(
    world, data_dir, tmp_path, monkeypatch
):
    """GIVEN contacts read 20 days ago (about 1,500 changed since: 8 search pages, twice HubSpot's
    per-second search limit), WHEN the incremental read runs against the platform's limits,
    THEN no request is refused and the raw tables equal those of the same runs without limits."""
    earlier = world.default_now - timedelta(days=20)

    def two_runs(server) -> tuple[dict[str, str], list[dict]]:
        monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path / f"limits_{server.sandbox.platform_limits}"))
        for key, value in server.connections().items():
            monkeypatch.setenv(key, value)
        server.set_clock(earlier)
        run("hubspot", end=earlier)
        server.set_clock(world.default_now)
        searches: list[dict] = []
        server.sandbox.request_hooks.append(lambda r: searches.append(r.json()) if r.path == SEARCH else None)
        results = run("hubspot", end=world.default_now)  # from the saved cursor: search
        server.sandbox.request_hooks.clear()
        assert results[0].loaded["contacts"] > 1000
        return checksums(), searches

    with SandboxServer(world) as free:
        unlimited, _ = two_runs(free)
    statuses, turns = client_responses(monkeypatch)
    with SandboxServer(world, platform_limits=True) as server:
        limited_rows, searches = two_runs(server)
        refused = server.sandbox.limits.refused
    assert len(searches) >= 8  # more pages than one second of searches allows
    assert refused == []  # the server gave no 429 ...
    assert statuses and 429 not in statuses  # ... and the client saw none
    # Every search took a turn; the cost is paid in turns (under a second each), not in 429s (5 s each at least).
    assert len(turns) == len(searches) and any(w > 0 for w in turns)
    assert limited_rows == unlimited


@pytest.mark.slow
def test_without_pacing_the_same_read_is_throttled(world, data_dir, monkeypatch):
    """The check above has teeth: the same read with no declared rate trips the search limit."""
    earlier = world.default_now - timedelta(days=20)
    waits: list[float] = []
    monkeypatch.setattr(HubSpot, "rate_limits", ())

    # Waits recorded, not slept, except HubSpot's 1 s window, so the retry finds room again.
    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(min(seconds, 1.05))

    monkeypatch.setattr(sources, "RetryPolicy", functools.partial(http.RetryPolicy, sleep=sleep))
    with SandboxServer(world, platform_limits=True) as server:
        for key, value in server.connections().items():
            monkeypatch.setenv(key, value)
        server.set_clock(earlier)
        run("hubspot", end=earlier)
        server.set_clock(world.default_now)
        run("hubspot", end=world.default_now)
        refused = server.sandbox.limits.refused
    assert refused and {r.policy for r in refused} == {"SECONDLY"}
    assert len(waits) == len(refused) and all(w == 5.0 for w in waits)  # each 429 costs the 5 s floor


def test_mailchimp_keeps_at_most_ten_requests_in_flight_per_key(sandbox, connections):
    """Mailchimp.max_concurrency (the pipeline's thread pool and the client's slots) is 10, the
    platform's limit: with 20 threads sharing the source's client, 10 are in flight, never 11."""
    assert Mailchimp.max_concurrency == 10
    sandbox.sandbox.platform_limits = True
    key = DEFAULT_TOKENS["mailchimp"]
    ten_in_flight = threading.Event()
    peak = []

    def hold_until_ten(request):
        if request.path.startswith("/3.0/"):
            peak.append(sandbox.sandbox.limits.in_flight(key))
            if peak[-1] >= 10:
                ten_in_flight.set()
            ten_in_flight.wait(timeout=30)

    sandbox.sandbox.request_hooks.append(hold_until_ten)
    client = Mailchimp().client(get_connection("mailchimp"))
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: client.request("GET", "/3.0/ping", what="ping"), range(20)))
    assert answers == [{"health_status": "Everything's Chimpy!"}] * 20
    assert ten_in_flight.is_set() and max(peak) == 10
    assert sandbox.sandbox.limits.refused == []
