"""Google Search Console: the sandbox's searchAnalytics.query and the search_console extractor.

GIVEN the seed-7 world, whose Google organic search clicks follow its GA4 organic sessions per day
and landing page (sandbox/world_search.py),
WHEN searchAnalytics.query is asked over HTTP, and the search_console source extracts and loads it,
THEN the answers have Search Console's shape and quirks (rows absent when empty, 25,000 rows a page
with startRow paging, final vs all data for the last days, anonymised queries left out of query
rows), the raw tables hold exactly what the world shows, an incremental run equals a full read,
throttling is waited out while the load quota stops only its unit, and bad input stops with one line.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import requests

from extractors.errors import ConfigError, ForbiddenError, PartialFailure, QuotaExhausted
from extractors.http import HttpClient, RetryPolicy
from extractors.sources import Source
from extractors.sources.search_console import LOOKBACK, _records
from sandbox.world_search import ORIGIN, SITE_URL
from tests.pipeline_helpers import rows, run, table_checksums

TOKEN = {"Authorization": "Bearer sandbox-search-console-token"}
QUERY_DIMENSIONS = ["date", "page", "query", "country", "device"]


def ask(sandbox, body: dict, site: str = SITE_URL, headers: dict | None = None) -> requests.Response:
    return requests.post(f"{sandbox.base_url}/webmasters/v3/sites/{requests.utils.quote(site, safe='')}/searchAnalytics/query",
                         json=body, headers=headers or TOKEN, timeout=60)


def window_days(world, end):
    """The days a first run reads: 90 days before ``end`` (the default history) up to the day before it."""
    return (end - timedelta(days=90)).date(), (end - timedelta(microseconds=1)).date()


@pytest.fixture
def fast_retries(monkeypatch):
    """Waits recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr(Source, "http_client", lambda self, conn, headers=None, secrets=None: HttpClient(
        self.name, conn.base_url, headers=headers, secrets=[conn.password], max_concurrency=self.max_concurrency,
        policy=RetryPolicy(sleep=waits.append), rate_limits=self.rate_limits))
    return waits


# ---- the sandbox's contract ------------------------------------------------------------------------


def test_rows_have_search_consoles_shape_and_order(sandbox, world):
    body = ask(sandbox, {"startDate": "2026-06-01", "endDate": "2026-06-07", "dimensions": QUERY_DIMENSIONS,
                         "rowLimit": 100}).json()
    assert set(body) == {"rows", "responseAggregationType"} and body["responseAggregationType"] == "byPage"
    first = body["rows"][0]
    assert set(first) == {"keys", "clicks", "impressions", "ctr", "position"} and len(first["keys"]) == 5
    day, page, _, country, device = first["keys"]
    assert date.fromisoformat(day) and page.startswith(ORIGIN + "/") and len(country) == 3 and device in ("DESKTOP", "MOBILE", "TABLET")
    assert first["ctr"] == first["clicks"] / first["impressions"]
    clicks = [r["clicks"] for r in body["rows"]]
    assert clicks == sorted(clicks, reverse=True)  # sorted by clicks, most first
    # nothing before the world: no rows key at all
    empty = ask(sandbox, {"startDate": "2026-01-01", "endDate": "2026-01-31", "dimensions": ["date"]}).json()
    assert empty == {"responseAggregationType": "byProperty"}


def test_startrow_pages_through_at_most_25000_rows(sandbox, world):
    body = {"startDate": "2026-06-01", "endDate": "2026-08-29", "dimensions": QUERY_DIMENSIONS, "dataState": "all"}
    first = ask(sandbox, {**body, "rowLimit": 25_000}).json()["rows"]
    rest = ask(sandbox, {**body, "rowLimit": 25_000, "startRow": 25_000}).json()["rows"]
    assert len(first) == 25_000 and 0 < len(rest) < 25_000
    assert len({tuple(r["keys"]) for r in first + rest}) == len(first) + len(rest)  # no row twice
    default = ask(sandbox, body).json()["rows"]
    assert len(default) == 1_000  # Search Console's default rowLimit
    too_many = ask(sandbox, {**body, "rowLimit": 25_001})
    assert too_many.status_code == 400 and too_many.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_final_data_leaves_out_the_last_days_and_all_marks_where_partial_begins(sandbox, world):
    body = {"startDate": "2026-08-20", "endDate": "2026-08-29", "dimensions": ["date"]}
    final = ask(sandbox, body).json()
    assert max(r["keys"][0] for r in final["rows"]) == "2026-08-26" and "metadata" not in final
    fresh = ask(sandbox, {**body, "dataState": "all"}).json()
    assert max(r["keys"][0] for r in fresh["rows"]) == "2026-08-29"
    assert fresh["metadata"] == {"firstIncompleteDate": "2026-08-27"}
    by_day = {r["keys"][0]: r["clicks"] for r in fresh["rows"]}
    truth = world.search.truth_daily(world.default_now)
    assert by_day == {d.isoformat(): v["clicks"] for d, v in truth.items() if date(2026, 8, 20) <= d}
    # a partial day shows fewer clicks than it will once final
    later = world.search.truth_daily(world.default_now + timedelta(days=4))
    assert truth[date(2026, 8, 29)]["clicks"] < later[date(2026, 8, 29)]["clicks"]


def test_query_rows_leave_out_anonymised_queries_that_the_totals_keep(sandbox, world):
    body = {"startDate": "2026-07-01", "endDate": "2026-07-07", "rowLimit": 25_000}
    totals = sum(r["clicks"] for r in ask(sandbox, {**body, "dimensions": ["date"]}).json()["rows"])
    pages = sum(r["clicks"] for r in ask(sandbox, {**body, "dimensions": ["date", "page"]}).json()["rows"])
    queries = sum(r["clicks"] for r in ask(sandbox, {**body, "dimensions": QUERY_DIMENSIONS}).json()["rows"])
    assert totals == pages
    assert 0.80 * totals < queries < 0.95 * totals  # 6-18% of each page's clicks are anonymised


def test_search_clicks_agree_with_ga4_organic_sessions_closely_not_equally(world):
    clicks = sessions = 0
    for offset in range(world.days):
        day = world.start + timedelta(days=offset)
        sessions += sum(world.search.organic_sessions(day).values())
        clicks += sum(c.clicks for c in world.search.cells(day))
    assert sessions < clicks < 1.15 * sessions


def test_a_foreign_site_and_a_bad_token_are_refused_as_google_does(sandbox):
    body = {"startDate": "2026-06-01", "endDate": "2026-06-02"}
    foreign = ask(sandbox, body, site="sc-domain:example.org")
    assert foreign.status_code == 403 and "sufficient permission for site 'sc-domain:example.org'" in foreign.json()["error"]["message"]
    assert ask(sandbox, body, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert ask(sandbox, {"startDate": "2026-06-01"}).status_code == 400


# ---- the extractor ----------------------------------------------------------------------------------


def test_records_name_their_keys_and_carry_their_data_state():
    page = {"rows": [{"keys": ["2026-08-26", "https://x.example/a"], "clicks": 3, "impressions": 40, "ctr": 0.075, "position": 4.5},
                     {"keys": ["2026-08-27", "https://x.example/a"], "clicks": 1, "impressions": 9, "ctr": 0.11, "position": 6.0}],
            "metadata": {"firstIncompleteDate": "2026-08-27"}}
    assert _records(page, ("date", "page")) == [
        {"date": "2026-08-26", "page": "https://x.example/a", "clicks": 3, "impressions": 40, "ctr": 0.075, "position": 4.5,
         "data_state": "final"},
        {"date": "2026-08-27", "page": "https://x.example/a", "clicks": 1, "impressions": 9, "ctr": 0.11, "position": 6.0,
         "data_state": "partial"}]
    assert _records({}, ("date",)) == []


def _landed_by_page_query() -> dict:
    return {(d, page.removeprefix(ORIGIN), q): (c, i) for d, page, q, c, i in rows(
        "SELECT date, page, query, sum((_record->>'$.clicks')::BIGINT), sum((_record->>'$.impressions')::BIGINT) "
        "FROM raw_search_console.search_analytics_by_query GROUP BY ALL")}


def test_a_full_read_lands_exactly_what_search_console_shows(sandbox, connections, data_dir, world):
    end = world.default_now
    run("search_console", end=end)
    first, last = window_days(world, end)
    truth = {k: (v["clicks"], v["impressions"]) for k, v in world.search.truth_by_page_query(end).items() if first <= k[0] <= last}
    assert _landed_by_page_query() == truth
    assert rows("SELECT count(*) FROM raw_search_console.search_analytics_by_query")[0][0] > 25_000  # read in two pages
    daily = dict(rows("SELECT date, (_record->>'$.clicks')::BIGINT FROM raw_search_console.search_analytics_by_date"))
    assert daily == {d: v["clicks"] for d, v in world.search.truth_daily(end).items() if first <= d <= last}
    pages = {(d, p.removeprefix(ORIGIN)): c for d, p, c in rows(
        "SELECT date, page, (_record->>'$.clicks')::BIGINT FROM raw_search_console.search_analytics_by_page")}
    assert pages == {k: v["clicks"] for k, v in world.search.truth_by_page(end).items() if first <= k[0] <= last}
    states = dict(rows("SELECT date, any_value(_record->>'$.data_state') FROM raw_search_console.search_analytics_by_date GROUP BY 1"))
    assert sorted(d for d, s in states.items() if s == "partial") == [date(2026, 8, 27), date(2026, 8, 28), date(2026, 8, 29)]


def test_an_incremental_run_replaces_its_lookback_and_equals_a_full_read(sandbox, connections, data_dir, world, tmp_path, monkeypatch):
    end = world.default_now
    earlier = end - timedelta(days=3)
    sandbox.set_clock(earlier)
    run("search_console", end=earlier, start=end - timedelta(days=90))
    assert rows("SELECT count(*) FROM raw_search_console.search_analytics_by_date WHERE _record->>'$.data_state' = 'partial'")[0][0] == 3
    sandbox.set_clock(end)
    run("search_console", end=end)
    windows = rows("SELECT first_day, last_day FROM _funnelhouse.loaded_windows WHERE stream = 'search_analytics_by_date' ORDER BY 1")
    assert windows[-1] == ((earlier - LOOKBACK).date(), (end - timedelta(days=1)).date())
    incremental = table_checksums(data_dir / "warehouse.duckdb", "raw_search_console")

    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path / "full"))
    run("search_console", end=end)
    assert table_checksums(tmp_path / "full" / "warehouse.duckdb", "raw_search_console") == incremental


def test_throttling_and_server_errors_are_retried_and_lose_nothing(sandbox, connections, data_dir, world, fast_retries):
    sandbox.faults.add("rate_limit", platform="search_console", schedule=[1])
    sandbox.faults.add("rate_limit", platform="search_console", schedule=[3], status=403, reason="userRateLimitExceeded",
                       message="Quota Error: User Rate Limit Exceeded.")
    sandbox.faults.add("server_error", platform="search_console", schedule=[2], status=503)
    run("search_console", end=world.default_now)
    assert len(sandbox.faults.fired) == 3 and len(fast_retries) >= 3
    first, last = window_days(world, world.default_now)
    assert rows("SELECT sum((_record->>'$.clicks')::BIGINT) FROM raw_search_console.search_analytics_by_date")[0][0] == sum(
        v["clicks"] for d, v in world.search.truth_daily(world.default_now).items() if first <= d <= last)


def test_the_load_quota_stops_only_the_costly_report_and_keeps_its_cursor(sandbox, connections, data_dir, world, fast_retries):
    sandbox.sandbox.search_console_load_limit = 20  # the page x query report costs 3 per 1,000 rows
    with pytest.raises(PartialFailure) as failure:
        run("search_console", end=world.default_now)
    reason = failure.value.failed["search_analytics_by_query/" + SITE_URL]
    assert "load quota exceeded (short-term)" in reason and "rate limited for 900s" in reason
    assert rows("SELECT count(*) FROM raw_search_console.search_analytics_by_date")[0][0] == 90
    assert rows("SELECT count(*) FROM information_schema.tables WHERE table_name = 'search_analytics_by_query'")[0][0] in (0, 1)
    assert not rows("SELECT 1 FROM _funnelhouse.loaded_windows WHERE stream = 'search_analytics_by_query'")


def test_a_daily_google_limit_is_not_retried(sandbox):
    sandbox.faults.add("rate_limit", platform="search_console", schedule=[1], status=403, reason="dailyLimitExceeded",
                       message="Daily Limit Exceeded. The quota will be reset at midnight Pacific Time (PT).")
    waits: list[float] = []
    client = HttpClient("search_console", sandbox.base_url, headers=TOKEN, policy=RetryPolicy(sleep=waits.append))
    with pytest.raises(QuotaExhausted, match="rate limited for 86400s"):
        client.request("POST", f"/webmasters/v3/sites/{requests.utils.quote(SITE_URL, safe='')}/searchAnalytics/query",
                       json_body={"startDate": "2026-06-01", "endDate": "2026-06-01"}, what="t")
    assert waits == []


def test_bad_configuration_stops_with_one_line(sandbox, data_dir, monkeypatch, world):
    conn = {"conn_type": "http", "host": sandbox.base_url, "password": "sandbox-search-console-token", "extra": {}}
    monkeypatch.setenv("AIRFLOW_CONN_SEARCH_CONSOLE", json.dumps(conn))
    with pytest.raises(ConfigError, match="connection 'search_console' has no extra 'site_urls'"):
        run("search_console", end=world.default_now)
    monkeypatch.setenv("AIRFLOW_CONN_SEARCH_CONSOLE", json.dumps({**conn, "extra": {"site_urls": ["sc-domain:example.org"]}}))
    with pytest.raises((ForbiddenError, PartialFailure), match="no permission"):
        run("search_console", end=world.default_now)
