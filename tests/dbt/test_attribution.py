"""Multi-touch attribution from the source up: the world's visit paths, HubSpot's events
endpoint in the sandbox, the contact_visits stream, and the GX suites of the two marts.

The marts themselves are checked against the world's ground truth in
tests/e2e/test_end_to_end.py (the DAG's run there builds them), and the weights by dbt unit
tests in dbt_project/models/marts/attribution/attribution_touches.yml.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import requests

from sandbox.world import World, identified_visits_by_cell
from sandbox.world_touches import MODELS, UNATTRIBUTED, iso_ms
from tests.pipeline_helpers import rows, run

FAR_FUTURE = datetime(2030, 1, 1, tzinfo=UTC)
HEADERS = {"Authorization": "Bearer sandbox-hubspot-token"}


def won_contacts(world, as_of=None):
    as_of = as_of or world.default_now
    return [c for c in world.iter_contacts(as_of) if c.deal and c.deal.is_won and c.deal.closed_at <= as_of]


# ---- the world ---------------------------------------------------------------------------


def test_same_seed_gives_identical_visit_paths(world):
    # GIVEN a second world with the same seed  WHEN both serve every contact's visits
    def digest(w):
        h = hashlib.sha256()
        for c in w.iter_contacts(w.default_now):
            for t in w.touches(c):
                h.update(json.dumps(t.event_record(), sort_keys=True).encode())
        return h.hexdigest()

    # THEN the bytes are identical, and another seed gives other paths
    assert digest(world) == digest(World(seed=7))
    assert digest(world) != digest(World(seed=8))


def test_creating_visit_is_the_contacts_own_source_utm_and_instant(world):
    for c in world.iter_contacts(world.default_now):
        first, *rest = world.touches(c)
        assert first.is_creating_visit and not any(t.is_creating_visit for t in rest)
        assert (first.channel, first.utm_source, first.utm_medium, first.utm_campaign, first.utm_content, first.utm_term) == (
            c.channel,
            c.utm_source,
            c.utm_medium,
            c.utm_campaign,
            c.utm_content,
            c.utm_term,
        )
        assert iso_ms(first.occurred_at) == world.contact_record(c, world.default_now, None)["properties"]["createdate"]
        assert all(first.occurred_at < t.occurred_at for t in rest)
        assert [t.occurred_at for t in rest] == sorted(t.occurred_at for t in rest)


def test_return_visits_are_sessions_ga4_already_counts(world):
    """No (property date, source, medium, campaign) cell gets more identified return visits than
    it has sessions that created no contact, so GA4's totals stay what they were."""
    visits = identified_visits_by_cell(world, world.iter_contacts(FAR_FUTURE))
    non_converting: dict[tuple, int] = defaultdict(int)
    for b in world.iter_session_blocks(*world.session_dates, FAR_FUTURE):
        non_converting[(b.property_date, b.source, b.medium, b.campaign)] += b.sessions - b.conversions
    over = {cell: (n, non_converting.get(cell, 0)) for cell, n in visits.items() if n > non_converting.get(cell, 0)}
    assert over == {}
    assert sum(visits.values()) == 5681 and len(visits) == 534
    # every return-visit channel is used, email only by subscribers
    by_channel = defaultdict(int)
    for c in world.iter_contacts(world.default_now):
        for t in world.touches(c)[1:]:
            by_channel[t.channel] += 1
            assert t.channel != "email" or "subscriber" in c.stage_dates
    assert set(by_channel) == {"organic_search", "direct", "paid_social", "paid_search", "referral", "email"}


def test_models_credit_channels_differently_and_each_sums_to_won_revenue(world):
    truth = world.truth()
    per_model = {m: truth.attribution_by_channel(m) for m in MODELS}
    for model, by_channel in per_model.items():
        # each deal's revenue shared out in whole cents: every model sums to the won revenue exactly
        assert sum(by_channel.values()) == truth.won_revenue_usd, model
    # first touch is the contact's original channel, as every other mart reports revenue
    assert {k: v for k, v in per_model["first_touch"].items() if v} == truth.revenue_by_channel_usd
    assert truth.won_revenue_usd == Decimal("366469.27")
    # return visits move credit: paid social leads first touch, organic search last touch
    assert max(per_model["first_touch"], key=per_model["first_touch"].get) == "paid_social"
    assert max(per_model["last_touch"], key=per_model["last_touch"].get) == "organic_search"
    assert (
        per_model["linear"]["paid_social"] < per_model["position_based"]["paid_social"] < per_model["first_touch"]["paid_social"]
    )
    assert len({round(v.get("direct", 0), 2) for v in per_model.values()}) == 5


def test_a_short_lookback_leaves_deals_unattributed(world):
    truth = world.truth()
    one_day = truth.attribution(lookback_days=1)
    unattributed = sum(v["customers"] for (m, ch, _), v in one_day.items() if m == "first_touch" and ch == UNATTRIBUTED)
    won = len(won_contacts(world))
    assert won == 246
    # only deals whose contact visited in the day before the close keep a touch
    expected = sum(
        1
        for c in won_contacts(world)
        if not any(c.deal.closed_at - timedelta(days=1) <= t.occurred_at <= c.deal.closed_at for t in world.touches(c))
    )
    assert unattributed == expected and 0 < expected < won


# ---- the sandbox endpoint ------------------------------------------------------------------


def _events(sandbox, **params):
    return requests.get(f"{sandbox.base_url}/events/v3/events", params=params, headers=HEADERS, timeout=30)


def test_events_endpoint_pages_a_contacts_visits_with_after(sandbox, world):
    contact = max(won_contacts(world), key=lambda c: len(world.touches(c)))
    expected = [t.event_record() for t in world.touches(contact)]
    assert len(expected) >= 8
    got, after, pages = [], None, 0
    while True:
        body = _events(
            sandbox,
            objectType="contact",
            objectId=contact.contact_id,
            eventType="e_visited_page",
            limit=3,
            **({"after": after} if after else {}),
        ).json()
        got += body["results"]
        pages += 1
        after = ((body.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            break
        assert body["paging"]["next"]["link"].startswith(f"{sandbox.base_url}/events/v3/events?")
    assert got == expected and pages == -(-len(expected) // 3)
    first = got[0]
    assert first["objectType"] == "CONTACT" and first["objectId"] == contact.contact_id and first["eventType"] == "e_visited_page"
    assert set(first["properties"]) >= {"hs_url", "hs_page_path"}


def test_events_endpoint_filters_by_time_and_never_shows_the_future(sandbox, world):
    contact = max(won_contacts(world), key=lambda c: len(world.touches(c)))
    visits = world.touches(contact)
    middle = visits[len(visits) // 2].occurred_at
    body = _events(sandbox, objectType="contact", objectId=contact.contact_id, occurredAfter=iso_ms(middle), limit=100).json()
    assert [r["id"] for r in body["results"]] == [t.event_id for t in visits if t.occurred_at >= middle]
    body = _events(sandbox, objectType="contact", objectId=contact.contact_id, occurredBefore=iso_ms(middle), limit=100).json()
    assert [r["id"] for r in body["results"]] == [t.event_id for t in visits if t.occurred_at < middle]
    # WHEN the clock stands at that visit THEN later visits do not exist yet
    sandbox.set_clock(middle)
    body = _events(sandbox, objectType="contact", objectId=contact.contact_id, limit=100).json()
    assert [r["id"] for r in body["results"]] == [t.event_id for t in visits if t.occurred_at <= middle]
    # other event types and unknown contacts have no page visits
    assert _events(sandbox, objectType="contact", objectId=contact.contact_id, eventType="e_opened_email").json()["results"] == []
    assert _events(sandbox, objectType="contact", objectId="42").json() == {"results": []}


def test_events_endpoint_speaks_hubspots_errors(sandbox, world):
    unauthenticated = requests.get(
        f"{sandbox.base_url}/events/v3/events", params={"objectType": "contact", "objectId": "1"}, timeout=30
    )
    assert unauthenticated.status_code == 401 and unauthenticated.json()["category"] == "INVALID_AUTHENTICATION"
    for params in (
        {"objectType": "contact"},
        {"objectType": "contact", "objectId": "1", "occurredAfter": "yesterday"},
        {"objectType": "deal", "objectId": "1"},
        {"objectType": "contact", "objectId": "1", "after": "%%%"},
    ):
        response = _events(sandbox, **params)
        assert response.status_code == 400, params
        assert response.json()["status"] == "error" and response.json()["category"] == "VALIDATION_ERROR"
    sandbox.sandbox.hubspot_enterprise = False  # a portal without Marketing Hub Enterprise
    refused = _events(sandbox, objectType="contact", objectId="1")
    assert refused.status_code == 403 and refused.json()["status"] == "error" and refused.json()["category"] == "MISSING_SCOPES"


# ---- the extractor ---------------------------------------------------------------------------


def _expected_visits(world, until):
    """Every visit before ``until`` of the contacts with a live deal at ``until``."""
    contacts = {d.contact_id for d in world.iter_deals(until)}
    return {t.event_id: t for cid in contacts for t in world.touches(world.contact(cid)) if t.occurred_at < until}


def test_contact_visits_stream_reads_every_visit_of_deal_contacts(sandbox, connections, data_dir, world):
    run("hubspot", world.default_now, streams=["contact_visits"])
    landed = rows("SELECT id, _record->>'$.objectId', _record->>'$.occurredAt' FROM raw_hubspot.contact_visits")
    expected = _expected_visits(world, world.default_now)
    assert len(landed) == len(expected) == 2784
    assert {r[0]: (r[1], r[2]) for r in landed} == {k: (t.contact_id, iso_ms(t.occurred_at)) for k, t in expected.items()}


def test_contact_visits_incremental_runs_equal_one_full_read(sandbox, connections, data_dir, world):
    """GIVEN runs a week apart with the clock moving  THEN the table equals one read at the end:
    new deals bring their contact's whole history, older deals only their new visits."""
    end = world.default_now
    for days_before in (28, 21, 14, 7, 0):
        at = end - timedelta(days=days_before)
        sandbox.set_clock(at)
        run("hubspot", at, streams=["contact_visits"])
    landed = {r[0] for r in rows("SELECT id FROM raw_hubspot.contact_visits")}
    assert landed == set(_expected_visits(world, end))
    # the cursor is the last run's end, committed with the rows
    assert rows("SELECT cursor_value FROM _funnelhouse.stream_state WHERE stream = 'contact_visits'") == [(end,)]


# ---- the quality gate --------------------------------------------------------------------------


from tests.gate.test_gate import ABC, ATT, build_marts, gx_dir  # noqa: E402,F401  (gx_dir: the module's fixture)


def test_gate_names_defects_in_the_attribution_marts(tmp_path, gx_dir):  # noqa: F811
    from expectations.gate import run_gate

    # GIVEN a weight above 1, a touch after the close and a negative attributed revenue
    # (an unknown model or a duplicate grain row are dbt's tests: accepted_values, unique)
    database = build_marts(
        tmp_path / "build.duckdb",
        f"UPDATE {ATT} SET linear_weight = 1.5 WHERE attribution_touch_id = 'd1:t1'",
        f"UPDATE {ATT} SET days_before_close = -1.0 WHERE attribution_touch_id = 'd1:t2'",
        f"UPDATE {ABC} SET attributed_revenue = -200.0 WHERE attribution_model = 'linear'",
    )
    # WHEN the gate runs  THEN it fails on exactly those
    result = run_gate(str(database), gx_dir=gx_dir, results_dir=tmp_path / "gate")
    assert result.success is False
    assert sorted(result.failing_expectations) == [
        f"{ABC}: expect_column_values_to_be_between(column=attributed_revenue)",
        f"{ATT}: expect_column_values_to_be_between(column=days_before_close)",
        f"{ATT}: expect_column_values_to_be_between(column=linear_weight)",
    ]


# Query parameters of GET /events/v3/events in HubSpot's Events v3 OpenAPI file (api catalog
# "events/v3/events"); tests/specs has no copy of it.
EVENTS_V3_PARAMETERS = {
    "occurredAfter",
    "occurredBefore",
    "objectType",
    "objectId",
    "eventType",
    "after",
    "before",
    "limit",
    "sort",
}


def test_the_extractors_event_requests_use_the_events_v3_parameters(sandbox, connections, data_dir, world):
    seen = []
    sandbox.sandbox.request_hooks.append(seen.append)
    run("hubspot", world.default_now, streams=["contact_visits"])
    sandbox.set_clock(world.default_now + timedelta(hours=2))
    run("hubspot", world.default_now + timedelta(hours=2), streams=["contact_visits"])  # incremental: occurredAfter
    events = [r for r in seen if r.path.startswith("/events/")]
    assert len(events) >= 2 * 670
    assert {k for r in events for k in r.query} == EVENTS_V3_PARAMETERS - {"after", "before", "sort"}
    assert all(r.query["objectType"] == "contact" and r.query["eventType"] == "e_visited_page" for r in events)
