"""The sandbox's HubSpot and Meta APIs against the platforms' official spec files.

The specs live in ``tests/specs`` (copies of the official files):
- HubSpot: OpenAPI 3.0.1 files ``hubspot/contacts.json`` and ``hubspot/deals.json``.
  Real responses are validated with jsonschema against the component schema the
  spec names for each operation (the test reads the name from the spec):
  list -> CollectionResponseSimplePublicObjectWithAssociationsForwardPaging,
  search -> CollectionResponseWithTotalSimplePublicObject, errors (the ``default``
  response) -> Error. Objects are closed: a field the spec does not declare fails.
- Meta: its own field-description files (``AdsInsights.json``, ``AdAccount.json``,
  ``AdsActionStats.json``, ``enum_types.json``): every field served exists on the
  node, its JSON type is what Meta sends for the declared type
  (``tests/spec_contracts.META_JSON_TYPES``), and the parameters the extractor
  sends exist on AdAccount's ``insights`` edge. Meta ships no machine-readable
  paging or error envelope, so those are checked against the shapes in its Graph
  API docs (GRAPH_PAGE_SCHEMA, GRAPH_ERROR_SCHEMA below).

Last, determinism: the same seed gives byte-identical bodies, in any process.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from jsonschema import Draft4Validator

from extractors import pipeline, settings
from extractors.sources.hubspot import CONTACT_PROPERTIES, DEAL_PROPERTIES
from extractors.sources.meta_ads import ACCOUNT_FIELDS, AD_EFFECTIVE_STATUSES, INSIGHT_FIELDS
from sandbox.server import DEFAULT_TOKENS, SandboxServer
from sandbox.world import AD_ACCOUNTS, World
from tests.spec_contracts import REPO, SPECS, MetaSpec, errors_of, openapi_validator, response_schema_name

HUBSPOT_AUTH = {"Authorization": f"Bearer {DEFAULT_TOKENS['hubspot']}"}
META_AUTH = {"Authorization": f"Bearer {DEFAULT_TOKENS['meta']}"}
CONTACTS, DEALS = "hubspot/contacts.json", "hubspot/deals.json"

# The operations the extractors use, at the paths the spec files name them
# (deals.json names deals by their object type id, 0-3).
CONTACTS_LIST, CONTACTS_SEARCH = (
    (CONTACTS, "GET", "/crm/v3/objects/contacts"),
    (CONTACTS, "POST", "/crm/v3/objects/contacts/search"),
)
DEALS_LIST, DEALS_SEARCH = (DEALS, "GET", "/crm/v3/objects/0-3"), (DEALS, "POST", "/crm/v3/objects/0-3/search")

_NULLABLE_STRINGS = {"type": "object", "additionalProperties": {"type": ["string", "null"]}}
# Where HubSpot's documented wire format is wider than its OpenAPI files; nothing else is relaxed.
HUBSPOT_WIRE_DEVIATIONS = {
    # "If a requested property is defined but [the record] doesn't have a value, it will be
    # returned as null" (HubSpot's CRM object guides, `properties` parameter); the OpenAPI
    # files type every value as a plain string (see HubSpot/hubspot-api-nodejs#323).
    "SimplePublicObject.properties": _NULLABLE_STRINGS,
    "SimplePublicObjectWithAssociations.properties": _NULLABLE_STRINGS,
    # Every HubSpot error body also carries "status": "error" (HubSpot's error-handling guide),
    # which the Error schema does not declare.
    "Error.status": {"enum": ["error"]},
}


@pytest.fixture(scope="module")
def hubspot_schema():
    """(spec file, method, path[, status]) -> validator for the schema the spec names there."""
    validators = {}

    def get(operation: tuple, status: str = "200") -> Draft4Validator:
        spec, method, path = operation
        key = (spec, response_schema_name(spec, method, path, status))
        if key not in validators:
            validators[key] = openapi_validator(spec, key[1], HUBSPOT_WIRE_DEVIATIONS)
        return validators[key]

    return get


def assert_valid(validator: Draft4Validator, body, what: str) -> None:
    errors = errors_of(validator, body)
    assert not errors, f"{what}: {len(errors)} deviation(s) from the spec, first ones:\n" + "\n".join(errors[:10])


def test_the_spec_names_the_schemas_this_test_validates_against():
    assert response_schema_name(*CONTACTS_LIST) == "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging"
    assert response_schema_name(*DEALS_LIST) == "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging"
    assert response_schema_name(*CONTACTS_SEARCH) == "CollectionResponseWithTotalSimplePublicObject"
    assert response_schema_name(*DEALS_SEARCH) == "CollectionResponseWithTotalSimplePublicObject"
    for operation in (CONTACTS_LIST, CONTACTS_SEARCH, DEALS_LIST, DEALS_SEARCH):
        assert response_schema_name(*operation, status="default") == "Error"


def test_openapi_nullable_becomes_a_json_schema_null_type():
    from tests.spec_contracts import openapi_to_json_schema

    converted = openapi_to_json_schema(
        {
            "type": "object",
            "properties": {
                "a": {"type": "string", "nullable": True, "example": "x"},
                "b": {"type": "string", "enum": ["x"], "nullable": True},
            },
        }
    )
    validator = Draft4Validator(converted)
    assert validator.is_valid({"a": None, "b": None}) and validator.is_valid({"a": "s", "b": "x"})
    assert not validator.is_valid({"a": 1}) and not validator.is_valid({"c": "undeclared"})


# ---- HubSpot -----------------------------------------------------------------


def read_all_pages(base_url: str, path: str, params: dict, validator: Draft4Validator) -> list[dict]:
    """Every page of a list call, each validated; returns all records."""
    records, after, pages = [], None, 0
    while True:
        response = requests.get(
            f"{base_url}{path}", params={**params, **({"after": after} if after else {})}, headers=HUBSPOT_AUTH, timeout=30
        )
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("application/json")
        page = response.json()
        pages += 1
        assert_valid(validator, page, f"GET {path} page {pages}")
        records += page["results"]
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if after is None:
            return records
        assert page["results"], "a page that promises more must not be empty"


@pytest.mark.parametrize(
    "operation, path, params",
    [
        (
            CONTACTS_LIST,
            "/crm/v3/objects/contacts",
            {"limit": 100, "properties": ",".join(CONTACT_PROPERTIES), "archived": "false"},
        ),
        (
            CONTACTS_LIST,
            "/crm/v3/objects/contacts",
            {"limit": 100, "properties": ",".join(CONTACT_PROPERTIES), "archived": "true"},
        ),
        (CONTACTS_LIST, "/crm/v3/objects/contacts", {"limit": 100}),  # no properties: every one the sandbox knows, nulls included
        (DEALS_LIST, "/crm/v3/objects/0-3", {"limit": 100, "properties": ",".join(DEAL_PROPERTIES), "associations": "contacts"}),
        (
            DEALS_LIST,
            "/crm/v3/objects/deals",
            {"limit": 100, "properties": ",".join(DEAL_PROPERTIES), "associations": "contacts"},
        ),
        (DEALS_LIST, "/crm/v3/objects/deals", {"limit": 100, "properties": ",".join(DEAL_PROPERTIES), "archived": "true"}),
    ],
    ids=["contacts", "contacts-archived", "contacts-default-properties", "deals-by-type-id", "deals", "deals-archived"],
)
def test_hubspot_list_pages_match_the_spec(sandbox, world, hubspot_schema, operation, path, params):
    """GIVEN the sandbox, WHEN every page of a list is read, THEN each page validates against
    the schema the spec names, and the records are the world's."""
    records = read_all_pages(sandbox.base_url, path, params, hubspot_schema(operation))

    archived = params.get("archived") == "true"
    assert all(r["archived"] is archived and ("archivedAt" in r) is archived for r in records)
    if operation is CONTACTS_LIST:
        expected = [
            c.contact_id
            for c in world.iter_contacts(world.default_now)
            if bool(c.archived_at and c.archived_at <= world.default_now) is archived
        ]
        assert [r["id"] for r in records] == expected and expected
    elif archived:
        assert records == []  # the simulated business never deletes deals: an empty list is still a valid page
    else:
        assert [r["id"] for r in records] == [d.deal_id for d in world.iter_deals(world.default_now)]
        assert all(r["associations"]["contacts"]["results"][0]["type"] == "deal_to_contact" for r in records)
    if "properties" not in params:
        assert any(None in r["properties"].values() for r in records)  # the wire deviation is exercised


def test_hubspot_next_link_reads_the_same_page_as_the_after_cursor(sandbox, hubspot_schema):
    """``paging.next.link`` is a URL to the next page of the same list (same filters and properties)."""
    params = {"limit": 5, "properties": "email,lifecyclestage", "archived": "true"}
    first = requests.get(f"{sandbox.base_url}/crm/v3/objects/contacts", params=params, headers=HUBSPOT_AUTH, timeout=30).json()
    assert_valid(hubspot_schema(CONTACTS_LIST), first, "first page")
    nxt = first["paging"]["next"]
    by_link = requests.get(nxt["link"], headers=HUBSPOT_AUTH, timeout=30).json()
    by_cursor = requests.get(
        f"{sandbox.base_url}/crm/v3/objects/contacts", params={**params, "after": nxt["after"]}, headers=HUBSPOT_AUTH, timeout=30
    ).json()
    assert by_link == by_cursor
    assert len(by_link["results"]) == 5 and all(r["archived"] for r in by_link["results"])
    assert set(by_link["results"][0]["properties"]) == {
        "createdate",
        "email",
        "hs_object_id",
        "lastmodifieddate",
        "lifecyclestage",
    }


def search_body(modified: str, start_ms: int, end_ms: int, properties, after: str | None = None) -> dict:
    """The incremental search the extractor sends."""
    return {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": modified, "operator": "GTE", "value": str(start_ms)},
                    {"propertyName": modified, "operator": "LT", "value": str(end_ms)},
                ]
            }
        ],
        "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": 200,
        **({"after": after} if after else {}),
    }


@pytest.mark.parametrize(
    "operation, path, modified, properties",
    [
        (CONTACTS_SEARCH, "/crm/v3/objects/contacts/search", "lastmodifieddate", CONTACT_PROPERTIES),
        (DEALS_SEARCH, "/crm/v3/objects/0-3/search", "hs_lastmodifieddate", DEAL_PROPERTIES),
    ],
    ids=["contacts", "deals"],
)
def test_hubspot_search_pages_match_the_spec(sandbox, world, hubspot_schema, operation, path, modified, properties):
    end_ms = int(world.default_now.timestamp() * 1000)
    start_ms = int((world.default_now - timedelta(days=30)).timestamp() * 1000)
    records, after, totals = [], None, set()
    while True:
        response = requests.post(
            f"{sandbox.base_url}{path}",
            json=search_body(modified, start_ms, end_ms, properties, after),
            headers=HUBSPOT_AUTH,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert_valid(hubspot_schema(operation), page, f"POST {path} after={after}")
        records += page["results"]
        totals.add(page["total"])
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if after is None:
            break
    assert totals == {len(records)} and len(records) > 200  # more than one page was read and checked
    assert [r["properties"][modified] for r in records] == sorted(r["properties"][modified] for r in records)


@pytest.mark.parametrize(
    "method, path, kwargs, status, category",
    [
        ("GET", "/crm/v3/objects/contacts", {"headers": {}}, 401, "INVALID_AUTHENTICATION"),
        ("GET", "/crm/v3/objects/0-3", {"headers": {"Authorization": "Bearer expired-token"}}, 401, "INVALID_AUTHENTICATION"),
        ("GET", "/crm/v3/objects/contacts", {"params": {"limit": "many"}}, 400, "VALIDATION_ERROR"),
        ("GET", "/crm/v3/objects/contacts", {"params": {"after": "not-a-cursor"}}, 400, "VALIDATION_ERROR"),
        ("POST", "/crm/v3/objects/contacts/search", {"data": b"{not json"}, 400, "VALIDATION_ERROR"),
        ("POST", "/crm/v3/objects/contacts/search", {"json": {"after": "abc"}}, 400, "VALIDATION_ERROR"),
        (
            "POST",
            "/crm/v3/objects/0-3/search",
            {"json": {"filterGroups": [{"filters": [{"propertyName": "amount", "operator": "GT", "value": "1"}]}]}},
            400,
            "VALIDATION_ERROR",
        ),
        (
            "POST",
            "/crm/v3/objects/contacts/search",
            {"json": {"after": "9950", "limit": 100}},
            400,
            "VALIDATION_ERROR",
        ),  # past the 10,000 cap
        # an order the sandbox cannot give is refused, never silently replaced by the modified-date order
        (
            "POST",
            "/crm/v3/objects/contacts/search",
            {"json": {"sorts": [{"propertyName": "createdate", "direction": "DESCENDING"}]}},
            400,
            "VALIDATION_ERROR",
        ),
    ],
    ids=[
        "no-token",
        "bad-token",
        "bad-limit",
        "bad-cursor",
        "search-not-json",
        "search-bad-after",
        "search-unsupported-filter",
        "search-cap",
        "search-unsupported-sort",
    ],
)
def test_hubspot_error_bodies_match_the_error_schema(sandbox, hubspot_schema, method, path, kwargs, status, category):
    kwargs = {"headers": HUBSPOT_AUTH, **kwargs}
    response = requests.request(method, f"{sandbox.base_url}{path}", timeout=30, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    operation = CONTACTS_LIST if "contacts" in path else DEALS_LIST
    assert_valid(hubspot_schema(operation, "default"), body, f"{method} {path} -> {status}")
    assert body["category"] == category and body["status"] == "error" and body["message"]


@pytest.mark.slow
def test_the_extractors_hubspot_requests_use_the_specs_parameters(sandbox, connections, data_dir, world):
    """The list parameters the extractor sends are the operation's, and its search filters
    validate against the spec's FilterGroup schema."""
    seen = []
    sandbox.sandbox.request_hooks.append(seen.append)
    earlier = world.default_now - timedelta(days=5)
    sandbox.set_clock(earlier)
    pipeline.extract("hubspot", end=earlier, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    pipeline.load("hubspot", warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    sandbox.set_clock(world.default_now)  # the second run searches from the saved cursor
    pipeline.extract("hubspot", end=world.default_now, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    # CRM list calls only: the events API (contact_visits) has no spec here; tests/dbt/test_attribution.py checks its parameters
    list_params = {k for r in seen if r.method == "GET" and r.path.startswith("/crm/") for k in r.query}
    searches = [r.json() for r in seen if r.path.endswith("/search")]
    assert list_params and searches

    for spec, path in ((CONTACTS, "/crm/v3/objects/contacts"), (DEALS, "/crm/v3/objects/0-3")):
        declared = {p["name"] for p in json.loads((SPECS / spec).read_text())["paths"][path]["get"]["parameters"]}
        assert list_params <= declared, list_params - declared
    filter_group = openapi_validator(CONTACTS, "FilterGroup")
    for body in searches:
        for group in body["filterGroups"]:
            assert_valid(filter_group, group, "the extractor's search filter group")
        assert isinstance(body["limit"], int) and body["limit"] <= 200  # "up to 200 objects" (PublicObjectSearchRequest)
        assert all(isinstance(p, str) for p in body["properties"])


# ---- Meta --------------------------------------------------------------------

# Graph API envelopes, from Meta's docs ("Using the Graph API: paginated results",
# "Handling errors"); specs/meta has no machine-readable form of them.
GRAPH_PAGE_SCHEMA = {
    "type": "object",
    "required": ["data"],
    "additionalProperties": False,
    "properties": {
        "data": {"type": "array", "items": {"type": "object"}},
        "paging": {
            "type": "object",
            "required": ["cursors"],
            "additionalProperties": False,
            "properties": {
                "cursors": {
                    "type": "object",
                    "required": ["before", "after"],
                    "additionalProperties": False,
                    "properties": {"before": {"type": "string", "minLength": 1}, "after": {"type": "string", "minLength": 1}},
                },
                "next": {"type": "string", "pattern": "^https?://"},
                "previous": {"type": "string", "pattern": "^https?://"},
            },
        },
    },
}
GRAPH_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "code", "fbtrace_id"],
            "additionalProperties": False,
            "properties": {
                "message": {"type": "string", "minLength": 1},
                "type": {"type": "string", "minLength": 1},
                "code": {"type": "integer"},
                "error_subcode": {"type": "integer"},
                "fbtrace_id": {"type": "string", "minLength": 1},
                "is_transient": {"type": "boolean"},
                "error_user_title": {"type": "string"},
                "error_user_msg": {"type": "string"},
                "error_data": {},
            },
        }
    },
}
# Graph API parameters every edge takes (auth and cursor paging), beside the edge's own.
GRAPH_COMMON_PARAMS = {"access_token", "after", "before", "appsecret_proof"}
EVERY_STATUS = json.dumps([{"field": "ad.effective_status", "operator": "IN", "value": list(AD_EFFECTIVE_STATUSES)}])
TIME_INCREMENT = re.compile(r"^([1-9]|[1-8][0-9]|90|monthly|all_days)$")  # Meta's documented values: 1-90 days, monthly, all_days
NUMERIC = re.compile(r"^\d+(\.\d+)?$")
MONEY = re.compile(r"^\d+\.\d{2}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture(scope="module")
def meta():
    return MetaSpec()


def insights_params(world, **extra) -> dict:
    """The whole period, every ad status (deleted ads' rows are left out unless asked for)."""
    return {
        "level": "ad",
        "time_increment": "1",
        "limit": 500,
        "filtering": EVERY_STATUS,
        "time_range": json.dumps({"since": world.start.isoformat(), "until": world.end.isoformat()}),
        **extra,
    }


@pytest.mark.parametrize("fields", [INSIGHT_FIELDS, None], ids=["extractor-fields", "all-fields"])
def test_meta_insights_rows_use_adsinsights_fields_and_types(sandbox, world, meta, fields):
    """GIVEN every insights row of every account, THEN each field is an AdsInsights field,
    its JSON type is what Meta sends for the declared type, and ``actions`` and
    ``action_values`` items are AdsActionStats objects."""
    assert meta.fields("AdsInsights")["action_values"] == meta.fields("AdsInsights")["actions"] == "list<AdsActionStats>"
    if fields:
        unknown = set(fields) - meta.fields("AdsInsights").keys()
        assert not unknown, f"the extractor asks for fields AdsInsights does not have: {unknown}"
    page_validator = Draft4Validator(GRAPH_PAGE_SCHEMA)
    rows = []
    for account in AD_ACCOUNTS:
        url = f"{sandbox.base_url}/v26.0/act_{account.account_id}/insights"
        params = insights_params(world, **({"fields": ",".join(fields)} if fields else {}))
        while url:
            page = requests.get(url, params=params, headers=META_AUTH, timeout=30).json()
            assert_valid(page_validator, page, url)
            rows += page["data"]
            url, params = page.get("paging", {}).get("next"), None
    assert len(rows) == world.truth().insights_row_count
    errors = [e for i, row in enumerate(rows) for e in meta.object_errors("AdsInsights", row, f"row {i}")]
    assert not errors, "\n".join(errors[:10])
    actions = [a for row in rows for a in row.get("actions", [])]
    assert {a["action_type"] for a in actions} >= {"link_click", "lead"}  # AdsActionStats was really exercised
    for row in rows:  # Meta's metrics are decimal strings, its dates YYYY-MM-DD in the account's time zone
        assert all(NUMERIC.match(row[k]) for k in ("spend", "impressions", "clicks"))
        assert all(NUMERIC.match(a["value"]) for a in row.get("actions", []))
        assert all(MONEY.match(a["value"]) for a in row.get("action_values", []))  # an amount, 2 decimals
        assert ("action_values" in row) == any(a["action_type"] == "lead" for a in row["actions"])  # omitted when empty
        assert DAY.match(row["date_start"]) and row["date_start"] == row["date_stop"]
    action_values = [a for row in rows for a in row.get("action_values", [])]
    assert {a["action_type"] for a in action_values} == {"lead", "offsite_conversion.fb_pixel_lead"}


@pytest.mark.parametrize("fields", [ACCOUNT_FIELDS, None], ids=["extractor-fields", "default"])
def test_meta_ad_accounts_use_adaccount_fields_and_types(sandbox, meta, fields):
    if fields:
        assert set(fields) <= meta.fields("AdAccount").keys()
    currencies = meta.enum_values("adaccount_currency")
    for account in AD_ACCOUNTS:
        params = {"fields": ",".join(fields)} if fields else {}
        response = requests.get(
            f"{sandbox.base_url}/v26.0/act_{account.account_id}", params=params, headers=META_AUTH, timeout=30
        )
        assert response.status_code == 200, response.text
        body = response.json()
        errors = meta.object_errors("AdAccount", body, f"act_{account.account_id}")
        assert not errors, "\n".join(errors)
        assert body["id"] == f"act_{body['account_id']}"
        assert body["currency"] in currencies, (
            f"{body['currency']} is not a currency Meta ad accounts can have (adaccount_currency)"
        )


def test_the_extractors_meta_requests_use_the_insights_edges_parameters(sandbox, connections, data_dir, world, meta):
    """Every parameter the extractor sends to start a report run exists on AdAccount's POST
    insights edge (which returns an AdReportRun), with a value of the declared type; the
    ad.effective_status filter lists every status Meta defines (Ad_effective_status)."""
    seen = []
    sandbox.sandbox.request_hooks.append(seen.append)
    pipeline.extract("meta_ads", end=world.default_now, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    runs = [{k: v[-1] for k, v in parse_qs(r.body.decode()).items()} for r in seen if r.method == "POST"]
    results = [r.query for r in seen if r.method == "GET" and r.path.endswith("/insights")]
    accounts = [r.query for r in seen if "/act_" in r.path and r.method == "GET"]
    assert runs and results and accounts and all(not r.query for r in seen if r.method == "POST")

    edge = meta.edge("AdAccount", "insights", "POST")
    assert edge["return"] == "AdReportRun"
    types = {p["name"]: p["type"] for p in edge["params"]}
    assert {"level", "time_increment", "time_range", "fields", "filtering"} <= types.keys()
    for query in runs:
        assert set(query) <= types.keys(), set(query) - types.keys()
        assert query["level"] in meta.enum_values(types["level"])  # adaccountinsights_level_enum_param
        assert types["time_increment"] == "string" and TIME_INCREMENT.match(query["time_increment"])
        assert types["time_range"] == "map"
        time_range = json.loads(query["time_range"])
        assert set(time_range) == {"since", "until"} and all(DAY.match(v) for v in time_range.values())
        assert types["fields"] == "list<string>" and set(query["fields"].split(",")) <= meta.fields("AdsInsights").keys()
        assert types["filtering"] == "list<Object>"
        assert json.loads(query["filtering"]) == [
            {"field": "ad.effective_status", "operator": "IN", "value": meta.enum_values("Ad_effective_status")}
        ]
    for query in results:  # a report run's rows: paged like the insights edge
        assert set(query) <= {"limit"} | GRAPH_COMMON_PARAMS and query["limit"].isdigit()
    for query in accounts:
        assert set(query["fields"].split(",")) <= meta.fields("AdAccount").keys()


def test_meta_paging_follows_next_urls_to_the_last_page(sandbox, world):
    """``paging.cursors`` on every non-empty page, ``next`` (a full URL repeating the query
    with the after cursor) on every page but the last, ``{"data": []}`` past the data."""
    url = f"{sandbox.base_url}/v26.0/act_1001/insights"
    params = insights_params(world, limit=7, time_range=json.dumps({"since": "2026-06-01", "until": "2026-06-03"}))
    pages = [requests.get(url, params=params, headers=META_AUTH, timeout=30).json()]
    while "next" in pages[-1]["paging"]:
        nxt = pages[-1]["paging"]["next"]
        assert nxt.startswith(f"{sandbox.base_url}/v26.0/act_1001/insights?")
        next_query = {k: v[0] for k, v in parse_qs(urlsplit(nxt).query).items()}
        assert next_query == {**{k: str(v) for k, v in params.items()}, "after": pages[-1]["paging"]["cursors"]["after"]}
        pages.append(requests.get(nxt, headers=META_AUTH, timeout=30).json())
    assert [len(p["data"]) for p in pages] == [7, 7, 7, 3]  # 2 campaigns x 4 ads x 3 days = 24 rows
    assert all(Draft4Validator(GRAPH_PAGE_SCHEMA).is_valid(p) for p in pages)
    empty = requests.get(
        url,
        params=insights_params(world, time_range=json.dumps({"since": "2030-01-01", "until": "2030-01-02"})),
        headers=META_AUTH,
        timeout=30,
    )
    assert empty.json() == {"data": []}


@pytest.mark.parametrize(
    "path, params, headers, code",
    [
        ("/v26.0/act_1001/insights", {}, {}, 104),
        ("/v26.0/act_1001", {"access_token": "expired-token"}, {}, 190),
        ("/v26.0/act_1999", {}, META_AUTH, 100),
        ("/v26.0/act_1001/insights", {"level": "campaign", "time_increment": "1"}, META_AUTH, 100),
        ("/v26.0/act_1001/insights", {"level": "ad", "time_increment": "1", "time_range": "last week"}, META_AUTH, 100),
        ("/v26.0/act_1001/insights", {"limit": "lots"}, META_AUTH, 100),
        ("/v26.0/act_1001/insights", {"after": "%%%"}, META_AUTH, 100),
    ],
    ids=["no-token", "bad-token", "unknown-account", "unsupported-level", "bad-time-range", "bad-limit", "bad-cursor"],
)
def test_meta_errors_use_the_graph_error_envelope(sandbox, world, path, params, headers, code):
    if path.endswith("/insights") and "level" not in params:
        params = {**insights_params(world), **params}
    response = requests.get(f"{sandbox.base_url}{path}", params=params, headers=headers, timeout=30)
    assert response.status_code == 400, response.text
    body = response.json()
    assert_valid(Draft4Validator(GRAPH_ERROR_SCHEMA), body, path)
    assert body["error"]["code"] == code and body["error"]["type"] in ("OAuthException", "GraphMethodException")


# ---- determinism -----------------------------------------------------------

HOST = "sandbox.test"  # one Host header for both servers, so URLs inside bodies (paging links) agree


def replay(seed: int) -> list[tuple[str, int, bytes]]:
    """A fixed request sequence against a fresh server over a fresh World(seed): (label, status, body)."""
    with SandboxServer(World(seed=seed)) as server:
        session = requests.Session()
        session.headers["Host"] = HOST
        out = []

        def call(label, method, path, **kwargs):
            url = path.replace(f"http://{HOST}", server.base_url) if path.startswith("http") else f"{server.base_url}{path}"
            response = session.request(method, url, timeout=30, **kwargs)
            out.append((label, response.status_code, response.content))
            return response.json()

        params = {"limit": 50, "properties": ",".join(CONTACT_PROPERTIES)}
        page = call("contacts list", "GET", "/crm/v3/objects/contacts", params=params, headers=HUBSPOT_AUTH)
        call("contacts list page 2", "GET", page["paging"]["next"]["link"], headers=HUBSPOT_AUTH)
        call(
            "contacts list, unknown properties",
            "GET",
            "/crm/v3/objects/contacts",
            params={"limit": 20, "properties": "email,zz_custom,aa_custom,mm_custom,utm_term"},
            headers=HUBSPOT_AUTH,
        )
        call("contacts archived", "GET", "/crm/v3/objects/contacts", params={**params, "archived": "true"}, headers=HUBSPOT_AUTH)
        call("deals list", "GET", "/crm/v3/objects/deals", params={"limit": 50, "associations": "contacts"}, headers=HUBSPOT_AUTH)
        now_ms = int(World(seed=seed).default_now.timestamp() * 1000)
        body = search_body("lastmodifieddate", now_ms - 14 * 86_400_000, now_ms, CONTACT_PROPERTIES)
        page = call("contacts search", "POST", "/crm/v3/objects/contacts/search", json=body, headers=HUBSPOT_AUTH)
        call(
            "contacts search page 2",
            "POST",
            "/crm/v3/objects/contacts/search",
            json={**body, "after": page["paging"]["next"]["after"]},
            headers=HUBSPOT_AUTH,
        )
        call("hubspot 401", "GET", "/crm/v3/objects/contacts")
        for account in AD_ACCOUNTS:
            call(f"act_{account.account_id}", "GET", f"/v26.0/act_{account.account_id}", headers=META_AUTH)
            page = call(
                f"act_{account.account_id} insights",
                "GET",
                f"/v26.0/act_{account.account_id}/insights",
                params={
                    "level": "ad",
                    "time_increment": "1",
                    "limit": 100,
                    "fields": ",".join(INSIGHT_FIELDS),
                    "time_range": json.dumps({"since": "2026-06-01", "until": "2026-06-30"}),
                },
                headers=META_AUTH,
            )
            call(f"act_{account.account_id} insights page 2", "GET", page["paging"]["next"], headers=META_AUTH)
        call("meta error", "GET", "/v26.0/act_1999", headers=META_AUTH)
        return out


def digest(seed: int) -> str:
    return hashlib.sha256(repr(replay(seed)).encode()).hexdigest()


@pytest.mark.slow
def test_the_same_seed_gives_byte_identical_bodies():
    first, second = replay(7), replay(7)
    assert [(label, status) for label, status, _ in first] == [(label, status) for label, status, _ in second]
    for (label, _, a), (_, _, b) in zip(first, second, strict=True):
        assert a == b, f"{label}: the bodies differ between two servers with seed 7"
    assert all(status == 200 for label, status, _ in first if "error" not in label and "401" not in label)


@pytest.mark.slow
def test_another_seed_gives_different_bodies():
    seven, eight = replay(7), replay(8)
    data_calls = [
        (label, a, b)
        for (label, _, a), (_, _, b) in zip(seven, eight, strict=True)
        if any(word in label for word in ("list", "search", "insights"))
    ]
    assert data_calls and all(a != b for _, a, b in data_calls), [label for label, a, b in data_calls if a == b]


@pytest.mark.slow
def test_bodies_do_not_depend_on_the_process_hash_seed():
    """Same seed, two processes with different PYTHONHASHSEED: the same bytes (no set or
    dict order that depends on string hashing reaches a response)."""
    code = "from tests.sandbox.test_sandbox_contracts import digest; print(digest(7))"
    digests = set()
    for hash_seed in ("1", "2", "3"):
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        assert result.returncode == 0, result.stderr[-2000:]
        digests.add(result.stdout.strip().splitlines()[-1])
    assert len(digests) == 1, digests


@pytest.mark.parametrize("object_type", ["contacts", "deals", "0-1"])
def test_hubspot_properties_list_matches_the_spec(sandbox, hubspot_schema, object_type):
    """GET /crm/v3/properties/{objectType} (what `all_properties` reads) validates against properties.json."""
    operation = ("hubspot/properties.json", "GET", "/crm/v3/properties/{objectType}")
    assert response_schema_name(*operation) == "CollectionResponsePropertyNoPaging"
    response = requests.get(
        f"{sandbox.base_url}/crm/v3/properties/{object_type}",
        headers={"Authorization": f"Bearer {sandbox.sandbox.tokens['hubspot']}"},
        timeout=30,
    )
    assert response.status_code == 200
    assert_valid(hubspot_schema(operation), response.json(), f"properties of {object_type}")
    names = {p["name"] for p in response.json()["results"]}
    assert ("lifecyclestage" in names) if object_type != "deals" else ("dealstage" in names)


CONTACTS_BATCH_READ = (CONTACTS, "POST", "/crm/v3/objects/contacts/batch/read")


def test_hubspot_batch_read_matches_the_spec_and_names_missing_ids_in_a_207(sandbox, world, hubspot_schema):
    """What the extractor reads a page's further property chunks with: 200 BatchResponseSimplePublicObject,
    207 BatchResponseSimplePublicObjectWithErrors when an id is not found."""
    listed = requests.get(
        f"{sandbox.base_url}/crm/v3/objects/contacts", params={"limit": 5}, headers=HUBSPOT_AUTH, timeout=30
    ).json()
    ids = [r["id"] for r in listed["results"]]
    body = {"properties": ["utm_source", "lifecyclestage"], "inputs": [{"id": i} for i in ids]}
    found = requests.post(f"{sandbox.base_url}/crm/v3/objects/contacts/batch/read", json=body, headers=HUBSPOT_AUTH, timeout=30)
    assert found.status_code == 200
    assert_valid(hubspot_schema(CONTACTS_BATCH_READ), found.json(), "batch read")
    assert [r["id"] for r in found.json()["results"]] == ids and found.json()["status"] == "COMPLETE"
    with_unknown = requests.post(
        f"{sandbox.base_url}/crm/v3/objects/contacts/batch/read",
        headers=HUBSPOT_AUTH,
        timeout=30,
        json={**body, "inputs": body["inputs"] + [{"id": "999"}]},
    )
    assert with_unknown.status_code == 207
    assert_valid(hubspot_schema(CONTACTS_BATCH_READ, "207"), with_unknown.json(), "batch read, one id unknown")
    [error] = with_unknown.json()["errors"]
    assert error["category"] == "OBJECT_NOT_FOUND" and error["context"] == {"ids": ["999"]}
