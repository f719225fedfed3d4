"""VK Ads: the sandbox's ads.vk.com API v2 and the vk_ads extractor.

GIVEN the seed-7 world's VK Ads cabinet (roubles, Moscow days; world_vk.py),
WHEN the statistics and list resources are asked over HTTP, and the vk_ads source extracts and loads,
THEN the answers have VK's shape (items / rows / total with base and base.vk, spent as a string,
{"error": {"code", "message"}} with ERR_LIMIT_EXCEEDED past 200 ids or 366 days), raw_vk_ads holds
exactly the world's banner days, requests keep to the limits, a later run re-reads its lookback and
equals a full read, and a throttle or server error loses nothing.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import requests

from extractors.errors import AuthError
from sandbox.world_vk import VK_AD_PLANS, VK_CABINET
from tests.pipeline_helpers import rows, run

TOKEN = {"Authorization": "Bearer sandbox-vk-ads-token"}
BANNERS = [b for p in VK_AD_PLANS for _, b in p.banners]


def statistics(server, kind: str, ids, since: str, until: str) -> requests.Response:
    return requests.get(f"{server.base_url}/api/v2/statistics/{kind}/day.json", headers=TOKEN, timeout=30,
                        params={"id": ",".join(map(str, ids)), "date_from": since, "date_to": until, "metrics": "base"})


def banner_days(world, as_of=None):
    return {(str(d.banner_id), d.day): d for d in world.iter_vk_banner_days(world.start, world.end, as_of or world.default_now)}


def test_statistics_come_per_object_and_day_with_vks_base_metrics(sandbox, world):
    answer = statistics(sandbox, "banners", BANNERS[:2], "2026-06-01", "2026-06-02").json()
    assert [item["id"] for item in answer["items"]] == BANNERS[:2]
    expected = banner_days(world)
    for item in answer["items"]:
        assert [r["date"] for r in item["rows"]] == ["2026-06-01", "2026-06-02"]
        for row in item["rows"]:
            d = expected[(str(item["id"]), world.start + timedelta(days=row["date"] == "2026-06-02"))]
            base = row["base"]
            assert (base["shows"], base["clicks"], Decimal(base["spent"])) == (d.shows, d.clicks, Decimal(d.spent_kopecks) / 100)
            assert isinstance(base["spent"], str) and base["vk"]["goals"] == base["goals"] == d.goals_at(world.default_now)
        assert Decimal(item["total"]["base"]["spent"]) == sum(Decimal(r["base"]["spent"]) for r in item["rows"])
    # an ad plan's statistics add up its banners'
    plan = VK_AD_PLANS[0]
    by_plan = statistics(sandbox, "ad_plans", [plan.ad_plan_id], "2026-06-01", "2026-06-30").json()
    assert Decimal(by_plan["total"]["base"]["spent"]) == sum(
        Decimal(d.spent_kopecks) / 100 for (b, day), d in expected.items() if d.ad_plan is plan and day.month == 6)


def test_more_than_200_ids_or_366_days_is_err_limit_exceeded(sandbox, world):
    too_many = statistics(sandbox, "banners", range(1, 202), "2026-06-01", "2026-06-01")
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "ERR_LIMIT_EXCEEDED"
    too_long = statistics(sandbox, "banners", BANNERS[:1], "2025-08-01", "2026-08-29")
    assert too_long.status_code == 400 and too_long.json()["error"]["code"] == "ERR_LIMIT_EXCEEDED"
    assert statistics(sandbox, "banners", BANNERS[:1], "2025-08-30", "2026-08-30").status_code == 200  # 366 days to today
    unknown = statistics(sandbox, "banners", [42], "2026-06-01", "2026-06-01")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "ERR_WRONG_BANNERS"
    assert requests.get(f"{sandbox.base_url}/api/v2/user.json", timeout=30).status_code == 401


def test_a_full_read_lands_every_banner_day_and_the_objects(sandbox, connections, data_dir, world, monkeypatch):
    import extractors.sources.vk_ads as vk

    monkeypatch.setattr(vk, "IDS_PER_REQUEST", 3)  # 8 banners: three statistics requests
    monkeypatch.setattr(vk, "LIST_LIMIT", 5)  # and lists of two pages
    sent = []
    sandbox.sandbox.request_hooks.append(lambda r: sent.append((r.path, r.query)))
    run("vk_ads", end=world.default_now)
    stats = [q for p, q in sent if p.startswith("/api/v2/statistics/")]
    assert sorted(len(q["id"].split(",")) for q in stats) == [2, 3, 3]
    assert {(q["date_from"], q["date_to"]) for q in stats} == {(world.start.isoformat(), world.end.isoformat())}
    landed = {(b, d): json.loads(r) for b, d, r in rows("SELECT banner_id, date, _record FROM raw_vk_ads.banner_statistics")}
    expected = banner_days(world)
    assert landed.keys() == expected.keys() and len(landed) == 720
    for key, r in landed.items():
        d = expected[key]
        assert (r["base"]["shows"], r["base"]["clicks"], r["base"]["spent"]) == (d.shows, d.clicks, f"{Decimal(d.spent_kopecks) / 100:.2f}")
        assert r["base"]["vk"]["goals"] == d.goals_at(world.default_now)
    assert rows("SELECT count(*) FROM raw_vk_ads.banners")[0][0] == 8
    assert rows("SELECT count(*) FROM raw_vk_ads.ad_groups")[0][0] == 4
    assert rows("SELECT _record->>'$.name' FROM raw_vk_ads.ad_plans ORDER BY 1") == sorted((p.name,) for p in VK_AD_PLANS)
    assert rows("SELECT _account_id, _record->>'$.currency' FROM raw_vk_ads.cabinet") == [(VK_CABINET.account_id, "RUB")]


def test_a_window_longer_than_366_days_is_read_in_pieces(sandbox, connections, data_dir, world, monkeypatch):
    import extractors.sources.vk_ads as vk

    monkeypatch.setattr(vk, "DAYS_PER_REQUEST", 40)
    sent = []
    sandbox.sandbox.request_hooks.append(lambda r: sent.append((r.path, r.query)))
    run("vk_ads", end=world.default_now, streams=["banner_statistics"])
    windows = sorted((q["date_from"], q["date_to"]) for p, q in sent if p.startswith("/api/v2/statistics/"))
    assert windows == [("2026-06-01", "2026-07-10"), ("2026-07-11", "2026-08-19"), ("2026-08-20", "2026-08-29")]
    assert rows("SELECT count(*) FROM raw_vk_ads.banner_statistics")[0][0] == 720


def test_a_later_run_rereads_its_lookback_and_equals_a_full_read(sandbox, connections, data_dir, world, tmp_path, monkeypatch):
    # both readers start on the world's first day (VK answers zero rows for the days before it)
    conn = json.loads(connections["AIRFLOW_CONN_VK_ADS"])
    monkeypatch.setenv("AIRFLOW_CONN_VK_ADS", json.dumps({**conn, "extra": {**conn["extra"], "start_date": world.start.isoformat()}}))
    earlier = world.default_now - timedelta(days=10)
    sandbox.set_clock(earlier)
    run("vk_ads", end=earlier)
    sandbox.set_clock(world.default_now)
    run("vk_ads", end=world.default_now)
    last = rows("SELECT max(first_day) FROM _funnelhouse.loaded_windows WHERE source = 'vk_ads'")[0][0]
    assert last == (earlier - timedelta(days=7)).date()
    incremental = rows("SELECT banner_id, date, _record FROM raw_vk_ads.banner_statistics ORDER BY 1, 2")
    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path / "full"))
    run("vk_ads", end=world.default_now)
    full = rows("SELECT banner_id, date, _record FROM raw_vk_ads.banner_statistics ORDER BY 1, 2")
    # goals arrive within 3 days: a week's lookback leaves nothing stale
    assert incremental == full and len(full) == 720


def test_throttles_and_server_errors_are_retried_and_lose_nothing(sandbox, connections, data_dir, world, monkeypatch):
    import functools

    from extractors import http, sources

    waits: list[float] = []
    monkeypatch.setattr(sources, "RetryPolicy", functools.partial(http.RetryPolicy, sleep=waits.append))
    sandbox.faults.add("rate_limit", platform="vk_ads", endpoint="/statistics/", schedule=[1])
    sandbox.faults.add("server_error", platform="vk_ads", endpoint="/statistics/", schedule=[2], status=500)
    sandbox.faults.add("truncate", platform="vk_ads", endpoint="/statistics/", schedule=[3], fraction=0.5)
    run("vk_ads", end=world.default_now)
    assert {f.kind for f in sandbox.faults.fired} == {"rate_limit", "server_error", "truncate"}
    assert max(waits) >= 5.0  # a 429 waits at least the throttle floor
    assert rows("SELECT count(*), sum(CAST(_record->>'$.base.spent' AS DECIMAL(38, 2))) FROM raw_vk_ads.banner_statistics")[0] == (
        720, sum(Decimal(d.spent_kopecks) / 100 for d in banner_days(world).values()))


def test_a_rejected_token_stops_with_one_line(sandbox, data_dir, monkeypatch, world):
    conn = json.loads(sandbox.connections()["AIRFLOW_CONN_VK_ADS"])
    monkeypatch.setenv("AIRFLOW_CONN_VK_ADS", json.dumps({**conn, "password": "stale-vk-token"}))
    with pytest.raises(AuthError) as caught:
        run("vk_ads", end=world.default_now)
    assert "HTTP 401" in str(caught.value) and "stale-vk-token" not in str(caught.value)
