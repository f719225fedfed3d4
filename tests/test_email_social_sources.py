"""Mailchimp and Facebook Pages / Instagram extractors over real HTTP with real-shaped pages."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit


from tests.pipeline_helpers import rows
from tests.pipeline_helpers import run as run_source
from tests.scripted_server import ScriptedServer

END = datetime(2026, 6, 10, tzinfo=UTC)


def run(source, stream, start=None):
    return run_source(source, END, start, [stream])


def test_mailchimp_basic_auth_offset_paging_and_activity_one_record_per_action(data_dir, monkeypatch):
    campaigns = {"campaigns": [{"id": "c1"}], "total_items": 1}
    activity_1 = {"emails": [{"campaign_id": "c1", "list_id": "L1", "email_id": "e1", "email_address": "a@x.com",
                              "activity": [{"action": "open", "timestamp": "2026-06-02T10:00:00+00:00"},
                                           {"action": "click", "timestamp": "2026-06-02T10:01:00+00:00", "url": "https://x.com/p"}]}],
                  "campaign_id": "c1", "total_items": 2}
    activity_2 = {"emails": [{"campaign_id": "c1", "list_id": "L1", "email_id": "e2", "email_address": "b@x.com",
                              "activity": [{"action": "bounce", "timestamp": "2026-06-02T10:00:05+00:00", "type": "hard"}]}],
                  "campaign_id": "c1", "total_items": 2}
    with ScriptedServer([(200, {}, campaigns), (200, {}, activity_1), (200, {}, activity_2)]) as server:
        monkeypatch.setenv("AIRFLOW_CONN_MAILCHIMP", json.dumps({"conn_type": "http", "host": server.url, "password": "key-us21",
                                                                "extra": {"list_ids": ["L1"]}}))
        run("mailchimp", "email_activity", start=datetime(2026, 6, 1, tzinfo=UTC))
        requests = server.requests
    assert requests[0]["headers"]["Authorization"] == "Basic " + base64.b64encode(b"funnelhouse:key-us21").decode()
    assert parse_qs(urlsplit(requests[0]["path"]).query)["since_send_time"] == ["2026-06-01T00:00:00+00:00"]
    assert [parse_qs(urlsplit(r["path"]).query)["offset"] for r in requests[1:]] == [["0"], ["1"]]  # offsets count emails
    assert rows("SELECT campaign_id, email_id, action, _record->>'$.url' FROM raw_mailchimp.email_activity ORDER BY ALL") == [
        ("c1", "e1", "click", "https://x.com/p"), ("c1", "e1", "open", None), ("c1", "e2", "bounce", None)]


def test_facebook_page_insights_land_one_record_per_metric_and_day(data_dir, monkeypatch):
    page = {"data": [{"name": "page_impressions", "period": "day", "title": "Daily Total Impressions", "id": "p1/insights/page_impressions/day",
                      "values": [{"value": 120, "end_time": "2026-06-02T07:00:00+0000"}, {"value": 98, "end_time": "2026-06-03T07:00:00+0000"}]},
                     {"name": "page_fans", "period": "day", "id": "p1/insights/page_fans/day",
                      "values": [{"value": 1500, "end_time": "2026-06-02T07:00:00+0000"}]}],
            "paging": {"previous": "x"}}
    with ScriptedServer([(200, {}, page)]) as server:
        monkeypatch.setenv("AIRFLOW_CONN_FACEBOOK_PAGES", json.dumps({"conn_type": "http", "host": server.url, "password": "EAAB-page-token",
                                                                     "extra": {"page_ids": ["p1"], "ig_user_ids": ["ig1"]}}))
        run("facebook_pages", "page_insights", start=datetime(2026, 6, 1, tzinfo=UTC))
        query = parse_qs(urlsplit(server.requests[0]["path"]).query)
    assert server.requests[0]["path"].startswith("/v21.0/p1/insights?")
    assert query["metric"] == ["page_impressions,page_post_engagements,page_fans"] and query["period"] == ["day"]
    assert query["since"] == [str(int(datetime(2026, 6, 1, tzinfo=UTC).timestamp()))]
    assert rows("SELECT metric, end_time::VARCHAR, _record->>'$.value' FROM raw_facebook_pages.page_insights ORDER BY ALL") == [
        ("page_fans", "2026-06-02 07:00:00+00", "1500"), ("page_impressions", "2026-06-02 07:00:00+00", "120"),
        ("page_impressions", "2026-06-03 07:00:00+00", "98")]


def test_instagram_media_stops_paging_past_the_window(data_dir, monkeypatch):
    with ScriptedServer([]) as server:
        server.script += [
            (200, {}, {"data": [{"id": "m3", "timestamp": "2026-06-05T10:00:00+0000", "like_count": 5, "comments_count": 1},
                                {"id": "m2", "timestamp": "2026-06-02T10:00:00+0000", "like_count": 9, "comments_count": 0}],
                       "paging": {"cursors": {"after": "b"}, "next": f"{server.url}/v21.0/ig1/media?after=b"}}),
            (200, {}, {"data": [{"id": "m1", "timestamp": "2026-05-20T10:00:00+0000", "like_count": 40, "comments_count": 3}],
                       "paging": {"cursors": {"after": "c"}, "next": f"{server.url}/v21.0/ig1/media?after=c"}}),
        ]
        monkeypatch.setenv("AIRFLOW_CONN_FACEBOOK_PAGES", json.dumps({"conn_type": "http", "host": server.url, "password": "EAAB-token",
                                                                     "extra": {"page_ids": ["p1"], "ig_user_ids": ["ig1"]}}))
        run("facebook_pages", "ig_media", start=datetime(2026, 6, 1, tzinfo=UTC))
        assert len(server.requests) == 2  # the second page reached past the window: no third request
    assert rows("SELECT _account_id, id FROM raw_facebook_pages.ig_media ORDER BY id") == [("ig1", "m2"), ("ig1", "m3")]
