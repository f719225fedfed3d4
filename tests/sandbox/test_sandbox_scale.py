"""The sandbox at scale: report endpoints serve from kept per-day aggregates, member listings
find their page without walking every member, and the benchmark's options fail clearly."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import requests

from sandbox.server import DEFAULT_TOKENS, SandboxServer
from sandbox.world import World
from sandbox.world_email import AUDIENCES, NEWSLETTER, EmailWorld, epoch_seconds
from sandbox.world_web import PROPERTY_ID

MAILCHIMP_AUTH = ("anyone", DEFAULT_TOKENS["mailchimp"])


def numbers(rows) -> list[int]:
    return [members.first_number + i for members, i in rows]


def test_member_page_is_the_full_walk_sliced():
    world = World(seed=7, scale=3, days=30)
    email = world.mailchimp
    # the end of the world, and mid-day inside it (some of that day's members have not signed up yet)
    for as_of in (world.default_now, datetime(2026, 6, 10, 13, 30, tzinfo=UTC)):
        for audience in AUDIENCES:
            walk = numbers(email.member_rows(audience, as_of))
            assert len(walk) > 3_000
            for offset, count in ((0, 1000), (1234, 1000), (len(walk) - 5, 1000), (len(walk), 10), (len(walk) + 50, 10), (17, 0)):
                total, page = email.member_page(audience, as_of, offset, count)
                assert total == len(walk)
                assert numbers(page) == walk[offset : offset + count]
    cut = datetime(2026, 6, 10, 13, 30, tzinfo=UTC)
    signups = email.members_joined_on(NEWSLETTER, cut.date()).signup
    assert min(signups) <= epoch_seconds(cut) < max(signups)  # the mid-day clock above cut a day short


def test_members_pages_do_not_walk_every_member(monkeypatch):
    world = World(seed=7, scale=3, days=30)
    walked = []
    full_walk = EmailWorld.member_rows

    def counting_walk(self, audience, as_of):
        walked.append(audience.list_id)
        return full_walk(self, audience, as_of)

    expected = numbers(full_walk(world.mailchimp, NEWSLETTER, world.default_now))
    monkeypatch.setattr(EmailWorld, "member_rows", counting_walk)
    with SandboxServer(world) as server:
        url = f"{server.base_url}/3.0/lists/{NEWSLETTER.list_id}/members"
        seen = []
        for offset in range(0, len(expected) + 1000, 1000):
            page = requests.get(url, params={"count": 1000, "offset": offset}, auth=MAILCHIMP_AUTH, timeout=60).json()
            assert page["total_items"] == len(expected)
            seen += [m["email_address"] for m in page["members"]]
        assert walked == []  # unfiltered pages come from the days' sizes
        assert seen == [f"reader{n}@example.net" for n in expected]

        # a filtered listing walks the members once per clock and filter, then pages from its index
        since = (world.default_now - timedelta(days=10)).isoformat()
        pages = [
            requests.get(
                url, params={"count": 100, "offset": o, "since_last_changed": since}, auth=MAILCHIMP_AUTH, timeout=60
            ).json()
            for o in (0, 100, 200)
        ]
        assert walked == [NEWSLETTER.list_id]
        assert len({p["total_items"] for p in pages}) == 1 and pages[0]["total_items"] > 200
        assert all(m["last_changed"] >= since for p in pages for m in p["members"])


@pytest.mark.slow
def test_reports_read_kept_days_without_regenerating_the_people():
    world = World(seed=7, scale=40, days=30)
    assert world.cache_info()["capacity"] < world.days  # the LRU of full days cannot hold the period
    first = sum(b.sessions for b in world.iter_session_blocks(*world.session_dates, world.default_now))
    generated = world.cache_info()["generated_days"]
    assert generated == world.days
    assert sum(b.sessions for b in world.iter_session_blocks(*world.session_dates, world.default_now)) == first
    assert sum(1 for _ in world.iter_ad_group_days(None, world.start, world.end, world.default_now)) > 0
    assert world.cache_info()["generated_days"] == generated  # GA4 and ad reports: nothing rebuilt
    assert world.cache_info()["cached_days"] <= world.cache_info()["capacity"]  # contacts stay in the bounded LRU

    with SandboxServer(world) as server:
        body = {
            "dateRanges": [{"startDate": world.start.isoformat(), "endDate": world.end.isoformat()}],
            "dimensions": [{"name": "date"}, {"name": "pagePath"}],
            "metrics": [{"name": "screenPageViews"}],
            "limit": "100000",
        }
        report = requests.post(
            f"{server.base_url}/v1beta/properties/{PROPERTY_ID}:runReport",
            json=body,
            timeout=60,
            headers={"Authorization": f"Bearer {DEFAULT_TOKENS['ga4']}"},
        ).json()
    assert world.cache_info()["generated_days"] == generated
    views = sum(int(r["metricValues"][0]["value"]) for r in report["rows"])
    assert views == sum(v for b in world.iter_session_blocks(world.start, world.end, world.default_now) for _, v, *_ in b.pages)


def test_session_block_pages_iterate_as_tuples():
    world = World(seed=7, days=3)
    block = next(world.iter_session_blocks(world.start, world.end, world.default_now))
    pages = list(block.pages)
    assert len(pages) == len(block.pages) > 0
    assert pages[0][0] == block.landing_page and pages[0][1] == pages[0][2] == block.sessions
    assert sum(p[1] for p in pages) == block.page_views
    assert sum(p[3] for p in pages) == block.sessions  # every session exits from exactly one page
    assert sum(p[4] for p in pages) == block.duration_seconds


@pytest.mark.parametrize(
    "args, message",
    [
        (["--scales", "1,ten"], "scales must be numbers separated by commas"),
        (["--scales", "0"], "scales must be positive numbers"),
        (["--max-requests", "0"], "--max-requests must be at least 1"),
    ],
)
def test_benchmark_options_fail_with_one_clear_line(args, message):
    done = subprocess.run([sys.executable, "-m", "benchmarks", "sandbox", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert message in done.stderr.strip().splitlines()[-1]
