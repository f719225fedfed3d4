"""The sandbox and every source at world scales 1, 10 and 100, and the incremental dbt models.

Numbers are taken in one process on one machine, and the goals are stated as
ratios between them (e.g. bulk load vs row-by-row insert), never as absolute
timings in tests. Results of the last committed run are in benchmarks/BASELINE.md.

    python -m benchmarks sandbox [--scales 1,10,100] [--extract-scales 1] [--max-requests 100]
    python -m benchmarks dbt-incremental [--days N]

Each scale runs in its own process, so its peak RSS is its own: the world's generation
time and memory, each sandbox endpoint alone (requests/s, rows/s; at most
--max-requests requests each, spread over the whole listing), then, for the
extract scales, every source extracted from the sandbox and loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import requests


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def bench_loader(tmp: Path, rows: int) -> list[tuple[str, str]]:
    """Bulk NDJSON load (the loader's path) against executemany into the same table."""
    from datetime import UTC, datetime

    from extractors.landing import LandingBatch
    from extractors.loader import load_batch

    first_day = date(2026, 6, 1)
    records = [
        {
            "ad_id": str(i // 90),
            "date_start": (first_day + timedelta(days=i % 90)).isoformat(),
            "spend": f"{i % 97}.25",
            "impressions": str(i),
            "clicks": str(i % 50),
            "actions": [{"action_type": "lead", "value": "1"}],
        }
        for i in range(rows)
    ]
    batch = LandingBatch(tmp / "landing", "meta_ads")
    writer = batch.unit("insights", "1001", None, datetime(2026, 9, 1, tzinfo=UTC))
    for start in range(0, rows, 500):
        writer.write_page(records[start : start + 500])
    batch_dir = batch.commit({})
    result, bulk_s = timed(lambda: load_batch(batch_dir, tmp / "bulk.duckdb"))
    loaded = result.loaded["insights"]

    sample = records[: max(rows // 20, 1000)]  # executemany is too slow for the full set
    con = duckdb.connect(str(tmp / "rowwise.duckdb"))
    con.execute("CREATE TABLE t (_account_id VARCHAR, ad_id VARCHAR, date_start DATE, _record JSON)")
    _, row_s = timed(
        lambda: con.executemany(
            "INSERT INTO t VALUES (?, ?, ?, ?)", [("1001", r["ad_id"], r["date_start"], json.dumps(r)) for r in sample]
        )
    )
    con.close()
    bulk_rate, row_rate = loaded / bulk_s, len(sample) / row_s
    return [
        (
            "loader: bulk NDJSON -> raw table (dedupe, merge, state)",
            f"{bulk_rate:,.0f} rows/s ({loaded:,} distinct rows in {bulk_s:.2f}s)",
        ),
        ("loader: executemany INSERT, same rows", f"{row_rate:,.0f} rows/s ({len(sample):,} rows)"),
        ("ratio bulk / row-by-row", f"{bulk_rate / row_rate:,.0f}x"),
    ]


def peak_rss_mib() -> float:
    """This process's peak resident memory. Linux's VmHWM, because ru_maxrss survives exec and
    would report the parent's peak at fork for a child; ru_maxrss elsewhere."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def bench_world(world) -> list[tuple[str, str]]:
    """Build every simulated day (contacts, ad delivery, GA4 blocks; the email audiences, activities
    and posts they need): what a full read costs the first time, and the memory it leaves."""
    from datetime import timedelta

    def generate_every_day():
        for i in range(world.days):  # not collected in a list: that would hold every day's people, which serving never does
            world._day(world.start + timedelta(days=i))

    _, seconds = timed(generate_every_day)
    generated = peak_rss_mib()
    # The CRM's walk (HubSpot list, the first search): regenerates the days the LRU dropped and keeps
    # every day's contact columns (sandbox/world_crm.py ContactColumns), the one thing kept per person.
    contacts, walk_seconds = timed(
        lambda: sum(len(world.contacts_created_on(world.start + timedelta(days=i))) for i in range(world.days))
    )
    return [
        (
            "world: generate 90 days (contacts, ads, GA4 blocks, email, social)",
            f"{seconds:.1f}s ({contacts:,} contacts, {contacts / seconds:,.0f} contacts/s), peak RSS {generated:,.0f} MiB",
        ),
        (
            "world: walk every day's contacts once more, keeping their CRM columns",
            f"{walk_seconds:.1f}s, peak RSS {peak_rss_mib():,.0f} MiB",
        ),
    ]


def bench_sandbox(world, max_requests: int) -> list[tuple[str, str]]:
    """Each endpoint alone, one client: is the sandbox ever the bottleneck of an extraction?

    Listings longer than ``max_requests`` pages are sampled at pages spread over the whole
    listing, so a page deep in it counts as much as the first ones.
    """
    from sandbox.server import DEFAULT_TOKENS, SandboxServer
    from sandbox.world_google_ads import GOOGLE_ADS_CUSTOMERS as CUSTOMERS
    from sandbox.world_web import PROPERTY_ID

    out = []
    with SandboxServer(world) as server:
        base, session = server.base_url, requests.Session()
        hub = {"Authorization": f"Bearer {DEFAULT_TOKENS['hubspot']}"}

        def hubspot_list():  # the first max_requests pages: paging is by cursor
            rows = n = 0
            params = {"limit": 100}
            while n < max_requests:
                body = session.get(f"{base}/crm/v3/objects/contacts", params=params, headers=hub).json()
                rows, n = rows + len(body["results"]), n + 1
                if "paging" not in body:
                    break
                params["after"] = body["paging"]["next"]["after"]
            return rows, n

        def hubspot_search():
            body = {
                "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}],
                "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                "limit": 200,
            }
            rows = n = 0
            for _ in range(10):
                page = session.post(
                    f"{base}/crm/v3/objects/contacts/search", json={**body, "after": str(n * 200)}, headers=hub
                ).json()
                rows, n = rows + len(page["results"]), n + 1
            return rows, n

        def meta_insights():
            params = {
                "access_token": DEFAULT_TOKENS["meta"],
                "level": "ad",
                "time_increment": "1",
                "limit": 500,
                "time_range": json.dumps({"since": world.start.isoformat(), "until": world.end.isoformat()}),
            }
            return _follow_meta(session, f"{base}/v26.0/act_1001/insights", params)

        def google_stream():
            rows = 0
            headers = {
                "Authorization": f"Bearer {DEFAULT_TOKENS['google_ads']}",
                "developer-token": DEFAULT_TOKENS["google_ads_developer"],
            }
            for customer in CUSTOMERS:
                query = (
                    "SELECT ad_group.id, metrics.clicks, metrics.cost_micros, segments.date FROM ad_group "
                    f"WHERE segments.date BETWEEN '{world.start}' AND '{world.end}'"
                )
                batches = session.post(
                    f"{base}/v26/customers/{customer.customer_id}/googleAds:searchStream", json={"query": query}, headers=headers
                ).json()
                rows += sum(len(b.get("results", [])) for b in batches)
            return rows, len(CUSTOMERS)

        def ga4_report():
            body = {
                "dateRanges": [{"startDate": world.start.isoformat(), "endDate": world.end.isoformat()}],
                "dimensions": [
                    {"name": d} for d in ("date", "sessionSource", "sessionMedium", "sessionCampaignName", "landingPage")
                ],
                "metrics": [{"name": "sessions"}, {"name": "engagedSessions"}],
                "limit": "100000",
                "offset": "0",
            }
            page = session.post(
                f"{base}/v1beta/properties/{PROPERTY_ID}:runReport",
                json=body,
                headers={"Authorization": f"Bearer {DEFAULT_TOKENS['ga4']}"},
            ).json()
            return len(page.get("rows", [])), 1

        auth = ("funnelhouse", DEFAULT_TOKENS["mailchimp"])

        def offset_pages(url, key, budget):  # pages of 1000 at offsets spread over the listing
            first = session.get(url, params={"count": 1000, "offset": 0}, auth=auth).json()
            total = first["total_items"]
            offsets = range(1000, total, 1000)
            if len(offsets) > budget - 1:
                offsets = [offsets[i * len(offsets) // (budget - 1)] for i in range(budget - 1)] if budget > 1 else []
            rows = len(first[key])
            for offset in offsets:
                rows += len(session.get(url, params={"count": 1000, "offset": offset}, auth=auth).json()[key])
            return rows, 1 + len(offsets)

        def mailchimp_activity():  # the first four campaigns, each activity built (or cached) as an extraction finds it
            rows = n = 0
            for campaign in world.mailchimp.campaigns[:4]:
                r, k = offset_pages(
                    f"{base}/3.0/reports/{campaign.campaign_id}/email-activity", "emails", max(1, max_requests // 4)
                )
                rows, n = rows + r, n + k
            return rows, n

        def mailchimp_members():
            return offset_pages(f"{base}/3.0/lists/7f3a9c2e1b/members", "members", max_requests)

        def graph_posts():
            params = {
                "access_token": DEFAULT_TOKENS["facebook"],
                "limit": 25,
                "fields": "id,message,created_time,permalink_url,shares,comments.summary(true),reactions.summary(true)",
            }
            return _follow_meta(session, f"{base}/v21.0/104000000000001/posts", params)

        def ga4_pages():
            body = {
                "dateRanges": [{"startDate": world.start.isoformat(), "endDate": world.end.isoformat()}],
                "dimensions": [{"name": "date"}, {"name": "pagePath"}],
                "limit": "100000",
                "offset": "0",
                "metrics": [{"name": m} for m in ("screenPageViews", "userEngagementDuration", "sessions")],
            }
            page = session.post(
                f"{base}/v1beta/properties/{PROPERTY_ID}:runReport",
                json=body,
                headers={"Authorization": f"Bearer {DEFAULT_TOKENS['ga4']}"},
            ).json()
            return len(page.get("rows", [])), 1

        # The first search at a clock builds its index of every live contact: timed on its own.
        (_, first_search_s) = timed(
            lambda: session.post(
                f"{base}/crm/v3/objects/contacts/search",
                headers=hub,
                json={
                    "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}],
                    "limit": 1,
                },
            )
        )
        mailchimp_activity()  # as an extraction would, after the campaigns were listed
        for name, fn in (
            ("HubSpot contacts list", hubspot_list),
            ("HubSpot contacts search", hubspot_search),
            ("Meta insights", meta_insights),
            ("Google Ads searchStream", google_stream),
            ("GA4 runReport (sessions by source/medium/campaign/landing page)", ga4_report),
            ("GA4 runReport (pages)", ga4_pages),
            ("Mailchimp email activity", mailchimp_activity),
            ("Mailchimp list members", mailchimp_members),
            ("Graph page posts", graph_posts),
        ):
            (rows, n), seconds = timed(fn)
            out.append(
                (f"sandbox: {name}", f"{n / seconds:,.1f} req/s, {rows / seconds:,.0f} rows/s ({rows:,} rows in {n} requests)")
            )
            if name == "HubSpot contacts search":
                out[-1] = (out[-1][0], out[-1][1] + f"; the first search built the index in {first_search_s:.1f}s")
    out.append(("peak RSS after serving every endpoint", f"{peak_rss_mib():,.0f} MiB"))
    return out


def _follow_meta(session, url, params):
    rows = n = 0
    while url:
        body = session.get(url, params=params).json()
        rows, n, url, params = rows + len(body["data"]), n + 1, body.get("paging", {}).get("next"), None
    return rows, n


def bench_extract_load(tmp: Path, world) -> list[tuple[str, str]]:
    """Every source read end to end from a sandbox over ``world`` (already generated), then loaded."""
    from extractors import pipeline
    from extractors.connections import get_connection
    from sandbox.server import SandboxServer

    out = []
    with SandboxServer(world) as server:
        os.environ.update(server.connections())
        get_connection("hubspot")  # Airflow's import takes seconds once per process: keep it out of the rates
        for source in ("hubspot", "meta_ads", "google_ads", "ga4", "mailchimp", "facebook_pages"):
            warehouse, landing = tmp / f"{source}.duckdb", tmp / "landing-el"
            batch, extract_s = timed(pipeline.extract, source, end=world.default_now, warehouse=warehouse, landing_root=landing)
            results, load_s = timed(pipeline.load, source, warehouse=warehouse, landing_root=landing)
            rows = sum(sum(r.loaded.values()) for r in results)
            out.append(
                (
                    f"extract {source} from the sandbox (HTTP -> landing)",
                    f"{rows / extract_s:,.0f} rows/s ({rows:,} rows, {extract_s:.1f}s)",
                )
            )
            out.append((f"load {source} (landing -> raw tables)", f"{rows / load_s:,.0f} rows/s ({load_s:.2f}s)"))
    return out


INCREMENTAL_MODELS = ("int_sessions_attributed", "ad_performance_daily", "channel_performance_daily")


def bench_incremental_dbt(tmp: Path, scale: float, days: int = 90) -> list[tuple[str, str]]:
    """The incremental models (and the CRM table they compare) after one more day of loads:
    an incremental build against a full refresh of a copy of the same warehouse."""
    import shutil

    from funnelhouse import SOURCES, steps
    from sandbox.server import SandboxServer
    from sandbox.world import World

    world = World(scale=scale, days=days)
    selected = [*INCREMENTAL_MODELS, "int_crm_outcomes_aggregated"]
    saved = dict(os.environ)
    try:
        with SandboxServer(world) as server:
            os.environ.update(server.connections())
            os.environ["FUNNELHOUSE_DATA_DIR"] = str(tmp / "dbt-incremental")
            for now in (world.default_now - timedelta(days=1), world.default_now):
                server.set_clock(now)
                for source in SOURCES:  # the DAG's sources
                    steps.extract(source, end=now)
                    steps.load(source)
                if now != world.default_now:
                    steps.transform()  # the day before: every model built
        incremental_dir, full_dir = tmp / "dbt-incremental", tmp / "dbt-full"
        (full_dir).mkdir()
        shutil.copyfile(incremental_dir / "warehouse.duckdb", full_dir / "warehouse.duckdb")
        timings = {}
        for mode, data_dir in (("incremental", incremental_dir), ("full refresh", full_dir)):
            os.environ["FUNNELHOUSE_DATA_DIR"] = str(data_dir)
            _, wall_s = timed(steps.transform, full_refresh=mode == "full refresh")
            results = json.loads((data_dir / "dbt" / "target" / "run_results.json").read_text())["results"]
            # the whole `dbt build` runs (as in the pipeline); the selected models' own times are compared
            per_model = {
                r["unique_id"].split(".")[-1]: r["execution_time"]
                for r in results
                if r["unique_id"].startswith("model.") and r["unique_id"].split(".")[-1] in selected
            }
            timings[mode] = (sum(per_model.values()), wall_s, per_model)
        with duckdb.connect(str(incremental_dir / "warehouse.duckdb"), read_only=True) as con:
            rebuilt = {
                m: con.execute(f"""SELECT count(*) FILTER (WHERE date_day IN (SELECT date_day FROM _funnelhouse.incremental_changed_days
                                                                          WHERE model = '{schema}.{m}')), count(*)
                                          FROM {schema}.{m}""").fetchone()
                for schema, m in (
                    ("intermediate", "int_sessions_attributed"),
                    ("marts", "ad_performance_daily"),
                    ("marts", "channel_performance_daily"),
                )
            }
    finally:
        os.environ.clear()
        os.environ.update(saved)
    inc_s, full_s = timings["incremental"][0], timings["full refresh"][0]
    out = [
        (
            f"dbt {mode} after one more day ({days} days): {', '.join(selected)}",
            f"{s:.2f}s in these models ({', '.join(f'{per[m]:.2f}' for m in selected)}; whole dbt build {wall:.1f}s)",
        )
        for mode, (s, wall, per) in timings.items()
    ]
    out.append(("ratio full refresh / incremental (model time)", f"{full_s / inc_s:.2f}x"))
    out += [(f"rows rebuilt by the incremental build: {m}", f"{r:,} of {n:,}") for m, (r, n) in rebuilt.items()]
    return out


def run_scale(scale: float, extract: bool, max_requests: int) -> list[tuple[str, str]]:
    """One scale, in this process (the parent runs each in a child, so peak RSS is the scale's own)."""
    import sandbox.server  # noqa: F401 - the sandbox's own imports are not the world's memory
    from sandbox.world import World

    rows = [("peak RSS before the world (Python, DuckDB, requests, the sandbox's code)", f"{peak_rss_mib():,.0f} MiB")]
    world = World(scale=scale)
    rows += bench_world(world) + bench_sandbox(world, max_requests)
    if extract:
        with tempfile.TemporaryDirectory() as tmp:
            rows += bench_extract_load(Path(tmp), world)
        rows.append(("peak RSS after extracting and loading every source", f"{peak_rss_mib():,.0f} MiB"))
    return rows


def _scales(text: str) -> list[float]:
    try:
        scales = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"scales must be numbers separated by commas, e.g. 1,10,100; not {text!r}") from None
    if not scales or any(s <= 0 for s in scales):
        raise argparse.ArgumentTypeError(f"scales must be positive numbers, e.g. 1,10,100; not {text!r}")
    return scales


def _label(scale: float) -> str:
    return f"{scale:g}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks sandbox")
    parser.add_argument("--scales", type=_scales, default=[1.0, 10.0, 100.0], help="world scales to measure (default 1,10,100)")
    parser.add_argument(
        "--extract-scales",
        type=_scales,
        default=[1.0],
        help="scales at which every source is also extracted and loaded (default 1; 1,10 adds ~3 min)",
    )
    parser.add_argument("--max-requests", type=int, default=100, help="requests per sandbox endpoint, at most (default 100)")
    parser.add_argument("--loader-rows", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=90, help="days of the simulated business (dbt-incremental)")
    parser.add_argument("--only", choices=("dbt-incremental",), help="run one measurement instead of all")
    parser.add_argument("--child-scale", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--child-extract", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.max_requests < 1:
        parser.error("--max-requests must be at least 1")
    if args.child_scale is not None:
        print(json.dumps(run_scale(args.child_scale, args.child_extract, args.max_requests)))
        return

    print(f"funnelhouse benchmarks, {os.cpu_count()} cores, Python {platform.python_version()}, DuckDB {duckdb.__version__}\n")
    if args.only == "dbt-incremental":
        with tempfile.TemporaryDirectory() as tmp:
            _print_table(f"Incremental dbt models (scale 1, {args.days} days)", bench_incremental_dbt(Path(tmp), 1.0, args.days))
        return
    with tempfile.TemporaryDirectory() as tmp:
        _print_table("Loader", bench_loader(Path(tmp), args.loader_rows))
    for scale in args.scales:
        command = [
            sys.executable,
            "-m",
            "benchmarks",
            "sandbox",
            "--child-scale",
            str(scale),
            "--max-requests",
            str(args.max_requests),
        ]
        if scale in args.extract_scales:
            command.append("--child-extract")
        started = time.perf_counter()
        child = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
        if child.returncode != 0:
            sys.exit(f"benchmarks: scale {_label(scale)} failed (exit {child.returncode}); its error is above")
        rows = [tuple(r) for r in json.loads(child.stdout.strip().splitlines()[-1])]
        _print_table(f"Scale {_label(scale)} ({time.perf_counter() - started:.0f}s)", rows)
    with tempfile.TemporaryDirectory() as tmp:
        _print_table(f"Incremental dbt models (scale 1, {args.days} days)", bench_incremental_dbt(Path(tmp), 1.0, args.days))


def _print_table(title: str, rows: list[tuple[str, str]]) -> None:
    print(f"## {title}\n\n| measurement | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print(flush=True)


if __name__ == "__main__":
    main()
