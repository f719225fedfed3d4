"""``make benchmark``: funnelhouse's hot paths against their ceilings and a peer, as ratios from one run.

    python -m benchmarks [NAME ...] [--records 100000] [--memory-records 1000000]
    python -m benchmarks sandbox [--scales 1,10,100] ...    (the sandbox and every source: benchmarks/sandbox.py)
    python -m benchmarks dbt-incremental [--days N]         (incremental against full-refresh dbt builds)

NAMEs (default: all of them): server, fetch, read_json, extract_load, process, memory, dlt
(dlt_default and dlt_parquet). Every path reads the same HubSpot-shaped contacts from the
benchmark server (benchmarks/server.py, its own process) and runs in its own process, so
its peak RSS is its own. The table's ratios are between numbers of this one run; the run is
written to benchmarks/results/<date>.json and compared with benchmarks/baseline.json (same
sizes only): a ratio more than 20% worse than the baseline's is reported loudly and the exit
status is 1. Row counts and value checksums of every loaded table must agree, or the run fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "baseline.json"
PATHS = ("server", "fetch", "read_json", "extract_load", "process", "memory", "dlt_default", "dlt_parquet")
GROUPS = {"dlt": ("dlt_default", "dlt_parquet")}
REGRESSION = 0.20
# (key, what, higher is better, goal): each a ratio of this run's numbers (first_request_s a time)
RATIOS = (
    ("server_over_fetch", "benchmark server ceiling / fetch ceiling (the server is not the limit above 1)", True, None),
    ("extract_load_over_fetch", "funnelhouse extract + load / fetch ceiling", True, 0.7),
    ("extract_load_over_dlt_parquet", "funnelhouse extract + load / dlt rest_api -> duckdb (parquet)", True, 8.0),
    ("extract_load_over_dlt_default", "funnelhouse extract + load / dlt rest_api -> duckdb (default)", True, None),
    ("extract_over_fetch", "funnelhouse extract (HTTP -> landing) / fetch ceiling", True, None),
    ("load_over_read_json", "funnelhouse load (landing -> raw table) / DuckDB read_json (JSONL -> table)", True, 0.8),
    ("process_over_fetch", "python -m extractors, whole process / fetch ceiling", True, None),
    ("first_request_s", "python -m extractors: seconds from start to its first request", False, 1.0),
    ("memory_growth", "peak RSS of python -m extractors, memory records / records", False, 1.5),
)


def _rate(result: dict, seconds_key: str = "seconds") -> float:
    return result["rows"] / result[seconds_key] if result.get(seconds_key) else float("nan")


def run_child(name: str, base_url: str, records: int, workdir: Path) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--child",
            name,
            "--records",
            str(records),
            "--base-url",
            base_url,
            "--workdir",
            str(workdir),
        ],
        cwd=HERE.parent,
        stdout=subprocess.PIPE,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"benchmarks: {name} failed (exit {done.returncode}); its error is above")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(names: list[str], records: int, memory_records: int, tmp: Path) -> dict[str, dict]:
    from benchmarks import hotpaths, server

    results: dict[str, dict] = {}
    with server.running(records) as base_url:
        for name in names:
            print(f"... {name} ({records:,} records)", file=sys.stderr, flush=True)
            if name in ("process", "memory"):
                if "process" not in results:
                    results["process"] = hotpaths.whole_process(base_url, records, tmp / "process")
            else:
                results[name] = run_child(name, base_url, records, tmp / name)
    if "memory" in names:
        print(f"... memory ({memory_records:,} records)", file=sys.stderr, flush=True)
        with server.running(memory_records) as base_url:
            results["process_memory_records"] = hotpaths.whole_process(base_url, memory_records, tmp / "memory")
    return results


def ratios(results: dict[str, dict]) -> dict[str, float]:
    out = {}
    fetch = results.get("fetch")
    el = results.get("extract_load")
    if fetch and "server" in results:
        out["server_over_fetch"] = _rate(results["server"]) / _rate(fetch)
    if el and fetch:
        out["extract_load_over_fetch"] = _rate(el) / _rate(fetch)
        out["extract_over_fetch"] = _rate(el, "extract_seconds") / _rate(fetch)
    for flavour in ("parquet", "default"):
        if el and f"dlt_{flavour}" in results:
            out[f"extract_load_over_dlt_{flavour}"] = _rate(el) / _rate(results[f"dlt_{flavour}"])
    if el and "read_json" in results:
        out["load_over_read_json"] = _rate(el, "load_seconds") / _rate(results["read_json"])
    if "process" in results:
        out["first_request_s"] = results["process"]["first_request_s"]
        if fetch:
            out["process_over_fetch"] = _rate(results["process"]) / _rate(fetch)
    if "process_memory_records" in results:
        out["memory_growth"] = results["process_memory_records"]["peak_rss_mib"] / results["process"]["peak_rss_mib"]
    return out


def check_equal(results: dict[str, dict], records: int) -> list[str]:
    """Every loaded table holds every record once, with the same values (checksums)."""
    problems = []
    loaded = {k: v for k, v in results.items() if "checksum" in v and k != "process_memory_records"}
    for name, r in {k: v for k, v in results.items() if "rows" in v and k not in ("server", "process_memory_records")}.items():
        if r["rows"] != records:
            problems.append(f"{name} has {r['rows']:,} rows, not {records:,}")
    if len({r["checksum"] for r in loaded.values()}) > 1:
        problems.append("value checksums differ: " + ", ".join(f"{k} {v['checksum']}" for k, v in loaded.items()))
    return problems


def print_table(results: dict[str, dict], measured: dict[str, float], header: str) -> None:
    labels = {
        "server": "benchmark server ceiling (4 keep-alive clients, bytes only)",
        "fetch": "fetch ceiling: requests + JSON parse, keep nothing",
        "read_json": "DuckDB read_json of the same records, JSONL -> table",
        "extract_load": "funnelhouse extract + load (HTTP -> landing -> raw table), one process",
        "process": "funnelhouse `python -m extractors hubspot --stream contacts`, whole process",
        "process_memory_records": "the same process at the memory size",
        "dlt_default": "dlt rest_api -> duckdb, default (jsonl)",
        "dlt_parquet": "dlt rest_api -> duckdb, parquet",
    }
    print(header)
    print("\n| path | rows | seconds | rows/s | peak RSS |\n|---|---|---|---|---|")
    for name, r in results.items():
        rss = f"{r['peak_rss_mib']:,.0f} MiB" if "peak_rss_mib" in r else ""
        print(f"| {labels[name]} | {r['rows']:,} | {r['seconds']:.2f} | {_rate(r):,.0f} | {rss} |")
        if name == "extract_load":
            print(
                f"| ... of which extract (HTTP -> landing) | | {r['extract_seconds']:.2f} | {_rate(r, 'extract_seconds'):,.0f} | |"
            )
            print(f"| ... of which load (landing -> raw table) | | {r['load_seconds']:.2f} | {_rate(r, 'load_seconds'):,.0f} | |")
    print("\n| ratio (this run) | measured | goal |\n|---|---|---|")
    for key, what, higher, goal in RATIOS:
        if key in measured:
            value = f"{measured[key]:.2f} s" if key.endswith("_s") else f"{measured[key]:.2f}x"
            met = (
                ""
                if goal is None
                else (
                    f"{'>=' if higher else '<='} {goal:g}: "
                    + ("met" if (measured[key] >= goal if higher else measured[key] <= goal) else "NOT met")
                )
            )
            print(f"| {what} | {value} | {met} |")
    print(flush=True)


def regressions(measured: dict[str, float], sizes: dict, baseline: dict) -> list[str]:
    if baseline.get("sizes") != sizes:
        return []
    out = []
    for key, what, higher, _ in RATIOS:
        before, now = baseline["ratios"].get(key), measured.get(key)
        if before is None or now is None:
            continue
        worse = (before - now) / before if higher else (now - before) / before
        if worse > REGRESSION:
            out.append(f"{what}: {before:.2f} -> {now:.2f} ({worse:.0%} worse than the baseline of {baseline['date']})")
    return out


def save(run: dict, results_dir: Path) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{run['date'][:10]}.json"
    runs = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps([*runs, run], indent=1) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "sandbox":
        from benchmarks import sandbox

        return sandbox.main(argv[1:]) or 0
    if argv and argv[0] == "dbt-incremental":
        from benchmarks import sandbox

        return sandbox.main(["--only", "dbt-incremental", *argv[1:]]) or 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"paths to measure (default all): {', '.join(PATHS)}, dlt")
    parser.add_argument("--records", type=int, default=100_000, help="contacts every path reads (default 100,000)")
    parser.add_argument(
        "--memory-records", type=int, default=1_000_000, help="the larger size of the memory path (default 1,000,000)"
    )
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    parser.add_argument("--save-baseline", action="store_true", help="make this run the checked-in baseline")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        from benchmarks.hotpaths import PATHS as CHILDREN

        print(json.dumps(CHILDREN[args.child](args.base_url, args.records, args.workdir)))
        return 0
    names = [n for name in (args.names or PATHS) for n in GROUPS.get(name, (name,))]
    unknown = [n for n in names if n not in PATHS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}: choose from {', '.join(PATHS)}, dlt, sandbox, dbt-incremental")
    if args.records < 100 or args.records % 100 or args.memory_records < args.records or args.memory_records % 100:
        parser.error("--records and --memory-records must be whole pages (multiples of 100), memory records at least records")

    import duckdb

    load_before = os.getloadavg()
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="funnelhouse-bench-") as tmp:
        results = measure(names, args.records, args.memory_records, Path(tmp))
    load_after = os.getloadavg()
    measured = ratios(results)
    sizes = {"records": args.records, "memory_records": args.memory_records if "memory" in names else None}
    versions = {"python": platform.python_version(), "duckdb": duckdb.__version__}
    try:
        from importlib.metadata import version

        versions["dlt"] = version("dlt")
    except Exception:  # noqa: BLE001 - the benchmark group is not installed
        pass
    header = (
        f"## funnelhouse hot paths, {args.records:,} HubSpot-shaped contacts, {started:%Y-%m-%d %H:%M} UTC\n\n"
        f"{os.cpu_count()} cores, {', '.join(f'{k} {v}' for k, v in versions.items())}; load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after (1 min). Ratios compare numbers of this one run."
    )
    print_table(results, measured, header)
    run = {
        "date": started.isoformat(timespec="seconds"),
        "sizes": sizes,
        "cores": os.cpu_count(),
        "versions": versions,
        "load_average": {"before": load_before, "after": load_after},
        "results": results,
        "ratios": measured,
    }
    print(f"written to {save(run, args.results_dir)}")
    failed = check_equal(results, args.records)
    if failed:
        print("benchmarks: the loaded tables disagree: " + "; ".join(failed), file=sys.stderr)
    if args.save_baseline:
        BASELINE.write_text(json.dumps({k: run[k] for k in ("date", "sizes", "load_average", "ratios")}, indent=1) + "\n")
        print(f"baseline saved: {BASELINE}")
    elif BASELINE.exists():
        baseline = json.loads(BASELINE.read_text())
        worse = regressions(measured, sizes, baseline)
        if worse:
            print(
                "\n"
                + "!" * 100
                + "\nREGRESSION: a ratio is more than 20% worse than the checked-in baseline\n"
                + "\n".join(f"  - {w}" for w in worse)
                + "\n"
                + "!" * 100,
                file=sys.stderr,
            )
            return 1
        if baseline.get("sizes") != sizes:
            print(f"(not compared with the baseline: it was measured at {baseline.get('sizes')})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
