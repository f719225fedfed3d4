"""The GA4 extractor against the platform's real behaviour (in the sandbox): only Data API metrics,
rows folded into "(other)", hourly quotas, and exits from the BigQuery export.

GIVEN the seed-7 business behind the sandbox, WHEN the ga4 source is extracted and loaded,
THEN every report is accepted (no exits, keyEvents not conversions), folded rows are read again
until each source / medium / campaign has its exact sessions (and the batch says what was
folded), a spent hourly quota stops the unit with one clear error instead of retrying, and the
export's exits per day and page are the world's.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import timedelta

import pytest

from extractors import pipeline, settings
from extractors.errors import PartialFailure
from extractors.sources import ga4_export
from tests.pipeline_helpers import rows
from tests.pipeline_helpers import run as run_source

DAYS = 5  # the window: the five days before the clock (the last is not over in New York yet)


@pytest.fixture
def requests_seen(sandbox):
    """(method, path, query, JSON body) of every request the sandbox received."""
    seen: list[tuple[str, str, dict, dict]] = []

    def hook(request):
        try:
            body = json.loads(request.body) if request.body else {}
        except ValueError:
            body = {}
        seen.append((request.method, request.path, dict(request.query), body))

    sandbox.sandbox.request_hooks.append(hook)
    return seen


def run(world, streams, start=None):
    return run_source("ga4", world.default_now, start or world.default_now - timedelta(days=DAYS), streams)


def window_days(world):
    first = (world.default_now - timedelta(days=DAYS)).date()
    return first, world.default_now.date() - timedelta(days=1)


def world_sessions(world, as_of):
    """Per (YYYYMMDD, source, medium, campaign): sessions, engaged sessions, page views, key events, duration."""
    first, last = window_days(world)
    out = defaultdict(lambda: [0, 0, 0, 0, 0])
    for b in world.iter_session_blocks(first, last, as_of):
        totals = out[(b.property_date.strftime("%Y%m%d"), b.source, b.medium, b.campaign)]
        for i, n in enumerate((b.sessions, b.engaged_sessions, b.page_views, b.conversions, b.duration_seconds)):
            totals[i] += n
    return {k: v for k, v in out.items()}


def test_every_report_is_accepted_and_asks_only_for_data_api_metrics(connections, data_dir, world, requests_seen):
    """exits was asked for in the pages report: the real Data API answers 400 and the batch was lost."""
    [result] = run(world, ["sessions_daily", "pages_daily"])
    reports = [body for method, path, _, body in requests_seen if path.endswith(":runReport")]
    metrics = {m["name"] for body in reports for m in body["metrics"]}
    assert metrics == {
        "sessions",
        "engagedSessions",
        "bounceRate",
        "averageSessionDuration",
        "screenPageViews",
        "keyEvents",
        "userEngagementDuration",
    }
    assert all(body["returnPropertyQuota"] is True for body in reports)
    assert result.loaded["sessions_daily"] > 0 and result.loaded["pages_daily"] > 0
    key_events = rows(
        "SELECT sum((_record->>'$.keyEvents')::BIGINT), count(_record->>'$.conversions') FROM raw_ga4.sessions_daily"
    )
    truth = world_sessions(world, world.default_now)
    assert key_events == [(sum(v[3] for v in truth.values()), 0)]


def test_folded_rows_are_read_again_by_day_then_without_landing_page_and_every_utm_keeps_its_sessions(
    sandbox, connections, data_dir, world, requests_seen
):
    # The 5-day report (~140 rows) folds; single days of 34-37 rows fold too, days of 32 do not; without
    # landingPage a day has about 20 rows and never folds.
    sandbox.sandbox.ga4_row_limit = 33
    [result] = run(world, ["sessions_daily"])
    got = defaultdict(lambda: [0, 0, 0, 0, 0.0])
    for day, source, medium, campaign, sessions, engaged, views, key_events, avg in rows(
        "SELECT strftime(date, '%Y%m%d'), sessionSource, sessionMedium, sessionCampaignName, (_record->>'$.sessions')::BIGINT, "
        "(_record->>'$.engagedSessions')::BIGINT, (_record->>'$.screenPageViews')::BIGINT, (_record->>'$.keyEvents')::BIGINT, "
        "(_record->>'$.averageSessionDuration')::DOUBLE FROM raw_ga4.sessions_daily"
    ):
        totals = got[(day, source, medium, campaign)]
        for i, n in enumerate((sessions, engaged, views, key_events, avg * sessions)):
            totals[i] += n
    truth = world_sessions(world, world.default_now)
    assert got.keys() == truth.keys()  # no "(other)" source, medium or campaign left
    for key, (sessions, engaged, views, key_events, duration) in truth.items():
        assert got[key][:4] == [sessions, engaged, views, key_events], key
        assert got[key][4] == pytest.approx(duration, abs=1e-6), key
    other = rows("SELECT count(*), count(DISTINCT date) FROM raw_ga4.sessions_daily WHERE landingPage = '(other)'")[0]
    assert other[0] > 0 and result.quarantined["sessions_daily"] == 0
    folded_days = other[1]
    notes = result.notes["sessions_daily/420000001"]
    assert len(notes) == folded_days and all("folded rows into (other)" in n and "landingPage '(other)'" in n for n in notes)
    reports = [body for _, path, _, body in requests_seen if path.endswith(":runReport")]
    ranges = [(b["dateRanges"][0]["startDate"], b["dateRanges"][0]["endDate"], len(b["dimensions"])) for b in reports]
    first, last = window_days(world)
    assert ranges[0] == (str(first), str(last), 7)  # the window, then one day at a time
    assert all(start == end for start, end, _ in ranges[1:]) and sum(1 for *_, n in ranges if n == 6) == folded_days


def test_a_day_that_folds_even_alone_keeps_the_other_row_dated_and_the_batch_says_so(sandbox, connections, data_dir, world):
    sandbox.sandbox.ga4_row_limit = 10  # a day has 16 pages; pages_daily has no dimension to drop
    [result] = run(world, ["pages_daily"])
    first, last = window_days(world)
    views = defaultdict(int)
    for b in world.iter_session_blocks(first, last, world.default_now):
        views[b.property_date] += b.page_views
    got = dict(rows("SELECT date, sum((_record->>'$.screenPageViews')::BIGINT) FROM raw_ga4.pages_daily GROUP BY 1"))
    assert got == dict(views)  # the (other) row keeps the day's totals
    assert rows("SELECT count(*) FROM raw_ga4.pages_daily WHERE pagePath = '(other)'") == [(len(views),)]
    notes = result.notes["pages_daily/420000001"]
    assert len(notes) == len(views) and all("even for one day" in n for n in notes)


def test_a_spent_hourly_quota_stops_the_unit_before_its_next_report_without_a_429(
    sandbox, connections, data_dir, world, requests_seen
):
    sandbox.sandbox.ga4_row_limit = 33  # the window folds: one report per day follows
    sandbox.sandbox.ga4_quota = {"tokensPerProjectPerHour": 3}
    batch = pipeline.extract(
        "ga4",
        end=world.default_now,
        start=world.default_now - timedelta(days=DAYS),
        stream_names=["sessions_daily"],
        warehouse=settings.warehouse_path(),
        landing_root=settings.landing_dir(),
    )
    # The unit stops (it keeps its cursor; any other unit would load) and the run says why.
    with pytest.raises(
        PartialFailure,
        match=r"tokens for this hour are spent \(tokensPerProjectPerHour: 0 left, the last "
        r"request cost 1\); stopped before sending more.*run again then",
    ):
        pipeline.raise_for_failed_units(batch)
    assert sum(1 for _, path, _, _ in requests_seen if path.endswith(":runReport")) == 3  # the paced ones; no 429 was met
    # the tokens come back within the hour: the next run reads the unit
    sandbox.set_clock(world.default_now + timedelta(hours=1))
    sandbox.sandbox.ga4_quota = None
    # (the first run's batch, which holds no unit, loads first; the second settles its failure)
    *_, result = run_source(
        "ga4", world.default_now + timedelta(hours=1), world.default_now - timedelta(days=DAYS), ["sessions_daily"]
    )
    assert result.loaded["sessions_daily"] > 0 and result.failed_units == {}


def test_a_429_for_the_hours_tokens_is_one_clear_error_not_a_retry_loop(sandbox, connections, data_dir, world, requests_seen):
    """ "Exhausted property tokens for a project per hour" does not clear in seconds: retrying six times was useless."""
    sandbox.sandbox.ga4_quota = {"tokensPerProjectPerHour": 0}
    started = time.monotonic()
    batch = pipeline.extract(
        "ga4",
        end=world.default_now,
        start=world.default_now - timedelta(days=DAYS),
        stream_names=["sessions_daily"],
        warehouse=settings.warehouse_path(),
        landing_root=settings.landing_dir(),
    )
    with pytest.raises(PartialFailure) as raised:
        pipeline.raise_for_failed_units(batch)
    assert time.monotonic() - started < 5  # no backoff waits
    assert "is rate limited for 3600s" in str(raised.value)
    assert "Exhausted property tokens for a project per hour" in str(raised.value)
    assert sum(1 for _, path, _, _ in requests_seen if path.endswith(":runReport")) == 1


def test_the_export_stream_reads_exits_per_day_and_page_as_the_world_has_them(
    sandbox, connections, data_dir, world, requests_seen, monkeypatch
):
    monkeypatch.setattr(ga4_export, "PAGE_ROWS", 5)  # pages of 5 rows: every day's 16 pages take four
    sandbox.sandbox.bigquery_pending_polls = 2  # each job answers jobComplete false twice first
    [result] = run(world, ["ga4_export"])
    first, last = window_days(world)
    truth = defaultdict(lambda: [0, 0])
    for b in world.iter_session_blocks(first, last, world.default_now):
        for path, views, _, exits, _ in b.pages:
            truth[(b.property_date, path)][0] += views
            truth[(b.property_date, path)][1] += exits
    got = {
        (d, p): [v, x]
        for d, p, v, x in rows(
            "SELECT date, page_path, (_record->>'$.page_views')::BIGINT, (_record->>'$.exits')::BIGINT FROM raw_ga4.ga4_export"
        )
    }
    # the last day's table is not there yet (it appears hours after the day): no rows, and no query for it
    ready = {d for d, _ in truth if d < last}
    assert got == {k: v for k, v in truth.items() if k[0] in ready} and {d for d, _ in got} == ready
    queries = [(m, p, q, b) for m, p, q, b in requests_seen if "/queries" in p]
    posts = [b for m, _, _, b in queries if m == "POST"]
    assert [b["defaultDataset"] for b in posts] == [
        {"projectId": "funnelhouse-sandbox", "datasetId": "analytics_420000001"}
    ] * len(ready)
    assert all(b["useLegacySql"] is False and b["maxResults"] == 5 for b in posts)
    polls = [q for m, _, q, _ in queries if m == "GET" and q.get("maxResults") == "0"]
    pages = [q for m, _, q, _ in queries if m == "GET" and q.get("maxResults") == "5"]
    assert len(polls) == 2 * len(ready) and all(q["location"] == "US" for q in polls)
    assert len(pages) == 4 * len(ready) and sum(1 for q in pages if "pageToken" in q) == 3 * len(ready)
    assert result.loaded["ga4_export"] == len(got)


def test_without_an_export_configured_nothing_is_asked_of_bigquery(
    sandbox, connections, data_dir, world, requests_seen, monkeypatch
):
    conn = json.loads(connections["AIRFLOW_CONN_GA4"])
    del conn["extra"]["bigquery_project_id"]
    monkeypatch.setenv("AIRFLOW_CONN_GA4", json.dumps(conn))
    [result] = run(world, None)
    assert "ga4_export" not in result.loaded and result.loaded["pages_daily"] > 0
    assert not [p for _, p, _, _ in requests_seen if p.startswith("/bigquery/")]


def test_no_access_to_the_export_project_skips_the_stream_and_the_reports_load(
    sandbox, connections, data_dir, world, monkeypatch
):
    conn = json.loads(connections["AIRFLOW_CONN_GA4"])
    conn["extra"]["bigquery_project_id"] = "another-project"
    monkeypatch.setenv("AIRFLOW_CONN_GA4", json.dumps(conn))
    [result] = run(world, None)
    assert "does not have bigquery.jobs.create permission" in result.skipped_streams["ga4_export/420000001"]
    assert result.loaded["sessions_daily"] > 0 and result.loaded["pages_daily"] > 0


def test_a_service_account_key_mints_the_access_token_with_a_signed_jwt(
    sandbox, connections, data_dir, world, requests_seen, monkeypatch
):
    """Unattended runs may use a service account: each run signs a JWT with its key (jwt-bearer grant)."""
    from sandbox.apis import google_oauth

    conn = json.loads(connections["AIRFLOW_CONN_GA4"])
    conn.pop("password")
    conn["extra"]["service_account_key"] = json.dumps(google_oauth.service_account_key(f"{sandbox.base_url}/token"))
    monkeypatch.setenv("AIRFLOW_CONN_GA4", json.dumps(conn))
    [result] = run(world, ["pages_daily", "ga4_export"])
    assert result.loaded["pages_daily"] > 0 and result.loaded["ga4_export"] > 0
    assert [m for m, p, _, _ in requests_seen if p == "/token"] == ["POST"]  # one access token for the run


def test_a_key_signed_by_someone_else_is_refused_as_an_auth_error(sandbox, connections, data_dir, world, monkeypatch):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from extractors.errors import AuthError
    from sandbox.apis import google_oauth

    key = google_oauth.service_account_key(f"{sandbox.base_url}/token")
    key["private_key"] = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    conn = json.loads(connections["AIRFLOW_CONN_GA4"])
    conn["extra"]["service_account_key"] = key
    monkeypatch.setenv("AIRFLOW_CONN_GA4", json.dumps(conn))
    with pytest.raises(AuthError, match=r"access token \(service account\).*invalid_grant: Invalid JWT Signature") as raised:
        pipeline.extract("ga4", end=world.default_now, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    assert "PRIVATE KEY" not in str(raised.value)
