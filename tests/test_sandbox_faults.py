"""Faults on demand: each fault appears exactly as configured, over real HTTP against a
SandboxServer, and the extractors' one HTTP client survives each of them.

Google Ads, GA4 and Mailchimp have no sandbox endpoints yet: their fault shapes are
unit-tested, and over HTTP they are served by probe routes (``probe_routes``) whose
paths no platform module uses, so the probes keep working once those modules land.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from extractors.http import HttpClient, RetryPolicy
from sandbox.faults import (
    KINDS,
    PLATFORMS,
    FaultPlan,
    FaultRule,
    FiredFault,
    platform_of,
    rate_limit_response,
    server_error_response,
)
from sandbox.server import Request, Response, SandboxServer
from sandbox.world import AD_ACCOUNTS

HUBSPOT_TOKEN, META_TOKEN = "sandbox-hubspot-token", "sandbox-meta-token"
CONTACTS = "/crm/v3/objects/contacts"
ACCOUNT = AD_ACCOUNTS[0].account_id
INSIGHTS = f"/v21.0/act_{ACCOUNT}/insights"
GOOGLE_ADS_PROBE = "/v21/customers/1234567890/sandboxFaultProbe:searchStream"
GA4_PROBE = "/v1beta/properties/987654:sandboxFaultProbe"
MAILCHIMP_PROBE = "/3.0/sandbox-fault-probe"
PROJECT = Path(__file__).resolve().parents[1]


# ---- helpers ------------------------------------------------------------------


def fake_request(path: str, method: str = "GET", query: dict | None = None, body: bytes = b"") -> Request:
    return Request(method, path, query or {}, {}, body, "http://127.0.0.1:1", None, None)


def get_contacts(server, limit: int = 3, after: str | None = None, timeout: float = 10) -> requests.Response:
    params = {"limit": limit, **({"after": after} if after else {})}
    return requests.get(server.base_url + CONTACTS, params=params, timeout=timeout,
                        headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"})


def insights_query(world, limit: int = 4) -> dict:
    day = world.start.isoformat()
    return {"level": "ad", "time_increment": "1", "time_range": json.dumps({"since": day, "until": day}),
            "fields": "ad_id,spend,impressions,clicks,actions,date_start", "limit": str(limit), "access_token": META_TOKEN}


def get_insights(server, world, limit: int = 4) -> requests.Response:
    return requests.get(server.base_url + INSIGHTS, params=insights_query(world, limit), timeout=10)


def next_after(page: dict) -> str | None:
    return page.get("paging", {}).get("next", {}).get("after")


def ids(records: list[dict], key: str = "id") -> list[str]:
    return [r[key] for r in records]


def client(server, source: str, waits: list[float], headers: dict | None = None, read_timeout_s: float = 10) -> HttpClient:
    policy = RetryPolicy(max_attempts=4, base_delay_s=0.01, read_timeout_s=read_timeout_s, sleep=waits.append)
    return HttpClient(source, server.base_url, headers=headers or {}, policy=policy)


@pytest.fixture(scope="module")
def shared_server(world):
    with SandboxServer(world) as server:
        yield server


@pytest.fixture
def sandbox(shared_server, world):
    """One server for this module (stopping one takes half a second); each test starts with no faults."""
    shared_server.faults.clear()
    shared_server.set_clock(world.default_now)
    yield shared_server
    shared_server.faults.clear()


@pytest.fixture
def probe_routes(sandbox):
    """Google Ads, GA4 and Mailchimp pages of real shape, until their sandbox modules land."""
    def google_ads_stream(request):  # two batches, as searchStream sends a long result
        def batch(first):
            results = [{"campaign": {"resourceName": f"customers/1234567890/campaigns/{i}", "id": str(i)},
                        "metrics": {"clicks": str(10 * i), "costMicros": str(1_230_000 * i)},
                        "segments": {"date": "2026-06-01"}} for i in range(first, first + 3)]
            return {"results": results, "fieldMask": "campaign.id,metrics.clicks,metrics.costMicros,segments.date",
                    "requestId": "probe"}

        return Response(200, [batch(1), batch(4)])

    def ga4_report(request):  # offset paging, limit and offset as strings in the body
        body = request.json()
        offset, limit = int(body.get("offset", "0")), int(body.get("limit", "10000"))
        rows = [{"dimensionValues": [{"value": f"202606{i:02d}"}], "metricValues": [{"value": str(100 + i)}]} for i in range(1, 11)]
        return Response(200, {"dimensionHeaders": [{"name": "date"}], "metricHeaders": [{"name": "sessions", "type": "TYPE_INTEGER"}],
                              "rows": rows[offset:offset + limit], "rowCount": len(rows)})

    def mailchimp_campaigns(request):  # count/offset paging with total_items
        offset, count = int(request.query.get("offset", "0")), int(request.query.get("count", "10"))
        campaigns = [{"id": f"c{i}", "emails_sent": 1000 + i} for i in range(10)]
        return Response(200, {"campaigns": campaigns[offset:offset + count], "total_items": len(campaigns)})

    probes = [("POST", GOOGLE_ADS_PROBE, google_ads_stream), ("POST", GA4_PROBE, ga4_report),
              ("GET", MAILCHIMP_PROBE, mailchimp_campaigns)]
    routes = sandbox._server.routes  # no public way to add a route: the probes go first, and leave after the test
    added = [(method, re.compile(re.escape(path)), handler) for method, path, handler in probes]
    routes[:0] = added
    yield sandbox
    del routes[:len(added)]


# ---- which platform a request belongs to; rules and plans ---------------------------------


@pytest.mark.parametrize("path, platform", [
    ("/crm/v3/objects/contacts", "hubspot"),
    ("/crm/v3/objects/deals/search", "hubspot"),
    ("/v21.0/act_1001/insights", "meta"),
    ("/v21.0/1234/posts", "meta"),
    ("/v21/customers/123/googleAds:searchStream", "google_ads"),
    ("/v1beta/properties/42:runReport", "ga4"),
    ("/3.0/campaigns", "mailchimp"),
    ("/healthz", None),
])
def test_a_request_belongs_to_the_platform_its_path_names(path, platform):
    assert platform_of(path) == platform


@pytest.mark.parametrize("bad, message", [
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
])
def test_a_bad_rule_is_refused_when_made_naming_what_to_fix(bad, message):
    with pytest.raises(ValueError, match=message):
        FaultRule.from_dict(bad)


def test_a_plan_loads_from_a_json_file_or_inline_json_and_round_trips(tmp_path):
    # GIVEN a plan file with one rule of every kind
    rules = [{"kind": kind, "platform": "hubspot", "schedule": [2, 1]} for kind in KINDS]
    rules[0] |= {"params": {"policy": "DAILY"}}
    rules[1] = {"kind": "server_error", "endpoint": "/insights$", "probability": 0.25, "seed": 9, "burst": 3,
                "params": {"status": [500, 502]}}
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
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "serve", "--port", "0", "--faults", str(plan)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=PROJECT)
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
    assert response.body == {"status": "error", "message": "You have reached your secondly limit.", "errorType": "RATE_LIMIT",
                             "correlationId": fake_request(CONTACTS).correlation_id(), "policyName": "SECONDLY"}
    assert response.headers == {"X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Remaining": "0",
                                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000", "X-HubSpot-RateLimit-Daily": "1000000",
                                "X-HubSpot-RateLimit-Daily-Remaining": "999000"}
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
    response = rate_limit_response("google_ads", fake_request("/v19/customers/42/googleAds:searchStream", "POST"), {"retry_delay": 45})
    assert response.status == 429
    error = response.body["error"]
    assert (error["code"], error["status"]) == (429, "RESOURCE_EXHAUSTED") and error["message"]
    (failure,) = error["details"]
    assert failure["@type"] == "type.googleapis.com/google.ads.googleads.v19.errors.GoogleAdsFailure"
    (err,) = failure["errors"]
    assert err["errorCode"] == {"quotaError": "RESOURCE_EXHAUSTED"} and err["message"]
    assert err["details"]["quotaErrorDetails"] == {"rateScope": "DEVELOPER", "rateName": "Number of operations for basic access",
                                                   "retryDelay": "45s"}


def test_ga4_rate_limit_is_429_resource_exhausted():
    response = rate_limit_response("ga4", fake_request(GA4_PROBE, "POST"), {})
    assert response.status == 429
    assert response.body["error"].keys() == {"code", "message", "status"}
    assert (response.body["error"]["code"], response.body["error"]["status"]) == (429, "RESOURCE_EXHAUSTED")


def test_mailchimp_rate_limit_is_429_problem_json():
    response = rate_limit_response("mailchimp", fake_request(MAILCHIMP_PROBE), {})
    assert response.status == 429 and response.content_type.startswith("application/problem+json")
    assert response.body.keys() == {"type", "title", "status", "detail", "instance"}
    assert (response.body["status"], response.body["title"]) == (429, "Too Many Requests")
    assert rate_limit_response("mailchimp", fake_request(MAILCHIMP_PROBE), {"retry_after": 2}).headers == {"Retry-After": "2"}


@pytest.mark.parametrize("platform, path", [("hubspot", CONTACTS), ("meta", INSIGHTS), ("google_ads", GOOGLE_ADS_PROBE),
                                            ("ga4", GA4_PROBE), ("mailchimp", MAILCHIMP_PROBE)])
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
    assert usage == {ACCOUNT: [{"type": "ads_insights", "call_count": 100, "total_cputime": 28, "total_time": 34,
                                "estimated_time_to_regain_access": 2}]}


@pytest.mark.parametrize("platform, method, path, check", [
    ("google_ads", "POST", GOOGLE_ADS_PROBE,
     lambda r: r.json()["error"]["details"][0]["errors"][0]["details"]["quotaErrorDetails"]["retryDelay"] == "30s"),
    ("ga4", "POST", GA4_PROBE, lambda r: r.json()["error"]["status"] == "RESOURCE_EXHAUSTED"),
    ("mailchimp", "GET", MAILCHIMP_PROBE,
     lambda r: r.headers["Content-Type"].startswith("application/problem+json") and r.json()["status"] == 429),
])
def test_rate_limits_of_platforms_without_sandbox_endpoints_yet_over_http(probe_routes, platform, method, path, check):
    probe_routes.faults.add("rate_limit", platform=platform, schedule=[1])
    first, second = (requests.request(method, probe_routes.base_url + path, json={}, timeout=10) for _ in range(2))
    assert first.status_code == 429 and check(first)
    assert second.status_code == 200


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
        deal_statuses.append(requests.get(sandbox.base_url + "/crm/v3/objects/deals", params={"limit": 1}, timeout=10,
                                          headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"}).status_code)
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


def test_hubspot_search_repeats_a_record_across_pages_whose_cursor_is_in_the_body(sandbox):
    sandbox.faults.add("duplicate", platform="hubspot", endpoint=r"/search$", schedule=[2])
    body = {"limit": 2, "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]}
    search = lambda b: requests.post(sandbox.base_url + CONTACTS + "/search", json=b, timeout=30,  # noqa: E731
                                     headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"}).json()
    page1 = search(body)
    page2 = search(body | {"after": next_after(page1)})
    assert ids(page2["results"])[0] == ids(page1["results"])[-1] and len(page2["results"]) == 3


def test_meta_insights_repeat_a_row_on_the_page_its_next_url_leads_to(sandbox, world):
    sandbox.faults.add("duplicate", platform="meta", endpoint=r"/insights$", probability=1.0)
    page1 = get_insights(sandbox, world).json()
    page2 = requests.get(page1["paging"]["next"], timeout=10).json()
    assert page2["data"][0] == page1["data"][-1] and len(page2["data"]) == 5
    assert sandbox.faults.fired_requests() == [2]  # the first page has no page before it: nothing to repeat


def test_a_google_ads_stream_repeats_the_last_row_of_a_batch_in_the_next(probe_routes):
    probe_routes.faults.add("duplicate", platform="google_ads", schedule=[1])
    batches = requests.post(probe_routes.base_url + GOOGLE_ADS_PROBE, json={"query": "SELECT"}, timeout=10).json()
    assert batches[1]["results"][0] == batches[0]["results"][-1]
    assert [len(b["results"]) for b in batches] == [3, 4]


def read_by_offset(server, platform: str, page_size: int = 3) -> list[list[str]]:
    """Pages as a reader that advances by the rows it saw reads them, until it has seen the total."""
    pages, offset = [], 0
    while True:
        if platform == "mailchimp":
            body = requests.get(server.base_url + MAILCHIMP_PROBE, params={"count": page_size, "offset": offset}, timeout=10).json()
            records, total = [c["id"] for c in body["campaigns"]], body["total_items"]
        else:
            body = requests.post(server.base_url + GA4_PROBE, json={"limit": str(page_size), "offset": str(offset)}, timeout=10).json()
            records, total = [r["dimensionValues"][0]["value"] for r in body["rows"]], body["rowCount"]
        pages.append(records)
        offset += len(records)
        if not records or offset >= total:
            return pages


@pytest.mark.parametrize("platform", ["mailchimp", "ga4"])
def test_offset_pages_repeat_a_record_by_shifting_as_an_insert_ahead_of_the_reader_does(probe_routes, platform):
    clean = read_by_offset(probe_routes, platform)
    probe_routes.faults.add("duplicate", platform=platform, schedule=[2])
    shifted = read_by_offset(probe_routes, platform)
    again = read_by_offset(probe_routes, platform)  # a new read starts unshifted (the schedule is spent)
    # The 2nd page opens with the 1st page's last record; page sizes stay; nothing is lost.
    assert [len(p) for p in clean] == [3, 3, 3, 1] and [len(p) for p in shifted] == [3, 3, 3, 2]
    assert shifted[1][0] == shifted[0][-1] == clean[0][-1]
    assert sorted(set(sum(shifted, []))) == sorted(sum(clean, [])) and len(sum(shifted, [])) == 11
    assert again == clean
    assert probe_routes.faults.fired_requests() == [2]


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


def test_hubspot_ids_become_numbers_and_ga4_metrics_change_type(probe_routes):
    probe_routes.faults.add("change_type", platform="hubspot", schedule=[1])
    probe_routes.faults.add("change_type", platform="ga4", schedule=[1])
    contacts = get_contacts(probe_routes).json()["results"]
    assert all(isinstance(r["properties"]["hs_object_id"], int) and r["properties"]["hs_object_id"] == int(r["id"]) for r in contacts)
    rows = requests.post(probe_routes.base_url + GA4_PROBE, json={}, timeout=10).json()["rows"]
    assert [r["metricValues"][0]["value"] for r in rows] == list(range(101, 111))


# ---- the extractors' HTTP client survives each fault and returns the right page -----------------


@pytest.mark.parametrize("platform, method, path, expected_wait", [
    ("hubspot", "GET", CONTACTS + "?limit=3", 10.0),  # X-HubSpot-RateLimit-Interval-Milliseconds
    ("meta", "GET", None, 60.0),  # estimated_time_to_regain_access: 1 minute
    ("google_ads", "POST", GOOGLE_ADS_PROBE, 30.0),  # retryDelay
    ("ga4", "POST", GA4_PROBE, 5.0),  # no stated delay: the client's floor for a throttle
    ("mailchimp", "GET", MAILCHIMP_PROBE, 5.0),
])
def test_the_http_client_waits_out_each_platforms_rate_limit_and_gets_the_page(probe_routes, world, platform, method, path,
                                                                              expected_wait):
    server = probe_routes
    headers = {"Authorization": f"Bearer {HUBSPOT_TOKEN}"} if platform == "hubspot" else {}
    if path is None:
        path = INSIGHTS + "?" + "&".join(f"{k}={requests.utils.quote(v)}" for k, v in insights_query(world).items())
    body = {} if method == "POST" else None
    expected = client(server, platform, [], headers).request(method, path, what="probe", json_body=body)
    server.faults.add("rate_limit", platform=platform, schedule=[1, 2])
    waits: list[float] = []
    got = client(server, platform, waits, headers).request(method, path, what="probe", json_body=body)
    assert got == expected
    assert waits == [expected_wait, expected_wait]
    assert server.faults.fired_requests() == [1, 2]  # a rule counts the requests made after it was added


@pytest.mark.parametrize("kind, params", [
    ("server_error", {"status": [500, 502, 503]}),
    ("truncate", {"fraction": 0.7}),
    ("malformed", {"style": "trailing_comma"}),
    ("malformed", {"style": "html"}),
])
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
        "GET", CONTACTS, params={"limit": 3}, what="contacts")
    assert ids(got["results"]) == ids(get_contacts(sandbox).json()["results"])
    assert len(waits) == 1


def test_clear_removes_every_rule_and_the_log(sandbox):
    sandbox.faults.add("rate_limit", platform="hubspot")
    assert get_contacts(sandbox).status_code == 429
    sandbox.faults.clear()
    assert sandbox.faults.rules == [] and sandbox.faults.fired == []
    assert get_contacts(sandbox).status_code == 200


# ---- the extractors through a storm of faults ----------------------------------------------------


def test_the_extractors_load_exactly_the_world_through_every_transport_and_paging_fault(sandbox, connections, data_dir, world,
                                                                                       monkeypatch):
    """Retries, dedupe across pages and unknown fields, end to end: what lands equals the world."""
    import duckdb

    from extractors import pipeline, settings
    from extractors.sources import Source

    # GIVEN the real sources, with waits recorded instead of slept, and a plan with every fault they must survive
    waits: list[float] = []
    monkeypatch.setattr(Source, "client", lambda self, conn: HttpClient(
        self.name, conn.base_url, headers={"Authorization": f"Bearer {conn.password}"}, secrets=[conn.password],
        max_concurrency=self.max_concurrency, policy=RetryPolicy(sleep=waits.append)))
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
    assert {f.kind for f in sandbox.faults.fired} == {"duplicate", "server_error", "truncate", "malformed", "rate_limit", "new_field"}
    assert waits
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        contacts = {cid: json.loads(rec) for cid, rec in con.execute("SELECT id, _record FROM raw_hubspot.contacts").fetchall()}
        insights = con.execute("SELECT count(*), count(DISTINCT (_account_id, ad_id, date_start))"
                               " FROM raw_meta_ads.insights").fetchone()
        new_metric = con.execute("SELECT count(*) FROM raw_meta_ads.insights WHERE _record->>'new_metric' = '1'").fetchone()[0]
    expected = {c.contact_id: c for c in world.iter_contacts(world.default_now)}
    assert contacts.keys() == expected.keys()
    added = sum(r["properties"].pop("hs_new_property", None) is not None for r in contacts.values())
    assert 0 < added < len(contacts)
    for cid, record in contacts.items():
        assert record == world.contact_record(expected[cid], world.default_now, list(record["properties"]))
    assert insights == (world.truth().insights_row_count, world.truth().insights_row_count)
    assert new_metric > 0
