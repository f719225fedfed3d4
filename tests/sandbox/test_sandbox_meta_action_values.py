"""Meta insights' ``action_values``: the value of the leads Meta claims, over HTTP.

GIVEN the sandbox's Meta campaigns, each with a value per lead in its account currency,
WHEN the extractor's insights request is read at a clock,
THEN a row with claimed leads carries action_values 'lead' and 'offsite_conversion.fb_pixel_lead'
equal to leads x value (2-decimal strings), a row without leads carries none, the values grow as
view-through leads are claimed, and they add up to the world's ground truth.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import requests

from extractors.sources.meta_ads import AD_EFFECTIVE_STATUSES, INSIGHT_FIELDS
from sandbox.server import DEFAULT_TOKENS
from sandbox.world import AD_ACCOUNTS, CAMPAIGNS

META_AUTH = {"Authorization": f"Bearer {DEFAULT_TOKENS['meta']}"}
LEAD_ACTIONS = ("lead", "offsite_conversion.fb_pixel_lead")


def insights(server, world, account_id: str, fields) -> list[dict]:
    """Every row of the 90 days of one account (every ad status), following paging.next."""
    url = f"{server.base_url}/v26.0/act_{account_id}/insights"
    params = {
        "level": "ad",
        "time_increment": "1",
        "limit": 500,
        "fields": ",".join(fields),
        "filtering": json.dumps([{"field": "ad.effective_status", "operator": "IN", "value": list(AD_EFFECTIVE_STATUSES)}]),
        "time_range": json.dumps({"since": world.start.isoformat(), "until": world.end.isoformat()}),
    }
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
        expected = {
            (ad.ad_id, ad.day.isoformat()): ad.claimed_leads_by(clock) * ad.campaign.value_per_lead
            for day in world.days_until(world.default_now)
            for ad in world.ad_days(day)
        }
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
        per_campaign = {c.name: Decimal(0) for c in CAMPAIGNS}
        usd = {c.name: Decimal(0) for c in CAMPAIGNS}
        currency = {c.name: c.account.currency for c in CAMPAIGNS}
        for row in rows:
            value = Decimal(lead_values(row).get("lead", 0))
            per_campaign[row["campaign_name"]] += value
            # each row at the rate of its own day, rounded to the cent, as the marts convert it
            usd[row["campaign_name"]] += world.fx.convert(
                value, currency[row["campaign_name"]], date.fromisoformat(row["date_start"])
            )
        truth = world.truth(clock).meta_conversion_value_by_campaign
        assert per_campaign == {c: m["account_currency"] for c, m in truth.items()}
        assert usd == {c: m["usd"] for c, m in truth.items()}
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
    assert only == [
        {k: v for k, v in r.items() if k in ("ad_id", "action_values", "date_start", "date_stop")} for r in world_rows
    ]
    total = sum(Decimal(lead_values(r).get("lead", 0)) for r in only)
    truth = world.truth(sandbox.sandbox.now).meta_conversion_value_by_campaign
    its_campaigns = {c.name for c in CAMPAIGNS if c.account == account}
    assert total == sum(truth[c]["account_currency"] for c in its_campaigns) and total > 0


def test_meta_conversion_value_truth_at_seed_7(world):
    """The numbers the marts must show at the default clock (seed 7, scale 1)."""
    truth = world.truth().meta_conversion_value_by_campaign
    assert truth == {
        "us_prospecting_lookalike": {"account_currency": Decimal("58380.00"), "usd": Decimal("58380.00")},
        "us_retargeting_site_visitors": {"account_currency": Decimal("117090.00"), "usd": Decimal("117090.00")},
        # EUR at each day's rate of the Bank of Russia series (world.fx)
        "eu_brand_awareness_video": {"account_currency": Decimal("10600.00"), "usd": Decimal("11384.83")},
        "eu_lead_gen_forms": {"account_currency": Decimal("33975.00"), "usd": Decimal("36497.80")},
    }
    # the 'lead' values are the claimed leads x each campaign's value per lead
    leads = sum(world.truth().meta_claimed_leads_by_account_day.values())
    assert sum(m["usd"] for m in truth.values()) == Decimal("223352.63") and leads == 3453
