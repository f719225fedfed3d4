"""The HubSpot search index: (modified ms, id) arrays built from each day's kept contact columns.

The first search at a clock must not regenerate the days the LRU of full days has dropped, and
the records it serves must be the ones the world generated, rendered the same way.
"""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
import requests

from sandbox.apis.hubspot import _epoch_ms
from sandbox.server import DEFAULT_TOKENS, SandboxServer
from sandbox.world import World

HUB = {"Authorization": f"Bearer {DEFAULT_TOKENS['hubspot']}"}


def test_every_contact_rebuilt_from_its_columns_equals_the_generated_one():
    world = World(seed=7, scale=1, days=20)
    rebuilt = 0
    for day in world.days_until(world.default_now):
        contacts = world.contacts_created_on(day)
        cols = world.contact_columns(day)
        assert len(cols.seq) == len(contacts)
        for i, c in enumerate(contacts):
            again = cols.contact(i)
            assert again == c
            assert list(again.stage_dates) == list(c.stage_dates)  # the order decides ties of the current stage
            assert world.kept_contact(int(c.contact_id)) == c
            if c.deal is not None:
                assert world.kept_deal(int(c.deal.deal_id)) == c.deal
            rebuilt += 1
    assert rebuilt >= world.truth().contact_count + world.truth().archived_contact_count  # and the last day's not yet created
    assert world.kept_contact(1_000_000_000 + 999_999) is None  # no such sequence number that day
    assert world.kept_contact(1_000_000_000 + 25 * 1_000_000) is None  # a day after the world's end


def test_the_index_is_every_rendered_records_modified_time_sorted():
    """The index against the records themselves: render each one, parse its lastmodifieddate."""
    world = World(seed=7, scale=1, days=20)
    clocks = (
        datetime(2026, 6, 4, 9, 30, 0, 250_700, tzinfo=UTC),
        world.default_now - timedelta(microseconds=1),
        world.default_now,
        world.default_now + timedelta(days=30),
    )
    for as_of in clocks:
        contacts = sorted(
            (_epoch_ms(world.contact_record(c, as_of, None)["properties"]["lastmodifieddate"]), int(c.contact_id))
            for c in world.iter_contacts(as_of)
            if not (c.archived_at and c.archived_at <= as_of)
        )
        deals = sorted(
            (_epoch_ms(world.deal_record(d, as_of, None, False)["properties"]["hs_lastmodifieddate"]), int(d.deal_id))
            for d in world.iter_deals(as_of)
        )
        for object_type, expected in (("contacts", contacts), ("deals", deals)):
            modified, ids = world.modified_index(object_type, as_of)
            assert list(zip(modified, ids, strict=True)) == expected
        assert len(contacts) == world.truth(as_of).contact_count
        assert len(deals) == world.truth(as_of).deal_count
    modified, ids = world.modified_index("contacts", datetime(2026, 5, 1, tzinfo=UTC))  # before the world starts
    assert len(modified) == len(ids) == 0


@pytest.mark.slow
def test_searches_at_new_clocks_regenerate_no_day():
    # 12 days at scale 20: the LRU holds 8, so any walk over every day's full contacts would regenerate some
    world = World(seed=7, scale=20, days=12)
    assert world.cache_info()["capacity"] < world.days
    clocks = (world.default_now, world.default_now - timedelta(days=3, hours=7), world.default_now + timedelta(days=9))
    live = {as_of: world.truth(as_of).contact_count for as_of in clocks}  # walks (and regenerates) full days
    assert live[world.default_now] > 10_000
    generated = world.cache_info()["generated_days"]
    assert generated >= world.days
    with SandboxServer(world) as server:
        url = f"{server.base_url}/crm/v3/objects/contacts/search"
        for as_of in clocks:
            server.set_clock(as_of)
            since = _epoch_ms("2026-06-05T00:00:00.000Z")
            seen, after, empty_pages = [], None, 0
            while True:
                body = {
                    "limit": 200,
                    "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(since)}]}],
                    "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                    "properties": ["email"],
                }
                if after:
                    body["after"] = after
                page = requests.post(url, json=body, headers=HUB, timeout=60).json()
                seen += [(_epoch_ms(r["properties"]["lastmodifieddate"]), int(r["id"])) for r in page["results"]]
                after = page.get("paging", {}).get("next", {}).get("after")
                empty_pages += not page["results"] and bool(after)  # HubSpot's empty page with a cursor: it uses offsets too
                if not after or int(after) + 200 > 10_000:
                    break
            assert seen == sorted(seen) and seen[0][0] >= since
            assert len(seen) == min(page["total"], 10_000 - 200 * empty_pages)
            every = requests.post(url, json={"limit": 1}, headers=HUB, timeout=60).json()["total"]
            assert every == live[as_of]
    assert world.cache_info()["generated_days"] == generated


def test_report_walks_keep_no_contact_columns_and_the_crm_keeps_them_once():
    """Columns cost memory per person: only a CRM request pays for them, and only once per day."""
    world = World(seed=7, scale=4, days=12)
    list(world.iter_session_blocks(*world.session_dates, world.default_now))
    assert world.insights_rows("1001", world.start, world.end, world.default_now)
    list(world.iter_ad_group_days(None, world.start, world.end, world.default_now))
    assert world.cache_info()["contact_column_days"] == 0
    first = world.modified_index("contacts", world.default_now)
    assert world.cache_info()["contact_column_days"] == world.days
    generated = world.cache_info()["generated_days"]
    assert world.modified_index("contacts", world.default_now - timedelta(days=2)) != first
    assert world.cache_info()["generated_days"] == generated


def test_contact_columns_cost_about_a_hundred_bytes_a_contact():
    """What the CRM index keeps grows with the people (a CRM is an index of its records), so it
    must stay small: ~50 MiB for the ~500,000 contacts of scale 100, not the ~400 bytes of facts."""
    world = World(seed=7, scale=8, days=8)  # 8 days: the LRU (8) holds them all, so nothing is regenerated below
    for day in world.days_until(world.default_now):
        world._day(day)
    contacts = sum(len(world._day(day).contacts) for day in world.days_until(world.default_now))
    tracemalloc.start()
    for day in world.days_until(world.default_now):
        world.contact_columns(day)
    kept = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert world.cache_info()["generated_days"] == world.days
    assert contacts > 3_000
    assert kept / contacts < 128
