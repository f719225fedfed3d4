"""``python -m sandbox serve`` as a person runs it: its output, its knobs and its errors.

GIVEN the command line the README documents, WHEN it is started, THEN it prints
exactly its base URL; ``--scale 2`` serves about twice the business of
``--scale 1``; ``--start``/``--end`` (or ``--days``) and ``--now`` move the served
dates and nothing outside them is served; ``--no-hubspot-enterprise`` serves a
portal whose events API answers 403; bad options fail with one line, exit 2.
"""

from __future__ import annotations

import json
import math
import re
import select
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
import requests

from sandbox.world import AD_ACCOUNTS, GOOGLE_ADS_CUSTOMERS, World
from sandbox.world_email import NEWSLETTER
from sandbox.world_web import PROPERTY_ID
from tests.sandbox.test_sandbox_determinism import GA4, GOOGLE_ADS, HUBSPOT, MAILCHIMP, META, serve
from tests.spec_contracts import REPO

# README: "`.venv/bin/python -m sandbox serve --port 0 --seed 7 --scale 1` prints its base URL".
BASE_URL = re.compile(r"http://127\.0\.0\.1:(?P<port>[1-9]\d{0,4})")


def test_serve_prints_exactly_its_base_url_and_serves_there(tmp_path):
    conns = tmp_path / "conns.env"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "serve",
            "--port",
            "0",
            "--seed",
            "7",
            "--scale",
            "1",
            "--connections-file",
            str(conns),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)  # a server that never prints fails, not hangs
        line = proc.stdout.readline() if ready else ""
        assert BASE_URL.fullmatch(line.rstrip("\n")), repr(line)  # the URL alone on its line, logs go to stderr
        base_url = line.strip()
        assert requests.get(f"{base_url}/3.0/ping", auth=MAILCHIMP, timeout=30).json() == {
            "health_status": "Everything's Chimpy!"
        }
        hosts = {
            json.loads(value.strip("'"))["host"] for value in (row.split("=", 1)[1] for row in conns.read_text().splitlines())
        }
        assert hosts == {base_url}
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=30)
    assert rest == ""  # nothing but the URL on stdout


# ---- --scale -----------------------------------------------------------------------------------


def _within_sampling_error(n1: int, n2: int) -> bool:
    """n2/n1 == 2 within 4 standard errors. Each count is a sum of independent daily random draws
    around an expected value proportional to the scale (Poisson-like), so the ratio's relative
    standard error is about sqrt(1/n1 + 1/n2): ±7% for the ~5,000 contacts, ±1.3% for 150,000
    sessions, ±19% for ~700 deals. Seed 7 is fixed, so the test is deterministic; the bound says
    how far from 2 a correct world can be."""
    return abs(n2 / n1 - 2) <= 4 * 2 * math.sqrt(1 / n1 + 1 / n2)


def _counts(world: World) -> dict[str, int]:
    truth = world.truth()
    return {
        "contacts": truth.contact_count,
        "deals": truth.deal_count,
        "sessions": truth.session_count,
        "newsletter members": sum(truth.list_members_by_status[NEWSLETTER.list_id].values()),
        "emails sent": int(sum(c["emails_sent"] for c in truth.email_by_campaign.values())),
    }


@pytest.mark.slow
def test_scale_2_is_about_twice_the_business_of_scale_1():
    one, two = _counts(World(seed=7, scale=1)), _counts(World(seed=7, scale=2))
    assert one["contacts"] > 4000 and one["sessions"] > 100_000  # the demo business, not an empty one
    off = {name: (one[name], two[name]) for name in one if not _within_sampling_error(one[name], two[name])}
    assert not off, off
    # Spend is budget x scale x noise drawn per day from the same seeded streams: twice, to the cent's rounding.
    spend1, spend2 = World(seed=7, scale=1).truth().total_spend_usd, World(seed=7, scale=2).truth().total_spend_usd
    assert float(spend2 / spend1) == pytest.approx(2, rel=0.01)


@pytest.mark.slow
def test_scale_flag_changes_the_counts_served_over_http():
    served = {}
    for scale in ("1", "2"):
        with serve("--seed", "7", "--scale", scale) as base_url:
            contacts = requests.post(
                f"{base_url}/crm/v3/objects/contacts/search", json={"limit": 1}, headers=HUBSPOT, timeout=60
            ).json()["total"]
            members = requests.get(
                f"{base_url}/3.0/lists/{NEWSLETTER.list_id}/members", params={"count": 1}, auth=MAILCHIMP, timeout=60
            ).json()["total_items"]
            served[scale] = (contacts, members)
    for scale, (contacts, members) in served.items():  # exactly the world the flag names
        truth = World(seed=7, scale=float(scale)).truth()
        assert contacts == truth.contact_count
        assert members == sum(truth.list_members_by_status[NEWSLETTER.list_id].values())
    assert _within_sampling_error(served["1"][0], served["2"][0]) and _within_sampling_error(served["1"][1], served["2"][1])
    assert served["2"][0] > 1.8 * served["1"][0]


# ---- the date range: --start, --end / --days, --now ----------------------------------------------

START, END = date(2026, 3, 2), date(2026, 3, 15)


def _google_ads_dates(base_url: str, since: date, until: date) -> set[str]:
    query = f"SELECT campaign.id, metrics.clicks, segments.date FROM campaign WHERE segments.date BETWEEN '{since}' AND '{until}'"
    dates = set()
    for customer in GOOGLE_ADS_CUSTOMERS:
        response = requests.post(
            f"{base_url}/v26/customers/{customer.customer_id}/googleAds:searchStream",
            json={"query": query},
            headers=GOOGLE_ADS,
            timeout=60,
        )
        assert response.status_code == 200, response.text
        dates |= {row["segments"]["date"] for batch in response.json() for row in batch.get("results", [])}
    return dates


def _meta_dates(base_url: str, since: date, until: date) -> set[str]:
    dates = set()
    for account in AD_ACCOUNTS:
        url, params = (
            f"{base_url}/v26.0/act_{account.account_id}/insights",
            {
                "level": "ad",
                "time_increment": "1",
                "limit": 500,
                "time_range": json.dumps({"since": str(since), "until": str(until)}),
            },
        )
        while url:
            response = requests.get(url, params=params, headers=META, timeout=60)
            assert response.status_code == 200, response.text
            page = response.json()
            dates |= {row["date_start"] for row in page["data"]}
            url, params = page.get("paging", {}).get("next"), None
    return dates


def _ga4_dates(base_url: str, since: date, until: date) -> set[str]:
    body = {
        "dateRanges": [{"startDate": str(since), "endDate": str(until)}],
        "dimensions": [{"name": "date"}],
        "metrics": [{"name": "sessions"}],
    }
    response = requests.post(f"{base_url}/v1beta/properties/{PROPERTY_ID}:runReport", json=body, headers=GA4, timeout=60)
    assert response.status_code == 200, response.text
    return {row["dimensionValues"][0]["value"] for row in response.json().get("rows", [])}


def _days(first: date, last: date, fmt: str = "%Y-%m-%d") -> set[str]:
    return {(first + timedelta(days=n)).strftime(fmt) for n in range((last - first).days + 1)}


def test_the_date_range_options_bound_the_served_days():
    # --now ten days after --end: every account's last day has ended, every late GA4 hit has arrived.
    with serve("--seed", "7", "--start", str(START), "--end", str(END), "--now", "2026-03-25") as base_url:
        wide = (date(2025, 1, 1), date(2027, 12, 31))
        # Ad platforms report in each account's own days: exactly the simulated days.
        assert _google_ads_dates(base_url, *wide) == _days(START, END)
        assert _meta_dates(base_url, date(2026, 1, 1), date(2026, 6, 30)) == _days(START, END)
        # GA4 reports in the property's time zone, so a simulated day's visits reach one property
        # date either side of it (World.session_dates): [start - 1, end + 1], nothing beyond.
        first, last = World(7, 1, START, (END - START).days + 1).session_dates
        assert (first, last) == (START - timedelta(days=1), END + timedelta(days=1))
        assert _ga4_dates(base_url, *wide) == _days(first, last, "%Y%m%d")
        # Outside the range: empty answers, also in the windows touching its edges.
        for since, until in (
            (date(2026, 2, 1), START - timedelta(days=1)),
            (END + timedelta(days=1), date(2026, 4, 30)),
            (date(2026, 6, 1), date(2026, 8, 29)),
        ):
            assert _google_ads_dates(base_url, since, until) == set(), (since, until)
            assert _meta_dates(base_url, since, until) == set(), (since, until)
        assert _ga4_dates(base_url, date(2026, 2, 1), first - timedelta(days=1)) == set()
        assert _ga4_dates(base_url, last + timedelta(days=1), date(2026, 4, 30)) == set()
        contacts = requests.post(
            f"{base_url}/crm/v3/objects/contacts/search", json={"limit": 1}, headers=HUBSPOT, timeout=60
        ).json()["total"]
        assert contacts == World(7, 1, START, (END - START).days + 1).truth(datetime(2026, 3, 25, tzinfo=UTC)).contact_count


def test_days_and_end_name_the_same_range_and_now_defaults_to_utc():
    query = {
        "query": "SELECT ad_group.id, metrics.cost_micros, segments.date FROM ad_group "
        "WHERE segments.date BETWEEN '2026-03-01' AND '2026-03-31'"
    }
    bodies = []
    for args in (["--end", str(END), "--now", "2026-03-20"], ["--days", "14", "--now", "2026-03-20T00:00:00+00:00"]):
        with serve("--seed", "7", "--start", str(START), *args) as base_url:
            response = requests.post(
                f"{base_url}/v26/customers/5550002/googleAds:searchStream", json=query, headers=GOOGLE_ADS, timeout=60
            )
            assert response.status_code == 200, response.text
            contacts = requests.get(f"{base_url}/crm/v3/objects/contacts", params={"limit": 5}, headers=HUBSPOT, timeout=60)
            assert contacts.status_code == 200, contacts.text  # a clock without offset used to 500 every data call
            bodies.append(response.content)
    assert bodies[0] == bodies[1]
    assert b'"date":"2026-03-15"' in bodies[0] and b'"date":"2026-03-16"' not in bodies[0]


def test_without_now_the_clock_is_midnight_after_the_last_day():
    with serve("--seed", "7", "--start", str(START), "--end", str(END)) as base_url:
        contacts = requests.post(
            f"{base_url}/crm/v3/objects/contacts/search", json={"limit": 1}, headers=HUBSPOT, timeout=60
        ).json()["total"]
    world = World(7, 1, START, (END - START).days + 1)
    assert world.default_now == datetime(2026, 3, 16, tzinfo=UTC)
    assert contacts == world.truth().contact_count


# ---- --no-hubspot-enterprise ---------------------------------------------------------------------


def test_no_hubspot_enterprise_makes_the_events_api_answer_403():
    visits = {"objectType": "contact", "objectId": "1000000000", "eventType": "e_visited_page"}
    with serve("--seed", "7", "--no-hubspot-enterprise") as base_url:
        events = requests.get(f"{base_url}/events/v3/events", params=visits, headers=HUBSPOT, timeout=60)
        contacts = requests.get(f"{base_url}/crm/v3/objects/contacts", params={"limit": 1}, headers=HUBSPOT, timeout=60)
    assert events.status_code == 403
    assert events.json()["category"] == "MISSING_SCOPES" and events.json()["status"] == "error"
    assert contacts.status_code == 200 and len(contacts.json()["results"]) == 1  # the CRM still answers
    with serve("--seed", "7") as base_url:  # the default portal has Marketing Hub Enterprise
        events = requests.get(f"{base_url}/events/v3/events", params=visits, headers=HUBSPOT, timeout=60)
    world = World(seed=7)
    assert events.status_code == 200
    assert [e["occurredAt"] for e in events.json()["results"]] == [
        t.event_record()["occurredAt"] for t in world.touches(world.contact("1000000000"))
    ][:10]


def test_serve_help_documents_every_knob():
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "serve", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for option in ("--seed", "--scale", "--start", "--end", "--days", "--now", "--faults", "--connections-file"):
        assert option in text
    assert "--no-hubspot-enterprise a HubSpot portal without Marketing Hub Enterprise" in text


# ---- bad input: one line, exit 2, no traceback ------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--start", "2026-13-01"], "argument --start: expected a date as YYYY-MM-DD, got '2026-13-01'"),
        (["--end", "2026-05-31"], "--end 2026-05-31 is before --start 2026-06-01"),
        (["--days", "0"], "--days must be positive, got 0"),
        (["--days", "3", "--end", "2026-06-05"], "argument --end: not allowed with argument --days"),
        (["--scale", "0"], "--scale must be a positive number, got 0.0"),
        (["--scale", "nan"], "--scale must be a positive number, got nan"),
        (["--now", "yesterday"], "argument --now: expected an ISO 8601 time"),
        (["--port", "70000"], "--port must be 0..65535, got 70000"),
        (["--faults", '{"rules": [{"kind": "meteor"}]}'], "--faults: unknown fault kind 'meteor'"),
    ],
)
def test_bad_options_fail_with_one_clear_line(args, message):
    done = subprocess.run([sys.executable, "-m", "sandbox", "serve", *args], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert "Traceback" not in done.stderr
    assert message in done.stderr.strip().splitlines()[-1]


def test_a_taken_port_fails_with_one_clear_line():
    with serve("--seed", "7") as base_url:
        port = BASE_URL.fullmatch(base_url)["port"]
        done = subprocess.run(
            [sys.executable, "-m", "sandbox", "serve", "--port", port], cwd=REPO, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr.strip().splitlines()[-1]
