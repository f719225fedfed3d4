"""YouTube: the sandbox's Analytics and Data APIs and the youtube extractor.

GIVEN the seed-7 world's channel (sandbox/world_video.py: five videos, daily views, reactions,
subscribers and comments),
WHEN reports.query and the Data API's list calls are asked over HTTP, and the youtube source
extracts and loads them,
THEN the answers have YouTube's shape and quirks (columns in no promised order, rows absent when
empty, the latest days missing, one-based startIndex, quota units), the raw tables hold exactly
the world's numbers, an incremental run equals a full read, and the run stops before the Data
API's quota with one line instead of running into it.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import requests

from extractors.errors import PartialFailure, QuotaExhausted
from extractors.http import HttpClient, RetryPolicy
from extractors.sources.youtube import METRICS, _rows_by_header
from sandbox.world_video import CHANNEL_ID, VIDEOS
from tests.pipeline_helpers import rows, run, table_checksums

TOKEN = {"Authorization": "Bearer sandbox-youtube-token"}
REPORT = {"ids": "channel==MINE", "metrics": ",".join(METRICS), "dimensions": "day,video", "sort": "day,video",
          "maxResults": 200}


def report(sandbox, **params) -> requests.Response:
    return requests.get(f"{sandbox.base_url}/v2/reports", params={**REPORT, **params}, headers=TOKEN, timeout=60)


def test_columns_come_in_no_promised_order_and_rows_are_read_by_name(sandbox, world):
    answers = [report(sandbox, startDate="2026-06-01", endDate=f"2026-06-{d:02d}").json() for d in (10, 11, 12)]
    orders = {tuple(h["name"] for h in a["columnHeaders"]) for a in answers}
    assert len(orders) > 1 and all(set(o) == {"day", "video", *METRICS} for o in orders)
    assert answers[0]["kind"] == "youtubeAnalytics#resultTable"
    for answer in answers:
        for record in _rows_by_header(answer):
            day = next(d for d in world.video.days_of(date.fromisoformat(record["day"])) if d.video_id == record["video"])
            assert (record["views"], record["estimatedMinutesWatched"], record["subscribersLost"]) == (
                day.views, day.minutes_watched, day.subscribers_lost)
    assert report(sandbox, startDate="2026-01-01", endDate="2026-01-31").json().keys() == {"kind", "columnHeaders"}


def test_the_latest_days_are_missing_and_pages_start_at_one(sandbox, world):
    rows_ = _rows_by_header(report(sandbox, startDate="2026-08-01", endDate="2026-08-29").json())
    assert max(r["day"] for r in rows_) == "2026-08-26"  # endDate cut back: 3 days not reported yet
    whole = _rows_by_header(report(sandbox, startDate="2026-06-01", endDate="2026-08-29").json())
    second = _rows_by_header(report(sandbox, startDate="2026-06-01", endDate="2026-08-29", startIndex=201).json())
    assert len(whole) == 200 and second[0] not in whole and len(second) == 275 - 200
    assert report(sandbox, startDate="2026-06-01", endDate="2026-06-02", maxResults=201).status_code == 400


def test_every_data_api_call_costs_a_unit_and_the_quota_answers_403(sandbox):
    sandbox.sandbox.youtube_quota_units = 2
    url = f"{sandbox.base_url}/youtube/v3/channels"
    assert [requests.get(url, params={"part": "statistics", "mine": "true"}, headers=TOKEN, timeout=30).status_code
            for _ in range(3)] == [200, 200, 403]
    refusal = requests.get(url, params={"mine": "true"}, headers=TOKEN, timeout=30).json()["error"]
    assert refusal["errors"][0] == {**refusal["errors"][0], "reason": "quotaExceeded", "domain": "youtube.quota"}
    client = HttpClient("youtube", sandbox.base_url, headers=TOKEN, policy=RetryPolicy(sleep=lambda s: None))
    with pytest.raises(QuotaExhausted, match="rate limited for 86400s"):
        client.request("GET", "/youtube/v3/channels", params={"mine": "true"}, what="channels")


def test_a_full_read_lands_the_worlds_numbers_and_every_comment(sandbox, connections, data_dir, world):
    end = world.default_now
    run("youtube", end=end)
    first = (end - timedelta(days=90)).date()
    landed = {(v, d): (views, minutes) for v, d, views, minutes in rows(
        "SELECT video, day, (_record->>'$.views')::BIGINT, (_record->>'$.estimatedMinutesWatched')::BIGINT FROM raw_youtube.video_daily")}
    assert landed == {(d.video_id, d.day): (d.views, d.minutes_watched) for d in world.video.reported(first, world.end, end)}
    assert rows("SELECT count(*) FROM raw_youtube.videos")[0][0] == len(VIDEOS)
    views = dict(rows("SELECT video_id, (_record->>'$.statistics.viewCount')::BIGINT FROM raw_youtube.videos"))
    assert views == {v.video_id: world.video.totals(v.video_id, end)["viewCount"] for v in VIDEOS}
    assert rows("SELECT count(*) FROM raw_youtube.comment_threads")[0][0] == sum(
        len(world.video.comments(v.video_id, end)) for v in VIDEOS)
    assert rows("SELECT _record->>'$.contentDetails.relatedPlaylists.uploads' FROM raw_youtube.channels") == [("UU" + CHANNEL_ID[2:],)]


def test_an_incremental_run_fills_the_days_youtube_had_not_shown(sandbox, connections, data_dir, world, tmp_path, monkeypatch):
    end = world.default_now + timedelta(days=3)
    earlier = world.default_now
    run("youtube", end=earlier, start=end - timedelta(days=90), streams=["video_daily"])
    sandbox.set_clock(end)
    run("youtube", end=end, streams=["video_daily"])
    assert rows("SELECT max(day) FROM raw_youtube.video_daily")[0][0] == world.end
    incremental = table_checksums(data_dir / "warehouse.duckdb", "raw_youtube")
    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path / "full"))
    run("youtube", end=end, streams=["video_daily"])
    assert table_checksums(tmp_path / "full" / "warehouse.duckdb", "raw_youtube") == incremental


def test_the_run_stops_before_the_quota_not_in_it(sandbox, connections, data_dir, world, monkeypatch):
    conn = json.loads(connections["AIRFLOW_CONN_YOUTUBE"])
    monkeypatch.setenv("AIRFLOW_CONN_YOUTUBE", json.dumps({**conn, "extra": {**conn["extra"], "quota_units": 6}}))
    with pytest.raises(PartialFailure) as failure:
        run("youtube", end=world.default_now)
    assert "stopped before the Data API quota: 6 of 6 units a day spent" in str(failure.value.failed)
    assert not any(f.kind == "rate_limit" for f in sandbox.faults.fired)
    assert sum(v for k, v in sandbox.sandbox.cache.items() if isinstance(k, tuple) and k[0] == "youtube_quota") == 6
    assert rows("SELECT count(*) FROM raw_youtube.video_daily")[0][0] == 275  # the Analytics API is not counted
