"""Same seed -> byte-identical answers, for every route of every platform, in any process.

GIVEN two ``python -m sandbox serve --seed 7`` processes started with different
PYTHONHASHSEED (so no set or dict order that depends on string hashing can hide)
and the same seeded fault plan, WHEN one fixed request script is replayed against
each (every route in ``sandbox/apis/*.ROUTES``, paging follow-ups, auth and
validation errors, faulted requests), THEN every answer has the same status, the
same headers (but ``Date``) and the same body bytes. A ``--seed 8`` server
answers different bytes on every data route.

The one normalisation: the server's own ``host:port`` inside bodies and headers
(paging links are absolute URLs on the server that answered) becomes ``{host}``.
Nothing else is rewritten.

The script reads ids from earlier answers (a campaign id, a post with comments),
as a client does, so it follows each server's own data; with identical answers it
sends identical requests.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
import requests

from extractors.sources.facebook_pages import (
    IG_ACCOUNT_FIELDS,
    IG_COMMENT_FIELDS,
    MEDIA_FIELDS,
    PAGE_ACCOUNT_FIELDS,
    POST_COMMENT_FIELDS,
    POST_FIELDS,
)
from extractors.sources.ga4 import REPORTS
from extractors.sources.ga4_export import EXITS_QUERY
from extractors.sources.hubspot import CONTACT_PROPERTIES, DEAL_PROPERTIES
from extractors.sources.meta_ads import ACCOUNT_FIELDS, INSIGHT_FIELDS
from sandbox.apis.bigquery import DATASET_ID as BIGQUERY_DATASET
from sandbox.apis.bigquery import PROJECT_ID as BIGQUERY_PROJECT
from sandbox.apis.google_oauth import CLIENT_ID, CLIENT_SECRET
from sandbox.server import DEFAULT_TOKENS, _routes
from sandbox.world import AD_ACCOUNTS, GOOGLE_ADS_CUSTOMERS
from sandbox.world_email import AUDIENCES
from sandbox.world_social import FACEBOOK_PAGE, INSTAGRAM_ACCOUNT
from sandbox.world_web import PROPERTY_ID
from tests.spec_contracts import REPO

# Every route replayed against `python -m sandbox serve` processes under three hash seeds: over 20 s.
pytestmark = pytest.mark.slow

HUBSPOT = {"Authorization": f"Bearer {DEFAULT_TOKENS['hubspot']}"}
META = {"Authorization": f"Bearer {DEFAULT_TOKENS['meta']}"}
GRAPH = {"Authorization": f"Bearer {DEFAULT_TOKENS['facebook']}"}
GOOGLE_ADS = {
    "Authorization": f"Bearer {DEFAULT_TOKENS['google_ads']}",
    "developer-token": DEFAULT_TOKENS["google_ads_developer"],
    "login-customer-id": "5550000",
}
GA4 = {"Authorization": f"Bearer {DEFAULT_TOKENS['ga4']}"}
MAILCHIMP = ("funnelhouse", DEFAULT_TOKENS["mailchimp"])
PAGE, IG = FACEBOOK_PAGE.account_id, INSTAGRAM_ACCOUNT.account_id

# Every fault fires on requests the script makes at a known place; the probability rule is
# seeded, so it fires on the same request numbers in every process.
FAULT_PLAN = {
    "rules": [
        {"kind": "rate_limit", "platform": "hubspot", "endpoint": r"/crm/v3/objects/(deals|0-3)$", "schedule": [1]},
        {
            "kind": "server_error",
            "platform": "mailchimp",
            "endpoint": r"/3\.0/reports$",
            "schedule": [1],
            "params": {"status": 503},
        },
        {
            "kind": "server_error",
            "platform": "mailchimp",
            "endpoint": r"/3\.0/lists$",
            "probability": 0.5,
            "seed": 5,
            "params": {"status": [500, 502]},
        },
        {"kind": "truncate", "platform": "meta", "endpoint": r"/act_\d+$", "schedule": [2], "params": {"fraction": 0.4}},
        {"kind": "duplicate", "platform": "meta", "endpoint": r"/act_\d+/insights$", "schedule": [2]},
        {"kind": "rate_limit", "platform": "google_ads", "endpoint": r"/customers/5550001/", "schedule": [1]},
        {"kind": "malformed", "platform": "ga4", "schedule": [1], "params": {"style": "xssi_prefix"}},
    ]
}

DATA, OTHER, ERROR, FAULT = "data", "other", "error", "fault"  # only DATA answers must change with the seed
DATA_207 = "data, 207"  # HubSpot's batch read naming ids it could not find: its records and its errors


@dataclass(frozen=True)
class Exchange:
    label: str
    kind: str
    method: str
    path: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@contextmanager
def serve(*args: str, hash_seed: str = "0") -> Iterator[str]:
    """``python -m sandbox serve --port 0 ARGS`` in its own process; yields the base URL it prints."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "serve", "--port", "0", *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            line = proc.stdout.readline() if ready else ""
            if not line:
                log.seek(0)
                pytest.fail(f"sandbox serve {' '.join(args)} printed no base URL: {log.read()[-2000:]!r}")
            yield line.strip()
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def replay(base_url: str) -> list[Exchange]:
    """The fixed script; each answer normalised only for the server's own host:port."""
    host = urlsplit(base_url).netloc
    session = requests.Session()
    out: list[Exchange] = []

    def call(label: str, kind: str, method: str, url: str, **kwargs) -> requests.Response:
        if not url.startswith("http"):
            url = base_url + url
        response = session.request(method, url, timeout=120, **kwargs)
        headers = tuple(
            sorted((k.lower(), v.replace(host, "{host}")) for k, v in response.headers.items() if k.lower() != "date")
        )
        out.append(
            Exchange(
                label,
                kind,
                method,
                urlsplit(url).path,
                response.status_code,
                headers,
                response.content.replace(host.encode(), b"{host}"),
            )
        )
        return response

    # ---- HubSpot: CRM v3 objects, search, properties, events v3 ----
    for object_type in ("contacts", "deals", "0-1", "0-3"):
        call(f"hubspot properties {object_type}", OTHER, "GET", f"/crm/v3/properties/{object_type}", headers=HUBSPOT)
    contacts = {"limit": 100, "properties": ",".join(CONTACT_PROPERTIES)}
    page = call("hubspot contacts", DATA, "GET", "/crm/v3/objects/contacts", params=contacts, headers=HUBSPOT).json()
    call("hubspot contacts page 2 (next link)", DATA, "GET", page["paging"]["next"]["link"], headers=HUBSPOT)
    call(
        "hubspot contacts, unknown properties",
        DATA,
        "GET",
        "/crm/v3/objects/contacts",
        params={"limit": 20, "properties": "email,zz_custom,aa_custom,mm_custom,utm_term"},
        headers=HUBSPOT,
    )
    call(
        "hubspot contacts archived", DATA, "GET", "/crm/v3/objects/0-1", params={**contacts, "archived": "true"}, headers=HUBSPOT
    )
    deals = {"limit": 100, "properties": ",".join(DEAL_PROPERTIES), "associations": "contacts"}
    call("hubspot deals (rate_limit fault)", FAULT, "GET", "/crm/v3/objects/deals", params=deals, headers=HUBSPOT)
    page = call("hubspot deals", DATA, "GET", "/crm/v3/objects/deals", params=deals, headers=HUBSPOT).json()
    deal_ids = [r["id"] for r in page["results"][:20]]
    call(
        "hubspot deals page 2 (after)",
        DATA,
        "GET",
        "/crm/v3/objects/0-3",
        params={**deals, "after": page["paging"]["next"]["after"]},
        headers=HUBSPOT,
    )
    search = {
        "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "1780000000000"}]}],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "properties": list(CONTACT_PROPERTIES),
        "limit": 200,
    }
    page = call("hubspot contacts search", DATA, "POST", "/crm/v3/objects/contacts/search", json=search, headers=HUBSPOT).json()
    call(
        "hubspot contacts search page 2",
        DATA,
        "POST",
        "/crm/v3/objects/0-1/search",
        json={**search, "after": page["paging"]["next"]["after"]},
        headers=HUBSPOT,
    )
    call(
        "hubspot deals search",
        DATA,
        "POST",
        "/crm/v3/objects/0-3/search",
        json={"properties": list(DEAL_PROPERTIES), "limit": 50},
        headers=HUBSPOT,
    )
    listed = [r["id"] for r in page["results"][:20]]
    call(
        "hubspot contacts batch read",
        DATA,
        "POST",
        "/crm/v3/objects/contacts/batch/read",
        json={"properties": ["utm_source", "lifecyclestage"], "inputs": [{"id": i} for i in listed]},
        headers=HUBSPOT,
    )
    call(
        "hubspot deals batch read",
        DATA,
        "POST",
        "/crm/v3/objects/0-3/batch/read?archived=false",
        json={"properties": list(DEAL_PROPERTIES), "inputs": [{"id": i} for i in deal_ids]},
        headers=HUBSPOT,
    )
    call(
        "hubspot contacts batch read, one unknown id (207)",
        DATA_207,
        "POST",
        "/crm/v3/objects/0-1/batch/read",
        json={"properties": ["email"], "inputs": [{"id": listed[0]}, {"id": "1"}]},
        headers=HUBSPOT,
    )
    call(
        "hubspot URL too long (414)",
        ERROR,
        "GET",
        "/crm/v3/objects/contacts",
        params={"properties": ",".join(f"custom_{n:05d}" for n in range(2000))},
        headers=HUBSPOT,
    )
    visits = {"objectType": "contact", "objectId": "1000000000", "eventType": "e_visited_page", "limit": 2}
    page = call("hubspot events", DATA, "GET", "/events/v3/events", params=visits, headers=HUBSPOT).json()
    call("hubspot events page 2 (next link)", DATA, "GET", page["paging"]["next"]["link"], headers=HUBSPOT)
    call(
        "hubspot events in a window",
        DATA,
        "GET",
        "/events/v3/events/",
        params={
            "objectType": "0-1",
            "objectId": "1000000004",
            "occurredAfter": "2026-06-01T00:00:00Z",
            "occurredBefore": "2026-09-01T00:00:00Z",
            "limit": 100,
        },
        headers=HUBSPOT,
    )
    call(
        "hubspot events bad objectType",
        ERROR,
        "GET",
        "/events/v3/events",
        params={"objectType": "company", "objectId": "1"},
        headers=HUBSPOT,
    )
    call("hubspot 401", ERROR, "GET", "/crm/v3/objects/contacts")

    # ---- Meta Marketing API ----
    time_range = json.dumps({"since": "2026-06-01", "until": "2026-08-29"})
    for account in AD_ACCOUNTS:
        act = f"/v26.0/act_{account.account_id}"
        # the second account node is truncated by the plan
        call(
            f"meta {act}",
            FAULT if account is AD_ACCOUNTS[1] else OTHER,
            "GET",
            act,
            params={"fields": ",".join(ACCOUNT_FIELDS)},
            headers=META,
        )
        page = call(
            f"meta {act} insights",
            DATA,
            "GET",
            f"{act}/insights",
            params={
                "level": "ad",
                "time_increment": "1",
                "limit": 100,
                "fields": ",".join(INSIGHT_FIELDS),
                "time_range": time_range,
            },
            headers=META,
        ).json()
        # the first account's page 2 repeats a record of page 1 (duplicate fault)
        call(f"meta {act} insights page 2 (next link)", DATA, "GET", page["paging"]["next"], headers=META)
    call("meta unknown account", ERROR, "GET", "/v26.0/act_1999", headers=META)

    # ---- Google OAuth, Google Ads, GA4 ----
    refresh = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    call("google oauth token", OTHER, "POST", "/token", data={**refresh, "refresh_token": "sandbox-google-ads-refresh-token"})
    call("google oauth invalid_grant", ERROR, "POST", "/token", data={**refresh, "refresh_token": "revoked"})
    ad_groups = (
        "SELECT customer.id, campaign.id, campaign.name, ad_group.id, metrics.impressions, metrics.clicks, "
        "metrics.cost_micros, metrics.conversions, metrics.conversions_value, segments.date FROM ad_group "
        "WHERE segments.date BETWEEN '2026-06-01' AND '2026-08-29'"
    )
    call(
        "google ads 5550001 (rate_limit fault)",
        FAULT,
        "POST",
        "/v26/customers/5550001/googleAds:searchStream",
        json={"query": ad_groups},
        headers=GOOGLE_ADS,
    )
    for customer in GOOGLE_ADS_CUSTOMERS:
        call(
            f"google ads {customer.customer_id} ad groups",
            DATA,
            "POST",
            f"/v26/customers/{customer.customer_id}/googleAds:searchStream",
            json={"query": ad_groups},
            headers=GOOGLE_ADS,
        )
    call(
        "google ads campaigns last 30 days",
        DATA,
        "POST",
        "/v26/customers/5550002/googleAds:searchStream",
        json={
            "query": "SELECT campaign.name, metrics.clicks, segments.date FROM campaign "
            "WHERE segments.date DURING LAST_30_DAYS ORDER BY metrics.clicks DESC LIMIT 20"
        },
        headers=GOOGLE_ADS,
    )
    call(
        "google ads manager clients",
        OTHER,
        "POST",
        "/v26/customers/5550000/googleAds:searchStream",
        json={"query": "SELECT customer_client.id, customer_client.level FROM customer_client"},
        headers=GOOGLE_ADS,
    )
    call(
        "google ads bad GAQL",
        ERROR,
        "POST",
        "/v26/customers/5550002/googleAds:searchStream",
        json={"query": "SELECT metrics.clickz FROM campaign"},
        headers=GOOGLE_ADS,
    )
    report = f"/v1beta/properties/{PROPERTY_ID}:runReport"
    sessions = {
        "dateRanges": [{"startDate": "2026-05-31", "endDate": "2026-08-30"}],
        "dimensions": [{"name": d} for d in REPORTS["sessions_daily"].dimensions],
        "metrics": [{"name": m} for m in REPORTS["sessions_daily"].metrics],
        "returnPropertyQuota": True,
    }
    call("ga4 sessions (malformed fault)", FAULT, "POST", report, json={**sessions, "limit": "1000"}, headers=GA4)
    call("ga4 sessions", DATA, "POST", report, json={**sessions, "limit": "1000"}, headers=GA4)
    call("ga4 sessions page 2 (offset)", DATA, "POST", report, json={**sessions, "limit": "1000", "offset": "1000"}, headers=GA4)
    call(
        "ga4 pages",
        DATA,
        "POST",
        report,
        headers=GA4,
        json={
            **sessions,
            "dimensions": [{"name": d} for d in REPORTS["pages_daily"].dimensions],
            "metrics": [{"name": m} for m in REPORTS["pages_daily"].metrics],
        },
    )
    call("ga4 bad metric", ERROR, "POST", report, json={**sessions, "metrics": [{"name": "exits"}]}, headers=GA4)
    bigquery = f"/bigquery/v2/projects/{BIGQUERY_PROJECT}"
    call(
        "bigquery tables", OTHER, "GET", f"{bigquery}/datasets/{BIGQUERY_DATASET}/tables", params={"maxResults": 40}, headers=GA4
    )
    dataset = {"projectId": BIGQUERY_PROJECT, "datasetId": BIGQUERY_DATASET}
    job = call(
        "bigquery query",
        DATA,
        "POST",
        f"{bigquery}/queries",
        headers=GA4,
        json={
            "query": EXITS_QUERY.format(table="events_20260615"),
            "useLegacySql": False,
            "defaultDataset": dataset,
            "maxResults": 5,
        },
    ).json()
    call(
        "bigquery query results page 2",
        DATA,
        "GET",
        f"{bigquery}/queries/{job['jobReference']['jobId']}",
        headers=GA4,
        params={"location": "US", "pageToken": job["pageToken"], "maxResults": 5},
    )
    call(
        "bigquery bad query",
        ERROR,
        "POST",
        f"{bigquery}/queries",
        headers=GA4,
        json={"query": "SELECT FROM WHERE", "useLegacySql": False, "defaultDataset": dataset},
    )

    # ---- Mailchimp ----
    call("mailchimp ping", OTHER, "GET", "/3.0/ping", auth=MAILCHIMP)
    campaigns = call("mailchimp campaigns", DATA, "GET", "/3.0/campaigns", params={"count": 1000}, auth=MAILCHIMP).json()
    campaign = next(c["id"] for c in campaigns["campaigns"] if c["status"] == "sent")
    call("mailchimp campaign", DATA, "GET", f"/3.0/campaigns/{campaign}", auth=MAILCHIMP)
    call("mailchimp reports (server_error fault)", FAULT, "GET", "/3.0/reports", params={"count": 1000}, auth=MAILCHIMP)
    call("mailchimp reports", DATA, "GET", "/3.0/reports", params={"count": 1000}, auth=MAILCHIMP)
    call("mailchimp report", DATA, "GET", f"/3.0/reports/{campaign}", auth=MAILCHIMP)
    activity = f"/3.0/reports/{campaign}/email-activity"
    call("mailchimp email activity", DATA, "GET", activity, params={"count": 500}, auth=MAILCHIMP)
    call("mailchimp email activity page 2 (offset)", DATA, "GET", activity, params={"count": 500, "offset": 500}, auth=MAILCHIMP)
    for attempt in range(4):  # a seeded 50% server_error rule
        call(f"mailchimp lists #{attempt} (seeded server_error)", FAULT, "GET", "/3.0/lists", auth=MAILCHIMP)
    for audience in AUDIENCES:
        call(f"mailchimp list {audience.list_id}", DATA, "GET", f"/3.0/lists/{audience.list_id}", auth=MAILCHIMP)
        members = f"/3.0/lists/{audience.list_id}/members"
        call(f"mailchimp members {audience.list_id}", DATA, "GET", members, params={"count": 1000}, auth=MAILCHIMP)
        call(
            f"mailchimp members {audience.list_id} page 2 (offset)",
            DATA,
            "GET",
            members,
            params={"count": 1000, "offset": 1000},
            auth=MAILCHIMP,
        )
    call(
        "mailchimp members changed since",
        DATA,
        "GET",
        f"/3.0/lists/{AUDIENCES[0].list_id}/members",
        params={"since_last_changed": "2026-08-01T00:00:00+00:00", "count": 100},
        auth=MAILCHIMP,
    )
    call("mailchimp unknown list", ERROR, "GET", "/3.0/lists/nope", auth=MAILCHIMP)

    # ---- Facebook Pages and Instagram (Graph) ----
    call("graph page node", OTHER, "GET", f"/v21.0/{PAGE}", params={"fields": PAGE_ACCOUNT_FIELDS}, headers=GRAPH)
    call("graph instagram node", OTHER, "GET", f"/v21.0/{IG}", params={"fields": IG_ACCOUNT_FIELDS}, headers=GRAPH)
    posts = call(
        "graph posts", DATA, "GET", f"/v21.0/{PAGE}/posts", params={"fields": POST_FIELDS, "limit": 25}, headers=GRAPH
    ).json()
    call("graph posts page 2 (next link)", DATA, "GET", posts["paging"]["next"], headers=GRAPH)
    call(
        "graph published_posts since",
        DATA,
        "GET",
        f"/v21.0/{PAGE}/published_posts",
        params={"fields": POST_FIELDS, "since": "2026-08-01", "limit": 100},
        headers=GRAPH,
    )
    media = call(
        "graph media", DATA, "GET", f"/v21.0/{IG}/media", params={"fields": MEDIA_FIELDS, "limit": 25}, headers=GRAPH
    ).json()
    call("graph media page 2 (next link)", DATA, "GET", media["paging"]["next"], headers=GRAPH)
    post = next(p["id"] for p in posts["data"] if p["comments"]["summary"]["total_count"] > 2)
    call("graph post node", DATA, "GET", f"/v21.0/{post}", params={"fields": POST_FIELDS}, headers=GRAPH)
    comments = call(
        "graph post comments",
        DATA,
        "GET",
        f"/v21.0/{post}/comments",
        params={"fields": POST_COMMENT_FIELDS, "filter": "stream", "limit": 2, "summary": "true"},
        headers=GRAPH,
    ).json()
    call("graph post comments page 2 (next link)", DATA, "GET", comments["paging"]["next"], headers=GRAPH)
    item = next(m["id"] for m in media["data"] if m["comments_count"] > 0)
    call("graph media node", DATA, "GET", f"/v21.0/{item}", params={"fields": MEDIA_FIELDS}, headers=GRAPH)
    call("graph media comments", DATA, "GET", f"/v21.0/{item}/comments", params={"fields": IG_COMMENT_FIELDS}, headers=GRAPH)
    call(
        "graph media insights",
        DATA,
        "GET",
        f"/v21.0/{item}/insights",
        params={"metric": "views,reach,likes,comments,shares,saved,total_interactions"},
        headers=GRAPH,
    )
    insights = call(
        "graph page insights",
        DATA,
        "GET",
        f"/v21.0/{PAGE}/insights",
        params={
            "metric": "page_media_view,page_post_engagements,page_follows",
            "period": "day",
            "since": "2026-06-01",
            "until": "2026-07-01",
        },
        headers=GRAPH,
    ).json()
    call("graph page insights next window (next link)", DATA, "GET", insights["paging"]["next"], headers=GRAPH)
    call(
        "graph page insights, 90 days",
        DATA,
        "GET",
        f"/v21.0/{PAGE}/insights",
        params={
            "metric": "page_media_view,page_post_engagements,page_follows",
            "period": "day",
            "since": int(datetime(2026, 6, 1, tzinfo=UTC).timestamp()),
            "until": int(datetime(2026, 8, 30, tzinfo=UTC).timestamp()),
        },
        headers=GRAPH,
    )
    call("graph unknown node", ERROR, "GET", "/v21.0/999999/posts", headers=GRAPH)
    call("graph removed metric", ERROR, "GET", f"/v21.0/{PAGE}/insights", params={"metric": "page_fans"}, headers=GRAPH)

    # ---- Bank of Russia: currency list, a currency's daily rates ----
    call("cbr currency list", OTHER, "GET", "/scripts/XML_valFull.asp")
    call(
        "cbr daily rates",
        DATA,
        "GET",
        "/scripts/XML_dynamic.asp",
        params={"date_req1": "01/06/2026", "date_req2": "30/06/2026", "VAL_NM_RQ": "R01239"},
    )
    return out


@pytest.fixture(scope="module")
def replays() -> dict[str, list[Exchange]]:
    """seed 7 under two hash seeds, seed 8: each in its own server process with the same fault plan."""
    runs = {}
    for name, seed, hash_seed in (
        ("seed 7, hash 1", "7", "1"),
        ("seed 7, hash 2", "7", "2"),
        ("seed 7, hash 3", "7", "3"),
        ("seed 8", "8", "1"),
    ):
        with serve("--seed", seed, "--scale", "1", "--faults", json.dumps(FAULT_PLAN), hash_seed=hash_seed) as base_url:
            runs[name] = replay(base_url)
    return runs


def test_the_script_covers_every_route_of_every_platform(replays):
    routes = [(method, re.compile(pattern), pattern) for method, pattern, _ in _routes()]
    hit = {
        pattern
        for ex in replays["seed 7, hash 1"]
        for method, regex, pattern in routes
        if method == ex.method and regex.fullmatch(ex.path)
    }
    assert hit == {pattern for _, _, pattern in routes}, sorted({p for _, _, p in routes} - hit)
    assert all(ex.status != 404 or ex.label == "mailchimp unknown list" for ex in replays["seed 7, hash 1"])


@pytest.mark.parametrize("other", ["seed 7, hash 2", "seed 7, hash 3"])
def test_the_same_seed_gives_identical_bytes_per_request_under_another_hash_seed(replays, other):
    first, second = replays["seed 7, hash 1"], replays[other]
    assert [ex.label for ex in first] == [ex.label for ex in second]
    for a, b in zip(first, second, strict=True):
        assert (a.status, a.headers) == (b.status, b.headers), a.label
        assert a.body == b.body, f"{a.label}: the bodies differ between two seed-7 servers"


def test_every_answer_is_what_the_script_asked_for(replays):
    """The replay compares real answers: data is 200 JSON (the Bank of Russia's XML), errors are errors,
    every planned fault fired."""
    answers = {ex.label: ex for ex in replays["seed 7, hash 1"]}
    for ex in answers.values():
        if ex.kind in (DATA, OTHER):
            assert ex.status == 200, (ex.label, ex.body[:300])
            if ex.path.startswith("/scripts/XML_"):
                assert ElementTree.fromstring(ex.body) is not None
            else:
                json.loads(ex.body)
        elif ex.kind == ERROR:
            assert 400 <= ex.status < 500, (ex.label, ex.status)
        elif ex.kind == DATA_207:
            assert ex.status == 207 and json.loads(ex.body)["errors"][0]["context"]["ids"] == ["1"], ex.label
    assert answers["hubspot deals (rate_limit fault)"].status == 429
    assert answers["google ads 5550001 (rate_limit fault)"].status == 429
    assert answers["mailchimp reports (server_error fault)"].status == 503
    assert answers["ga4 sessions (malformed fault)"].body.startswith(b")]}'")
    truncated = answers[f"meta /v26.0/act_{AD_ACCOUNTS[1].account_id}"]
    with pytest.raises(json.JSONDecodeError):
        json.loads(truncated.body)
    seeded = [answers[f"mailchimp lists #{i} (seeded server_error)"].status for i in range(4)]
    assert set(seeded) - {200} and 200 in seeded, seeded  # the seeded rule fired on some, not all
    # the duplicate fault: page 2 of the first account starts with a row of page 1
    first_act = f"meta /v26.0/act_{AD_ACCOUNTS[0].account_id}"
    page1 = json.loads(answers[f"{first_act} insights"].body)["data"]
    page2 = json.loads(answers[f"{first_act} insights page 2 (next link)"].body)["data"]
    assert any(row in page1 for row in page2)


def test_another_seed_gives_different_bytes_on_every_data_route(replays):
    seven, eight = replays["seed 7, hash 1"], replays["seed 8"]
    assert [ex.label for ex in seven] == [ex.label for ex in eight]
    same = [a.label for a, b in zip(seven, eight, strict=True) if a.kind == DATA and a.body == b.body]
    assert not same, f"seed 8 answered seed 7's bytes on: {same}"
    assert all(b.status == 200 for b in eight if b.kind == DATA)
