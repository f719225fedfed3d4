"""Incremental dbt models give the same tables as a full refresh.

GIVEN the sandbox's business and a pipeline run three days before the end of its clock,
WHEN the clock moves forward a day at a time and each day's run extracts, loads and
builds incrementally (Meta restates 28 days, Google Ads 30, GA4 adds late hits to the
last 3 days, HubSpot contacts move stage or are archived between runs),
THEN a `dbt build --full-refresh` of a copy of the warehouse gives identical marts and
incremental models (row counts and order-independent checksums), each daily build
rebuilt only the days whose inputs changed, and the marts still hold the world's numbers.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import duckdb
import pytest

from extractors import settings
from funnelhouse import SOURCES, steps
from tests.pipeline_helpers import table_checksums

pytestmark = pytest.mark.timeout(1200)

INCREMENTAL_MODELS = ("intermediate.int_sessions_attributed", "marts.ad_performance_daily", "marts.channel_performance_daily")
DAILY_RUNS = 3


def _run_day(server, now) -> dict:
    """One day's pipeline up to the transform: what the DAG does (its sources), without the gate and publish."""
    server.set_clock(now)
    for source in SOURCES:
        steps.extract(source, end=now)
        steps.load(source)
    steps.transform()
    run_results = json.loads((settings.data_dir() / "dbt" / "target" / "run_results.json").read_text())["results"]
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        models = {
            "crm_outcomes": set(con.execute("SELECT * FROM intermediate.int_crm_outcomes_aggregated").fetchall()),
            "fx_rates": set(con.execute("SELECT * FROM staging.stg_fx__rates_daily").fetchall()),
            "today": now.date(),
        }
        for model in INCREMENTAL_MODELS:
            days = [
                d
                for (d,) in con.execute(
                    "SELECT date_day FROM _funnelhouse.incremental_changed_days WHERE model = ? ORDER BY 1", [model]
                ).fetchall()
            ]
            rebuilt, total, all_days = con.execute(
                f"""SELECT count(*) FILTER (WHERE date_day IN (SELECT date_day FROM _funnelhouse.incremental_changed_days
                                                                WHERE model = ?)),
                           count(*), count(DISTINCT date_day) FROM {model}""",
                [model],
            ).fetchone()
            incremental_build = con.execute(
                "SELECT incremental_build FROM _funnelhouse.incremental_state WHERE model = ?", [model]
            ).fetchone()[0]
            compiled = next(r["compiled_code"] for r in run_results if r["unique_id"].endswith("." + model.split(".")[1]))
            models[model] = {
                "changed_days": days,
                "rebuilt_rows": rebuilt,
                "rows": total,
                "days": all_days,
                "incremental_build": incremental_build,
                "compiled_filters_days": "incremental_changed_days" in compiled,
            }
    return models


@pytest.fixture(scope="module")
def runs(tmp_path_factory, world):
    from sandbox.server import SandboxServer

    root = tmp_path_factory.mktemp("incremental")
    saved = dict(os.environ)
    try:
        with SandboxServer(world) as server:
            os.environ.update(server.connections())
            os.environ["FUNNELHOUSE_DATA_DIR"] = str(root / "incremental")
            os.environ.pop("FUNNELHOUSE_WAREHOUSE", None)
            first_now = world.default_now - timedelta(days=DAILY_RUNS)
            first = _run_day(server, first_now)
            daily = [_run_day(server, first_now + timedelta(days=i)) for i in range(1, DAILY_RUNS + 1)]
            incremental_warehouse = settings.warehouse_path()

            # the same raw tables, every model rebuilt from scratch
            os.environ["FUNNELHOUSE_DATA_DIR"] = str(root / "full")
            settings.warehouse_path().parent.mkdir(parents=True)
            shutil.copyfile(incremental_warehouse, settings.warehouse_path())
            steps.transform(full_refresh=True)
            full_warehouse = settings.warehouse_path()
            with duckdb.connect(str(full_warehouse), read_only=True) as con:
                full_state = dict(con.execute("SELECT model, incremental_build FROM _funnelhouse.incremental_state").fetchall())
        yield {
            "first": first,
            "daily": daily,
            "incremental": incremental_warehouse,
            "full": full_warehouse,
            "full_state": full_state,
        }
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_full_refresh_and_incremental_builds_give_identical_tables(runs):
    incremental = {**table_checksums(runs["incremental"], "marts"), **table_checksums(runs["incremental"], "intermediate")}
    full = {**table_checksums(runs["full"], "marts"), **table_checksums(runs["full"], "intermediate")}
    assert set(INCREMENTAL_MODELS) <= set(full)
    assert runs["full_state"] == {m: False for m in INCREMENTAL_MODELS}  # the copy really was rebuilt whole
    assert incremental == full
    rows = {t: n for t, (n, _) in full.items() if t in INCREMENTAL_MODELS}
    # the demo business at the end of its clock (README): nothing lost or doubled on the way
    assert rows["marts.ad_performance_daily"] == 2328


def test_daily_builds_were_incremental_and_rebuilt_only_changed_days(runs):
    crm_changes = []
    for day, models in enumerate(runs["daily"], start=1):
        for model in INCREMENTAL_MODELS:
            run = models[model]
            assert run["incremental_build"] and run["compiled_filters_days"], (day, model)
            assert 0 < len(run["changed_days"]) < run["days"], (day, model, len(run["changed_days"]))
            assert 0 < run["rebuilt_rows"] < run["rows"], (day, model)
        # GA4 re-reads its last 4 days (plus the new one); late hits land in them
        sessions_days = models["intermediate.int_sessions_attributed"]["changed_days"]
        assert len(sessions_days) == 5, sessions_days
        # the days whose exchange rates changed (worked out here from the two runs' stg_fx__rates_daily):
        # the run read the Bank's rate dated yesterday, which holds from then for up to 14 days
        previous = runs["daily"][day - 2] if day > 1 else runs["first"]
        fx_days = {row[0] for row in previous["fx_rates"] ^ models["fx_rates"]}
        assert fx_days and min(fx_days) == models["today"] - timedelta(days=1), sorted(fx_days)
        # Meta restates 28 days, Google Ads 30: the ad delivery of a month is rebuilt, not 90 days
        # (and the days ahead whose rates changed, which hold no delivery yet)
        ad_days = set(models["marts.ad_performance_daily"]["changed_days"])
        assert 28 <= len({d for d in ad_days if d < models["today"]}) <= 32 and ad_days >= fx_days
        # channel_performance_daily: those days, plus the days whose CRM outcomes changed since the
        # previous run (worked out here from the two runs' int_crm_outcomes_aggregated), and nothing else
        crm_days = {row[0] for row in previous["crm_outcomes"] ^ models["crm_outcomes"]}
        crm_changes.append(crm_days)
        assert set(models["marts.channel_performance_daily"]["changed_days"]) == (set(sessions_days) | ad_days | crm_days)
    # HubSpot changed contacts or deals between every two runs: the CRM side was exercised
    assert all(crm_changes), crm_changes
    first = runs["first"]
    assert not any(run["incremental_build"] for name, run in first.items() if name not in ("crm_outcomes", "fx_rates", "today"))


def test_incrementally_built_marts_hold_the_worlds_numbers(runs, world):
    truth = world.truth()
    with duckdb.connect(str(runs["incremental"]), read_only=True) as con:
        spend, customers = con.execute("SELECT sum(spend), sum(customers) FROM marts.channel_performance_daily").fetchone()
        leads = dict(
            con.execute(
                "SELECT channel, sum(leads) FROM marts.channel_performance_daily GROUP BY 1 HAVING sum(leads) > 0"
            ).fetchall()
        )
        google_conversions = dict(
            con.execute("""SELECT campaign_name, sum(conversions) FROM marts.ad_performance_daily
                                                 WHERE platform = 'google_ads' GROUP BY 1""").fetchall()
        )
        sessions = dict(
            con.execute(
                "SELECT date_day, sum(sessions) FROM marts.channel_performance_daily GROUP BY 1 HAVING sum(sessions) > 0"
            ).fetchall()
        )
        # each GA4 day as the property showed it at the last run that re-read it (the end of that run's window)
        last_read = dict(
            con.execute("""SELECT day, max(window_end) FROM (
                SELECT unnest(generate_series(first_day, last_day, INTERVAL 1 DAY))::DATE AS day, window_end
                FROM _funnelhouse.loaded_windows WHERE source = 'ga4' AND stream = 'sessions_daily') GROUP BY day""").fetchall()
        )
    assert spend == sum(truth.spend_usd_by_platform.values()) == Decimal("92368.39")  # exact: DECIMAL money
    assert customers == sum(truth.customers_by_channel.values()) == 246
    assert leads == truth.leads_by_channel
    # conversions restated over 30 days: the last read's numbers, not the first one's
    assert google_conversions == pytest.approx({c: m["conversions"] for c, m in truth.google_ads_by_campaign.items()}, abs=1e-6)
    shown = {as_of: world.truth(as_of=as_of).sessions_by_channel_day for as_of in set(last_read.values())}
    expected = {day: sum(n for (_, d), n in shown[last_read[day]].items() if d == day) for day in sessions}
    assert sessions == expected
    # every session the business had, late hits included (a 3-day GA4 lookback lost 12 of them)
    assert sum(sessions.values()) == 149955 == sum(world.truth().sessions_by_channel_day.values())


def test_a_day_whose_rows_all_vanish_is_rebuilt_too(runs, tmp_path, monkeypatch, world):
    """GIVEN the incrementally built warehouse, WHEN Meta's re-read of one day for one account
    returns no rows (all its delivery restated away), THEN the window load deletes them and the
    next incremental build drops them from the marts, as a full refresh does; no new raw row
    marks that day, only the window the loader records."""
    from extractors.landing import LandingBatch
    from extractors.loader import load_batch

    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path / "vanished"))
    settings.warehouse_path().parent.mkdir(parents=True)
    shutil.copyfile(runs["incremental"], settings.warehouse_path())
    day, account = world.start + timedelta(days=44), "1001"
    start = datetime.combine(day, datetime.min.time(), UTC)
    batch = LandingBatch(tmp_path / "landing", "meta_ads")
    batch.unit("insights", account, start, start + timedelta(days=1))  # the re-read window: no pages
    load_batch(batch.commit({}), settings.warehouse_path())

    query = f"SELECT count(*) FROM marts.ad_performance_daily WHERE platform = 'meta_ads' AND ad_account_id = '{account}' AND date_day = '{day}'"
    with duckdb.connect(str(runs["incremental"]), read_only=True) as con:
        assert con.execute(query).fetchone()[0] > 0  # the account had delivery that day
    steps.transform()
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        assert con.execute(query).fetchone()[0] == 0
        changed = [
            d
            for (d,) in con.execute(
                "SELECT date_day FROM _funnelhouse.incremental_changed_days WHERE model = 'marts.ad_performance_daily'"
            ).fetchall()
        ]
    assert changed == [day]
    incremental = table_checksums(settings.warehouse_path(), "marts")

    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(tmp_path / "vanished-full"))
    settings.warehouse_path().parent.mkdir(parents=True)
    shutil.copyfile(tmp_path / "vanished" / "warehouse.duckdb", settings.warehouse_path())
    steps.transform(full_refresh=True)
    assert table_checksums(settings.warehouse_path(), "marts") == incremental
