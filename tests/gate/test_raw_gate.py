"""The raw phase of the gate, before dbt: raw tables the real loader wrote from the sandbox's Meta
ads, checked for shape, keys, numbers, dates inside the loaded window, rows per day against the
history of earlier runs, and freshness against the dbt sources YAML (with its severities)."""

from __future__ import annotations

import re
import shutil

import duckdb
import pytest

from expectations import gate
from expectations.gate import run_gate
from extractors import settings
from tests.pipeline_helpers import run

INSIGHTS = "raw_meta_ads.insights"


@pytest.fixture
def loaded(sandbox, connections, data_dir, world, tmp_path):
    """Meta ads extracted from the sandbox and loaded by the one loader (about a second)."""
    run("meta_ads", world.default_now)
    project = tmp_path / "gx"
    shutil.copytree(gate.GX_DIR, project, ignore=shutil.ignore_patterns("uncommitted"))
    return settings.warehouse_path(), project


def corrupt(warehouse, *statements: str) -> None:
    with duckdb.connect(str(warehouse)) as connection:
        for statement in statements:
            connection.execute(statement)


def test_raw_gate_passes_what_the_loader_wrote_and_skips_sources_not_extracted(loaded):
    # GIVEN Meta's raw tables as loaded  WHEN the raw gate runs
    warehouse, project = loaded
    result = run_gate(str(warehouse), gx_dir=project, phase="raw", run_id="first")

    # THEN the Meta suites, volume and freshness pass; every other source's suites are skipped
    assert result.success is True and result.failing_expectations == [] and result.warning_expectations == []
    assert [s.suite for s in result.suites] == ["raw_meta_ads.ad_accounts", INSIGHTS, "gate.freshness", "gate.volumes"]
    assert "raw_hubspot.contacts" in result.skipped and "raw_ga4.sessions_daily" in result.skipped
    # AND the volume history holds every complete day of each account's window (the last UTC
    # day may still be running in the account's zone and is left out)
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        days = connection.execute(
            "SELECT account_id, count(*), min(rows) FROM _funnelhouse.gate_volume_history GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        assert [(account, n) for account, n, _ in days] == [("1001", 89), ("1002", 89)]
        assert all(fewest > 0 for _, _, fewest in days)
        assert connection.execute(
            "SELECT source, warn_after_hours, error_after_hours FROM _funnelhouse.gate_freshness"
        ).fetchall() == [("meta_ads", 24.0, 48.0)]


def test_raw_gate_fails_on_a_duplicate_key_a_negative_spend_an_emptied_day_and_a_date_outside_the_window(loaded):
    # GIVEN a first, good run (the history), then a raw table with a repeated key, a negative
    # spend, one account's day emptied (as a silent empty page would) and a row dated after its window
    warehouse, project = loaded
    assert run_gate(str(warehouse), gx_dir=project, phase="raw", run_id="good").success
    corrupt(
        warehouse,
        "INSERT INTO raw_meta_ads.ad_accounts SELECT * FROM raw_meta_ads.ad_accounts LIMIT 1",
        f'UPDATE {INSIGHTS} SET _record = json_merge_patch(_record, \'{{"spend": "-12.50"}}\')'
        f" WHERE ad_id = (SELECT min(ad_id) FROM {INSIGHTS}) AND date_start = '2026-07-01'",
        f"DELETE FROM {INSIGHTS} WHERE _account_id = '1002' AND date_start = '2026-08-10'",
        f"UPDATE {INSIGHTS} SET date_start = '2026-09-30' WHERE _account_id = '1001' AND date_start = '2026-06-02'"
        f" AND ad_id = (SELECT min(ad_id) FROM {INSIGHTS} WHERE date_start = '2026-06-02')",
    )

    # WHEN the raw gate runs again
    result = run_gate(str(warehouse), gx_dir=project, phase="raw", run_id="bad")

    # THEN it fails, naming each expectation with the failing values
    assert result.success is False
    assert sorted(result.failing_expectations) == [
        "gate.volumes: unexpected_rows_expectation(rows_per_day_against_history)",
        "raw_meta_ads.ad_accounts: expect_compound_columns_to_be_unique(column_list=_account_id,id)",
        f"{INSIGHTS}: unexpected_rows_expectation(dates_inside_loaded_window)",
        f"{INSIGHTS}: unexpected_rows_expectation(measures_are_non_negative_numbers)",
    ]
    errors = "\n".join(result.findings("error"))
    assert "account_id=1002, date_day=2026-08-10, rows=0, baseline_rows=" in errors
    assert "date_start=2026-07-01, spend=-12.50" in errors
    assert "date_start=2026-09-30, window_start=2026-06-01" in errors
    # AND the run is recorded with its findings
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        assert connection.execute(
            "SELECT run_id, success, errors FROM _funnelhouse.gate_runs ORDER BY checked_at"
        ).fetchall() == [("good", True, 0), ("bad", False, 4)]


def test_freshness_warns_after_warn_after_and_fails_after_error_after(loaded):
    warehouse, project = loaded

    # GIVEN Meta's newest load 30 hours old (warn_after 24 h in the dbt sources YAML)
    corrupt(
        warehouse,
        *(f"UPDATE {t} SET _loaded_at = _loaded_at - INTERVAL 30 HOURS" for t in ("raw_meta_ads.ad_accounts", INSIGHTS)),
    )
    # WHEN the raw gate runs  THEN it passes with a warning that says how old
    warned = run_gate(str(warehouse), gx_dir=project, phase="raw")
    assert warned.success is True
    assert warned.warning_expectations == ["gate.freshness: unexpected_rows_expectation(loaded_within_warn_after)"]
    assert "source=meta_ads" in warned.findings("warning")[0]
    assert re.search(r"lag_hours=30(\.\d+)?,", warned.findings("warning")[0])  # 30 h and the seconds the test took

    # GIVEN 50 hours (error_after 48 h)  WHEN it runs  THEN it fails
    corrupt(
        warehouse,
        *(f"UPDATE {t} SET _loaded_at = _loaded_at - INTERVAL 20 HOURS" for t in ("raw_meta_ads.ad_accounts", INSIGHTS)),
    )
    failed = run_gate(str(warehouse), gx_dir=project, phase="raw")
    assert failed.success is False
    assert failed.failing_expectations == ["gate.freshness: unexpected_rows_expectation(loaded_within_error_after)"]


def test_declared_freshness_comes_from_the_dbt_sources_yaml():
    declared = gate.declared_freshness()
    assert set(declared) == {
        "raw_hubspot",
        "raw_meta_ads",
        "raw_google_ads",
        "raw_ga4",
        "raw_mailchimp",
        "raw_facebook_pages",
        "raw_cbr",
    }
    assert declared["raw_meta_ads"] == ("_loaded_at", 24.0, 48.0)
