"""Write-audit-publish through the pipeline steps: a failing gate publishes nothing."""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from extractors import settings
from funnelhouse import steps
from tests.test_gate import EXPECTATIONS_PER_SUITE, ROWS_PER_TABLE, build_marts


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_gate_pass_publishes_and_gate_failure_keeps_the_last_good_version(data_dir):
    warehouse = settings.warehouse_path()
    warehouse.parent.mkdir(parents=True)
    build_marts(warehouse)

    gate = steps.gate()
    assert gate["success"] and gate["failed"] == 0 and gate["evaluated"] == sum(EXPECTATIONS_PER_SUITE.values()) == 291
    published = steps.publish()
    assert published["tables"] == {f"marts.{table}": rows for table, rows in ROWS_PER_TABLE.items()}
    good = digest(settings.published_path())

    # The next build plants a duplicate key: the gate must stop the run before publish.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("INSERT INTO marts.funnel_by_channel SELECT * FROM marts.funnel_by_channel LIMIT 1")
    with pytest.raises(RuntimeError, match="quality gate failed, nothing published: marts.funnel_by_channel: expect_compound_columns_to_be_unique"):
        steps.gate()
    assert digest(settings.published_path()) == good
    summary = steps.summary().splitlines()
    assert summary[-1] == str(settings.published_path())
    assert "quality gate: FAILED (291 expectations, 1 failed)" in summary
