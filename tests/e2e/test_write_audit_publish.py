"""Write-audit-publish through the pipeline steps: a failing gate publishes nothing, byte for byte,
and the next good run publishes; a warning publishes and is reported."""

from __future__ import annotations

import hashlib
import shutil
from decimal import Decimal

import duckdb
import pytest

from extractors import settings
from funnelhouse import steps
from tests.gate.test_gate import ROWS_PER_TABLE, build_marts


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_gate_pass_publishes_and_gate_failure_keeps_the_last_good_version(data_dir):
    warehouse = settings.warehouse_path()
    warehouse.parent.mkdir(parents=True)
    build_marts(warehouse)
    shutil.copyfile(warehouse, data_dir / "good.duckdb")

    # GIVEN a good build: the gate passes and it is published
    gate = steps.gate(run_id="run-1")
    assert gate["success"] and gate["failed"] == 0 and gate["evaluated"] > 0
    published = steps.publish(run_id="run-1")
    assert published["tables"] == {f"marts.{table}": rows for table, rows in ROWS_PER_TABLE.items()}
    good = digest(settings.published_path())

    # WHEN the next build has a duplicated row (its spend counted twice) and a negative spend
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "INSERT INTO marts.channel_performance_daily SELECT * FROM marts.channel_performance_daily WHERE channel = 'paid_search'"
        )
        con.execute("UPDATE marts.ad_performance_daily SET spend_in_reporting_currency = -5.0 WHERE ad_account_id = '1002'")

    # THEN the gate stops the run, naming the expectations and the failing values
    with pytest.raises(RuntimeError) as failure:
        steps.gate(run_id="run-2")
    message = str(failure.value)
    assert message.startswith(
        "quality gate failed, nothing published: marts.ad_performance_daily:"
        " expect_column_values_to_be_between(column=spend_in_reporting_currency): 1 unexpected rows, e.g. [-5.0]"
    )
    assert (
        "reconcile.channel_spend: unexpected_rows_expectation(spend_matches_ad_performance): 2 unexpected rows,"
        " e.g. date_day=2024-05-01, platforms=google_ads, ad_spend=100, channel_spend=200"
    ) in message
    # AND nothing was published: the file is byte-identical, and the summary says why
    assert digest(settings.published_path()) == good
    summary = steps.summary().splitlines()
    assert summary[-1] == str(settings.published_path())
    assert any(line.startswith("quality gate: FAILED (") and "2 failed, 0 warnings)" in line for line in summary)
    assert any(line.startswith("  error: marts.ad_performance_daily: expect_column_values_to_be_between") for line in summary)
    assert "published run: run-1 (1 versions kept for rollback)" in summary

    # WHEN the next good run comes  THEN it passes and publishes
    shutil.copyfile(data_dir / "good.duckdb", warehouse)
    assert steps.gate(run_id="run-3")["success"]
    assert steps.publish(run_id="run-3")["run_id"] == "run-3"
    assert digest(settings.published_path()) != good
    assert "published run: run-3 (2 versions kept for rollback)" in steps.summary().splitlines()


def test_end_to_end_a_bad_night_publishes_nothing_and_the_next_good_run_does(pipeline_runs, tmp_path, monkeypatch):
    """On the session's real pipeline data: a raw day emptied stops the raw gate, a corrupted
    mart stops the gate, the published file keeps its bytes; the good build then publishes, and
    a rollback brings the earlier numbers back."""
    data = tmp_path / "data"
    shutil.copytree(pipeline_runs["data_dir"], data, ignore=shutil.ignore_patterns("airflow", "logs", "landing", "dbt"))
    monkeypatch.setenv("FUNNELHOUSE_DATA_DIR", str(data))
    warehouse, published = settings.warehouse_path(), settings.published_path()
    shutil.copyfile(warehouse, tmp_path / "good.duckdb")
    before = digest(published)
    first_run = steps.summary().splitlines()

    # GIVEN one day of one Meta account's insights emptied, as a silent empty page would leave it
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DELETE FROM raw_meta_ads.insights WHERE _account_id = '1002' AND date_start = '2026-08-20'")
    # WHEN the raw gate runs  THEN it fails naming the volume expectation and the day
    with pytest.raises(
        RuntimeError,
        match=r"raw quality gate failed, nothing built or published: gate\.volumes: "
        r"unexpected_rows_expectation\(rows_per_day_against_history\): 1 unexpected rows, e\.g\. "
        r"source=meta_ads, stream=insights, account_id=1002, date_day=2026-08-20, rows=0",
    ):
        steps.raw_gate(run_id="bad-raw")

    # GIVEN a good raw layer but a mart with a negative spend and a duplicated day of leads
    shutil.copyfile(tmp_path / "good.duckdb", warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "UPDATE marts.ad_performance_daily SET spend_in_account_currency = -1.0, spend_in_reporting_currency = -1.0"
            " WHERE date_day = '2026-07-01' AND platform = 'meta_ads' AND ad_account_id = '1001'"
        )
        con.execute(
            "INSERT INTO marts.channel_performance_daily SELECT * FROM marts.channel_performance_daily"
            " WHERE date_day = '2026-07-02' AND leads > 0"
        )
    # WHEN the gate runs  THEN it fails naming the expectations with values
    with pytest.raises(RuntimeError) as failure:
        steps.gate(run_id="bad-marts")
    message = str(failure.value)
    for named in (
        "marts.ad_performance_daily: expect_column_values_to_be_between(column=spend_in_reporting_currency)",
        "reconcile.meta_ads_spend: unexpected_rows_expectation(spend_matches_raw)",
        "reconcile.leads: unexpected_rows_expectation(leads_match_raw_contacts)",
        "date_day=2026-07-02, raw_leads=",
    ):
        assert named in message
    # AND the published file never changed
    assert digest(published) == before

    # WHEN the good build is checked again  THEN it publishes, as a new version
    shutil.copyfile(tmp_path / "good.duckdb", warehouse)
    assert steps.gate(run_id="good-again")["success"]
    steps.publish(run_id="good-again")
    assert digest(published) != before
    assert "published run: good-again (3 versions kept for rollback)" in steps.summary().splitlines()

    # AND a rollback makes the session's second run current again, with its numbers
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("SELECT run_id FROM meta.publication").fetchone() == ("good-again",)
    assert steps.rollback()["was"] == "good-again"
    with duckdb.connect(str(published), read_only=True) as con:
        spend = con.execute("SELECT sum(spend) FROM marts.channel_performance_daily").fetchone()[0]
    assert spend == Decimal("92368.39")  # the session run's spend, exact
    (session_run,) = [line.split()[2] for line in first_run if line.startswith("published run:")]
    assert f"published run: {session_run} (3 versions kept for rollback)" in steps.summary().splitlines()
