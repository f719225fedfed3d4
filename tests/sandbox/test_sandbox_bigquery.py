"""The sandbox's BigQuery: GA4's export of the same sessions the Data API reports.

GIVEN the seed-7 business, WHEN the export dataset is listed and queried the way BigQuery's REST API
is (tables.list, jobs.query, jobs.getQueryResults), THEN the answers have BigQuery's shape (schema,
rows of {"f": [{"v": "..."}]}, values as strings, totalRows, pageToken, jobComplete), a day's table
appears some hours after the day and takes in late events, the events add up to the world's page
views and exits per page, and bad requests get BigQuery's errors.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
import requests

from extractors.sources.ga4_export import EXITS_QUERY
from sandbox.apis.bigquery import DATASET_ID, PROJECT_ID
from sandbox.server import DEFAULT_TOKENS
from sandbox.world_web import EXPORT_DELAY, property_day_end

HEADERS = {"Authorization": f"Bearer {DEFAULT_TOKENS['ga4']}"}
API = f"/bigquery/v2/projects/{PROJECT_ID}"
DATASET = {"projectId": PROJECT_ID, "datasetId": DATASET_ID}


def bq(server, method: str, path: str, headers=None, **kwargs) -> requests.Response:
    return requests.request(
        method, f"{server.base_url}{path}", headers=HEADERS if headers is None else headers, timeout=120, **kwargs
    )


def query(server, sql: str, **body) -> requests.Response:
    return bq(server, "POST", f"{API}/queries", json={"query": sql, "useLegacySql": False, "defaultDataset": DATASET, **body})


def world_pages(world, day, as_of) -> dict[str, tuple[int, int]]:
    """(page views, exits) per page of a property date, as the world's blocks have them at ``as_of``."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for block in world.iter_session_blocks(day, day, as_of):
        for path, views, _, exits, _ in block.pages:
            out[path][0] += views
            out[path][1] += exits
    return {path: tuple(v) for path, v in out.items()}


def as_dicts(answer: dict) -> list[dict]:
    names = [f["name"] for f in answer["schema"]["fields"]]
    return [dict(zip(names, (c["v"] for c in row["f"]), strict=True)) for row in answer.get("rows", [])]


def test_a_query_answers_in_bigquerys_shape_and_the_events_are_the_worlds_page_views_and_exits(sandbox, world):
    day = world.start + timedelta(days=30)
    answer = query(sandbox, EXITS_QUERY.format(table=f"events_{day:%Y%m%d}")).json()
    assert answer["kind"] == "bigquery#queryResponse" and answer["jobComplete"] is True
    assert answer["jobReference"]["projectId"] == PROJECT_ID and answer["jobReference"]["location"] == "US"
    assert answer["schema"]["fields"] == [
        {"name": "event_date", "type": "STRING", "mode": "NULLABLE"},
        {"name": "page_path", "type": "STRING", "mode": "NULLABLE"},
        {"name": "page_views", "type": "INTEGER", "mode": "NULLABLE"},
        {"name": "exits", "type": "INTEGER", "mode": "NULLABLE"},
    ]
    rows = as_dicts(answer)
    assert answer["totalRows"] == str(len(rows)) and "pageToken" not in answer
    assert all(isinstance(v, str) for row in rows for v in row.values())  # BigQuery sends every value as a string
    assert {r["page_path"]: (int(r["page_views"]), int(r["exits"])) for r in rows} == world_pages(world, day, sandbox.sandbox.now)
    assert {r["event_date"] for r in rows} == {f"{day:%Y%m%d}"}


def test_pages_follow_page_tokens_and_a_pending_job_answers_job_complete_false_first(sandbox, world):
    table = f"events_{world.start + timedelta(days=3):%Y%m%d}"
    whole = as_dicts(query(sandbox, EXITS_QUERY.format(table=table)).json())
    sandbox.sandbox.bigquery_pending_polls = 2
    first = query(sandbox, EXITS_QUERY.format(table=table), maxResults=4).json()
    assert first["jobComplete"] is False and "rows" not in first and "schema" not in first and "totalRows" not in first
    results = f"{API}/queries/{first['jobReference']['jobId']}"
    waiting = bq(sandbox, "GET", results, params={"maxResults": 0, "timeoutMs": 10000, "location": "US"}).json()
    assert waiting == {"kind": "bigquery#getQueryResultsResponse", "jobReference": first["jobReference"], "jobComplete": False}
    done = bq(sandbox, "GET", results, params={"maxResults": 0, "location": "US"}).json()
    assert done["jobComplete"] is True and "rows" not in done and done["totalRows"] == str(len(whole))
    rows, token, pages = [], None, 0
    while True:
        page = bq(
            sandbox, "GET", results, params={"maxResults": 4, "location": "US", **({"pageToken": token} if token else {})}
        ).json()
        rows += as_dicts(page)
        pages += 1
        token = page.get("pageToken")
        if not token:
            break
    assert rows == whole and pages == -(-len(whole) // 4)


def test_a_days_table_appears_after_the_day_and_takes_in_late_events_for_three_days(sandbox, world):
    day = world.start + timedelta(days=50)
    table = f"events_{day:%Y%m%d}"

    def tables_at(clock) -> set[str]:
        sandbox.set_clock(clock)
        names, token = set(), None
        while True:
            page = bq(
                sandbox,
                "GET",
                f"{API}/datasets/{DATASET_ID}/tables",
                params={"maxResults": 30, **({"pageToken": token} if token else {})},
            ).json()
            assert page["kind"] == "bigquery#tableList"
            names |= {t["tableReference"]["tableId"] for t in page.get("tables", [])}
            token = page.get("nextPageToken")
            if not token:
                return names

    ready = property_day_end(day) + EXPORT_DELAY
    assert table not in tables_at(ready - timedelta(minutes=1))
    missing = query(sandbox, EXITS_QUERY.format(table=table))
    assert missing.status_code == 404
    assert missing.json()["error"]["errors"][0]["reason"] == "notFound"
    assert (
        missing.json()["error"]["message"] == f"Not found: Table {PROJECT_ID}:{DATASET_ID}.{table} was not found in location US"
    )
    assert table in tables_at(ready)
    early = {r["page_path"]: int(r["page_views"]) for r in as_dicts(query(sandbox, EXITS_QUERY.format(table=table)).json())}
    late_clock = property_day_end(day) + timedelta(hours=72)
    sandbox.set_clock(late_clock)
    late = {r["page_path"]: int(r["page_views"]) for r in as_dicts(query(sandbox, EXITS_QUERY.format(table=table)).json())}
    assert sum(early.values()) < sum(late.values())
    assert late == {path: views for path, (views, _) in world_pages(world, day, late_clock).items()}


def test_qualified_names_the_export_columns_and_the_ga4_unnest_idiom_work(sandbox, world):
    day = f"{world.start + timedelta(days=10):%Y%m%d}"
    sql = (
        f"SELECT event_name, COUNT(*) AS n, COUNT(DISTINCT user_pseudo_id) AS users, "
        f"COUNTIF((SELECT value.int_value FROM UNNEST(event_params) WHERE key = 'entrances') = 1) AS entrances, "
        f"MAX(platform) AS platform, MAX(collected_traffic_source.manual_medium) AS medium "
        f"FROM `{PROJECT_ID}.{DATASET_ID}.events_{day}` GROUP BY event_name ORDER BY event_name"
    )
    answer = bq(sandbox, "POST", f"{API}/queries", json={"query": sql, "useLegacySql": False}).json()
    rows = {r["event_name"]: r for r in as_dicts(answer)}
    sessions = int(rows["session_start"]["n"])
    # one session_start per session; each session enters on exactly one page_view
    assert int(rows["page_view"]["entrances"]) == sessions == int(rows["session_start"]["users"])
    assert int(rows["page_view"]["n"]) > sessions and rows["page_view"]["platform"] == "WEB"


@pytest.mark.parametrize(
    "headers, path, body, status, reason, message",
    [
        (
            {},
            f"{API}/queries",
            {"query": "SELECT 1", "useLegacySql": False},
            401,
            "unauthorized",
            "missing required authentication",
        ),
        (
            {"Authorization": "Bearer nope"},
            f"{API}/queries",
            {"query": "SELECT 1", "useLegacySql": False},
            401,
            "unauthorized",
            "invalid authentication credentials",
        ),
        (
            None,
            "/bigquery/v2/projects/someone-else/queries",
            {"query": "SELECT 1", "useLegacySql": False},
            403,
            "accessDenied",
            "does not have bigquery.jobs.create permission in project someone-else",
        ),
        (
            None,
            f"{API}/queries",
            {"query": "SELEC event_name FROM events_20260601", "useLegacySql": False},
            400,
            "invalidQuery",
            "Syntax error",
        ),
        (
            None,
            f"{API}/queries",
            {"query": "SELECT nope FROM events_20260601", "useLegacySql": False, "defaultDataset": DATASET},
            400,
            "invalidQuery",
            "nope",
        ),
        (
            None,
            f"{API}/queries",
            {"query": "SELECT 1 FROM analytics_999.events_20260601", "useLegacySql": False},
            404,
            "notFound",
            "Not found: Table funnelhouse-sandbox:analytics_999.events_20260601",
        ),
        (None, f"{API}/queries", {"query": "SELECT 1"}, 400, "invalidQuery", "useLegacySql"),
    ],
)
def test_bigquery_errors_are_googles(sandbox, headers, path, body, status, reason, message):
    response = bq(sandbox, "POST", path, headers=headers, json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == status and error["errors"][0]["reason"] == reason and error["errors"][0]["domain"] == "global"
    assert message in error["message"]
    assert DEFAULT_TOKENS["ga4"] not in response.text
