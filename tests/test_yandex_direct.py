"""Yandex Direct: the sandbox's Reports service and the yandex_direct extractor.

GIVEN the seed-7 world's Direct account (roubles, Moscow days; world_yandex_direct.py),
WHEN the Reports service is asked over HTTP, and the yandex_direct source extracts and loads,
THEN the answers have Direct's shape (TSV with or without its title, header and total lines,
money in micros unless asked otherwise, VAT on request, 201 / 202 with retryIn before an offline
report, error objects with error_code), raw_yandex_direct holds exactly the world's ad-group days,
a later run re-reads its lookback and equals a full read, and bad input stops with one line.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import requests

from extractors.errors import AuthError, ConfigError
from extractors.sources.yandex_direct import FIELD_NAMES, parse_tsv
from sandbox.world_yandex_direct import DIRECT_ACCOUNT, DIRECT_CAMPAIGNS, VAT_RATE
from tests.pipeline_helpers import rows, run

TOKEN = {"Authorization": "Bearer sandbox-yandex-direct-token"}
# A report as Direct sends it with skipReportHeader (header line, rows, the row count), written here by hand.
DIRECT_TSV = ("\t".join(FIELD_NAMES) + "\n"
              "2026-06-01\t71000101\tyd_search_brand\tTEXT_CAMPAIGN\t57100010101\tбренд\t807\t79\t1761230000\t4\n"
              "2026-06-01\t71000101\tyd_search_brand\tTEXT_CAMPAIGN\t57100010102\tбренд опечатки\t12\t0\t0\t--\n"
              "Total rows: 2\n").encode()


def definition(name: str, since: str, until: str, fields=FIELD_NAMES, vat: str = "NO", **extra) -> dict:
    return {"params": {"SelectionCriteria": {"DateFrom": since, "DateTo": until, **extra}, "FieldNames": list(fields),
                       "ReportName": name, "ReportType": "CUSTOM_REPORT", "DateRangeType": "CUSTOM_DATE",
                       "Format": "TSV", "IncludeVAT": vat, "IncludeDiscount": "NO"}}


def report(server, body: dict, **headers) -> requests.Response:
    return requests.post(f"{server.base_url}/json/v5/reports", json=body, headers={**TOKEN, **headers}, timeout=30)


def direct_days(world, as_of=None):
    return {(d.ad_group.ad_group_id, d.day): d for d in world.iter_direct_days(world.start, world.end, as_of or world.default_now)}


def test_a_directs_report_parses_into_its_rows_and_a_cut_one_is_refused():
    rows_ = parse_tsv(DIRECT_TSV)
    assert [r["AdGroupId"] for r in rows_] == ["57100010101", "57100010102"]
    assert rows_[0]["Cost"] == "1761230000" and rows_[1]["Conversions"] == "--"
    titled = b'"funnelhouse (2026-06-01 - 2026-06-01)"\n' + DIRECT_TSV
    assert parse_tsv(titled) == rows_
    for cut in (DIRECT_TSV[:-1], DIRECT_TSV[:len(DIRECT_TSV) // 2], DIRECT_TSV.replace(b"Total rows: 2\n", b"")):
        with pytest.raises(ValueError):
            parse_tsv(cut)


def test_a_small_report_is_answered_online_in_micros_with_its_lines(sandbox, world):
    response = report(sandbox, definition("one day", "2026-06-01", "2026-06-01"))
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/tab-separated-values")
    lines = response.content.decode().split("\n")
    assert lines[0] == '"one day (2026-06-01 - 2026-06-01)"' and lines[1] == "\t".join(FIELD_NAMES)
    assert lines[-2] == "Total rows: 4" and lines[-1] == ""
    expected = {k: d for k, d in direct_days(world).items() if k[1].isoformat() == "2026-06-01"}
    for line in lines[2:-2]:
        r = dict(zip(FIELD_NAMES, line.split("\t"), strict=True))
        d = expected[(r["AdGroupId"], world.start)]
        assert (int(r["Impressions"]), int(r["Clicks"]), int(r["Cost"])) == (d.impressions, d.clicks, d.cost_micros)
        assert r["Conversions"] == (str(d.conversions_at(world.default_now)) if d.conversions_at(world.default_now) else "--")
    # without micros, with VAT, without the three extra lines
    response = report(sandbox, definition("one day, rubles", "2026-06-01", "2026-06-01", fields=("AdGroupId", "Cost"), vat="YES"),
                      returnMoneyInMicros="false", skipReportHeader="true", skipColumnHeader="true", skipReportSummary="true")
    costs = dict(line.split("\t") for line in response.content.decode().splitlines())
    assert len(costs) == 4
    for (group, _), d in expected.items():
        assert Decimal(costs[group]) == (Decimal(d.cost_micros) * (1 + VAT_RATE) / 1_000_000).quantize(Decimal("0.01"))


def test_a_large_report_is_queued_then_built_then_sent_as_of_its_queueing(sandbox, world):
    body = definition("ninety days", "2026-06-01", "2026-08-29")
    first = report(sandbox, body)
    assert first.status_code == 201 and first.headers["retryIn"] == "1" and first.headers["reportsInQueue"] == "1"
    assert report(sandbox, body).status_code == 202
    sandbox.set_clock(world.default_now + timedelta(hours=1))  # conversions have grown since; the report has not
    ready = report(sandbox, body)
    assert ready.status_code == 200
    landed = {(r["AdGroupId"], r["Date"]): r for r in parse_tsv(ready.content.split(b"\n", 1)[1])}
    assert len(landed) == len(direct_days(world)) == 360
    # the same name for other parameters is refused; a sixth queued report is one too many
    refused = report(sandbox, definition("ninety days", "2026-06-01", "2026-08-28"))
    assert refused.status_code == 400 and refused.json()["error"]["error_code"] == "4000"
    for n in range(5):
        assert report(sandbox, definition(f"queued {n}", "2026-06-01", "2026-08-29")).status_code == 201
    full = report(sandbox, definition("queued 5", "2026-06-01", "2026-08-29"))
    assert full.status_code == 400 and full.json()["error"]["error_code"] == "9000"


def test_a_bad_token_or_request_gets_directs_error_object(sandbox):
    bad = requests.post(f"{sandbox.base_url}/json/v5/reports", json=definition("x", "2026-06-01", "2026-06-01"),
                        headers={"Authorization": "Bearer nope"}, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"]["error_code"] == "53"
    assert set(bad.json()["error"]) == {"request_id", "error_code", "error_string", "error_detail"}
    unknown = report(sandbox, definition("x", "2026-06-01", "2026-06-01", fields=("Date", "Spend")))
    assert unknown.status_code == 400 and unknown.json()["error"]["error_code"] == "8000" and "Spend" in unknown.text
    other = report(sandbox, definition("x", "2026-06-01", "2026-06-01"), **{"Client-Login": "someone-else"})
    assert other.json()["error"]["error_code"] == "54"


def test_a_full_read_lands_every_ad_group_day_of_the_world(sandbox, connections, data_dir, world):
    run("yandex_direct", end=world.default_now)
    expected = direct_days(world)
    landed = {(g, d): json.loads(r) for g, d, r in rows("SELECT ad_group_id, date, _record FROM raw_yandex_direct.ad_group_performance")}
    assert landed.keys() == expected.keys() and len(landed) == 360
    for key, r in landed.items():
        d = expected[key]
        assert (int(r["Impressions"]), int(r["Clicks"]), int(r["Cost"])) == (d.impressions, d.clicks, d.cost_micros)
        assert int(r["Conversions"].replace("--", "0")) == d.conversions_at(world.default_now)
        assert (r["CampaignName"], r["AdGroupName"]) == (d.campaign.name, d.ad_group.name)
    assert sum(int(r["Cost"]) for r in landed.values()) == sum(d.cost_micros for d in expected.values())
    campaigns = rows("SELECT campaign_id, _record->>'$.Name', _record->>'$.Currency', _record->>'$.TimeZone' "
                     "FROM raw_yandex_direct.campaigns ORDER BY 1")
    assert campaigns == [(c.campaign_id, c.name, "RUB", "Europe/Moscow") for c in DIRECT_CAMPAIGNS]
    assert rows("SELECT DISTINCT _account_id FROM raw_yandex_direct.ad_group_performance") == [(DIRECT_ACCOUNT.client_login,)]


def test_a_later_run_rereads_its_lookback_and_equals_a_full_read(sandbox, connections, data_dir, world, tmp_path, monkeypatch):
    earlier = world.default_now - timedelta(days=20)
    sandbox.set_clock(earlier)
    run("yandex_direct", end=earlier)
    sandbox.set_clock(world.default_now)
    run("yandex_direct", end=world.default_now)
    windows = rows("SELECT first_day, last_day FROM _funnelhouse.loaded_windows WHERE source = 'yandex_direct' "
                   "AND stream = 'ad_group_performance' ORDER BY first_day")
    assert windows[-1] == ((earlier - timedelta(days=7)).date(), world.end)  # the default lookback: a week
    incremental = rows("SELECT ad_group_id, date, _record FROM raw_yandex_direct.ad_group_performance ORDER BY 1, 2")
    # conversions of the days before the lookback were read 20 days ago: they equal the world's then, not now
    stale = {(g, d) for g, d, r in incremental
             if int(json.loads(r)["Conversions"].replace("--", "0")) != direct_days(world)[(g, d)].conversions_at(world.default_now)}
    assert all(d < (earlier - timedelta(days=7)).date() for _, d in stale)
    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path / "full"))
    run("yandex_direct", end=world.default_now)
    full = rows("SELECT ad_group_id, date, _record FROM raw_yandex_direct.ad_group_performance ORDER BY 1, 2")
    assert [(g, d) for g, d, _ in full] == [(g, d) for g, d, _ in incremental]
    assert [r for g, d, r in full if (g, d) not in stale] == [r for g, d, r in incremental if (g, d) not in stale]


def test_the_lookback_is_a_connection_setting(sandbox, data_dir, monkeypatch, world):
    conn = json.loads(sandbox.connections()["AIRFLOW_CONN_YANDEX_DIRECT"])
    monkeypatch.setenv("AIRFLOW_CONN_YANDEX_DIRECT", json.dumps({**conn, "extra": {**conn["extra"], "lookback_days": 3}}))
    earlier = world.default_now - timedelta(days=10)
    run("yandex_direct", end=earlier, streams=["ad_group_performance"])
    run("yandex_direct", end=world.default_now, streams=["ad_group_performance"])
    last = rows("SELECT max(first_day) FROM _funnelhouse.loaded_windows WHERE source = 'yandex_direct'")[0][0]
    assert last == (earlier - timedelta(days=3)).date()
    monkeypatch.setenv("AIRFLOW_CONN_YANDEX_DIRECT", json.dumps({**conn, "extra": {**conn["extra"], "lookback_days": "a week"}}))
    with pytest.raises(ConfigError, match="extra 'lookback_days' is 'a week'"):
        run("yandex_direct", end=world.default_now)


def test_limits_and_server_errors_are_waited_out_and_lose_nothing(sandbox, connections, data_dir, world, monkeypatch):
    import functools

    from extractors import http, sources

    waits: list[float] = []
    monkeypatch.setattr(sources, "RetryPolicy", functools.partial(http.RetryPolicy, sleep=waits.append))
    sandbox.faults.add("rate_limit", platform="yandex_direct", endpoint="/reports", schedule=[1], error_code=9000)
    sandbox.faults.add("server_error", platform="yandex_direct", endpoint="/reports", schedule=[3], status=500)
    sandbox.faults.add("server_error", platform="yandex_direct", endpoint="/reports", schedule=[4], status=502)
    sandbox.faults.add("truncate", platform="yandex_direct", endpoint="/reports", schedule=[6], fraction=0.6)
    run("yandex_direct", end=world.default_now)
    assert {f.kind for f in sandbox.faults.fired} == {"rate_limit", "server_error", "truncate"}
    assert 10.0 in waits and waits.count(1.0) == 2  # the full queue waited on; retryIn honoured for the 201 and 202
    assert rows("SELECT count(*), sum((_record->>'$.Cost')::BIGINT) FROM raw_yandex_direct.ad_group_performance")[0] == (
        360, sum(d.cost_micros for d in direct_days(world).values()))


def test_a_rejected_token_stops_with_one_line_and_no_secret(sandbox, data_dir, monkeypatch, world):
    conn = json.loads(sandbox.connections()["AIRFLOW_CONN_YANDEX_DIRECT"])
    monkeypatch.setenv("AIRFLOW_CONN_YANDEX_DIRECT", json.dumps({**conn, "password": "expired-token-123"}))
    with pytest.raises(AuthError) as caught:
        run("yandex_direct", end=world.default_now)
    message = str(caught.value)
    assert "error_code 53" in message and "password" in message and "\n" not in message and "expired-token-123" not in message
