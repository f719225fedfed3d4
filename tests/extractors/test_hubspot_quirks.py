"""HubSpot as it really behaves, against the extractor: a URL limit that hundreds of properties
exceed (414), and search pages that come back empty while still giving a cursor.

GIVEN / WHEN / THEN in each test; the sandbox reproduces both behaviours (sandbox/apis/hubspot.py).
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import requests

from extractors.sources import hubspot
from sandbox.apis import hubspot as sandbox_hubspot
from sandbox.server import SandboxServer
from sandbox.world import World
from tests.pipeline_helpers import rows, run
from tests.scripted_server import ScriptedServer

HUB = {"Authorization": "Bearer sandbox-hubspot-token"}
LONG_NAMES = [f"custom_property_imported_from_the_old_crm_{i:04d}" for i in range(600)]  # 46 characters each


def with_long_properties(world: World, monkeypatch) -> None:
    """The portal defines 600 custom contact properties with long names (each contact has a value)."""
    original = world.contact_record

    def contact_record(c, as_of, properties):
        record = original(c, as_of, None)
        record["properties"].update({name: f"{i}:{c.contact_id}" for i, name in enumerate(LONG_NAMES)})
        if properties is not None:
            wanted = set(properties) | {"createdate", "lastmodifieddate", "hs_object_id"}
            record["properties"] = {k: record["properties"].get(k) for k in wanted}
        return record

    monkeypatch.setattr(world, "contact_record", contact_record)


@pytest.fixture
def small_world():
    return World(seed=7, days=12)  # ~650 contacts: 600 properties each stay a few MB of landing files


@pytest.fixture
def portal(small_world, data_dir, monkeypatch):
    """A sandbox over the small world, the connection asking for every property the portal defines."""
    with SandboxServer(small_world) as server:
        for key, value in server.connections().items():
            monkeypatch.setenv(key, value)
        conn = json.loads(server.connections()["AIRFLOW_CONN_HUBSPOT"])
        conn["extra"]["all_properties"] = True
        monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT", json.dumps(conn))
        yield server


def landed_contacts() -> dict[str, dict]:
    return {cid: json.loads(record) for cid, record in rows("SELECT id, _record FROM raw_hubspot.contacts")}


def test_the_sandbox_refuses_a_url_past_hubspots_limit_with_its_proxys_414_page(portal):
    url = f"{portal.base_url}/crm/v3/objects/contacts"
    fits = requests.get(url, params={"limit": 1, "properties": ",".join(LONG_NAMES[:300])}, headers=HUB, timeout=30)
    too_long = requests.get(url, params={"limit": 1, "properties": ",".join(LONG_NAMES)}, headers=HUB, timeout=30)
    assert fits.status_code == 200
    assert too_long.status_code == 414 and too_long.headers["Content-Type"] == "text/html"
    assert b"<title>414 Request-URI Too Large</title>" in too_long.content


def test_properties_split_into_chunks_each_under_the_limit_keeping_every_name_once():
    chunks = hubspot._property_chunks(list(hubspot.CONTACT_PROPERTIES) + LONG_NAMES)
    assert len(chunks) == 2 and chunks[0][: len(hubspot.CONTACT_PROPERTIES)] == list(hubspot.CONTACT_PROPERTIES)
    assert [p for chunk in chunks for p in chunk] == list(hubspot.CONTACT_PROPERTIES) + LONG_NAMES
    assert all(len(",".join(chunk)) <= hubspot.PROPERTIES_PARAM_MAX for chunk in chunks)
    assert hubspot._property_chunks(["email", "firstname"]) == [["email", "firstname"]]


@pytest.mark.slow
def test_600_long_property_names_are_read_in_chunks_under_the_url_limit_and_merged_by_id(portal, small_world, monkeypatch):
    """GIVEN a portal with 600 custom properties of 46 characters (27,600 characters of names)
    WHEN contacts are listed with all_properties THEN no request URL passes HubSpot's limit, the
    other chunks are read for each page's ids by batch read, and every contact lands with every
    property the portal defines, each value its own. The old extractor put all names in one GET:
    HubSpot answered 414 and the whole HubSpot batch was lost."""
    with_long_properties(small_world, monkeypatch)
    targets: list[str] = []
    portal.sandbox.request_hooks.append(lambda r: targets.append(r.path + ("?" + urlencode(r.query) if r.query else "")))
    run("hubspot", small_world.default_now, streams=["contacts"])
    assert targets and max(len(t) for t in targets) <= sandbox_hubspot.URL_LIMIT
    batch_reads = [t for t in targets if "/batch/read" in t]
    lists = [t for t in targets if t.startswith("/crm/v3/objects/contacts?")]
    assert len(batch_reads) == len(lists)  # the second chunk of every listed page (live and archived)
    contacts = landed_contacts()
    live_or_archived = {c.contact_id: c for c in small_world.iter_contacts(small_world.default_now)}
    assert contacts.keys() == live_or_archived.keys() and len(contacts) > 500
    for cid, record in contacts.items():
        expected = small_world.contact_record(live_or_archived[cid], small_world.default_now, list(record["properties"]))
        assert record == expected
        assert set(LONG_NAMES) <= record["properties"].keys() and record["properties"][LONG_NAMES[599]] == f"599:{cid}"


@pytest.mark.slow
def test_records_changing_between_the_chunk_requests_land_whole_and_of_one_version(portal, small_world, monkeypatch, tmp_path):
    """GIVEN the clock moves ten days between the first listed page and the batch reads of its other
    chunks (stages advance, contacts are archived) WHEN contacts are read THEN no record mixes the two
    versions: the changed ones are read again in every chunk, the archived ones come from the archived
    pass, and the table equals one read at the later clock."""
    with_long_properties(small_world, monkeypatch)
    later = small_world.default_now
    earlier = later - timedelta(days=6)
    portal.set_clock(earlier)
    page_ids: list[str] = []

    def move_clock_at_the_first_batch_read(request):
        if request.path.endswith("/batch/read") and not page_ids:
            page_ids.extend(i["id"] for i in json.loads(request.body)["inputs"])
            portal.set_clock(later)

    portal.sandbox.request_hooks.append(move_clock_at_the_first_batch_read)
    run("hubspot", later, streams=["contacts"])
    portal.sandbox.request_hooks.clear()
    before = {c.contact_id: small_world.contact_record(c, earlier, None) for c in small_world.iter_contacts(earlier)}
    after = {c.contact_id: small_world.contact_record(c, later, None) for c in small_world.iter_contacts(later)}
    changed = [i for i in page_ids if before[i]["updatedAt"] != after[i]["updatedAt"]]
    assert changed, "some contacts of the first page changed between its requests"
    mid_read = landed_contacts()

    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path / "at-the-later-clock"))
    run("hubspot", later, streams=["contacts"])
    assert mid_read == landed_contacts()
    assert all(mid_read[i]["updatedAt"] == after[i]["updatedAt"] for i in changed)


def test_an_empty_search_page_that_still_gives_a_cursor_does_not_end_the_search(data_dir, monkeypatch):
    """GIVEN HubSpot's search answers a page with no results but with paging.next.after (Airbyte's
    test_crm_search_pagination_boundaries), then a page of records WHEN contacts are searched
    THEN the search goes on and lands those records. The old extractor stopped at the empty page."""
    record = {
        "id": "1001",
        "properties": {"lastmodifieddate": "2026-06-02T10:00:00.000Z", "hs_object_id": "1001"},
        "createdAt": "2026-06-01T10:00:00.000Z",
        "updatedAt": "2026-06-02T10:00:00.000Z",
        "archived": False,
    }
    script = [
        (200, {}, {"total": 1, "results": [], "paging": {"next": {"after": "200"}}}),
        (200, {}, {"total": 1, "results": [record]}),
        (200, {}, {"results": []}),
    ]  # the archived list
    from datetime import UTC, datetime

    with ScriptedServer(script) as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_HUBSPOT",
            json.dumps({"conn_type": "http", "host": server.url, "password": "pat-1", "extra": {"portal_id": "1"}}),
        )
        run("hubspot", datetime(2026, 6, 3, tzinfo=UTC), start=datetime(2026, 6, 1, tzinfo=UTC), streams=["contacts"])
        bodies = [json.loads(r["body"]) for r in server.requests if r["method"] == "POST"]
    assert [b.get("after") for b in bodies] == [None, "200"]
    assert rows("SELECT id FROM raw_hubspot.contacts") == [("1001",)]


@pytest.mark.slow
def test_the_sandbox_search_gives_empty_pages_with_a_cursor_now_and_then_and_the_incremental_read_is_whole(
    sandbox, connections, data_dir, world, tmp_path, monkeypatch
):
    """GIVEN the sandbox's search meets filtered-out entries on a seeded share of queries
    WHEN HubSpot is read incrementally THEN some searches did answer an empty first page with a
    cursor, and the contacts equal a full read at the same clock."""
    ghosts: list[bool] = []
    has_ghosts = sandbox_hubspot._has_ghosts
    monkeypatch.setattr(sandbox_hubspot, "_has_ghosts", lambda *a: ghosts.append(has_ghosts(*a)) or ghosts[-1])
    earlier = world.default_now - timedelta(days=20)
    sandbox.set_clock(earlier)
    run("hubspot", earlier, streams=["contacts"])
    sandbox.set_clock(world.default_now)
    ghosts.clear()
    run("hubspot", world.default_now, streams=["contacts"])
    assert any(ghosts) and not all(ghosts)
    incremental = rows("SELECT id, _record FROM raw_hubspot.contacts ORDER BY id")
    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path / "full"))
    run("hubspot", world.default_now, streams=["contacts"])
    assert rows("SELECT id, _record FROM raw_hubspot.contacts ORDER BY id") == incremental
