"""Meta insights' ``action_values``: the value of the leads Meta claims, over HTTP.

GIVEN the sandbox's Meta campaigns, each with a value per lead in its account currency,
WHEN the extractor's insights request is read at a clock,
THEN a row with claimed leads carries action_values 'lead' and 'offsite_conversion.fb_pixel_lead'
equal to leads x value (2-decimal strings), a row without leads carries none, the values grow as
view-through leads are claimed, and they add up to the world's ground truth.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests

from extractors.sources.meta_ads import AD_EFFECTIVE_STATUSES, INSIGHT_FIELDS
from sandbox.server import DEFAULT_TOKENS
from sandbox.world import AD_ACCOUNTS, CAMPAIGNS, FX_TO_USD

META_AUTH = {"Authorization": f"Bearer {DEFAULT_TOKENS['meta']}"}
LEAD_ACTIONS = ("lead", "offsite_conversion.fb_pixel_lead")


def insights(server, world, account_id: str, fields) -> list[dict]:
    """Every row of the 90 days of one account (every ad status), following paging.next."""
    url = f"{server.base_url}/v26.0/act_{account_id}/insights"
    params = {"level": "ad", "time_increment": "1", "limit": 500, "fields": ",".join(fields),
              "filtering": json.dumps([{"field": "ad.effective_status", "operator": "IN", "value": list(AD_EFFECTIVE_STATUSES)}]),
              "time_range": json.dumps({"since": world.start.isoformat(), "until": world.end.isoformat()})}
    rows = []
    while url:
        response = requests.get(url, params=params, headers=META_AUTH, timeout=60)
        assert response.status_code == 200, response.text
        rows += response.json()["data"]
        url, params = response.json().get("paging", {}).get("next"), None
    return rows


def lead_values(row: dict) -> dict[str, str]:
    return {a["action_type"]: a["value"] for a in row.get("action_values", [])}


def test_meta_action_values_are_claimed_leads_times_the_campaigns_value_at_two_clocks(sandbox, world):
    earlier = world.default_now - timedelta(days=20)
    later = earlier + timedelta(days=10)  # past the 7-day view-through window of the days read earlier
    reads: dict = {}
    for clock in (earlier, later):
        sandbox.set_clock(clock)
        # what the world says, straight from its ad days: leads claimed by the clock x value per lead
        expected = {(ad.ad_id, ad.day.isoformat()): ad.claimed_leads_by(clock) * ad.campaign.value_per_lead
                    for day in world.days_until(world.default_now) for ad in world.ad_days(day)}
        rows = [r for a in AD_ACCOUNTS for r in insights(sandbox, world, a.account_id, INSIGHT_FIELDS)]
        read = {}
        for row in rows:
            value = expected[(row["ad_id"], row["date_start"])]
            if value:
                assert row["action_values"] == [{"action_type": t, "value": f"{value:.2f}"} for t in LEAD_ACTIONS], row
            else:
                assert "action_values" not in row, row  # Meta omits an empty action list
            read[(row["ad_id"], row["date_start"])] = value
        assert sum(1 for v in read.values() if v) > 100
        per_campaign = {c.name: 0.0 for c in CAMPAIGNS}
        for row in rows:
            per_campaign[row["campaign_name"]] += float(lead_values(row).get("lead", 0))
        truth = world.truth(clock).meta_conversion_value_by_campaign
        assert per_campaign == pytest.approx({c: m["account_currency"] for c, m in truth.items()}, abs=0.005)
        currency = {c.name: c.account.currency for c in CAMPAIGNS}
        assert {c: m["usd"] for c, m in truth.items()} == pytest.approx(
            {c: v * FX_TO_USD[currency[c]] for c, v in per_campaign.items()}, abs=0.01)
        reads[clock] = read

    before, after = reads[earlier], reads[later]
    assert before.keys() < after.keys()
    grown = {key for key in before if after[key] > before[key]}
    assert grown, "view-through leads claimed after the first read must raise earlier days' values"
    assert all(after[key] >= value for key, value in before.items())


def test_meta_action_values_come_only_when_asked_for(sandbox, world):
    account = AD_ACCOUNTS[1]  # EUR: values in the account's currency
    without = insights(sandbox, world, account.account_id, [f for f in INSIGHT_FIELDS if f != "action_values"])
    assert without and not any("action_values" in row for row in without)
    only = insights(sandbox, world, account.account_id, ["ad_id", "action_values"])
    world_rows = world.insights_rows(account.account_id, world.start, world.end, sandbox.sandbox.now)
    assert only == [{k: v for k, v in r.items() if k in ("ad_id", "action_values", "date_start", "date_stop")} for r in world_rows]
    total = sum(float(lead_values(r).get("lead", 0)) for r in only)
    truth = world.truth(sandbox.sandbox.now).meta_conversion_value_by_campaign
    its_campaigns = {c.name for c in CAMPAIGNS if c.account == account}
    assert total == pytest.approx(sum(truth[c]["account_currency"] for c in its_campaigns), abs=0.005) and total > 0


def test_meta_conversion_value_truth_at_seed_7(world):
    """The numbers the marts must show at the default clock (seed 7, scale 1)."""
    truth = world.truth().meta_conversion_value_by_campaign
    assert truth == {
        "us_prospecting_lookalike": {"account_currency": 58380.0, "usd": 58380.0},
        "us_retargeting_site_visitors": {"account_currency": 117090.0, "usd": 117090.0},
        "eu_brand_awareness_video": {"account_currency": 10600.0, "usd": 11448.0},
        "eu_lead_gen_forms": {"account_currency": 33975.0, "usd": 36693.0},
    }
    # the 'lead' values are the claimed leads x each campaign's value per lead
    leads = sum(world.truth().meta_claimed_leads_by_account_day.values())
    assert sum(m["usd"] for m in truth.values()) == 223611.0 and leads == 3453
