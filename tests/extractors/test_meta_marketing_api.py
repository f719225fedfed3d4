"""Meta's Marketing API as a real large account meets it: retired versions, report runs, statuses.

GIVEN the sandbox answering as Meta does (version expiry judged at its clock, code 2635; HTTP 500 code 1
for a synchronous read that is too big; report runs that advance, fail or are skipped; deleted ads left
out unless asked for), THEN the extractor stops on a retired version with one line and no retry, reads
every window as report runs, splits what Meta will not run, and lands every ad's spend.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from datetime import date, datetime, timedelta
from urllib.parse import parse_qs

import pytest
import requests

from extractors import __main__ as cli
from extractors import pipeline, settings
from extractors.api_versions import PLATFORMS
from extractors.errors import ApiVersionError, PartialFailure
from extractors.sources import meta_ads
from sandbox.apis import meta as sandbox_meta
from sandbox.server import DEFAULT_TOKENS
from sandbox.world import AD_ACCOUNTS, AD_STATUS_AT_FLIGHT_END
from tests.pipeline_helpers import rows, run
from tests.spec_contracts import REPO, MetaSpec

META_AUTH = {"Authorization": f"Bearer {DEFAULT_TOKENS['meta']}"}
DEFAULT = PLATFORMS["meta_marketing"].default
TOO_MUCH_DATA = "Please reduce the amount of data you're asking for, then retry your request"
RUN_NODE = r"/v\d+\.\d+/\d+$"  # GET /vNN.0/{report_run_id}: a report run's state


def set_extra(monkeypatch, connections, **extra):
    conn = json.loads(connections["AIRFLOW_CONN_META_ADS"])
    conn["extra"].update(extra)
    monkeypatch.setenv("AIRFLOW_CONN_META_ADS", json.dumps(conn))


def params(since: str, until: str, **extra) -> dict:
    return {
        "level": "ad",
        "time_increment": "1",
        "limit": 500,
        "fields": "ad_id,spend,date_start",
        "time_range": json.dumps({"since": since, "until": until}),
        **extra,
    }


def every_status() -> str:
    return json.dumps([{"field": "ad.effective_status", "operator": "IN", "value": list(meta_ads.AD_EFFECTIVE_STATUSES)}])


def report_ranges(seen) -> list[tuple[str, str]]:
    """The (since, until) of every report run the extractor started, in order."""
    out = []
    for r in seen:
        if r.method == "POST":
            time_range = json.loads(parse_qs(r.body.decode())["time_range"][0])
            out.append((time_range["since"], time_range["until"]))
    return out


def spend_by_ad(account_id: str) -> dict[str, float]:
    got = rows(
        f"SELECT _record->>'$.ad_id', sum(CAST(_record->>'$.spend' AS DECIMAL(18, 2))) FROM raw_meta_ads.insights "
        f"WHERE _account_id = '{account_id}' GROUP BY 1"
    )
    return {ad: float(s) for ad, s in got}


def world_spend_by_ad(world, account_id: str, first: date, last: date) -> dict[str, float]:
    out: dict[str, float] = {}
    for row in world.insights_rows(account_id, first, last, world.default_now):
        out[row["ad_id"]] = round(out.get(row["ad_id"], 0.0) + float(row["spend"]), 2)
    return out


# ---- versions --------------------------------------------------------------------------------


def test_an_expired_version_is_refused_as_meta_refuses_it_judged_at_the_sandbox_clock(sandbox):
    url = lambda version: f"{sandbox.base_url}/{version}/act_1001"  # noqa: E731
    refused = requests.get(url("v21.0"), headers=META_AUTH, timeout=10)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert {k: error[k] for k in ("message", "type", "code")} == {
        "message": "(#2635) You are calling a deprecated version of the Ads API. Please update to the latest version: v26.0.",
        "type": "OAuthException",
        "code": 2635,
    }
    assert "error_subcode" not in error and error["fbtrace_id"]
    assert requests.get(url("v24.0"), headers=META_AUTH, timeout=10).status_code == 200  # expires 2026-11-10
    sandbox.set_clock(datetime(2026, 11, 10, 12, tzinfo=sandbox.sandbox.now.tzinfo))
    later = requests.get(url("v24.0"), headers=META_AUTH, timeout=10).json()["error"]
    assert later["code"] == 2635 and later["message"].endswith("latest version: v27.0.")
    assert requests.get(url("v2.8"), headers=META_AUTH, timeout=10).json()["error"]["code"] == 2635  # older than the table
    assert requests.get(url(DEFAULT), headers=META_AUTH, timeout=10).status_code == 200


def test_the_sandbox_and_the_extractor_know_the_same_marketing_api_dates():
    """Two copies of Meta's table (the platform's and our client's): they must not drift apart."""
    ours = {v.version: (v.released, v.expires) for v in PLATFORMS["meta_marketing"].versions}
    assert ours == sandbox_meta.MARKETING_API_VERSIONS


def test_a_retired_version_stops_the_run_with_one_line_that_says_what_to_set_and_is_not_retried(
    sandbox, connections, data_dir, world, monkeypatch, capsys
):
    set_extra(monkeypatch, connections, api_version="v21.0")
    seen = []
    sandbox.sandbox.request_hooks.append(seen.append)
    with pytest.raises(ApiVersionError) as refused:
        pipeline.extract(
            "meta_ads", end=world.default_now, warehouse=settings.warehouse_path(), landing_root=settings.landing_dir()
        )
    message = str(refused.value)
    assert "\n" not in message
    assert "v21.0" in message and "'meta_ads'" in message and "'api_version'" in message and f'"{DEFAULT}"' in message
    units = 2 * len(AD_ACCOUNTS)  # ad_accounts and insights of each account: one request each, none repeated
    assert len(seen) <= units and len({(r.method, r.path) for r in seen}) == len(seen)
    assert not list(settings.landing_dir().glob("meta_ads/*/manifest.json"))  # nothing half-landed

    assert cli.main(["meta_ads", "--end", "2026-08-29"]) == 2  # bad input: exit 2, one line on stderr
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: Meta Marketing API refused version v21.0 as retired")


def test_airflow_fails_a_retired_version_at_once_instead_of_retrying_it():
    from airflow.sdk.exceptions import AirflowFailException

    spec = importlib.util.spec_from_file_location("funnelhouse_dag_for_test", REPO / "dags" / "funnelhouse_pipeline.py")
    dag_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dag_module)

    @dag_module._fail_fast_on_bad_input
    def extract():
        raise ApiVersionError("Meta Marketing API refused version v21.0 as retired: set the extra 'api_version'")

    with pytest.raises(AirflowFailException, match="refused version v21.0"):
        extract()


def test_with_auto_upgrade_an_expired_version_is_served_and_the_run_warns(
    sandbox, connections, data_dir, world, monkeypatch, caplog
):
    """Meta's version auto-upgrade: an expired version of an unchanged endpoint is served by the next one,
    with X-Ad-Api-Version-Warning. The rows load; the run says the extra must change."""
    sandbox.sandbox.meta_auto_upgrade = True
    set_extra(monkeypatch, connections, api_version="v21.0")
    with caplog.at_level(logging.WARNING):
        run("meta_ads", end=world.default_now)
    assert len(rows("SELECT 1 FROM raw_meta_ads.insights")) == world.truth().insights_row_count
    lines = [r.getMessage() for r in caplog.records]
    assert any("another API version" in line and "upgraded to v24.0" in line for line in lines), lines
    assert any("Meta Marketing API v21.0 expired on 2025-09-09" in line and "'meta_ads'" in line for line in lines), lines


# ---- large accounts: report runs -------------------------------------------------------------


def test_a_synchronous_read_above_the_row_limit_answers_metas_code_1(sandbox, monkeypatch):
    monkeypatch.setattr(sandbox_meta, "SYNC_ROW_LIMIT", 100)
    url = f"{sandbox.base_url}/{DEFAULT}/act_1001/insights"
    small = requests.get(url, params=params("2026-06-01", "2026-06-07", filtering=every_status()), headers=META_AUTH, timeout=30)
    assert small.status_code == 200 and len(small.json()["data"]) == 7 * 8
    big = requests.get(url, params=params("2026-06-01", "2026-06-28", filtering=every_status()), headers=META_AUTH, timeout=30)
    assert (big.status_code, big.json()) == (500, {"error": {"message": TOO_MUCH_DATA, "code": 1}})


def test_a_report_run_advances_per_poll_and_pages_what_the_synchronous_read_gives(sandbox):
    base = f"{sandbox.base_url}/{DEFAULT}"
    query = params("2026-06-01", "2026-06-30", filtering=every_status())
    started = requests.post(f"{base}/act_1002/insights", data=query, headers=META_AUTH, timeout=30)
    run_id = started.json()["report_run_id"]
    assert started.status_code == 200 and set(started.json()) == {"report_run_id"} and run_id.isdigit()
    early = requests.get(f"{base}/{run_id}/insights", headers=META_AUTH, timeout=30)
    assert early.status_code == 400 and early.json()["error"]["code"] == 100
    states = [requests.get(f"{base}/{run_id}", headers=META_AUTH, timeout=30).json() for _ in range(3)]
    assert [(s["async_status"], s["async_percent_completion"]) for s in states] == [
        ("Job Running", 50),
        ("Job Completed", 100),
        ("Job Completed", 100),
    ]
    assert states[0]["id"] == run_id and states[0]["account_id"] == "1002"
    assert (states[0]["date_start"], states[0]["date_stop"]) == ("2026-06-01", "2026-06-30")
    got, url, page_params = [], f"{base}/{run_id}/insights", {"limit": 100}
    while url:
        page = requests.get(url, params=page_params, headers=META_AUTH, timeout=30).json()
        got += page["data"]
        url, page_params = page.get("paging", {}).get("next"), None
    synchronous = requests.get(f"{base}/act_1002/insights", params=query, headers=META_AUTH, timeout=30).json()["data"]
    assert got == synchronous and len(got) == 30 * 8
    # The POST's parameters exist on AdAccount's POST insights edge, which returns an AdReportRun.
    edge = MetaSpec().edge("AdAccount", "insights", "POST")
    assert edge["return"] == "AdReportRun" and set(query) <= {p["name"] for p in edge["params"]}


def test_a_large_account_is_read_through_report_runs(sandbox, connections, data_dir, world, monkeypatch):
    """GIVEN an account too large for any synchronous read, THEN every row still lands (old code: the
    synchronous read was retried unchanged six times, then the run failed)."""
    monkeypatch.setattr(sandbox_meta, "SYNC_ROW_LIMIT", 10)
    seen = []
    sandbox.sandbox.request_hooks.append(seen.append)
    run("meta_ads", end=world.default_now)
    assert len(rows("SELECT 1 FROM raw_meta_ads.insights")) == world.truth().insights_row_count == 1432
    assert not [r for r in seen if r.path.endswith("/insights") and "/act_" in r.path and r.method == "GET"]


def test_a_window_meta_answers_with_code_1_is_split_in_halves_never_asked_again(
    sandbox, connections, data_dir, world, monkeypatch
):
    set_extra(monkeypatch, connections, account_ids=["1001"])
    sandbox.faults.add(
        "server_error",
        platform="meta",
        endpoint=r"/act_\d+/insights$",
        method="POST",
        schedule=[1],
        status=500,
        message=TOO_MUCH_DATA,
    )
    seen = []
    sandbox.sandbox.request_hooks.append(seen.append)
    start = world.default_now - timedelta(days=20)
    run("meta_ads", end=world.default_now, start=start, streams=["insights"])
    assert report_ranges(seen) == [("2026-08-10", "2026-08-29"), ("2026-08-10", "2026-08-19"), ("2026-08-20", "2026-08-29")]
    assert spend_by_ad("1001") == world_spend_by_ad(world, "1001", date(2026, 8, 10), date(2026, 8, 29))


@pytest.mark.parametrize("failure", ["Job Failed", "Job Skipped"])
def test_a_report_run_that_fails_twice_is_split_and_the_window_still_lands(
    failure, sandbox, connections, data_dir, world, monkeypatch, caplog
):
    set_extra(monkeypatch, connections, account_ids=["1001"])
    sandbox.faults.add("report_failed", platform="meta", endpoint=RUN_NODE, method="GET", schedule=[1, 2], status=failure)
    seen = []
    sandbox.sandbox.request_hooks.append(seen.append)
    with caplog.at_level(logging.WARNING, logger="extractors.sources.meta_ads"):
        run("meta_ads", end=world.default_now, start=world.default_now - timedelta(days=20), streams=["insights"])
    assert [f.kind for f in sandbox.faults.fired] == ["report_failed", "report_failed"]
    assert report_ranges(seen) == [("2026-08-10", "2026-08-29")] * 2 + [
        ("2026-08-10", "2026-08-19"),
        ("2026-08-20", "2026-08-29"),
    ]
    assert sum(f"ended '{failure}' (attempt" in r.getMessage() for r in caplog.records) == 2  # then split
    assert spend_by_ad("1001") == world_spend_by_ad(world, "1001", date(2026, 8, 10), date(2026, 8, 29))


def test_a_day_meta_never_reports_fails_the_unit_with_metas_words(sandbox, connections, data_dir, world, monkeypatch):
    set_extra(monkeypatch, connections, account_ids=["1001"])
    sandbox.faults.add("report_failed", platform="meta", endpoint=RUN_NODE, method="GET")  # every run fails
    # The unit fails (it keeps its cursor, the other units would load) and the run says why in Meta's words.
    with pytest.raises(
        PartialFailure, match=r"insights \[act_1001\] 2026-08-29\.\.2026-08-29: Meta will not report even one day"
    ):
        run("meta_ads", end=world.default_now, start=world.default_now - timedelta(days=1), streams=["insights"])


def test_a_report_run_that_never_finishes_is_given_up_after_the_timeout(sandbox, connections, data_dir, world, monkeypatch):
    set_extra(monkeypatch, connections, account_ids=["1001"], report_timeout_s=0.3)
    monkeypatch.setattr(sandbox_meta, "JOB_STATES", sandbox_meta.JOB_STATES[:2])  # never past "Job Running"
    with pytest.raises(PartialFailure, match=r"did not finish in 0s \(Job Running, 50%\).*'report_timeout_s'"):
        run("meta_ads", end=world.default_now, start=world.default_now - timedelta(days=1), streams=["insights"])


# ---- deleted and archived ads ----------------------------------------------------------------


def test_insights_leave_out_deleted_ads_unless_their_status_is_asked_for(sandbox, world):
    url = f"{sandbox.base_url}/{DEFAULT}/act_1001/insights"

    def ads(**extra):
        answer = requests.get(url, params=params("2026-08-01", "2026-08-02", **extra), headers=META_AUTH, timeout=30)
        return {r["ad_id"] for r in answer.json()["data"]}

    deleted = {ad for ad, status in AD_STATUS_AT_FLIGHT_END.items() if status == "DELETED"}
    archived = {ad for ad, status in AD_STATUS_AT_FLIGHT_END.items() if status == "ARCHIVED"}
    everything = ads(filtering=every_status())
    assert len(everything) == 8 and deleted & everything and archived & everything
    assert ads() == everything - deleted  # the account edge's default
    live = json.dumps([{"field": "ad.effective_status", "operator": "IN", "value": ["ACTIVE", "PAUSED"]}])
    assert ads(filtering=live) == everything - deleted - archived
    sandbox.set_clock(world.default_now - timedelta(hours=1))  # before the flight ended, every ad was active
    assert ads() == everything
    bad = requests.get(
        url,
        params=params(
            "2026-08-01", "2026-08-02", filtering='[{"field": "ad.effective_status", "operator": "IN", "value": ["GONE"]}]'
        ),
        headers=META_AUTH,
        timeout=30,
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 100


def test_the_spend_of_deleted_and_archived_ads_lands(sandbox, connections, data_dir, world):
    """Old code asked without a status filter: the deleted ads' spend was missing."""
    run("meta_ads", end=world.default_now)
    for account in AD_ACCOUNTS:
        assert spend_by_ad(account.account_id) == world_spend_by_ad(world, account.account_id, world.start, world.end)
    assert set(AD_STATUS_AT_FLIGHT_END) <= {ad for account in AD_ACCOUNTS for ad in spend_by_ad(account.account_id)}


def test_the_status_filter_lists_every_status_meta_defines():
    assert list(meta_ads.AD_EFFECTIVE_STATUSES) == MetaSpec().enum_values("Ad_effective_status")
    assert sandbox_meta.AD_EFFECTIVE_STATUSES == meta_ads.AD_EFFECTIVE_STATUSES
