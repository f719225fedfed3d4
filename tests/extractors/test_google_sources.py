"""Google Ads (searchStream) and GA4 (runReport) extractors over real HTTP with real-shaped
responses: request shape, flattening, key parsing and window replace in the raw tables."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from extractors import pipeline, settings
from extractors.api_versions import PLATFORMS
from tests.pipeline_helpers import rows
from tests.pipeline_helpers import run as run_source
from tests.scripted_server import ScriptedServer

END = datetime(2026, 6, 4, tzinfo=UTC)


def ads_row(ad_group, day, cost_micros, clicks):
    return {
        "customer": {"resourceName": "customers/5550001", "id": "5550001", "currencyCode": "RUB", "timeZone": "Europe/Moscow"},
        "campaign": {"resourceName": "customers/5550001/campaigns/11", "id": "11", "name": "search_brand"},
        "adGroup": {"resourceName": f"customers/5550001/adGroups/{ad_group}", "id": ad_group, "name": f"ag {ad_group}"},
        "metrics": {
            "impressions": "100",
            "clicks": str(clicks),
            "costMicros": str(cost_micros),
            "conversions": 1.0,
            "conversionsValue": 10.0,
        },
        "segments": {"date": day},
    }


def run(source, stream, start=None):
    return run_source(source, END, start, [stream])


def test_google_ads_search_stream_batches_land_as_ad_group_days(data_dir, monkeypatch):
    batches = [
        {
            "results": [ads_row("21", "2026-06-02", 1_230_000, 3), ads_row("22", "2026-06-02", 0, 0)],
            "fieldMask": "customer.id,...",
            "requestId": "r1",
        },
        {"results": [ads_row("21", "2026-06-03", 2_000_000, 5)], "fieldMask": "customer.id,...", "requestId": "r1"},
    ]
    with ScriptedServer([(200, {}, batches)]) as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_GOOGLE_ADS",
            json.dumps(
                {
                    "conn_type": "http",
                    "host": server.url,
                    "password": "ya29.token-abc",
                    "extra": {
                        "developer_token": "dev-tok-123",
                        "customer_ids": ["555-0001"],
                        "login_customer_id": "999-000-1111",
                    },
                }
            ),
        )
        run("google_ads", "ad_group_performance", start=datetime(2026, 6, 2, tzinfo=UTC))
        request = server.requests[0]
    assert request["path"] == f"/{PLATFORMS['google_ads'].default}/customers/5550001/googleAds:searchStream"
    assert request["headers"]["developer-token"] == "dev-tok-123"
    assert request["headers"]["login-customer-id"] == "9990001111"
    assert request["headers"]["Authorization"] == "Bearer ya29.token-abc"
    query = json.loads(request["body"])["query"]
    assert "FROM ad_group WHERE segments.date BETWEEN '2026-06-02' AND '2026-06-03'" in query
    assert rows(
        "SELECT _account_id, ad_group_id, date::VARCHAR, _record->>'$.metrics.costMicros' FROM raw_google_ads.ad_group_performance ORDER BY ALL"
    ) == [
        ("5550001", "21", "2026-06-02", "1230000"),
        ("5550001", "21", "2026-06-03", "2000000"),
        ("5550001", "22", "2026-06-02", "0"),
    ]


def click_row(gclid, day):
    return {
        "clickView": {"resourceName": f"customers/5550001/clickViews/{day}~{gclid}", "gclid": gclid},
        "customer": {"resourceName": "customers/5550001", "id": "5550001"},
        "campaign": {"resourceName": "customers/5550001/campaigns/11", "id": "11", "name": "search_brand"},
        "adGroup": {"resourceName": "customers/5550001/adGroups/21", "id": "21"},
        "segments": {"date": day},
    }


@pytest.mark.slow
def test_google_ads_click_views_are_read_one_day_per_query_and_never_before_90_days(data_dir, monkeypatch):
    """GIVEN a backfill from 200 days ago, WHEN click_views is read, THEN Google's limits hold: one query per
    account day (a range is refused) and none older than 90 days (refused too): the window starts there, so
    its load replaces only days it could read."""
    empty = [{"fieldMask": "clickView.gclid", "requestId": "r"}]
    script = [(200, {}, [{"results": [click_row("Cj0-a", "2026-03-06")], "fieldMask": "clickView.gclid", "requestId": "r"}])]
    script += [(200, {}, empty)] * 88 + [
        (
            200,
            {},
            [
                {
                    "results": [click_row("Cj0-b", "2026-06-03"), click_row("Cj0-c", "2026-06-03")],
                    "fieldMask": "clickView.gclid",
                    "requestId": "r",
                }
            ],
        )
    ]
    with ScriptedServer(script) as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_GOOGLE_ADS",
            json.dumps(
                {
                    "conn_type": "http",
                    "host": server.url,
                    "password": "ya29.token-abc",
                    "extra": {"developer_token": "dev-tok-123", "customer_ids": ["5550001"]},
                }
            ),
        )
        run("google_ads", "click_views", start=datetime(2025, 11, 16, tzinfo=UTC))
        queries = [json.loads(r["body"])["query"] for r in server.requests]
    assert len(queries) == 90
    assert queries[0].endswith("FROM click_view WHERE segments.date = '2026-03-06'")
    assert queries[-1].endswith("FROM click_view WHERE segments.date = '2026-06-03'")
    assert rows("SELECT gclid, date::VARCHAR, _record->>'$.campaign.name' FROM raw_google_ads.click_views ORDER BY ALL") == [
        ("Cj0-a", "2026-03-06", "search_brand"),
        ("Cj0-b", "2026-06-03", "search_brand"),
        ("Cj0-c", "2026-06-03", "search_brand"),
    ]


def test_google_ads_needs_a_developer_token(data_dir, monkeypatch):
    from extractors.errors import ConfigError

    monkeypatch.setenv(
        "AIRFLOW_CONN_GOOGLE_ADS",
        json.dumps({"conn_type": "http", "host": "http://127.0.0.1:9", "password": "t", "extra": {"customer_ids": ["1"]}}),
    )
    with pytest.raises(ConfigError, match="connection 'google_ads' has no extra 'developer_token'"):
        run("google_ads", "customers")


def ga4_page(rows_, total):
    return {
        "dimensionHeaders": [{"name": "date"}, {"name": "pagePath"}],
        "metricHeaders": [
            {"name": "screenPageViews", "type": "TYPE_INTEGER"},
            {"name": "userEngagementDuration", "type": "TYPE_SECONDS"},
            {"name": "sessions", "type": "TYPE_INTEGER"},
        ],
        "rows": [
            {"dimensionValues": [{"value": d}, {"value": p}], "metricValues": [{"value": v}, {"value": "30"}, {"value": "2"}]}
            for d, p, v in rows_
        ],
        "rowCount": total,
        "metadata": {"currencyCode": "USD", "timeZone": "America/New_York"},
        "kind": "analyticsData#runReport",
    }


def test_ga4_report_rows_become_records_and_pages_by_string_offset(data_dir, monkeypatch):
    pages = [
        (200, {}, ga4_page([("20260602", "/pricing", "10"), ("20260602", "/blog/a", "4")], 3)),
        (200, {}, ga4_page([("20260603", "/pricing", "7")], 3)),
    ]
    with ScriptedServer(pages) as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_GA4",
            json.dumps({"conn_type": "http", "host": server.url, "password": "ya29.ga4", "extra": {"property_ids": ["3141592"]}}),
        )
        run("ga4", "pages_daily", start=datetime(2026, 6, 2, tzinfo=UTC))
        bodies = [json.loads(r["body"]) for r in server.requests]
        paths = {r["path"] for r in server.requests}
    assert paths == {"/v1beta/properties/3141592:runReport"}
    assert [b["offset"] for b in bodies] == ["0", "2"]
    assert bodies[0]["dateRanges"] == [{"startDate": "2026-06-02", "endDate": "2026-06-03"}]
    assert rows("SELECT date::VARCHAR, pagePath, _record->>'$.screenPageViews' FROM raw_ga4.pages_daily ORDER BY ALL") == [
        ("2026-06-02", "/blog/a", "4"),
        ("2026-06-02", "/pricing", "10"),
        ("2026-06-03", "/pricing", "7"),
    ]


@pytest.mark.slow
def test_google_sources_mint_access_tokens_from_a_refresh_token(sandbox, connections, data_dir, world, monkeypatch):
    """Unattended runs keep a refresh token: each run mints a fresh access token at the token endpoint."""
    from sandbox.apis import google_oauth

    for conn_id, refresh in (("GOOGLE_ADS", "sandbox-google-ads-refresh-token"), ("GA4", "sandbox-ga4-refresh-token")):
        conn = json.loads(connections[f"AIRFLOW_CONN_{conn_id}"])
        conn.pop("password")
        conn["extra"].update(
            client_id=google_oauth.CLIENT_ID,
            client_secret=google_oauth.CLIENT_SECRET,
            refresh_token=refresh,
            token_uri=f"{sandbox.base_url}/token",
        )
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id}", json.dumps(conn))
    for source, table in (("google_ads", "raw_google_ads.customers"), ("ga4", "raw_ga4.pages_daily")):
        pipeline.extract(source, end=world.default_now, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
        pipeline.load(source, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
        assert rows(f"SELECT count(*) FROM {table}")[0][0] > 0


def test_a_revoked_refresh_token_is_an_auth_error_that_names_the_fix(sandbox, connections, data_dir, world, monkeypatch):
    from extractors.errors import AuthError
    from sandbox.apis import google_oauth

    conn = json.loads(connections["AIRFLOW_CONN_GA4"])
    conn["extra"].update(
        client_id=google_oauth.CLIENT_ID,
        client_secret=google_oauth.CLIENT_SECRET,
        refresh_token="revoked-refresh-token-123",
        token_uri=f"{sandbox.base_url}/token",
    )
    monkeypatch.setenv("AIRFLOW_CONN_GA4", json.dumps(conn))
    with pytest.raises(
        AuthError, match="access token \\(OAuth refresh\\).*invalid_grant: Token has been expired or revoked"
    ) as err:
        pipeline.extract("ga4", end=world.default_now, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    assert "revoked-refresh-token-123" not in str(err.value) and google_oauth.CLIENT_SECRET not in str(err.value)


def _google_ads_conn(connections, monkeypatch, **extra) -> None:
    conn = json.loads(connections["AIRFLOW_CONN_GOOGLE_ADS"])
    conn["extra"].update(extra)
    monkeypatch.setenv("AIRFLOW_CONN_GOOGLE_ADS", json.dumps(conn))


def test_a_sunset_google_ads_version_is_one_line_naming_the_connection_the_extra_and_a_supported_version(
    sandbox, connections, data_dir, world, monkeypatch
):
    """GIVEN a connection still on v17 (sunset 2025-06-04) WHEN Google Ads runs THEN Google's refusal
    (400 INVALID_ARGUMENT, UNSUPPORTED_VERSION) becomes one ConfigError line, nothing lands, and no
    unit repeats the request; the CLI exits 2. Before, v17 was the hard-coded default."""
    from extractors.api_versions import PLATFORMS
    from extractors.errors import ApiVersionError
    from extractors.sources.google_ads import GoogleAds

    _google_ads_conn(connections, monkeypatch, api_version="v17")
    sent = []
    sandbox.sandbox.request_hooks.append(lambda r: sent.append(r.path))
    with pytest.raises(ApiVersionError) as err:
        pipeline.extract(
            "google_ads", end=world.default_now, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir()
        )
    line = str(err.value)
    assert "\n" not in line and "v17" in line and "'google_ads'" in line and "'api_version'" in line
    assert f'"{PLATFORMS["google_ads"].default}"' in line
    assert len(sent) <= GoogleAds.max_concurrency  # the units already in flight; no retries, no further units
    assert not any(settings.landing_dir().rglob("manifest.json")) and not settings.warehouse_path().exists()


def test_the_sandbox_refuses_a_version_from_its_sunset_day_on_and_serves_the_default(
    sandbox, connections, data_dir, world, monkeypatch
):
    import requests

    from extractors.api_versions import PLATFORMS
    from sandbox.apis.google_ads import SUNSETS

    headers = {
        "Authorization": "Bearer sandbox-google-ads-token",
        "developer-token": "sandbox-google-ads-developer-token",
        "login-customer-id": "5550000",
    }
    query = {"query": "SELECT customer.id FROM customer"}
    for clock, expected in (
        (datetime.combine(SUNSETS[22], datetime.min.time(), UTC) - timedelta(seconds=1), 200),
        (datetime.combine(SUNSETS[22], datetime.min.time(), UTC), 400),
    ):
        sandbox.set_clock(clock)
        answer = requests.post(
            f"{sandbox.base_url}/v22/customers/5550001/googleAds:searchStream", json=query, headers=headers, timeout=30
        )
        assert answer.status_code == expected
    [error] = answer.json()
    assert error["error"]["status"] == "INVALID_ARGUMENT" and error["error"]["message"] == "Request contains an invalid argument."
    [failure] = error["error"]["details"][0]["errors"]
    assert failure == {
        "errorCode": {"requestError": "UNSUPPORTED_VERSION"},
        "message": "Version v22 is deprecated. Requests to this version will be blocked.",
    }
    default = PLATFORMS["google_ads"].default
    assert (
        requests.post(
            f"{sandbox.base_url}/{default}/customers/5550001/googleAds:searchStream", json=query, headers=headers, timeout=30
        ).status_code
        == 200
    )


@pytest.mark.slow
def test_an_error_after_result_batches_fails_that_unit_and_the_others_load(sandbox, connections, data_dir, world, monkeypatch):
    """GIVEN one customer's report stream always ends in an INTERNAL error after its first batch
    (HTTP 200) WHEN Google Ads runs THEN that unit fails after the client's retries, lands nothing,
    keeps its cursor; the other customers' rows load. Before, the batches before the error landed
    as the whole report and the error was ignored."""
    import functools

    from extractors import http, sources
    from extractors.errors import PartialFailure
    from sandbox.apis import google_ads as sandbox_google_ads

    monkeypatch.setattr(sources, "RetryPolicy", functools.partial(http.RetryPolicy, sleep=lambda s: None))
    monkeypatch.setattr(sandbox_google_ads, "BATCH_SIZE", 50)  # several batches per customer
    sandbox.faults.add(
        "stream_error", platform="google_ads", endpoint="/customers/5550001/", body=r"FROM ad_group WHERE segments\.date", after=1
    )
    with pytest.raises(PartialFailure) as err:
        run_source("google_ads", world.default_now)
    assert list(err.value.failed) == ["ad_group_performance/5550001"]
    reason = err.value.failed["ad_group_performance/5550001"]
    assert "failed after 6 attempts" in reason and "an error element after 1 result batches of an HTTP 200 answer" in reason
    landed = dict(rows("SELECT _account_id, count(*) FROM raw_google_ads.ad_group_performance GROUP BY 1"))
    assert "5550001" not in landed and set(landed) == {"5550002", "5550003"}
    assert rows(
        "SELECT count(*) FROM _funnelhouse.stream_state WHERE stream = 'ad_group_performance' AND account_id = '5550001'"
    ) == [(0,)]


def test_a_revoked_refresh_token_says_so_and_what_to_do_in_one_line(sandbox, connections, data_dir, world, monkeypatch):
    """GIVEN the refresh token was revoked (Google: 400 invalid_grant) WHEN Google Ads runs THEN one
    line says the refresh token was revoked or expired and to mint a new one into the connection's
    extra 'refresh_token', not the password; nothing retried. Before, it said to fix the password."""
    from extractors.errors import AuthError
    from sandbox.apis import google_oauth

    conn = json.loads(connections["AIRFLOW_CONN_GOOGLE_ADS"])
    conn.pop("password")
    conn["extra"].update(
        client_id=google_oauth.CLIENT_ID,
        client_secret=google_oauth.CLIENT_SECRET,
        refresh_token="revoked-refresh-token-456",
        token_uri=f"{sandbox.base_url}/token",
    )
    monkeypatch.setenv("AIRFLOW_CONN_GOOGLE_ADS", json.dumps(conn))
    sent = []
    sandbox.sandbox.request_hooks.append(lambda r: sent.append(r.path))
    with pytest.raises(AuthError) as err:
        pipeline.extract(
            "google_ads", end=world.default_now, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir()
        )
    line = str(err.value)
    assert "\n" not in line and "invalid_grant: Token has been expired or revoked." in line
    assert "refresh token of connection 'google_ads' was revoked or has expired" in line
    assert "mint a new refresh token" in line and "extra 'refresh_token'" in line and "password" not in line
    assert "revoked-refresh-token-456" not in line and google_oauth.CLIENT_SECRET not in line
    assert sent == ["/token"]


def test_the_cli_exits_2_on_a_sunset_version_with_one_line(sandbox, connections, data_dir, world, monkeypatch):
    import os

    from tests.extractors.test_extractors_sandbox import _cli

    _google_ads_conn(connections, monkeypatch, api_version="v21")  # sunset 2026-08-05, before the sandbox's clock
    result = _cli(["google_ads", "--end", (world.default_now.date() - timedelta(days=1)).isoformat()], dict(os.environ))
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(errors) == 1 and errors[0].startswith(
        "error: Google Ads API refused version v21 as retired: set the extra 'api_version' of connection 'google_ads'"
    )
    assert not settings.warehouse_path().exists()
