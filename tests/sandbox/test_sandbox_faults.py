"""Faults on demand: each fault appears exactly as configured, over real HTTP against a
SandboxServer on the platforms' real endpoints (HubSpot, Meta insights, Graph posts and
media, Google Ads searchStream, GA4 runReport, Mailchimp 3.0), and the extractors' one
HTTP client survives each of them.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from extractors.api_versions import PLATFORMS as PLATFORMS_API
from extractors.http import HttpClient, RetryPolicy
from sandbox.apis import google_ads
from sandbox.faults import (
    KINDS,
    PLATFORMS,
    FaultPlan,
    FaultRule,
    FiredFault,
    SkippedFault,
    client_error_response,
    platform_of,
    rate_limit_response,
    server_error_response,
)
from sandbox.http import Request
from sandbox.server import DEFAULT_TOKENS, SandboxServer
from sandbox.world import AD_ACCOUNTS, GOOGLE_ADS_CUSTOMERS
from sandbox.world_social import FACEBOOK_PAGE, INSTAGRAM_ACCOUNT
from sandbox.world_web import PROPERTY_ID

HUBSPOT_TOKEN, META_TOKEN = "sandbox-hubspot-token", "sandbox-meta-token"
CONTACTS = "/crm/v3/objects/contacts"
ACCOUNT = AD_ACCOUNTS[0].account_id
INSIGHTS = f"/v26.0/act_{ACCOUNT}/insights"
CUSTOMER = GOOGLE_ADS_CUSTOMERS[0].customer_id
# The extractors' default version: a sunset one (v17 on 2025-06-04) is refused at the sandbox's clock.
SEARCH_STREAM = f"/{PLATFORMS_API['google_ads'].default}/customers/{CUSTOMER}/googleAds:searchStream"
GOOGLE_HEADERS = {
    "Authorization": f"Bearer {DEFAULT_TOKENS['google_ads']}",
    "developer-token": DEFAULT_TOKENS["google_ads_developer"],
    "login-customer-id": "5550000",
}
RUN_REPORT = f"/v1beta/properties/{PROPERTY_ID}:runReport"
GA4_HEADERS = {"Authorization": f"Bearer {DEFAULT_TOKENS['ga4']}"}
CAMPAIGNS = "/3.0/campaigns"
MAILCHIMP_AUTH = ("anyone", DEFAULT_TOKENS["mailchimp"])
POSTS, MEDIA = f"/v21.0/{FACEBOOK_PAGE.account_id}/posts", f"/v21.0/{INSTAGRAM_ACCOUNT.account_id}/media"
POST_FIELDS = "id,message,created_time,permalink_url,shares,comments.summary(true),reactions.summary(true)"
MEDIA_FIELDS = "id,caption,media_type,timestamp,like_count,comments_count,permalink"
GRAPH_HEADERS = {"Authorization": f"Bearer {DEFAULT_TOKENS['facebook']}"}
PROJECT = Path(__file__).resolve().parents[2]


# ---- helpers ------------------------------------------------------------------


def fake_request(path: str, method: str = "GET", query: dict | None = None, body: bytes = b"") -> Request:
    return Request(method, path, query or {}, {}, body, "http://127.0.0.1:1", None, None)


def get_contacts(server, limit: int = 3, after: str | None = None, timeout: float = 10) -> requests.Response:
    params = {"limit": limit, **({"after": after} if after else {})}
    return requests.get(
        server.base_url + CONTACTS, params=params, timeout=timeout, headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"}
    )


def insights_query(world, limit: int = 4) -> dict:
    day = world.start.isoformat()
    every_status = [{"field": "ad.effective_status", "operator": "IN", "value": ["ACTIVE", "PAUSED", "ARCHIVED", "DELETED"]}]
    return {
        "level": "ad",
        "time_increment": "1",
        "time_range": json.dumps({"since": day, "until": day}),
        "filtering": json.dumps(every_status),
        "fields": "ad_id,spend,impressions,clicks,actions,date_start",
        "limit": str(limit),
        "access_token": META_TOKEN,
    }


def get_insights(server, world, limit: int = 4) -> requests.Response:
    return requests.get(server.base_url + INSIGHTS, params=insights_query(world, limit), timeout=10)


def search_stream(server, query: str) -> requests.Response:
    return requests.post(server.base_url + SEARCH_STREAM, json={"query": query}, headers=GOOGLE_HEADERS, timeout=30)


def ad_group_query(world, days: int = 5) -> str:
    last = world.start + timedelta(days=days - 1)
    return (
        "SELECT ad_group.id, metrics.clicks, metrics.cost_micros, segments.date FROM ad_group "
        f"WHERE segments.date BETWEEN '{world.start}' AND '{last}'"
    )


def ga4_body(world, days: int = 5, **paging) -> dict:
    first = world.session_dates[0]
    return {
        "dateRanges": [{"startDate": str(first), "endDate": str(first + timedelta(days=days - 1))}],
        "dimensions": [{"name": "date"}, {"name": "sessionSource"}],
        "metrics": [{"name": "sessions"}],
        **{k: str(v) for k, v in paging.items()},
    }


def run_report(server, body: dict) -> requests.Response:
    return requests.post(server.base_url + RUN_REPORT, json=body, headers=GA4_HEADERS, timeout=30)


def mailchimp(server, path: str = CAMPAIGNS, timeout: float = 30, **params) -> requests.Response:
    return requests.get(server.base_url + path, params=params, auth=MAILCHIMP_AUTH, timeout=timeout)


def graph(server, path: str, fields: str, timeout: float = 30, **params) -> requests.Response:
    return requests.get(server.base_url + path, params={"fields": fields, **params}, headers=GRAPH_HEADERS, timeout=timeout)


def next_after(page: dict) -> str | None:
    return page.get("paging", {}).get("next", {}).get("after")


def ids(records: list[dict], key: str = "id") -> list[str]:
    return [r[key] for r in records]


def client(server, source: str, waits: list[float], headers: dict | None = None, read_timeout_s: float = 10) -> HttpClient:
    policy = RetryPolicy(max_attempts=4, base_delay_s=0.01, read_timeout_s=read_timeout_s, sleep=waits.append)
    return HttpClient(source, server.base_url, headers=headers or {}, policy=policy)


@pytest.fixture
def sandbox(server, world):
    """One server for this module (stopping one takes half a second); each test starts with no faults."""
    server.faults.clear()
    server.set_clock(world.default_now)
    yield server
    server.faults.clear()


# ---- which platform a request belongs to; rules and plans ---------------------------------


@pytest.mark.parametrize(
    "path, platform",
    [
        ("/crm/v3/objects/contacts", "hubspot"),
        ("/crm/v3/objects/deals/search", "hubspot"),
        ("/v26.0/act_1001/insights", "meta"),
        ("/v21.0/1234/posts", "meta"),
        ("/v21/customers/123/googleAds:searchStream", "google_ads"),
        ("/v1beta/properties/42:runReport", "ga4"),
        ("/3.0/campaigns", "mailchimp"),
        ("/healthz", None),
    ],
)
def test_a_request_belongs_to_the_platform_its_path_names(path, platform):
    assert platform_of(path) == platform


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"kind": "meteor"}, "unknown fault kind"),
        ({"kind": "slow", "platform": "myspace"}, "unknown platform"),
        ({"kind": "slow", "probability": 0.5, "schedule": [1]}, "not both"),
        ({"kind": "slow", "schedule": [0]}, "counted from 1"),
        ({"kind": "slow", "probability": 1.5}, "within 0..1"),
        ({"kind": "server_error", "burst": 0}, "burst"),
        ({"kind": "server_error", "params": {"status": 429}}, "5xx"),
        ({"kind": "rate_limit", "params": {"code": 190}}, "Meta throttling code"),
        ({"kind": "truncate", "params": {"fraction": 1}}, "fraction"),
        ({"kind": "malformed", "params": {"style": "yaml"}}, "trailing_comma"),
        ({"kind": "change_type", "params": {"to": "date"}}, "auto"),
        ({"kind": "slow", "params": {"secs": 1}}, "unknown params"),
        ({"kind": "slow", "when": "now"}, "unknown keys"),
    ],
)
def test_a_bad_rule_is_refused_when_made_naming_what_to_fix(bad, message):
    with pytest.raises(ValueError, match=message):
        FaultRule.from_dict(bad)


def test_a_plan_loads_from_a_json_file_or_inline_json_and_round_trips(tmp_path):
    # GIVEN a plan file with one rule of every kind
    rules = [{"kind": kind, "platform": "hubspot", "schedule": [2, 1]} for kind in KINDS]
    rules[0] |= {"params": {"policy": "DAILY"}}
    rules[1] = {
        "kind": "server_error",
        "endpoint": "/insights$",
        "probability": 0.25,
        "seed": 9,
        "burst": 3,
        "params": {"status": [500, 502]},
    }
    path = tmp_path / "faults.json"
    path.write_text(json.dumps({"rules": rules}))
    # WHEN it is loaded from the file and from inline JSON
    from_file, inline = FaultPlan.load(path), FaultPlan.load(json.dumps(rules))
    # THEN both hold the same rules (schedules sorted), and to_json gives them back
    assert from_file.rules == inline.rules
    assert [r.kind for r in from_file.rules] == list(KINDS)
    assert from_file.rules[0].schedule == [1, 2] and from_file.rules[0].params == {"policy": "DAILY"}
    assert FaultPlan.from_json(from_file.to_json()).rules == from_file.rules


def test_the_cli_serves_with_a_fault_plan(tmp_path):
    plan = tmp_path / "faults.json"
    plan.write_text(json.dumps({"rules": [{"kind": "rate_limit", "platform": "hubspot", "schedule": [1]}]}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--port", "0", "--faults", str(plan)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=PROJECT,
    )
    try:
        base_url = proc.stdout.readline().strip()
        headers = {"Authorization": f"Bearer {HUBSPOT_TOKEN}"}
        statuses = [requests.get(base_url + CONTACTS, headers=headers, timeout=10).status_code for _ in range(2)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert statuses == [429, 200]


def test_the_cli_refuses_a_bad_fault_plan_naming_it(tmp_path, capsys):
    from sandbox.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--faults", '[{"kind": "slow", "schedule": [0]}]'])
    assert exit_.value.code == 2 and "--faults" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "--faults", str(tmp_path / "missing.json")])


def test_a_probability_rule_draws_from_its_seed_and_the_request_number_only():
    rule = FaultRule("server_error", probability=0.3, seed=42)
    draws = [n for n in range(1, 1001) if rule.triggers(n)]
    assert draws == [n for n in range(1, 1001) if FaultRule("server_error", probability=0.3, seed=42).triggers(n)]
    assert draws != [n for n in range(1, 1001) if FaultRule("server_error", probability=0.3, seed=43).triggers(n)]
    assert 250 < len(draws) < 350


# ---- rate limits: each platform's own shape (unit level, every platform) ---------------------


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_platform_has_its_own_rate_limit_shape_not_the_generic_one(platform):
    generic = rate_limit_response(None, fake_request("/x"), {})
    own = rate_limit_response(platform, fake_request("/x"), {})
    assert own.status in (400, 429) and own.body.keys() != generic.body.keys()


def test_hubspot_rate_limit_is_429_with_its_headers_and_body():
    response = rate_limit_response("hubspot", fake_request(CONTACTS), {})
    assert response.status == 429
    assert response.body == {
        "status": "error",
        "message": "You have reached your secondly limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": fake_request(CONTACTS).correlation_id(),
        "policyName": "SECONDLY",
    }
    assert response.headers == {
        "X-HubSpot-RateLimit-Max": "190",
        "X-HubSpot-RateLimit-Remaining": "0",
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        "X-HubSpot-RateLimit-Daily": "1000000",
        "X-HubSpot-RateLimit-Daily-Remaining": "999000",
    }
    daily = rate_limit_response("hubspot", fake_request(CONTACTS), {"policy": "DAILY"})
    assert daily.body["policyName"] == "DAILY" and daily.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert rate_limit_response("hubspot", fake_request(CONTACTS), {"headers": False}).headers == {}


@pytest.mark.parametrize("code", [4, 17, 32, 613, *range(80000, 80015)])
def test_meta_throttling_is_http_400_with_its_code_and_usage_headers(code):
    response = rate_limit_response("meta", fake_request(INSIGHTS), {"code": code, "regain_minutes": 3})
    assert response.status == 400
    error = response.body["error"]
    assert error["type"] == "OAuthException" and error["code"] == code and error["message"]
    assert re.fullmatch(r"[0-9a-f]{22}", error["fbtrace_id"])
    assert ("error_subcode" in error) == (code not in (4, 32))
    usage = json.loads(response.headers["X-Business-Use-Case-Usage"])
    assert list(usage) == [ACCOUNT]
    (entry,) = usage[ACCOUNT]
    assert entry.keys() == {"type", "call_count", "total_cputime", "total_time", "estimated_time_to_regain_access"}
    assert entry["estimated_time_to_regain_access"] == 3 and entry["call_count"] == 100
    assert json.loads(response.headers["X-App-Usage"]).keys() == {"call_count", "total_cputime", "total_time"}
    assert json.loads(response.headers["X-Ad-Account-Usage"])["reset_time_duration"] == 180


def test_google_ads_rate_limit_is_resource_exhausted_with_a_retry_delay():
    response = rate_limit_response(
        "google_ads", fake_request("/v19/customers/42/googleAds:searchStream", "POST"), {"retry_delay": 45}
    )
    assert response.status == 429
    (body,) = response.body  # searchStream answers an array, its error too
    error = body["error"]
    assert (error["code"], error["status"]) == (429, "RESOURCE_EXHAUSTED") and error["message"]
    (failure,) = error["details"]
    assert failure["@type"] == "type.googleapis.com/google.ads.googleads.v19.errors.GoogleAdsFailure"
    (err,) = failure["errors"]
    assert err["errorCode"] == {"quotaError": "RESOURCE_EXHAUSTED"} and err["message"]
    assert err["details"]["quotaErrorDetails"] == {
        "rateScope": "DEVELOPER",
        "rateName": "Number of operations for basic access",
        "retryDelay": "45s",
    }


def test_ga4_rate_limit_is_429_resource_exhausted():
    response = rate_limit_response("ga4", fake_request(RUN_REPORT, "POST"), {})
    assert response.status == 429
    assert response.body["error"].keys() == {"code", "message", "status"}
    assert (response.body["error"]["code"], response.body["error"]["status"]) == (429, "RESOURCE_EXHAUSTED")


def test_mailchimp_rate_limit_is_429_problem_json():
    response = rate_limit_response("mailchimp", fake_request(CAMPAIGNS), {})
    assert response.status == 429 and response.content_type.startswith("application/problem+json")
    assert response.body.keys() == {"type", "title", "status", "detail", "instance"}
    assert (response.body["status"], response.body["title"]) == (429, "Too Many Requests")
    assert rate_limit_response("mailchimp", fake_request(CAMPAIGNS), {"retry_after": 2}).headers == {"Retry-After": "2"}


@pytest.mark.parametrize(
    "platform, path",
    [("hubspot", CONTACTS), ("meta", INSIGHTS), ("google_ads", SEARCH_STREAM), ("ga4", RUN_REPORT), ("mailchimp", CAMPAIGNS)],
)
def test_5xx_bodies_are_each_platforms_own_and_502_is_the_proxys_html(platform, path):
    request = fake_request(path)
    bodies = {status: server_error_response(platform, request, status) for status in (500, 502, 503)}
    assert {s: r.status for s, r in bodies.items()} == {500: 500, 502: 502, 503: 503}
    assert bodies[502].content_type == "text/html" and b"502 Bad Gateway" in bodies[502].body
    for status in (500, 503):
        body = bodies[status].body
        if platform == "hubspot":
            assert body["status"] == "error" and body["correlationId"]
        elif platform == "meta":
            assert body["error"]["code"] == (1 if status == 500 else 2) and body["error"]["is_transient"] is True
        elif platform in ("google_ads", "ga4"):
            if platform == "google_ads":  # searchStream answers an array, its error too
                (body,) = body
            assert body["error"]["code"] == status and body["error"]["status"] == ("INTERNAL" if status == 500 else "UNAVAILABLE")
        else:
            assert body["status"] == status and bodies[status].content_type.startswith("application/problem+json")


# ---- rate limits over HTTP, on exactly the scheduled requests ------------------------------------


def test_a_schedule_fires_on_exactly_the_listed_requests_of_its_endpoint(sandbox):
    # GIVEN HubSpot rate limits on the 2nd and 5th contacts request
    sandbox.faults.add("rate_limit", platform="hubspot", endpoint=r"/contacts$", schedule=[2, 5])
    # WHEN six contacts pages are asked for, with deals requests in between (another endpoint: not counted)
    statuses = []
    for _ in range(6):
        statuses.append(get_contacts(sandbox).status_code)
        requests.get(sandbox.base_url + "/crm/v3/objects/deals", headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"}, timeout=10)
    # THEN exactly those two are refused and the log says so
    assert statuses == [200, 429, 200, 200, 429, 200]
    assert sandbox.faults.fired == [FiredFault(2, CONTACTS, "rate_limit"), FiredFault(5, CONTACTS, "rate_limit")]


def test_hubspot_rate_limit_over_http(sandbox):
    sandbox.faults.add("rate_limit", platform="hubspot", schedule=[1])
    response = get_contacts(sandbox)
    assert response.status_code == 429
    assert response.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert response.json()["errorType"] == "RATE_LIMIT" and response.json()["policyName"] == "SECONDLY"


def test_meta_throttle_over_http_names_the_requested_account(sandbox, world):
    sandbox.faults.add("rate_limit", platform="meta", schedule=[1], code=80000, regain_minutes=2)
    response = get_insights(sandbox, world)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 80000
    usage = json.loads(response.headers["X-Business-Use-Case-Usage"])
    assert usage == {
        ACCOUNT: [
            {
                "type": "ads_insights",
                "call_count": 100,
                "total_cputime": 28,
                "total_time": 34,
                "estimated_time_to_regain_access": 2,
            }
        ]
    }


def test_google_ads_search_stream_rate_limit_is_resource_exhausted_with_its_retry_delay(sandbox, world):
    # GIVEN a throttle on the 2nd searchStream request, with a 45 s retry delay
    sandbox.faults.add("rate_limit", platform="google_ads", schedule=[2], retry_delay=45)
    # WHEN the same stream is asked for three times
    responses = [search_stream(sandbox, ad_group_query(world)) for _ in range(3)]
    # THEN only the 2nd is refused, with Google's error inside the stream's array, as searchStream sends errors
    assert [r.status_code for r in responses] == [200, 429, 200]
    body = responses[1].json()
    request_id = body[0]["error"]["details"][0]["requestId"]
    assert re.fullmatch(r"[0-9a-f]{22}", request_id)
    assert body == [
        {
            "error": {
                "code": 429,
                "message": "Resource has been exhausted (e.g. check quota).",
                "status": "RESOURCE_EXHAUSTED",
                "details": [
                    {
                        "@type": f"type.googleapis.com/google.ads.googleads.{SEARCH_STREAM.split('/')[1]}.errors.GoogleAdsFailure",
                        "errors": [
                            {
                                "errorCode": {"quotaError": "RESOURCE_EXHAUSTED"},
                                "message": "Too many requests. Retry in 45 seconds.",
                                "details": {
                                    "quotaErrorDetails": {
                                        "rateScope": "DEVELOPER",
                                        "rateName": "Number of operations for basic access",
                                        "retryDelay": "45s",
                                    }
                                },
                            }
                        ],
                        "requestId": request_id,
                    }
                ],
            }
        }
    ]
    assert "Retry-After" not in responses[1].headers  # Google states its delay in the body only
    # Nothing else changes: the requests around it get the stream in full.
    assert responses[0].json() and [b["results"] for b in responses[0].json()] == [b["results"] for b in responses[2].json()]
    assert sandbox.faults.fired == [FiredFault(2, SEARCH_STREAM, "rate_limit")]


def test_ga4_run_report_rate_limit_fires_on_the_seeded_requests_with_googles_body(sandbox, world):
    # GIVEN a throttle with probability 0.5 drawn from seed 5
    rule = sandbox.faults.add("rate_limit", platform="ga4", probability=0.5, seed=5)
    expected = [n for n in range(1, 9) if rule.triggers(n)]
    assert 0 < len(expected) < 8  # the draw has both outcomes in eight requests
    # WHEN the same report is asked for eight times
    clean = None
    responses = [run_report(sandbox, ga4_body(world)) for _ in range(8)]
    # THEN exactly the drawn requests get GA4's RESOURCE_EXHAUSTED (no stated delay), the others the report
    assert [n for n, r in enumerate(responses, 1) if r.status_code == 429] == expected
    for n, response in enumerate(responses, 1):
        if n in expected:
            assert response.json() == {
                "error": {
                    "code": 429,
                    "message": "Exhausted concurrent requests quota for the property.",
                    "status": "RESOURCE_EXHAUSTED",
                }
            }
            assert response.headers["Content-Type"].startswith("application/json") and "Retry-After" not in response.headers
        else:
            assert response.status_code == 200
            clean = clean or response.json()
            assert response.json() == clean and clean["rowCount"] == len(clean["rows"]) > 0
    assert sandbox.faults.fired_requests() == expected


def test_mailchimp_rate_limit_is_429_problem_json_on_its_routes(sandbox):
    # GIVEN a throttle on the 1st and 3rd Mailchimp requests, whatever their resource
    sandbox.faults.add("rate_limit", platform="mailchimp", schedule=[1, 3])
    # WHEN campaigns, reports, campaigns and lists are asked for
    paths = [CAMPAIGNS, "/3.0/reports", CAMPAIGNS, "/3.0/lists"]
    responses = [mailchimp(sandbox, path, count=5) for path in paths]
    # THEN the 1st and 3rd are Mailchimp's problem+json 429 (instance: the request's id); the others answer
    assert [r.status_code for r in responses] == [429, 200, 429, 200]
    for response in (responses[0], responses[2]):
        assert response.headers["Content-Type"] == "application/problem+json; charset=utf-8"
        assert response.json() == {
            "type": "https://mailchimp.com/developer/marketing/docs/errors/",
            "title": "Too Many Requests",
            "status": 429,
            "detail": "You have exceeded the limit of 10 simultaneous connections.",
            "instance": fake_request(CAMPAIGNS, query={"count": "5"}).correlation_id(),
        }
        assert "Retry-After" not in response.headers
    assert responses[1].json()["total_items"] == len(mailchimp(sandbox, "/3.0/reports", count=1000).json()["reports"])
    assert sandbox.faults.fired == [FiredFault(1, CAMPAIGNS, "rate_limit"), FiredFault(3, CAMPAIGNS, "rate_limit")]


# ---- probability: same seed, same faults; per-rule numbering under concurrency -----------------


def _fired_numbers(server, requests_count: int, threads: int = 1) -> list[int]:
    def worker(n):
        for _ in range(n):
            get_contacts(server, limit=1)

    pool = [threading.Thread(target=worker, args=(requests_count // threads,)) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sorted(server.faults.fired_requests())


def test_a_seeded_probability_fires_on_the_same_requests_every_time(world):
    plan = [{"kind": "server_error", "platform": "hubspot", "probability": 0.3, "seed": 11, "params": {"status": 503}}]
    with SandboxServer(world, faults=FaultPlan.from_json(plan)) as first:
        fired = _fired_numbers(first, 40)
        first.faults.reset()
        again = _fired_numbers(first, 40)
    with SandboxServer(world, faults=FaultPlan.from_json(plan)) as second:
        concurrent = _fired_numbers(second, 40, threads=4)  # numbering is per rule, under a lock
    with SandboxServer(world, faults=FaultPlan.from_json([plan[0] | {"seed": 12}])) as other:
        other_seed = _fired_numbers(other, 40)
    assert 4 <= len(fired) <= 24
    assert fired == again == concurrent
    assert fired == [n for n in range(1, 41) if FaultRule.from_dict(plan[0]).triggers(n)]
    assert other_seed != fired


def test_concurrent_streams_do_not_move_another_endpoints_schedule(sandbox):
    # GIVEN a 503 on the 3rd deals request only, while contacts are read in parallel
    sandbox.faults.add("server_error", endpoint=r"/deals$", schedule=[3], status=503)
    deal_statuses = []

    def contacts():
        for _ in range(20):
            get_contacts(sandbox, limit=1)

    noise = threading.Thread(target=contacts)
    noise.start()
    for _ in range(5):
        deal_statuses.append(
            requests.get(
                sandbox.base_url + "/crm/v3/objects/deals",
                params={"limit": 1},
                timeout=10,
                headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"},
            ).status_code
        )
    noise.join()
    assert deal_statuses == [200, 200, 503, 200, 200]
    assert sandbox.faults.fired == [FiredFault(3, "/crm/v3/objects/deals", "server_error")]


# ---- 5xx bursts, slow, truncated, malformed ------------------------------------------------------


def test_a_5xx_burst_answers_n_consecutive_requests(sandbox, world):
    # GIVEN a burst of three (500, 502, 503) starting at the 2nd Meta request
    sandbox.faults.add("server_error", platform="meta", schedule=[2], burst=3, status=[500, 502, 503])
    responses = [get_insights(sandbox, world) for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 500, 502, 503, 200]
    assert responses[1].json()["error"]["code"] == 1
    assert responses[2].headers["Content-Type"] == "text/html" and responses[2].text.startswith("<html>")
    assert responses[3].json()["error"]["message"] == "Service temporarily unavailable"
    assert sandbox.faults.fired_requests("server_error") == [2, 3, 4]


def test_a_slow_response_outlasts_a_client_timeout_then_answers(sandbox):
    sandbox.faults.add("slow", platform="hubspot", schedule=[1, 2], seconds=0.6)
    with pytest.raises(requests.ReadTimeout):
        get_contacts(sandbox, timeout=0.2)
    started = time.monotonic()
    patient = get_contacts(sandbox, timeout=5)
    assert patient.status_code == 200 and time.monotonic() - started >= 0.6
    assert sandbox.faults.fired_requests("slow") == [1, 2]


def test_a_truncated_body_is_200_with_a_matching_content_length_and_not_json(sandbox):
    full = get_contacts(sandbox).content
    sandbox.faults.add("truncate", platform="hubspot", schedule=[1], fraction=0.4)
    cut = get_contacts(sandbox)
    assert cut.status_code == 200
    assert int(cut.headers["Content-Length"]) == len(cut.content) == int(len(full) * 0.4)
    assert full.startswith(cut.content)
    with pytest.raises(ValueError):
        json.loads(cut.content)


@pytest.mark.parametrize("style", ["trailing_comma", "html", "xssi_prefix"])
def test_a_malformed_body_is_200_and_not_json(sandbox, world, style):
    full = get_insights(sandbox, world).content
    sandbox.faults.add("malformed", platform="meta", schedule=[1], style=style)
    bad = get_insights(sandbox, world)
    assert bad.status_code == 200
    with pytest.raises(ValueError):
        json.loads(bad.content)
    if style == "trailing_comma":
        assert bad.content == full[:-1] + b",}"
    elif style == "html":
        assert bad.headers["Content-Type"].startswith("text/html")
    else:
        assert bad.content == b")]}'\n" + full


# ---- records: the same record on two pages, a new field, a type change -------------------------


def test_hubspot_list_repeats_the_last_record_of_a_page_on_the_next(sandbox):
    sandbox.faults.add("duplicate", platform="hubspot", endpoint=r"/contacts$", schedule=[2])
    page1 = get_contacts(sandbox).json()
    page2 = get_contacts(sandbox, after=next_after(page1)).json()
    page3 = get_contacts(sandbox, after=next_after(page2)).json()
    assert len(page1["results"]) == 3 and len(page2["results"]) == 4 and len(page3["results"]) == 3
    assert page2["results"][0] == page1["results"][-1]
    assert len(set(ids(page1["results"] + page2["results"] + page3["results"]))) == 9  # nothing lost, one repeated
    assert sandbox.faults.fired == [FiredFault(2, CONTACTS, "duplicate")]


def test_hubspot_search_repeats_a_record_across_pages_whose_cursor_is_in_the_body(sandbox, monkeypatch):
    monkeypatch.setattr(sandbox.sandbox, "hubspot_search_gaps", False)  # full pages: this test counts them
    sandbox.faults.add("duplicate", platform="hubspot", endpoint=r"/search$", schedule=[2])
    body = {
        "limit": 2,
        "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
    }

    def search(b):
        headers = {"Authorization": f"Bearer {HUBSPOT_TOKEN}"}
        return requests.post(sandbox.base_url + CONTACTS + "/search", json=b, timeout=30, headers=headers).json()

    page1 = search(body)
    page2 = search(body | {"after": next_after(page1)})
    assert ids(page2["results"])[0] == ids(page1["results"])[-1] and len(page2["results"]) == 3


def test_meta_insights_repeat_a_row_on_the_page_its_next_url_leads_to(sandbox, world):
    sandbox.faults.add("duplicate", platform="meta", endpoint=r"/insights$", probability=1.0)
    page1 = get_insights(sandbox, world).json()
    page2 = requests.get(page1["paging"]["next"], timeout=10).json()
    assert page2["data"][0] == page1["data"][-1] and len(page2["data"]) == 5
    assert sandbox.faults.fired_requests() == [2]  # the first page has no page before it: nothing to repeat


def test_a_google_ads_stream_repeats_the_last_row_of_a_batch_at_the_start_of_the_next(sandbox, world, monkeypatch):
    # GIVEN searchStream batches of 6 rows (Google's are 10,000: more rows than one account has here)
    monkeypatch.setattr(google_ads, "BATCH_SIZE", 6)
    clean = search_stream(sandbox, ad_group_query(world)).json()
    assert [len(b["results"]) for b in clean] == [6, 6, 6, 2]
    # WHEN the duplicate fault fires on the 2nd of three reads of the stream
    sandbox.faults.add("duplicate", platform="google_ads", schedule=[2])
    reads = [search_stream(sandbox, ad_group_query(world)).json() for _ in range(3)]
    # THEN that read's batches 2..4 each open with the last row of the batch before; nothing else changes
    rows = [b["results"] for b in clean]
    assert [b["results"] for b in reads[1]] == [rows[0]] + [[prev[-1], *cur] for prev, cur in zip(rows, rows[1:], strict=False)]
    assert [{k: v for k, v in b.items() if k != "results"} for b in reads[1]] == [
        {k: v for k, v in b.items() if k != "results"} for b in clean
    ]
    assert reads[0] == reads[2] == clean
    assert sandbox.faults.fired == [FiredFault(2, SEARCH_STREAM, "duplicate")]


def test_a_google_ads_stream_of_one_batch_has_no_next_batch_to_repeat_into_and_says_so(sandbox, world):
    sandbox.faults.add("duplicate", platform="google_ads", schedule=[1])
    stream = search_stream(sandbox, ad_group_query(world)).json()
    assert len(stream) == 1 and stream == search_stream(sandbox, ad_group_query(world)).json()
    assert sandbox.faults.fired == []
    assert sandbox.faults.skipped == [
        SkippedFault(1, SEARCH_STREAM, "duplicate", "no page before it in this read to repeat a record from")
    ]


def read_by_offset(server, world, platform: str, page_size: int) -> tuple[list[list], list[int]]:
    """Pages as a reader that advances by the rows it saw reads them, until it reaches the total
    each page states; and the totals."""
    pages, totals, offset = [], [], 0
    while True:
        if platform == "mailchimp":
            body = mailchimp(server, count=page_size, offset=offset).json()
            records, total = [c["id"] for c in body["campaigns"]], body["total_items"]
        else:
            body = run_report(server, ga4_body(world, limit=page_size, offset=offset)).json()
            records, total = [tuple(v["value"] for v in r["dimensionValues"]) for r in body["rows"]], body["rowCount"]
        pages.append(records)
        totals.append(total)
        offset += len(records)
        if not records or offset >= total:
            return pages, totals


@pytest.mark.parametrize(
    "platform, page_size, clean_sizes, shifted_sizes",
    [
        ("mailchimp", 5, [5, 5, 5, 2], [5, 5, 5, 3]),  # /3.0/campaigns: 17 sent campaigns
        ("ga4", 13, [13, 13], [13, 13, 1]),  # runReport: 26 rows, a multiple of the page: the last row must not be lost
    ],
)
def test_offset_pages_repeat_a_record_as_a_record_inserted_ahead_of_the_reader_does(
    sandbox, world, platform, page_size, clean_sizes, shifted_sizes
):
    clean, clean_totals = read_by_offset(sandbox, world, platform, page_size)
    assert [len(p) for p in clean] == clean_sizes and len(set(sum(clean, []))) == sum(clean_sizes)
    # GIVEN the duplicate fault on the 2nd request of the read
    sandbox.faults.add("duplicate", platform=platform, schedule=[2])
    shifted, totals = read_by_offset(sandbox, world, platform, page_size)
    again, _ = read_by_offset(sandbox, world, platform, page_size)  # a new read starts unshifted (the schedule is spent)
    # THEN the 2nd page opens with the 1st page's last record, page sizes stay, the total counts the
    # repeated row from that page on, and nothing is lost
    n = sum(clean_sizes)
    assert [len(p) for p in shifted] == shifted_sizes
    assert shifted[1][0] == shifted[0][-1] == clean[0][-1]
    assert sum(shifted, []) == clean[0] + [clean[0][-1]] + sum(clean[1:], [])
    assert clean_totals == [n] * len(clean) and totals == [n] + [n + 1] * (len(shifted) - 1)
    assert again == clean
    assert sandbox.faults.fired == [FiredFault(2, CAMPAIGNS if platform == "mailchimp" else RUN_REPORT, "duplicate")]


def test_a_duplicate_on_a_first_offset_page_has_nothing_to_repeat_and_says_so(sandbox, world):
    sandbox.faults.add("duplicate", platform="ga4", schedule=[1])
    first = run_report(sandbox, ga4_body(world, limit=13, offset=0)).json()
    assert sandbox.faults.fired == [] and first["rowCount"] == 26 and len(first["rows"]) == 13
    assert sandbox.faults.skipped == [
        SkippedFault(1, RUN_REPORT, "duplicate", "a first page: no page before it to repeat a record from")
    ]


def test_a_new_field_appears_on_every_record_from_the_kth_request_on(sandbox):
    sandbox.faults.add("new_field", platform="hubspot", schedule=[3], name="hs_new_scoring", value="42", into="properties")
    pages, after = [], None
    for _ in range(5):
        pages.append(get_contacts(sandbox, after=after).json())
        after = next_after(pages[-1])
    has_field = [[("hs_new_scoring" in r["properties"]) for r in page["results"]] for page in pages]
    assert has_field == [[False] * 3, [False] * 3, [True] * 3, [True] * 3, [True] * 3]
    assert pages[2]["results"][0]["properties"]["hs_new_scoring"] == "42"
    assert sandbox.faults.fired_requests("new_field") == [3, 4, 5]


def test_a_field_changes_type_from_the_kth_request_on(sandbox, world):
    sandbox.faults.add("change_type", platform="meta", schedule=[2])  # default: spend, a string number becomes a number
    sandbox.faults.add("change_type", platform="meta", schedule=[3], field="actions.0.value", to="object")
    pages = [get_insights(sandbox, world).json()["data"] for _ in range(3)]
    assert all(isinstance(r["spend"], str) for r in pages[0])
    assert all(isinstance(r["spend"], float | int) for page in pages[1:] for r in page)
    assert [r["spend"] for r in pages[1]] == [float(r["spend"]) for r in pages[0]]
    assert all(isinstance(r["actions"][0], dict) and isinstance(r["actions"][0]["value"], dict) for r in pages[2])
    assert all(isinstance(r["actions"][0]["value"], str) for r in pages[1])
    # The world's own rows were not touched: a request without faults reads strings again.
    sandbox.faults.clear()
    unfaulted = get_insights(sandbox, world).json()["data"]
    assert all(isinstance(r["spend"], str) and isinstance(r["actions"][0]["value"], str) for r in unfaulted)


def test_hubspot_ids_become_numbers_and_ga4_metrics_change_type(sandbox, world):
    sandbox.faults.add("change_type", platform="hubspot", schedule=[1])
    clean = run_report(sandbox, ga4_body(world)).json()["rows"]
    sandbox.faults.add("change_type", platform="ga4", schedule=[1])
    contacts = get_contacts(sandbox).json()["results"]
    assert all(
        isinstance(r["properties"]["hs_object_id"], int) and r["properties"]["hs_object_id"] == int(r["id"]) for r in contacts
    )
    rows = run_report(sandbox, ga4_body(world)).json()["rows"]
    # GA4's default: the first metric, a string number, becomes a number; the dimensions stay
    assert [r["metricValues"][0]["value"] for r in rows] == [int(r["metricValues"][0]["value"]) for r in clean]
    assert [r["dimensionValues"] for r in rows] == [r["dimensionValues"] for r in clean]


# ---- Graph (pages and Instagram) and Mailchimp: schema changes, slow, broken bodies ---------------

GRAPH = {"posts": (POSTS, POST_FIELDS, "reactions.summary.total_count"), "media": (MEDIA, MEDIA_FIELDS, "like_count")}


def dig(record: dict, path: str):
    for part in path.split("."):
        record = record[int(part)] if isinstance(record, list) else record[part]
    return record


def graph_records(response: requests.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.mark.parametrize("edge", ["posts", "media"])
def test_a_new_field_appears_on_graph_records_from_the_kth_request_on(sandbox, edge):
    path, fields, _ = GRAPH[edge]
    clean = graph_records(graph(sandbox, path, fields, limit=5))
    sandbox.faults.add("new_field", platform="meta", endpoint=f"/{edge}$", schedule=[2], name="is_sandbox_new", value=True)
    pages = [graph_records(graph(sandbox, path, fields, limit=5)) for _ in range(3)]
    assert pages[0] == clean
    assert pages[1] == pages[2] == [{**r, "is_sandbox_new": True} for r in clean]
    assert sandbox.faults.fired == [FiredFault(2, path, "new_field"), FiredFault(3, path, "new_field")]


@pytest.mark.parametrize("edge", ["posts", "media"])
def test_a_graph_counter_changes_type_by_default_from_the_kth_request_on(sandbox, edge):
    # GIVEN no field named: Graph's default is a counter every record of the edge has (posts: the reactions'
    # total, as reactions.summary(true) asks; media: like_count), a number that becomes a string
    path, fields, field = GRAPH[edge]
    clean = graph_records(graph(sandbox, path, fields, limit=5))
    sandbox.faults.add("change_type", platform="meta", endpoint=f"/{edge}$", schedule=[2])
    pages = [graph_records(graph(sandbox, path, fields, limit=5)) for _ in range(3)]
    assert pages[0] == clean and all(isinstance(dig(r, field), int) for r in clean)
    expected = copy.deepcopy(clean)  # the field as a string, and nothing else changed
    *parents, leaf = field.split(".")
    for record in expected:
        container = dig(record, ".".join(parents)) if parents else record
        container[leaf] = str(container[leaf])
    assert pages[1] == pages[2] == expected
    assert sandbox.faults.fired_requests("change_type") == [2, 3] and sandbox.faults.skipped == []


def test_a_change_type_that_finds_no_field_fires_nothing_and_says_so(sandbox, world):
    # Graph comments have no counter among the defaults, Mailchimp members no emails_sent; a named field
    # that no record has is the same: the answer is unchanged and the fault is not recorded as fired.
    post = graph_records(graph(sandbox, POSTS, "id", limit=1))[0]["id"]
    comments_path = f"/v21.0/{post}/comments"
    clean_comments = graph(sandbox, comments_path, "id,message,created_time").json()
    members_path = "/3.0/lists/7f3a9c2e1b/members"
    clean_members = mailchimp(sandbox, members_path, count=3).json()
    sandbox.faults.add("change_type", platform="meta", endpoint="/comments$", schedule=[1])
    sandbox.faults.add("change_type", platform="mailchimp", endpoint="/members$", schedule=[1])
    sandbox.faults.add("change_type", platform="meta", endpoint="/insights$", schedule=[1], field="no_such_field")
    assert graph(sandbox, comments_path, "id,message,created_time").json() == clean_comments
    assert mailchimp(sandbox, members_path, count=3).json() == clean_members
    clean_insights = get_insights(sandbox, world).json()
    assert clean_insights["data"]
    assert sandbox.faults.fired == []
    assert sandbox.faults.skipped == [
        SkippedFault(
            1,
            comments_path,
            "change_type",
            "no record has the field spend | like_count | reactions.summary.total_count"
            " | comments.summary.total_count | values.0.value",
        ),
        SkippedFault(1, members_path, "change_type", "no record has the field emails_sent"),
        SkippedFault(1, INSIGHTS, "change_type", "no record has the field no_such_field"),
    ]


def test_faults_on_a_request_another_fault_answers_did_not_happen_and_say_so(sandbox):
    # GIVEN a rate limit, a 5xx and a truncation all due on the 1st contacts request
    sandbox.faults.add("rate_limit", platform="hubspot", schedule=[1])
    sandbox.faults.add("server_error", platform="hubspot", schedule=[1], status=503)
    sandbox.faults.add("truncate", platform="hubspot", schedule=[1, 2], fraction=0.5)
    first, second = get_contacts(sandbox), get_contacts(sandbox)
    # THEN the first answering rule is the answer, whole; the others are listed as skipped, not fired
    assert first.status_code == 429 and first.json()["errorType"] == "RATE_LIMIT"
    assert second.status_code == 200 and len(second.content) == int(len(get_contacts(sandbox).content) * 0.5)
    assert sandbox.faults.fired == [FiredFault(1, CONTACTS, "rate_limit"), FiredFault(2, CONTACTS, "truncate")]
    assert sandbox.faults.skipped == [
        SkippedFault(1, CONTACTS, "server_error", "another rule (429) answered this request"),
        SkippedFault(1, CONTACTS, "truncate", "the answer was an error (429), not a page"),
    ]


@pytest.mark.parametrize("edge", ["posts", "media"])
def test_a_slow_graph_page_outlasts_a_client_timeout_then_answers_the_same_page(sandbox, edge):
    path, fields, _ = GRAPH[edge]
    clean = graph(sandbox, path, fields, limit=5).json()
    sandbox.faults.add("slow", platform="meta", endpoint=f"/{edge}$", schedule=[1, 2], seconds=0.6)
    with pytest.raises(requests.ReadTimeout):
        graph(sandbox, path, fields, timeout=0.2, limit=5)
    started = time.monotonic()
    patient = graph(sandbox, path, fields, limit=5)
    assert time.monotonic() - started >= 0.6 and patient.json() == clean
    assert graph(sandbox, path, fields, limit=5).json() == clean  # the 3rd: not delayed (fired below)
    assert sandbox.faults.fired == [FiredFault(1, path, "slow"), FiredFault(2, path, "slow")]


@pytest.mark.parametrize(
    "edge, kind, params",
    [
        ("posts", "truncate", {"fraction": 0.3}),
        ("posts", "malformed", {"style": "trailing_comma"}),
        ("media", "truncate", {"fraction": 0.8}),
        ("media", "malformed", {"style": "html"}),
    ],
)
def test_a_graph_page_is_cut_or_garbled_on_exactly_the_scheduled_request(sandbox, edge, kind, params):
    path, fields, _ = GRAPH[edge]
    full = graph(sandbox, path, fields, limit=5).content
    sandbox.faults.add(kind, platform="meta", endpoint=f"/{edge}$", schedule=[2], **params)
    responses = [graph(sandbox, path, fields, limit=5) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert responses[0].content == responses[2].content == full
    bad = responses[1]
    with pytest.raises(ValueError):
        json.loads(bad.content)
    if kind == "truncate":
        assert bad.content == full[: int(len(full) * params["fraction"])] and int(bad.headers["Content-Length"]) == len(
            bad.content
        )
    elif params["style"] == "trailing_comma":
        assert bad.content == full[:-1] + b",}"
    else:
        assert bad.headers["Content-Type"].startswith("text/html") and b"<html>" in bad.content
    assert sandbox.faults.fired == [FiredFault(2, path, kind)]


def test_mailchimp_emails_sent_changes_type_from_the_kth_request_on(sandbox):
    clean = {path: mailchimp(sandbox, path, count=5).json() for path in (CAMPAIGNS, "/3.0/reports")}
    sandbox.faults.add("change_type", platform="mailchimp", schedule=[2])  # default: emails_sent, a number -> a string
    sandbox.faults.add(
        "change_type", platform="mailchimp", endpoint="/reports$", schedule=[1], field="opens.open_rate", to="string"
    )
    campaigns = [mailchimp(sandbox, CAMPAIGNS, count=5).json() for _ in range(2)]
    reports = mailchimp(sandbox, "/3.0/reports", count=5).json()  # the 3rd of the first rule, the 1st of the second
    assert campaigns[0] == clean[CAMPAIGNS]
    assert campaigns[1] == {
        **clean[CAMPAIGNS],
        "campaigns": [{**c, "emails_sent": str(c["emails_sent"])} for c in clean[CAMPAIGNS]["campaigns"]],
    }
    assert reports == {
        **clean["/3.0/reports"],
        "reports": [
            {**r, "emails_sent": str(r["emails_sent"]), "opens": {**r["opens"], "open_rate": str(r["opens"]["open_rate"])}}
            for r in clean["/3.0/reports"]["reports"]
        ],
    }
    assert all(isinstance(c["emails_sent"], int) for c in clean[CAMPAIGNS]["campaigns"])
    assert sandbox.faults.fired == [
        FiredFault(2, CAMPAIGNS, "change_type"),
        FiredFault(3, "/3.0/reports", "change_type"),
        FiredFault(1, "/3.0/reports", "change_type"),
    ]


def test_a_slow_mailchimp_page_outlasts_a_client_timeout_on_the_seeded_requests(sandbox):
    rule = sandbox.faults.add("slow", platform="mailchimp", probability=0.5, seed=4, seconds=1.5)
    expected = [n for n in range(1, 7) if rule.triggers(n)]
    assert 0 < len(expected) < 6
    clean = mailchimp(sandbox, count=5).json()
    sandbox.faults.reset()  # the clean read above was request 1 of the rule: count from here
    outcomes = []
    for _ in range(6):
        try:
            outcomes.append(mailchimp(sandbox, count=5, timeout=0.75).json() == clean)
        except requests.ReadTimeout:
            outcomes.append("timeout")
    assert [n for n, o in enumerate(outcomes, 1) if o == "timeout"] == expected
    assert all(o is True for o in outcomes if o != "timeout")
    assert sandbox.faults.fired_requests("slow") == expected


# ---- the extractors' HTTP client survives each fault and returns the right page -----------------


@pytest.mark.parametrize(
    "platform, expected_wait",
    [
        ("hubspot", 10.0),  # X-HubSpot-RateLimit-Interval-Milliseconds
        ("meta", 60.0),  # estimated_time_to_regain_access: 1 minute
        ("google_ads", 30.0),  # retryDelay, inside searchStream's array
        ("ga4", 5.0),  # no stated delay: the client's floor for a throttle
        ("mailchimp", 5.0),
    ],
)
def test_the_http_client_waits_out_each_platforms_rate_limit_and_gets_the_page(sandbox, world, platform, expected_wait):
    server, body, params = sandbox, None, None
    if platform == "hubspot":
        method, path, headers, params = "GET", CONTACTS, {"Authorization": f"Bearer {HUBSPOT_TOKEN}"}, {"limit": 3}
    elif platform == "meta":
        method, path, headers, params = "GET", INSIGHTS, {}, insights_query(world)
    elif platform == "google_ads":
        method, path, headers, body = "POST", SEARCH_STREAM, GOOGLE_HEADERS, {"query": ad_group_query(world)}
    elif platform == "ga4":
        method, path, headers, body = "POST", RUN_REPORT, GA4_HEADERS, ga4_body(world)
    else:
        method, path, params = "GET", CAMPAIGNS, {"count": 5}
        headers = {"Authorization": "Basic " + base64.b64encode(f"anyone:{DEFAULT_TOKENS['mailchimp']}".encode()).decode()}
    expected = client(server, platform, [], headers).request(method, path, what="page", params=params, json_body=body)
    server.faults.add("rate_limit", platform=platform, schedule=[1, 2])
    waits: list[float] = []
    got = client(server, platform, waits, headers).request(method, path, what="page", params=params, json_body=body)
    assert got == expected and got
    assert waits == [expected_wait, expected_wait]
    assert server.faults.fired_requests() == [1, 2]  # a rule counts the requests made after it was added


@pytest.mark.parametrize(
    "kind, params",
    [
        ("server_error", {"status": [500, 502, 503]}),
        ("truncate", {"fraction": 0.7}),
        ("malformed", {"style": "trailing_comma"}),
        ("malformed", {"style": "html"}),
    ],
)
def test_the_http_client_retries_5xx_bursts_and_broken_bodies_and_gets_the_page(sandbox, kind, params):
    headers = {"Authorization": f"Bearer {HUBSPOT_TOKEN}"}
    expected = get_contacts(sandbox).json()
    sandbox.faults.add(kind, platform="hubspot", schedule=[1], burst=3, **params)
    waits: list[float] = []
    got = client(sandbox, "hubspot", waits, headers).request("GET", CONTACTS, params={"limit": 3}, what="contacts")
    assert got == expected
    assert len(waits) == 3 and all(0 <= w <= 0.04 for w in waits)  # exponential backoff with full jitter
    assert sandbox.faults.fired_requests() == [1, 2, 3]


def test_the_http_client_gives_up_on_a_slow_response_and_retries(sandbox):
    sandbox.faults.add("slow", platform="hubspot", schedule=[1], seconds=0.5)
    waits: list[float] = []
    got = client(sandbox, "hubspot", waits, {"Authorization": f"Bearer {HUBSPOT_TOKEN}"}, read_timeout_s=0.2).request(
        "GET", CONTACTS, params={"limit": 3}, what="contacts"
    )
    assert ids(got["results"]) == ids(get_contacts(sandbox).json()["results"])
    assert len(waits) == 1


def test_clear_removes_every_rule_and_the_log(sandbox):
    sandbox.faults.add("rate_limit", platform="hubspot")
    assert get_contacts(sandbox).status_code == 429
    sandbox.faults.clear()
    assert sandbox.faults.rules == [] and sandbox.faults.fired == []
    assert get_contacts(sandbox).status_code == 200


# ---- the extractors through a storm of faults ----------------------------------------------------


@pytest.mark.slow
def test_the_extractors_load_exactly_the_world_through_every_transport_and_paging_fault(
    sandbox, connections, data_dir, world, monkeypatch
):
    """Retries, dedupe across pages and unknown fields, end to end: what lands equals the world."""
    import duckdb

    from extractors import pipeline, settings
    from extractors.sources import Source

    # GIVEN the real sources, with waits recorded instead of slept, and a plan with every fault they must survive
    waits: list[float] = []
    monkeypatch.setattr(
        Source,
        "client",
        lambda self, conn: HttpClient(
            self.name,
            conn.base_url,
            headers={"Authorization": f"Bearer {conn.password}"},
            secrets=[conn.password],
            max_concurrency=self.max_concurrency,
            policy=RetryPolicy(sleep=waits.append),
        ),
    )
    sandbox.faults.add("duplicate", probability=0.3, seed=1)
    sandbox.faults.add("server_error", probability=0.04, seed=2, burst=2, status=[500, 502, 503])
    sandbox.faults.add("truncate", schedule=[5, 30], fraction=0.9)
    sandbox.faults.add("malformed", schedule=[12], style="html")
    sandbox.faults.add("rate_limit", platform="hubspot", probability=0.04, seed=3)
    sandbox.faults.add("rate_limit", platform="meta", schedule=[3])
    sandbox.faults.add("new_field", platform="hubspot", schedule=[10], into="properties", name="hs_new_property")
    sandbox.faults.add("new_field", platform="meta", schedule=[4], name="new_metric", value="1")
    # WHEN both sources are extracted and loaded
    for source in ("hubspot", "meta_ads"):
        pipeline.extract(source, end=world.default_now, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
        pipeline.load(source, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    # THEN every kind fired, and the raw tables hold exactly the world's records, each once, unknown fields kept
    assert {f.kind for f in sandbox.faults.fired} == {
        "duplicate",
        "server_error",
        "truncate",
        "malformed",
        "rate_limit",
        "new_field",
    }
    assert waits
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        contacts = {cid: json.loads(rec) for cid, rec in con.execute("SELECT id, _record FROM raw_hubspot.contacts").fetchall()}
        insights = con.execute(
            "SELECT count(*), count(DISTINCT (_account_id, ad_id, date_start)) FROM raw_meta_ads.insights"
        ).fetchone()
        new_metric = con.execute("SELECT count(*) FROM raw_meta_ads.insights WHERE _record->>'new_metric' = '1'").fetchone()[0]
    expected = {c.contact_id: c for c in world.iter_contacts(world.default_now)}
    assert contacts.keys() == expected.keys()
    added = sum(r["properties"].pop("hs_new_property", None) is not None for r in contacts.values())
    assert 0 < added < len(contacts)
    for cid, record in contacts.items():
        assert record == world.contact_record(expected[cid], world.default_now, list(record["properties"]))
    assert insights == (world.truth().insights_row_count, world.truth().insights_row_count)
    assert new_metric > 0


def test_a_fault_on_an_answer_the_sandbox_failed_to_make_is_skipped_not_lost(sandbox, world, monkeypatch):
    """A sandbox bug answers a platform 500; a fault due on that request is reported as skipped."""

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the sandbox")

    monkeypatch.setattr(world, "iter_session_blocks", broken)
    sandbox.faults.add("change_type", platform="ga4", schedule=[1])
    response = run_report(sandbox, ga4_body(world))
    assert response.status_code == 500 and response.json() == {"message": "internal error"}
    assert sandbox.faults.fired == []
    assert [(f.request_no, f.endpoint, f.kind) for f in sandbox.faults.skipped] == [(1, RUN_REPORT, "change_type")]


# ---- permanent refusals, body-matched rules, a stream failing mid-answer -----------------------


@pytest.mark.parametrize(
    "platform, path",
    [("hubspot", CONTACTS), ("meta", INSIGHTS), ("google_ads", SEARCH_STREAM), ("ga4", RUN_REPORT), ("mailchimp", CAMPAIGNS)],
)
@pytest.mark.parametrize("status", [400, 404])
def test_a_client_error_is_each_platforms_own_refusal(platform, path, status):
    body = client_error_response(platform, fake_request(path), status).body
    response = client_error_response(platform, fake_request(path), status)
    assert response.status == status
    if platform == "hubspot":
        assert body["status"] == "error" and body["category"] == ("VALIDATION_ERROR" if status == 400 else "OBJECT_NOT_FOUND")
    elif platform == "meta":
        assert body["error"]["code"] == (100 if status == 400 else 803) and body["error"]["type"] == "OAuthException"
        assert "error_subcode" not in body["error"]  # not Meta's "no access" pair (100, 33), which is a 403's meaning
    elif platform == "google_ads":
        (body,) = body  # inside searchStream's array
        assert body["error"]["status"] == ("INVALID_ARGUMENT" if status == 400 else "NOT_FOUND")
        assert body["error"]["details"][0]["@type"].endswith(".errors.GoogleAdsFailure")
    elif platform == "ga4":
        assert body["error"]["code"] == status and body["error"]["status"] == (
            "INVALID_ARGUMENT" if status == 400 else "NOT_FOUND"
        )
    else:
        assert body["status"] == status and response.content_type.startswith("application/problem+json")


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"kind": "client_error", "params": {"status": 429}}, "400 | 404"),
        ({"kind": "stream_error", "params": {"after": -1}}, "after"),
    ],
)
def test_a_bad_refusal_rule_is_refused_when_made(bad, message):
    with pytest.raises(ValueError, match=message):
        FaultRule.from_dict(bad)


def test_a_body_pattern_refuses_one_query_among_those_sent_to_the_same_endpoint(sandbox, world):
    """GIVEN a client_error rule for GAQL queries that select segments.date WHEN two queries go to one
    searchStream path THEN only the report query is refused, and the HTTP client does not repeat it."""
    from extractors.errors import RefusedError

    sandbox.faults.add("client_error", platform="google_ads", body=r"segments\.date")
    assert search_stream(sandbox, "SELECT customer.id FROM customer").status_code == 200
    waits: list[float] = []
    with pytest.raises(RefusedError, match="HTTP 400: Request contains an invalid argument.: Error in query"):
        client(sandbox, "google_ads", waits, GOOGLE_HEADERS).request(
            "POST", SEARCH_STREAM, json_body={"query": ad_group_query(world)}, what="ad_group_performance"
        )
    assert waits == [] and sandbox.faults.fired == [FiredFault(1, SEARCH_STREAM, "client_error")]


def test_a_search_stream_can_fail_after_its_first_batches_under_http_200(sandbox, world, monkeypatch):
    monkeypatch.setattr(google_ads, "BATCH_SIZE", 6)
    clean = search_stream(sandbox, ad_group_query(world)).json()
    sandbox.faults.add("stream_error", platform="google_ads", schedule=[1], after=2)
    broken = search_stream(sandbox, ad_group_query(world))
    assert broken.status_code == 200
    assert broken.json() == clean[:2] + [{"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}}]
    # the one HTTP client sees the error, retries, and returns the whole stream, never its first two batches
    sandbox.faults.add("stream_error", platform="google_ads", schedule=[1], after=3)
    waits: list[float] = []
    got = client(sandbox, "google_ads", waits, GOOGLE_HEADERS).request(
        "POST", SEARCH_STREAM, json_body={"query": ad_group_query(world)}, what="ad_group_performance"
    )
    assert got == clean and len(waits) == 1
