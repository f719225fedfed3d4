"""Every source the sandbox serves, against the sandbox's faults.

GIVEN a clean read of each source as the reference,
WHEN the platform throttles in its own way, fails with 5xx bursts, cuts or garbles
bodies and repeats records across pages, THEN the raw tables are identical to the
clean read: nothing lost, nothing doubled. Re-reading the same interval three
times changes nothing, and no token reaches a landing file, a table or a log line.
"""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

import duckdb
import pytest

from extractors import pipeline, settings
from extractors.sources import get_source
from tests.pipeline_helpers import run

SOURCES = ("hubspot", "meta_ads", "google_ads", "ga4", "mailchimp", "facebook_pages")
# The page and Instagram endpoints are Graph API paths: the fault plan's platform "meta".
PLATFORM = {"hubspot": "hubspot", "meta_ads": "meta", "google_ads": "google_ads", "ga4": "ga4", "mailchimp": "mailchimp",
            "facebook_pages": "meta"}


# Pages small enough that a read has several, so that "the same record on two pages" really happens:
# Google Ads streams come in batches of 10,000 rows and GA4 reads 100,000 rows a page, more than the
# sandbox's accounts hold. (module, attribute, size): the sandbox's batch, the extractor's page.
SMALL_PAGES = {"google_ads": ("sandbox.apis.google_ads", "BATCH_SIZE", 100),
               "ga4": ("extractors.sources.ga4", "PAGE_LIMIT", 250)}


def checksums(source: str) -> dict[str, tuple[int, str]]:
    out = {}
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        for stream in get_source(source).streams:
            rows = con.execute(f"SELECT * EXCLUDE (_loaded_at, _batch_id) FROM raw_{source}.{stream.name} ORDER BY ALL").fetchall()
            out[stream.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return out


@pytest.fixture(scope="module")
def clean(tmp_path_factory, world):
    """Each source read once without faults: the reference the faulty runs must equal."""
    from sandbox.server import SandboxServer

    data = tmp_path_factory.mktemp("clean") / "data"
    saved = dict(os.environ)
    try:
        with SandboxServer(world) as server:
            os.environ.update({**server.connections(), "FUNNELHOUSE_DATA_DIR": str(data)})
            out = {}
            for source in SOURCES:
                run(source, world.default_now)
                out[source] = checksums(source)
            return out
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.mark.parametrize("source", SOURCES)
def test_faults_change_nothing_in_the_raw_tables(source, sandbox, connections, data_dir, world, clean, monkeypatch):
    import functools

    from extractors import http, sources

    waits: list[float] = []  # the platform's waits are recorded, not slept
    monkeypatch.setattr(sources, "RetryPolicy", functools.partial(http.RetryPolicy, sleep=waits.append))
    platform = PLATFORM[source]
    sandbox.faults.add("rate_limit", platform=platform, schedule=[1, 4])
    sandbox.faults.add("server_error", platform=platform, schedule=[2], burst=2, status=[500, 503])
    sandbox.faults.add("truncate", platform=platform, schedule=[6], fraction=0.7)
    sandbox.faults.add("malformed", platform=platform, schedule=[8], style="html")
    sandbox.faults.add("duplicate", platform=platform, probability=0.5, seed=11)
    if source in SMALL_PAGES:
        module, name, size = SMALL_PAGES[source]
        monkeypatch.setattr(f"{module}.{name}", size)
    run(source, world.default_now)
    fired = {f.kind for f in sandbox.faults.fired}
    assert {"rate_limit", "server_error", "truncate"} <= fired
    if source in SMALL_PAGES:  # records repeated across pages (batches) did reach the extractor, and were deduped
        assert "duplicate" in fired
    # Streams run in parallel: the throttle's wait need not be the first one recorded.
    assert len(waits) >= 5 and max(waits) >= 5.0  # every failure was retried; the throttle was honoured
    assert checksums(source) == clean[source]
    assert all(n > 0 for n, _ in clean[source].values()), "every stream of the reference read holds rows"


@pytest.mark.parametrize("source", SOURCES)
def test_rereading_the_same_interval_three_times_changes_nothing(source, sandbox, connections, data_dir, world, clean):
    start = world.default_now - timedelta(days=20)
    run(source, world.default_now)
    sums = []
    for _ in range(3):
        run(source, world.default_now, start=start)
        sums.append(checksums(source))
    assert sums[0] == sums[1] == sums[2] == clean[source]


@pytest.mark.parametrize("source", SOURCES)
def test_no_secret_reaches_landing_files_tables_or_logs(source, sandbox, connections, data_dir, world, caplog):
    caplog.set_level("DEBUG")
    sandbox.faults.add("server_error", platform=PLATFORM[source], schedule=[1])  # an error message in the logs too
    batch = pipeline.extract(source, end=world.default_now, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    landed = b"".join(p.read_bytes() for p in batch.rglob("*") if p.is_file())
    pipeline.load(source, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir())
    stored = settings.warehouse_path().read_bytes()
    assert f"{source} " in caplog.text and "HTTP 5" in caplog.text  # the run's lines and its error were captured
    for secret in sandbox.sandbox.tokens.values():
        assert secret.encode() not in landed and secret.encode() not in stored and secret not in caplog.text



# Rows that are a snapshot taken by each run (keyed by the run's interval end), not records the
# platform keeps: an incremental reader holds one per run, a full read one.
RUN_SNAPSHOTS = {"facebook_pages": {"account_snapshots"}}


@pytest.mark.parametrize("source", SOURCES)
def test_an_incremental_read_after_changes_equals_a_full_read(source, sandbox, connections, data_dir, world, tmp_path,
                                                               monkeypatch):
    """Read ten days before the clock, let the business move on (new records, restated
    conversions, late GA4 hits, growing counters, stage changes), read again from the saved
    cursors: the raw tables equal one full read at the new clock over the same history."""
    import json

    # Both readers start their report streams on one day (else the default history, 90 days
    # before each first read's end, would differ by the ten days).
    key = f"AIRFLOW_CONN_{get_source(source).conn_id.upper()}"
    conn = json.loads(os.environ[key])
    conn["extra"]["start_date"] = (world.start - timedelta(days=5)).isoformat()
    monkeypatch.setenv(key, json.dumps(conn))

    earlier = world.default_now - timedelta(days=10)
    sandbox.set_clock(earlier)
    run(source, earlier)
    first = checksums(source)
    sandbox.set_clock(world.default_now)
    run(source, world.default_now)
    incremental = checksums(source)

    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path / "full"))
    run(source, world.default_now)
    full = checksums(source)
    snapshots = RUN_SNAPSHOTS.get(source, set())
    assert {s: c for s, c in incremental.items() if s not in snapshots} == {s: c for s, c in full.items() if s not in snapshots}
    assert all(incremental[s][0] == 2 * full[s][0] for s in snapshots)  # one snapshot per run
    assert first != incremental  # the second read did change something
