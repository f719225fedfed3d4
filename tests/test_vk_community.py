"""The VK community: the sandbox's VK API methods and the vk_community extractor.

GIVEN the seed-7 world's VK community (world_vk_community.py),
WHEN wall.get, wall.getComments, stats.get and groups.getById are called over HTTP, and the
vk_community source extracts and loads,
THEN every answer is HTTP 200, errors included ({"error": {"error_code", "error_msg"}}: 5 a bad
token, 6 past 3 requests a second, 100 a bad parameter), raw_vk_community holds exactly the world's
posts, comments, days and members, the extractor keeps under the rate and survives an error 6,
and a rejected token stops with one line.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from extractors.errors import AuthError
from sandbox.world_vk_community import VK_COMMUNITY
from tests.pipeline_helpers import rows, run

TOKEN = "sandbox-vk-community-token"


def call(server, method: str, **params) -> requests.Response:
    return requests.post(f"{server.base_url}/method/{method}", data={"access_token": TOKEN, "v": "5.199", **params}, timeout=30)


def test_errors_come_inside_http_200_answers(sandbox):
    time.sleep(1.1)  # a fresh second of the token's rate
    bad = requests.get(f"{sandbox.base_url}/method/wall.get", params={"access_token": "nope", "v": "5.199",
                                                                      "owner_id": VK_COMMUNITY.owner_id}, timeout=30)
    assert bad.status_code == 200 and bad.json()["error"]["error_code"] == 5
    too_many = call(sandbox, "wall.get", owner_id=VK_COMMUNITY.owner_id, count=101)
    assert too_many.status_code == 200 and too_many.json()["error"]["error_code"] == 100
    other = call(sandbox, "wall.get", owner_id=-1)
    assert other.json()["error"]["error_code"] == 15
    time.sleep(1.1)
    with ThreadPoolExecutor(6) as pool:  # a burst: past 3 a second VK answers error 6
        answers = list(pool.map(lambda _: call(sandbox, "groups.getById", group_id=VK_COMMUNITY.group_id).json(), range(6)))
    codes = sorted(a["error"]["error_code"] if "error" in a else 0 for a in answers)
    assert codes.count(6) >= 3 and codes.count(0) <= 3
    assert all(a["error"]["error_msg"] == "Too many requests per second" for a in answers if "error" in a)


def test_a_full_read_lands_the_worlds_wall_comments_days_and_members(sandbox, connections, data_dir, world):
    run("vk_community", end=world.default_now)
    community = world.vk_community
    posts = community.posts(world.default_now)
    landed = {int(i): json.loads(r) for i, r in rows("SELECT id, _record FROM raw_vk_community.wall_posts")}
    assert len(landed) == len(posts) == 36
    for p in posts:
        c, r = p.counters_at(world.default_now), landed[p.post_id]
        assert (r["views"]["count"], r["likes"]["count"], r["reposts"]["count"], r["comments"]["count"]) == (
            c["views"], c["likes"], c["reposts"], c["comments"])
        assert r["date"] == int(p.published_at.timestamp()) and r["owner_id"] == VK_COMMUNITY.owner_id
    comments = rows("SELECT post_id, count(*) FROM raw_vk_community.post_comments GROUP BY 1")
    assert dict((int(p), n) for p, n in comments) == {p.post_id: p.comments.count_at(world.default_now) for p in posts
                                                       if p.comments.count_at(world.default_now)}
    assert sum(n for _, n in comments) == 494
    days = {d: json.loads(r) for d, r in rows("SELECT date, _record FROM raw_vk_community.daily_stats")}
    assert sorted(days) == community.reported_days(world.default_now) and len(days) == 90
    for day, r in days.items():
        s = community.day_stats(day)
        assert (r["visitors"]["views"], r["reach"]["reach"], r["activity"]["likes"], r["activity"]["comments"],
                r["activity"]["copies"]) == (s["views"], s["reach"], s["likes"], s["comments"], s["copies"])
    assert rows("SELECT _record->>'$.members_count' FROM raw_vk_community.community_snapshots") == [
        (str(community.members_at(world.default_now)),)]


def test_an_error_6_is_waited_out_and_the_run_keeps_under_three_a_second(sandbox, connections, data_dir, world, monkeypatch):
    import functools

    from extractors import http, sources

    waits: list[float] = []
    monkeypatch.setattr(sources, "RetryPolicy", functools.partial(http.RetryPolicy, sleep=waits.append))
    sandbox.faults.add("rate_limit", platform="vk_community", schedule=[2])
    arrivals = []
    sandbox.sandbox.request_hooks.append(lambda r: arrivals.append(time.monotonic()))
    run("vk_community", end=world.default_now, streams=["wall_posts", "daily_stats", "community_snapshots"])
    assert [f.kind for f in sandbox.faults.fired] == ["rate_limit"] and 1.0 in waits
    assert rows("SELECT count(*) FROM raw_vk_community.wall_posts")[0][0] == 36
    # no second of the run held more than 3 requests: VK's own limit never answered error 6
    assert max(sum(1 for t in arrivals if start <= t < start + 1.0) for start in arrivals) <= 3


def test_a_rejected_token_stops_with_one_line_and_no_secret(sandbox, data_dir, monkeypatch, world):
    conn = json.loads(sandbox.connections()["AIRFLOW_CONN_VK_COMMUNITY"])
    monkeypatch.setenv("AIRFLOW_CONN_VK_COMMUNITY", json.dumps({**conn, "password": "vk1.a.revoked"}))
    with pytest.raises(AuthError) as caught:
        run("vk_community", end=world.default_now)
    message = str(caught.value)
    assert "VK error 5" in message and "\n" not in message and "vk1.a.revoked" not in message
