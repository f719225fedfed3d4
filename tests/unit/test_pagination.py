"""One paginator, one case per paging shape, over real HTTP with real-shaped pages."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from extractors.errors import ApiError
from extractors.http import HttpClient, RetryPolicy
from extractors.pagination import BodyCursor, NextUrl, OffsetTotal, PageRequest, paginate
from tests.scripted_server import ScriptedServer


def _client(server):
    return HttpClient("t", server.url, policy=RetryPolicy(max_attempts=1))


def test_hubspot_list_follows_paging_next_after_until_it_is_absent():
    pages = [
        (200, {}, {"results": [{"id": "1"}, {"id": "2"}], "paging": {"next": {"after": "3", "link": "x"}}}),
        (200, {}, {"results": [{"id": "3"}], "paging": {"next": {"after": "4"}}}),  # short page is not the end
        (200, {}, {"results": [{"id": "4"}]}),
    ]
    with ScriptedServer(pages) as server:
        got = list(
            paginate(
                _client(server),
                PageRequest("GET", "/crm/v3/objects/contacts", params={"limit": 2}),
                BodyCursor(("paging", "next", "after")),
                ("results",),
                what="contacts",
            )
        )
        afters = [parse_qs(urlsplit(r["path"]).query).get("after") for r in server.requests]
    assert [[r["id"] for r in page] for page in got] == [["1", "2"], ["3"], ["4"]]
    assert afters == [None, ["3"], ["4"]]


def test_hubspot_search_sends_the_cursor_in_the_json_body():
    pages = [
        (200, {}, {"total": 3, "results": [{"id": "1"}, {"id": "2"}], "paging": {"next": {"after": "2"}}}),
        (200, {}, {"total": 3, "results": [{"id": "3"}]}),
    ]
    with ScriptedServer(pages) as server:
        got = list(
            paginate(
                _client(server),
                PageRequest("POST", "/search", json_body={"limit": 2}),
                BodyCursor(("paging", "next", "after"), in_json_body=True),
                ("results",),
                what="search",
            )
        )
        bodies = [json.loads(r["body"]) for r in server.requests]
    assert sum(len(p) for p in got) == 3
    assert bodies == [{"limit": 2}, {"limit": 2, "after": "2"}]


def test_meta_follows_the_full_next_url():
    with ScriptedServer([]) as server:
        server.script += [
            (
                200,
                {},
                {
                    "data": [{"ad_id": "1"}],
                    "paging": {
                        "cursors": {"before": "MA==", "after": "MQ=="},
                        "next": f"{server.url}/v21.0/act_1/insights?after=MQ%3D%3D&limit=1",
                    },
                },
            ),
            (200, {}, {"data": [{"ad_id": "2"}], "paging": {"cursors": {"before": "MQ==", "after": "Mg=="}}}),
        ]
        got = list(
            paginate(
                _client(server),
                PageRequest("GET", "/v21.0/act_1/insights", params={"limit": 1}),
                NextUrl(("paging", "next")),
                ("data",),
                what="insights",
            )
        )
        paths = [r["path"] for r in server.requests]
    assert [p[0]["ad_id"] for p in got] == ["1", "2"]
    assert paths[1] == "/v21.0/act_1/insights?after=MQ%3D%3D&limit=1"


@pytest.mark.parametrize("as_string, first_offset", [(False, 2), (True, "2")])
def test_offset_paging_stops_when_the_total_is_reached(as_string, first_offset):
    pages = [
        (200, {}, {"members": [{"id": 1}, {"id": 2}], "total_items": 3}),
        (200, {}, {"members": [{"id": 3}], "total_items": 3}),
    ]
    with ScriptedServer(pages) as server:
        got = list(
            paginate(
                _client(server),
                PageRequest("POST", "/report", json_body={"offset": 0}),
                OffsetTotal(("total_items",), as_string=as_string),
                ("members",),
                what="members",
            )
        )
        bodies = [json.loads(r["body"]) for r in server.requests]
    assert sum(len(p) for p in got) == 3
    assert bodies[1]["offset"] == first_offset


def test_a_cursor_that_repeats_is_an_error_not_an_endless_loop():
    page = (200, {}, {"results": [{"id": "1"}], "paging": {"next": {"after": "1"}}})
    with ScriptedServer([page, page, page]) as server:
        with pytest.raises(ApiError, match="same next page twice"):
            list(
                paginate(
                    _client(server), PageRequest("GET", "/c"), BodyCursor(("paging", "next", "after")), ("results",), what="c"
                )
            )
