"""Backlinks from Yandex Webmaster: the sandbox's link samples and history, the yandex_webmaster
extractor, and backlinks_weekly against the world's links.

GIVEN the seed-7 world's links (sandbox/world_links.py: found over time, some lost again),
WHEN the source runs at three instants two weeks apart and dbt builds backlinks_weekly,
THEN each snapshot holds exactly the links Yandex listed then (offset paging of 100), and each
snapshot week shows the world's referring domains, links, new links and the links lost since the
previous snapshot.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import requests

from extractors import settings
from sandbox.world_links import HOST_ID, USER_ID
from tests.pipeline_helpers import rows, run
from tests.test_dbt_project import run_dbt

BASE = f"/v4/user/{USER_ID}/hosts/{HOST_ID}/links/external"


def test_samples_page_by_offset_and_the_set_changes_over_time(sandbox, world):
    auth = {"Authorization": "OAuth sandbox-yandex-webmaster-token"}
    first = requests.get(sandbox.base_url + BASE + "/samples", params={"limit": 100}, headers=auth, timeout=30).json()
    assert set(first["links"][0]) == {"source_url", "destination_url", "discovery_date", "source_last_access_date"}
    assert first["count"] == len(world.links.known(world.default_now)) > 100 and len(first["links"]) == 100
    rest = requests.get(sandbox.base_url + BASE + "/samples", params={"limit": 100, "offset": 100}, headers=auth, timeout=30).json()
    assert len(rest["links"]) == first["count"] - 100
    assert requests.get(sandbox.base_url + BASE + "/samples", params={"limit": 101}, headers=auth, timeout=30).status_code == 400
    assert requests.get(sandbox.base_url + BASE + "/samples", headers={"Authorization": "OAuth nope"}, timeout=30).status_code == 401
    early = {l.source_url for l in world.links.known(world.default_now - timedelta(days=30))}
    late = {l.source_url for l in world.links.known(world.default_now)}
    assert early - late and late - early  # links lost and found between the two


def test_backlinks_weekly_equals_the_worlds_links(sandbox, connections, data_dir, world):
    instants = [world.default_now - timedelta(days=28), world.default_now - timedelta(days=14), world.default_now]
    for at in instants:
        sandbox.set_clock(at)
        run("yandex_webmaster", end=at)
    snapshots = {d for (d,) in rows("SELECT DISTINCT snapshot_date FROM raw_yandex_webmaster.external_links")}
    assert snapshots == {(at - timedelta(days=1)).date() for at in instants}
    for at in instants:
        day = (at - timedelta(days=1)).date()
        landed = {(s, d) for s, d in rows(f"SELECT source_url, destination_url FROM raw_yandex_webmaster.external_links "
                                          f"WHERE snapshot_date = '{day}'")}
        assert landed == {(l.source_url, l.destination_url) for l in world.links.known(at)}

    path = settings.warehouse_path()
    run_dbt("build", "--select", "+backlinks_weekly", workdir=data_dir, warehouse=path)
    with duckdb.connect(str(path), read_only=True) as con:
        built = {w: r for w, *r in con.execute(
            "SELECT week_start_date, snapshot_date, referring_domains, snapshot_links, total_links, new_links, lost_links "
            "FROM marts.backlinks_weekly").fetchall()}
    previous = None
    for at in instants:
        known = world.links.known(at)
        day = (at - timedelta(days=1)).date()
        week = day - timedelta(days=day.weekday())
        seen = {(l.source_url, l.destination_url, l.discovered) for a in instants for l in world.links.known(a)}
        expected_lost = None if previous is None else len({(l.source_url, l.destination_url) for l in previous}
                                                          - {(l.source_url, l.destination_url) for l in known})
        assert built[week] == [day, len({l.domain for l in known}), len(known),
                               world.links.total_on(min(week + timedelta(days=6), world.end)),  # the last run's history reaches the week's end
                               sum(1 for _, _, d in seen if week <= d <= week + timedelta(days=6)), expected_lost], week
        previous = known
    # history-only weeks: Yandex's count, no snapshot
    assert built[date(2026, 6, 1)][0] is None and built[date(2026, 6, 1)][3] == world.links.total_on(date(2026, 6, 7))
