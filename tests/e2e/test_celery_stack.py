"""The pipeline on a real distributed Airflow: CeleryExecutor, PostgreSQL metadata, Redis broker.

GIVEN this machine's PostgreSQL and Redis (started if down), a metadata database made for the test,
``airflow api-server``, ``scheduler`` and ``dag-processor``, and two ``airflow celery worker``
processes with their own hostnames and data dirs: ``warehouse-worker`` serves the ``warehouse``
queue (and ``default``), ``extract-worker`` only ``default`` and has no warehouse at all; landing
batches go to a directory both reach (FUNNELHOUSE_LANDING_URL), the sandbox plays the platforms;
WHEN the DAG is triggered with a logical date (the CLI, as README documents);
THEN the run succeeds within a bounded time, the published marts hold the sandbox's ground truth,
extraction ran on both workers and every warehouse task on the warehouse worker.

Also on the same stack (one set of server processes; workers restarted with fresh data dirs):
a worker SIGKILLed mid-extraction (its task is retried on the other worker, the marts equal the
clean run's), `airflow backfill create` over the days before the clean run's date (raw tables
and marts equal the single run's), and a source with a refused token (the others load and
publish, freshness names the stale source, the failure alert reaches a local webhook).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest

from sandbox.server import SandboxServer
from sandbox.world import World
from tests.airflow_stack import CeleryStack, copy_published
from tests.pipeline_helpers import table_checksums

pytestmark = pytest.mark.timeout(2400)

SOURCES = ("hubspot", "meta_ads", "google_ads", "ga4", "mailchimp", "facebook_pages")
WAREHOUSE_TASKS = {*(f"load_{s}" for s in SOURCES), "transform", "quality_gate", "publish", "freshness"}
RUN_TIMEOUT_S = 900
# Keyed on the instant a run reads up to (the follower counts are snapshots taken "as of" it): runs with
# different logical dates hold the same counts under different keys, compared by value instead.
RUN_DATED = {"raw_facebook_pages.account_snapshots", "marts.social_engagement"}
BACKFILL_DAYS = 3
# A small business keeps the stack's runs short: 35 days at a quarter of the default scale.
WORLD = dict(seed=7, scale=0.25, days=35)


@pytest.fixture(scope="module")
def small_world() -> World:
    return World(**WORLD)


@pytest.fixture(scope="module")
def sandbox(small_world):
    with SandboxServer(small_world) as server:
        yield server


@pytest.fixture(scope="module")
def alerts():
    """A local chat-webhook receiver: every JSON body posted to it."""
    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks", received
    server.shutdown()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, sandbox):
    stack = CeleryStack(tmp_path_factory.mktemp("celery"), connections=sandbox.connections())
    try:
        started = time.monotonic()
        stack.start()
        stack.started_in_s = time.monotonic() - started
        yield stack
    finally:
        stack.close()


def same_data(a: dict, b: dict) -> bool:
    """Table checksums equal, the run-dated tables left to same_followers()."""
    return {t: v for t, v in a.items() if t not in RUN_DATED} == {t: v for t, v in b.items() if t not in RUN_DATED}


def followers(run: dict) -> list[tuple]:
    with duckdb.connect(str(run["data"]["warehouse"] / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("""SELECT _account_id, _record->>'followers_count', _record->>'fan_count'
                              FROM raw_facebook_pages.account_snapshots ORDER BY ALL""").fetchall()


def _logical_date(world: World, days_after_the_worlds_now: int = 0) -> str:
    """A run at midnight D reads up to D. The world's clock is the midnight after its last day; each
    triggered run needs a logical date of its own, and runs at or after the clock read the same data."""
    return f"{world.end + timedelta(days=1 + days_after_the_worlds_now)}T00:00:00+00:00"


def _run(stack: CeleryStack, name: str, start) -> dict:
    """Fresh data dirs and landing storage for both workers, start them, run ``start()`` (trigger or
    backfill), wait, stop them."""
    data = {"warehouse": stack.root / name / "warehouse-data", "extract": stack.root / name / "extract-data"}
    stack.start_workers(data, landing=stack.root / name / "landing")
    started = time.monotonic()
    try:
        states = start()
    finally:
        stack.stop_workers()
    out = {"states": states, "seconds": round(time.monotonic() - started, 1), "data": data}
    warehouse = data["warehouse"] / "warehouse.duckdb"
    if warehouse.exists():
        out["raw"] = table_checksums(warehouse, "raw\\_%")
    if (data["warehouse"] / "published" / "funnelhouse.duckdb").exists():
        out["published"] = copy_published(data["warehouse"], stack.root / name / "published.duckdb")
        out["marts"] = table_checksums(out["published"], "marts")
    return out


@pytest.fixture(scope="module")
def clean_run(stack, small_world):
    def trigger():
        run_id = stack.trigger(_logical_date(small_world, 1), "clean")
        return {run_id: stack.wait_for_run(run_id, RUN_TIMEOUT_S)}

    out = _run(stack, "clean", trigger)
    out["tries"] = stack.task_tries("clean")
    return out


def test_the_celery_run_succeeds_and_publishes_the_worlds_numbers(clean_run, small_world):
    assert clean_run["states"] == {"clean": "success"}, clean_run
    with duckdb.connect(str(clean_run["published"]), read_only=True) as marts:
        assert_marts_hold_the_world(marts, small_world)


def test_extraction_ran_on_both_workers_and_every_warehouse_task_on_the_warehouse_worker(clean_run):
    final = {task: host for task, _, host, state in clean_run["tries"] if state == "success"}
    assert {final[f"extract_{s}"] for s in SOURCES} == {"warehouse-worker", "extract-worker"}, final
    assert {task: final[task] for task in WAREHOUSE_TASKS} == dict.fromkeys(WAREHOUSE_TASKS, "warehouse-worker")
    # the extract worker never had a warehouse: extraction planned from the landing storage's cursor copy
    assert not (clean_run["data"]["extract"] / "warehouse.duckdb").exists()


@pytest.fixture(scope="module")
def killed_run(stack, sandbox, small_world, clean_run):
    """The same run on fresh data dirs; the extract worker is SIGKILLed while one of its extract tasks
    is half way through (its batch has pages but no manifest)."""
    killed = {}

    def mid_extraction() -> str | None:
        running = stack.query("""SELECT task_id FROM task_instance WHERE run_id = 'killed' AND state = 'running'
                                 AND task_id LIKE 'extract_%%' AND hostname = 'extract-worker'""")
        for (task_id,) in running:
            source = task_id.removeprefix("extract_")
            folder = stack.landing / source
            if folder.exists() and any(
                not (b / "manifest.json").exists() and any(b.rglob("page-*.ndjson")) for b in folder.iterdir() if b.is_dir()
            ):
                return task_id
        return None

    def trigger_and_kill():
        # Every answer 50 ms late, so each extraction lasts long enough to be caught half way.
        sandbox.faults.add({"kind": "slow", "probability": 1.0, "params": {"seconds": 0.05}})
        try:
            stack.trigger(_logical_date(small_world, 2), "killed")
            deadline = time.monotonic() + 300
            while not (task := mid_extraction()):
                assert time.monotonic() < deadline, f"no extraction seen half way on the extract worker\n{stack.tail_logs()}"
                time.sleep(0.2)
            stack.kill_worker("extract")
            killed["task"] = task
        finally:
            sandbox.faults.clear()
        return {"killed": stack.wait_for_run("killed", RUN_TIMEOUT_S)}

    out = _run(stack, "killed", trigger_and_kill)
    out["killed_task"] = killed.get("task")
    out["tries"] = stack.task_tries("killed")
    return out


def test_a_worker_killed_mid_extraction_is_retried_on_the_other_and_the_marts_equal_a_clean_run(killed_run, clean_run):
    assert killed_run["states"] == {"killed": "success"}, killed_run
    task = killed_run["killed_task"]
    tries = [(n, host, state) for t, n, host, state in killed_run["tries"] if t == task]
    assert tries[0][1] == "extract-worker" and tries[0][2] != "success", tries
    assert tries[-1][1:] == ("warehouse-worker", "success"), tries
    # nothing lost, nothing doubled
    assert same_data(killed_run["raw"], clean_run["raw"]) and followers(killed_run) == followers(clean_run)
    assert same_data(killed_run["marts"], clean_run["marts"])


@pytest.fixture(scope="module")
def backfill(stack, small_world, clean_run):
    """`airflow backfill create` over the last days of the world, up to its clock, on fresh data dirs."""
    last_day = datetime.fromisoformat(_logical_date(small_world)).date()
    first_day = last_day - timedelta(days=BACKFILL_DAYS - 1)

    def create():
        stack.run(
            [
                "backfill",
                "create",
                "--dag-id",
                "funnelhouse",
                "--from-date",
                f"{first_day}T00:00:00+00:00",
                "--to-date",
                f"{last_day}T00:00:00+00:00",
                "--max-active-runs",
                "1",
            ]
        )
        return stack.wait_for_runs(
            "SELECT run_id, state FROM dag_run WHERE dag_id = 'funnelhouse' AND run_type = 'backfill'",
            (),
            BACKFILL_DAYS,
            RUN_TIMEOUT_S * 2,
        )

    out = _run(stack, "backfill", create)
    out["runs"] = stack.query("""SELECT logical_date, data_interval_end, state FROM dag_run
                                 WHERE dag_id = 'funnelhouse' AND run_type = 'backfill' ORDER BY logical_date""")
    out["transforms"] = stack.query("""SELECT r.logical_date, t.state FROM task_instance t JOIN dag_run r
                                       ON r.dag_id = t.dag_id AND r.run_id = t.run_id
                                       WHERE r.run_type = 'backfill' AND t.task_id = 'transform' ORDER BY 1""")
    return out


def test_backfill_loads_what_daily_runs_would_and_builds_the_marts_once(backfill, clean_run, small_world):
    runs, end = backfill["runs"], datetime.fromisoformat(_logical_date(small_world))
    assert len(runs) == BACKFILL_DAYS and all(state == "success" for *_, state in runs), runs
    # one run per day, each reading up to its own midnight, the last up to the world's clock
    assert [logical for logical, *_ in runs] == [end - timedelta(days=n) for n in range(BACKFILL_DAYS - 1, -1, -1)]
    assert all(interval_end == logical for logical, interval_end, _ in runs)
    # every run but the last leaves the build to the next day's queued run
    assert [state for _, state in backfill["transforms"]] == ["skipped"] * (BACKFILL_DAYS - 1) + ["success"]
    # exactly what one run over the whole range loads: no duplicates, nothing missing
    # follower counts are a daily series: one snapshot per run, each holding the counts the single run saw
    assert same_data(backfill["raw"], clean_run["raw"])
    assert sorted(set(followers(backfill))) == followers(clean_run) and len(followers(backfill)) == BACKFILL_DAYS * 2
    assert same_data(backfill["marts"], clean_run["marts"])


@pytest.fixture(scope="module")
def refused_source_run(stack, sandbox, small_world, alerts, clean_run):
    """Meta's token refused (HTTP 401 on every Meta ads request); failure alerts to the local receiver."""
    url, received = alerts
    connections = sandbox.connections()
    meta = json.loads(connections["AIRFLOW_CONN_META_ADS"])
    stack.extra_env.update(
        {
            "AIRFLOW_CONN_META_ADS": json.dumps({**meta, "password": "revoked-token"}),
            "AIRFLOW_CONN_FUNNELHOUSE_ALERTS": json.dumps({"conn_type": "http", "host": url, "password": "secret-part"}),
        }
    )

    def trigger():
        stack.trigger(_logical_date(small_world, 3), "refused")
        return {"refused": stack.wait_for_run("refused", RUN_TIMEOUT_S)}

    try:
        out = _run(stack, "refused", trigger)
    finally:
        for key in ("AIRFLOW_CONN_META_ADS", "AIRFLOW_CONN_FUNNELHOUSE_ALERTS"):
            stack.extra_env.pop(key)
    out["tries"] = stack.task_tries("refused")
    out["alerts"] = list(received)
    out["freshness"] = json.loads((out["data"]["warehouse"] / "run" / "freshness.json").read_text())
    return out


def test_a_refused_source_does_not_stop_the_others_and_is_named_stale(refused_source_run, clean_run):
    run = refused_source_run
    assert run["states"] == {"refused": "failed"}, run  # the run says something is wrong ...
    final = {task: state for task, _, _, state in run["tries"]}
    assert final["extract_meta_ads"] == "failed" and final["load_meta_ads"] == "upstream_failed"
    # ... after the other sources were loaded and published
    assert {s: final[f"load_{s}"] for s in SOURCES if s != "meta_ads"} == dict.fromkeys(set(SOURCES) - {"meta_ads"}, "success")
    assert (final["transform"], final["quality_gate"], final["publish"], final["freshness"]) == (
        "success",
        "success",
        "success",
        "failed",
    )
    assert run["freshness"]["stale"] == ["meta_ads"] and "meta_ads (loaded up to never)" in run["freshness"]["message"]
    for source in set(SOURCES) - {"meta_ads"}:
        tables = {t: v for t, v in clean_run["raw"].items() if t.startswith(f"raw_{source}.") and t not in RUN_DATED}
        assert {t: run["raw"][t] for t in tables} == tables, source
    with duckdb.connect(str(run["published"]), read_only=True) as marts:
        assert marts.execute("SELECT count(*) FROM marts.ad_performance_daily WHERE platform = 'meta_ads'").fetchone()[0] == 0
        assert marts.execute("SELECT count(*) FROM marts.ad_performance_daily WHERE platform = 'google_ads'").fetchone()[0] > 0
    # the alert names each failed task, and never the webhook's secret
    texts = [a["text"] for a in run["alerts"]]
    assert any("extract_meta_ads failed" in t for t in texts), texts
    assert any("freshness failed" in t and "stale sources" in t for t in texts), texts
    assert not any("secret-part" in t for t in texts)


def test_stack_durations_are_reported(stack, clean_run, killed_run, backfill, refused_source_run, record_property):
    """Not a timing assertion: the numbers go into the JUnit properties and the log for BASELINE.md."""
    durations = {
        "stack start": round(stack.started_in_s, 1),
        "clean run": clean_run["seconds"],
        "killed run": killed_run["seconds"],
        f"backfill of {BACKFILL_DAYS} days": backfill["seconds"],
        "refused-source run": refused_source_run["seconds"],
    }
    for name, seconds in durations.items():
        record_property(name, seconds)
    print(f"celery stack durations (s): {durations}")
    assert all(seconds > 0 for seconds in durations.values())


def assert_marts_hold_the_world(marts, world: World) -> None:
    """The end-to-end test's checks of the headline numbers, on any world: spend per campaign, the funnel
    per channel, GA4 sessions per channel and day, and every attribution model's total."""
    truth = world.truth()
    spend = dict(
        marts.execute("SELECT campaign, sum(spend) FROM marts.channel_performance_daily WHERE spend > 0 GROUP BY 1").fetchall()
    )
    assert spend == truth.spend_by_campaign_usd  # DECIMAL, exact to the cent
    funnel = {
        c: rest
        for c, *rest in marts.execute(
            "SELECT channel, sum(leads), sum(customers), sum(revenue) FROM marts.channel_performance_daily GROUP BY 1"
        ).fetchall()
    }
    for channel, leads in truth.leads_by_channel.items():
        assert tuple(funnel[channel][:2]) == (leads, truth.customers_by_channel.get(channel, 0)), channel
        assert funnel[channel][2] == truth.revenue_by_channel_usd.get(channel, 0), channel
    sessions = {
        (c, d): n
        for c, d, n in marts.execute(
            "SELECT channel, date_day, sum(sessions) FROM marts.channel_performance_daily GROUP BY 1, 2 HAVING sum(sessions) > 0"
        ).fetchall()
    }
    # every property day GA4 shows at the clock (the first run reads from before the world's first day,
    # so the New York evening before it is there too)
    assert sessions == {k: n for k, n in truth.sessions_by_channel_day.items() if k[1] <= world.end and n}
    totals = dict(
        marts.execute("SELECT attribution_model, sum(attributed_revenue) FROM marts.attribution_by_channel GROUP BY 1").fetchall()
    )
    assert totals == dict.fromkeys(("first_touch", "last_touch", "linear", "position_based", "time_decay"), truth.won_revenue_usd)
    assert truth.won_revenue_usd > 0 and sum(truth.customers_by_channel.values()) > 0
