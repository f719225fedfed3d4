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
from pathlib import Path

import duckdb
import pytest

from extractors import pipeline, settings
from extractors.sources import get_source
from tests.pipeline_helpers import run

# Every source through every fault, read three times: minutes; make test-fast leaves the module out.
pytestmark = pytest.mark.slow

SOURCES = ("hubspot", "meta_ads", "google_ads", "ga4", "mailchimp", "facebook_pages")
# The page and Instagram endpoints are Graph API paths: the fault plan's platform "meta".
PLATFORM = {
    "hubspot": "hubspot",
    "meta_ads": "meta",
    "google_ads": "google_ads",
    "ga4": "ga4",
    "mailchimp": "mailchimp",
    "facebook_pages": "meta",
}


# Pages small enough that a read has several, so that "the same record on two pages" really happens:
# Google Ads streams come in batches of 10,000 rows and GA4 reads 100,000 rows a page, more than the
# sandbox's accounts hold. (module, attribute, size): the sandbox's batch, the extractor's page.
SMALL_PAGES = {"google_ads": ("sandbox.apis.google_ads", "BATCH_SIZE", 100), "ga4": ("extractors.sources.ga4", "PAGE_LIMIT", 250)}


def checksums(source: str) -> dict[str, tuple[int, str]]:
    out = {}
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        for stream in get_source(source).streams:
            rows = con.execute(
                f"SELECT * EXCLUDE (_loaded_at, _batch_id) FROM raw_{source}.{stream.name} ORDER BY ALL"
            ).fetchall()
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
    batch = pipeline.extract(
        source, end=world.default_now, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir()
    )
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
def test_an_incremental_read_after_changes_equals_a_full_read(
    source, sandbox, connections, data_dir, world, tmp_path, monkeypatch
):
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


def _unit_key_patterns():
    """One unit of each source, told apart from its other units by endpoint (an account's path) or body."""
    from sandbox.world import AD_ACCOUNTS, GOOGLE_ADS_CUSTOMERS
    from sandbox.world_email import AUDIENCES
    from sandbox.world_social import FACEBOOK_PAGE

    meta, customer, audience = AD_ACCOUNTS[1].account_id, GOOGLE_ADS_CUSTOMERS[1].customer_id, AUDIENCES[1].list_id
    return {  # source -> (the refused unit, the fault rule's filters)
        "hubspot": ("contact_visits/4400001", {"endpoint": r"^/events/v3/events"}),
        "meta_ads": (f"insights/{meta}", {"endpoint": rf"/act_{meta}/insights"}),
        "google_ads": (
            f"ad_group_performance/{customer}",
            {"endpoint": rf"/customers/{customer}/", "body": r"segments\.date BETWEEN"},
        ),  # the report, not click_view (one day: =)
        "ga4": ("pages_daily/420000001", {"body": r"pagePath"}),
        "mailchimp": (f"list_members/{audience}", {"endpoint": rf"/lists/{audience}/members"}),
        "facebook_pages": (f"page_insights/{FACEBOOK_PAGE.account_id}", {"endpoint": rf"/{FACEBOOK_PAGE.account_id}/insights$"}),
    }


def _tables(source: str) -> dict[str, tuple[int, str]]:
    """checksums(), with a stream whose table was never created counted as empty."""
    out = {}
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        existing = {
            t
            for (t,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [f"raw_{source}"]
            ).fetchall()
        }
        for stream in get_source(source).streams:
            rows = (
                con.execute(f"SELECT * EXCLUDE (_loaded_at, _batch_id) FROM raw_{source}.{stream.name} ORDER BY ALL").fetchall()
                if stream.name in existing
                else []
            )
            out[stream.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return out


@pytest.mark.parametrize("source", SOURCES)
def test_one_refused_unit_fails_alone_keeps_its_cursor_and_is_read_by_the_next_run(
    source, sandbox, connections, data_dir, world, clean
):
    """GIVEN the platform refuses one unit for good (HTTP 400 in its own shape) among several
    WHEN the source runs THEN the load fails naming that unit alone, every other stream equals the
    clean read, the refused stream holds only its other accounts' rows, the unit's cursor did not
    move and its request was sent once (a 4xx is not repeated); WHEN the platform answers again
    THEN the next run reads the unit and every table equals the clean read: nothing lost, nothing
    doubled. Before units were isolated, the refusal discarded the whole source's batch."""
    from extractors.errors import PartialFailure
    from tests.pipeline_helpers import rows

    key, rule = _unit_key_patterns()[source]
    stream, account = key.split("/")
    sandbox.faults.add("client_error", platform=PLATFORM[source], **rule)
    with pytest.raises(PartialFailure) as err:
        run(source, world.default_now)
    assert list(err.value.failed) == [key] and not err.value.retryable
    assert "HTTP 400" in err.value.failed[key] and "not retried" in err.value.failed[key]
    assert str(err.value).startswith(f"{source}: loaded every ") and account in str(err.value) and "\n" not in str(err.value)
    assert len(sandbox.faults.fired) == 1  # refused once, never repeated
    after = _tables(source)
    assert {s: c for s, c in after.items() if s != stream} == {s: c for s, c in clean[source].items() if s != stream}
    others = rows(f"SELECT DISTINCT _account_id FROM raw_{source}.{stream}") if after[stream][0] else []
    assert account not in {a for (a,) in others} and after[stream][0] < clean[source][stream][0]
    assert (stream, account) not in {
        tuple(r) for r in rows(f"SELECT stream, account_id FROM _funnelhouse.stream_state WHERE source = '{source}'")
    }

    sandbox.faults.clear()
    [result] = run(source, world.default_now)
    assert key in result.units and result.failed_units == {}
    assert _tables(source) == clean[source]


def test_a_retry_of_the_extract_task_reads_only_the_failed_unit_and_the_load_doubles_nothing(
    sandbox, connections, data_dir, world, clean, monkeypatch
):
    """GIVEN one Google Ads report unit keeps failing with 5xx until the client gives up
    WHEN the DAG's extract task runs with tries left THEN it fails retryable after landing the
    fourteen other units (five streams x three customers); WHEN Airflow retries it and the platform is well again THEN the retry sends
    exactly that unit's one request (the landed batch covers the rest), and the load of both
    batches equals a clean read."""
    import functools

    from extractors import http, sources
    from extractors.errors import PartialFailure
    from extractors.landing import Manifest
    from funnelhouse import steps

    monkeypatch.setattr(sources, "RetryPolicy", functools.partial(http.RetryPolicy, sleep=lambda s: None))
    key, rule = _unit_key_patterns()["google_ads"]
    sandbox.faults.add("server_error", platform="google_ads", status=503, **rule)
    with pytest.raises(PartialFailure) as err:
        steps.extract("google_ads", end=world.default_now, retries_left=True)
    assert err.value.retryable and list(err.value.failed) == [key] and "failed after 6 attempts" in err.value.failed[key]
    [first] = [b for b in (settings.landing_dir() / "google_ads").iterdir()]
    assert len(Manifest.read(first).units) == 14 and [f.key for f in Manifest.read(first).failed_units] == [key]

    sandbox.faults.clear()
    sent = []
    sandbox.sandbox.request_hooks.append(lambda request: sent.append((request.path, request.body)))
    retry = steps.extract("google_ads", end=world.default_now, retries_left=True)
    assert len(sent) == 1 and sent[0][0].endswith(f"/customers/{key.split('/')[1]}/googleAds:searchStream")
    assert b"segments.date" in sent[0][1]
    assert [f"{u.stream}/{u.account_id}" for u in Manifest.read(Path(retry)).units] == [key]
    summary = steps.load("google_ads")
    assert len(summary["batches"]) == 2 and summary["failed_units"] == {key: err.value.failed[key]}
    assert _tables("google_ads") == clean["google_ads"]


def test_on_the_last_try_the_extract_succeeds_and_the_load_loads_the_rest_then_fails_fast(
    sandbox, connections, data_dir, world, clean, monkeypatch
):
    """GIVEN a unit that keeps failing (5xx) on the extract's last try, and a Mailchimp audience that
    does not exist (404) WHEN the DAG's extract and load run (through the DAG's fail-fast wrapper)
    THEN the extract succeeds, the load loads every other unit and fails without retries (Airflow's
    AirflowFailException), its one line naming both units; a 404 alone is never retried by Airflow."""
    import functools
    import json
    import runpy

    from airflow.sdk.exceptions import AirflowFailException

    from extractors import http, sources
    from funnelhouse import steps

    wrap = runpy.run_path(str(Path(settings.__file__).parents[1] / "dags" / "funnelhouse_pipeline.py"))["_fail_fast_on_bad_input"]
    monkeypatch.setattr(sources, "RetryPolicy", functools.partial(http.RetryPolicy, sleep=lambda s: None))
    conn = json.loads(os.environ["AIRFLOW_CONN_MAILCHIMP"])
    conn["extra"]["list_ids"] += ["0000000000"]  # no such audience: Mailchimp answers 404
    monkeypatch.setenv("AIRFLOW_CONN_MAILCHIMP", json.dumps(conn))
    sandbox.faults.add("server_error", platform="mailchimp", endpoint=r"^/3\.0/reports$", status=500)
    wrap(steps.extract)("mailchimp", end=world.default_now, retries_left=False)
    with pytest.raises(AirflowFailException) as err:
        wrap(steps.load)("mailchimp")
    line = str(err.value)
    assert line.startswith("mailchimp: loaded every unit except list_members/0000000000, reports/account: ")
    assert "HTTP 404" in line and "failed after 6 attempts" in line
    after = _tables("mailchimp")
    assert {s: c for s, c in after.items() if s != "reports"} == {s: c for s, c in clean["mailchimp"].items() if s != "reports"}
    assert after["reports"][0] == 0


def test_a_failure_of_every_unit_still_fails_clearly(sandbox, connections, data_dir, world):
    from extractors.errors import PartialFailure

    sandbox.faults.add("client_error", platform="meta", status=404)
    with pytest.raises(PartialFailure, match=r"^meta_ads: nothing was loaded, every unit failed: .*HTTP 404: \(#803\)") as err:
        run("meta_ads", world.default_now)
    assert len(err.value.failed) == 4 and not err.value.retryable
