"""Mailchimp and Facebook Pages / Instagram extractors over real HTTP with real-shaped pages."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from extractors.api_versions import PLATFORMS
from extractors.sources.facebook_pages import MEDIA_FIELDS
from tests.pipeline_helpers import rows
from tests.pipeline_helpers import run as run_source
from tests.scripted_server import ScriptedServer

END = datetime(2026, 6, 10, tzinfo=UTC)


def run(source, stream, start=None):
    return run_source(source, END, start, [stream])


def test_mailchimp_basic_auth_offset_paging_and_activity_one_record_per_action(data_dir, monkeypatch):
    campaigns = {"campaigns": [{"id": "c1"}], "total_items": 1}
    activity_1 = {
        "emails": [
            {
                "campaign_id": "c1",
                "list_id": "L1",
                "email_id": "e1",
                "email_address": "a@x.com",
                "activity": [
                    {"action": "open", "timestamp": "2026-06-02T10:00:00+00:00"},
                    {"action": "click", "timestamp": "2026-06-02T10:01:00+00:00", "url": "https://x.com/p"},
                ],
            }
        ],
        "campaign_id": "c1",
        "total_items": 2,
    }
    activity_2 = {
        "emails": [
            {
                "campaign_id": "c1",
                "list_id": "L1",
                "email_id": "e2",
                "email_address": "b@x.com",
                "activity": [{"action": "bounce", "timestamp": "2026-06-02T10:00:05+00:00", "type": "hard"}],
            }
        ],
        "campaign_id": "c1",
        "total_items": 2,
    }
    with ScriptedServer([(200, {}, campaigns), (200, {}, activity_1), (200, {}, activity_2)]) as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_MAILCHIMP",
            json.dumps({"conn_type": "http", "host": server.url, "password": "key-us21", "extra": {"list_ids": ["L1"]}}),
        )
        run("mailchimp", "email_activity", start=datetime(2026, 6, 1, tzinfo=UTC))
        requests = server.requests
    assert requests[0]["headers"]["Authorization"] == "Basic " + base64.b64encode(b"funnelhouse:key-us21").decode()
    assert parse_qs(urlsplit(requests[0]["path"]).query)["since_send_time"] == ["2026-06-01T00:00:00+00:00"]
    assert [parse_qs(urlsplit(r["path"]).query)["offset"] for r in requests[1:]] == [["0"], ["1"]]  # offsets count emails
    assert rows("SELECT campaign_id, email_id, action, _record->>'$.url' FROM raw_mailchimp.email_activity ORDER BY ALL") == [
        ("c1", "e1", "click", "https://x.com/p"),
        ("c1", "e1", "open", None),
        ("c1", "e2", "bounce", None),
    ]


def test_facebook_page_insights_land_one_record_per_metric_and_day(data_dir, monkeypatch):
    """GIVEN an answer shaped like Graph's, whose paging.next points at the following window (as it always does),
    WHEN the window is read, THEN one request is made and every metric and day lands once."""
    page = {
        "data": [
            {
                "name": "page_media_view",
                "period": "day",
                "title": "Daily Media Views",
                "id": "p1/insights/page_media_view/day",
                "values": [
                    {"value": 120, "end_time": "2026-06-02T07:00:00+0000"},
                    {"value": 98, "end_time": "2026-06-03T07:00:00+0000"},
                ],
            },
            {
                "name": "page_follows",
                "period": "day",
                "id": "p1/insights/page_follows/day",
                "values": [{"value": 1500, "end_time": "2026-06-02T07:00:00+0000"}],
            },
        ]
    }
    with ScriptedServer([]) as server:
        page["paging"] = {
            "previous": f"{server.url}/v21.0/p1/insights?metric=page_media_view&since=1780012800&until=1780790400",
            "next": f"{server.url}/v21.0/p1/insights?metric=page_media_view&since=1781049600&until=1781827200",
        }
        server.script += [(200, {}, page)] * 3  # more answers than needed: following next would use them
        monkeypatch.setenv(
            "AIRFLOW_CONN_FACEBOOK_PAGES",
            json.dumps(
                {
                    "conn_type": "http",
                    "host": server.url,
                    "password": "EAAB-page-token",
                    "extra": {"page_ids": ["p1"], "ig_user_ids": ["ig1"]},
                }
            ),
        )
        run("facebook_pages", "page_insights", start=datetime(2026, 6, 1, tzinfo=UTC))
        requests = list(server.requests)
    assert len(requests) == 1
    query = parse_qs(urlsplit(requests[0]["path"]).query)
    assert requests[0]["path"].startswith(f"/{PLATFORMS['graph'].default}/p1/insights?")  # the default version
    assert query["metric"] == ["page_media_view,page_post_engagements,page_follows"] and query["period"] == ["day"]
    assert (query["since"], query["until"]) == (
        [str(int(datetime(2026, 6, 1, tzinfo=UTC).timestamp()))],
        [str(int(END.timestamp()))],
    )
    assert rows("SELECT metric, end_time::VARCHAR, _record->>'$.value' FROM raw_facebook_pages.page_insights ORDER BY ALL") == [
        ("page_follows", "2026-06-02 07:00:00+00", "1500"),
        ("page_media_view", "2026-06-02 07:00:00+00", "120"),
        ("page_media_view", "2026-06-03 07:00:00+00", "98"),
    ]


def test_facebook_page_insights_over_90_days_are_read_in_90_day_windows(data_dir, monkeypatch):
    """Graph allows at most 90 days between since and until: a longer window is asked for in back-to-back pieces."""
    empty = {"data": [], "paging": {"previous": "x", "next": "y"}}
    with ScriptedServer([(200, {}, empty)] * 3) as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_FACEBOOK_PAGES",
            json.dumps(
                {
                    "conn_type": "http",
                    "host": server.url,
                    "password": "EAAB-page-token",
                    "extra": {"page_ids": ["p1"], "ig_user_ids": ["ig1"]},
                }
            ),
        )
        run("facebook_pages", "page_insights", start=datetime(2026, 1, 1, tzinfo=UTC))
        windows = [
            (int(q["since"][0]), int(q["until"][0])) for q in (parse_qs(urlsplit(r["path"]).query) for r in server.requests)
        ]
    start, end = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()), int(END.timestamp())
    assert windows[0][0] == start and windows[-1][1] == end and len(windows) == 2
    assert all(until - since <= 90 * 86400 for since, until in windows) and windows[0][1] == windows[1][0]


def test_comments_ask_each_platform_for_its_own_fields(data_dir, monkeypatch):
    """Facebook Comment: id,message,created_time. Instagram IGComment: id,text,timestamp,username,like_count."""
    with ScriptedServer([]) as server:
        server.script += [
            (200, {}, {"data": [{"id": "m1", "timestamp": "2026-06-05T10:00:00+0000"}]}),
            (
                200,
                {},
                {
                    "data": [
                        {"id": "c1", "text": "Nice", "timestamp": "2026-06-05T11:00:00+0000", "username": "fan", "like_count": 2}
                    ]
                },
            ),
            (200, {}, {"data": [{"id": "p1_9"}]}),
            (200, {}, {"data": [{"id": "9_1", "message": "Great", "created_time": "2026-06-05T12:00:00+0000"}]}),
        ]
        monkeypatch.setenv(
            "AIRFLOW_CONN_FACEBOOK_PAGES",
            json.dumps(
                {
                    "conn_type": "http",
                    "host": server.url,
                    "password": "EAAB-token",
                    "extra": {"page_ids": ["p1"], "ig_user_ids": ["ig1"]},
                }
            ),
        )
        run("facebook_pages", "ig_comments", start=datetime(2026, 6, 1, tzinfo=UTC))
        run("facebook_pages", "post_comments", start=datetime(2026, 6, 1, tzinfo=UTC))
        fields = [parse_qs(urlsplit(r["path"]).query)["fields"][0] for r in server.requests]
    assert fields == [MEDIA_FIELDS, "id,text,timestamp,username,like_count", "id", "id,message,created_time"]
    assert rows(
        "SELECT id, _record->>'$.parent_id', _record->>'$.text', _record->>'$.username' FROM raw_facebook_pages.ig_comments"
    ) == [("c1", "m1", "Nice", "fan")]
    assert rows("SELECT id, _record->>'$.parent_id', _record->>'$.message' FROM raw_facebook_pages.post_comments") == [
        ("9_1", "p1_9", "Great")
    ]


def test_instagram_media_stops_paging_past_the_window(data_dir, monkeypatch):
    with ScriptedServer([]) as server:
        server.script += [
            (
                200,
                {},
                {
                    "data": [
                        {"id": "m3", "timestamp": "2026-06-05T10:00:00+0000", "like_count": 5, "comments_count": 1},
                        {"id": "m2", "timestamp": "2026-06-02T10:00:00+0000", "like_count": 9, "comments_count": 0},
                    ],
                    "paging": {"cursors": {"after": "b"}, "next": f"{server.url}/v21.0/ig1/media?after=b"},
                },
            ),
            (
                200,
                {},
                {
                    "data": [{"id": "m1", "timestamp": "2026-05-20T10:00:00+0000", "like_count": 40, "comments_count": 3}],
                    "paging": {"cursors": {"after": "c"}, "next": f"{server.url}/v21.0/ig1/media?after=c"},
                },
            ),
        ]
        monkeypatch.setenv(
            "AIRFLOW_CONN_FACEBOOK_PAGES",
            json.dumps(
                {
                    "conn_type": "http",
                    "host": server.url,
                    "password": "EAAB-token",
                    "extra": {"page_ids": ["p1"], "ig_user_ids": ["ig1"]},
                }
            ),
        )
        run("facebook_pages", "ig_media", start=datetime(2026, 6, 1, tzinfo=UTC))
        assert len(server.requests) == 2  # the second page reached past the window: no third request
    assert rows("SELECT _account_id, id FROM raw_facebook_pages.ig_media ORDER BY id") == [("ig1", "m2"), ("ig1", "m3")]
