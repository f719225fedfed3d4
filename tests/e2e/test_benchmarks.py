"""The hot-path benchmarks run end to end at a tiny size (the numbers are `make benchmark`'s, never asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.__main__ import RATIOS, regressions

REPO = Path(__file__).resolve().parents[2]


def test_every_benchmark_runs_and_every_tool_loads_the_same_values(tmp_path):
    # WHEN every path runs at a tiny size (three pages; six for the memory path)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--records", "300", "--memory-records", "600", "--results-dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # THEN one table of ratios is printed and the run is written to results/<date>.json
    assert "| funnelhouse extract + load / fetch ceiling |" in done.stdout
    [written] = tmp_path.glob("*.json")
    [run] = json.loads(written.read_text())
    results = run["results"]
    assert set(results) == {
        "server",
        "fetch",
        "read_json",
        "extract_load",
        "process",
        "process_memory_records",
        "dlt_default",
        "dlt_parquet",
    }
    # every tool read every record once: funnelhouse (in process and as the CLI) and dlt hold the same values
    assert {name: r["rows"] for name, r in results.items()} == {**{name: 300 for name in results}, "process_memory_records": 600}
    checksums = {
        name: r["checksum"] for name, r in results.items() if name in ("extract_load", "process", "dlt_default", "dlt_parquet")
    }
    assert len(set(checksums.values())) == 1, checksums
    assert set(run["ratios"]) == {key for key, *_ in RATIOS}
    assert run["load_average"]["before"] and run["cores"]


def test_a_ratio_more_than_20_percent_worse_than_the_baseline_is_reported():
    baseline = {"date": "2026-12-04", "sizes": {"records": 100}, "ratios": {"extract_load_over_fetch": 0.5, "memory_growth": 1.2}}
    assert regressions({"extract_load_over_fetch": 0.41, "memory_growth": 1.4}, {"records": 100}, baseline) == []
    worse = regressions({"extract_load_over_fetch": 0.39, "memory_growth": 1.5}, {"records": 100}, baseline)
    assert [w.split(":")[0] for w in worse] == [
        "funnelhouse extract + load / fetch ceiling",
        "peak RSS of python -m extractors, memory records / records",
    ]
    assert regressions({"extract_load_over_fetch": 0.1}, {"records": 200}, baseline) == []  # other sizes: not comparable
