"""funnelhouse commands (the Makefile calls these).

    python -m funnelhouse demo      start the sandbox, run the DAG end to end against it, print the summary
    python -m funnelhouse run       run the DAG against the Connections set in the environment
    python -m funnelhouse summary   print the last run's summary
    python -m funnelhouse rollback [--to RUN_ID] [--list]
                                    make an earlier published version current (default: the one before)
    python -m funnelhouse pools     print the DAG's pools as JSON for `airflow pools import`

``demo`` and ``run`` execute the real DAG with ``airflow dags test`` (SQLite
metadata under the data dir, no scheduler or webserver needed). The last line
printed is the path of the published DuckDB file.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from funnelhouse import PROJECT_ROOT

DAG_ID = "funnelhouse"
# Lines of the Airflow log worth showing while the DAG runs: our own loggers and task boundaries.
PROGRESS = re.compile(
    r"\[(extractors|funnelhouse|expectations)[.\w]*\]|\[DAG TEST\] (starting|end) task|DagRun Finished|ERROR|Traceback|error:"
)


def airflow_env(data_dir: Path) -> dict[str, str]:
    home = data_dir / "airflow"
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": os.environ.get(
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home}/airflow.db"
        ),
        "FUNNELHOUSE_DATA_DIR": str(data_dir),
    }


def _airflow(args: list[str], env: dict, log_file: Path, show_progress: bool = False) -> int:
    airflow = Path(sys.executable).with_name("airflow")
    with open(log_file, "a") as log:
        proc = subprocess.Popen([str(airflow), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            log.write(line)
            if show_progress and PROGRESS.search(line):
                print(_shorten(line), flush=True)
        return proc.wait()


def _shorten(line: str) -> str:
    """Drop the structlog timestamp and location noise, keep the message."""
    line = re.sub(r"^\S+Z \[\s*(\w+)\s*\]\s*", lambda m: "" if m[1] == "info" else f"{m[1].upper()} ", line.rstrip())
    return re.sub(r"\s+\[[\w.]+\] loc=\S+.*$", "", line)


def run_dag(logical_date: date, data_dir: Path, full_refresh: bool = False) -> int:
    env = airflow_env(data_dir)
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / f"airflow-{datetime.now(UTC):%Y%m%dT%H%M%S}.log"
    print(f"== preparing Airflow metadata (SQLite) in {env['AIRFLOW_HOME']}; full log: {log_file}", flush=True)
    if _airflow(["db", "migrate"], env, log_file) != 0:
        print(f"error: `airflow db migrate` failed; see {log_file}", file=sys.stderr)
        return 1
    from funnelhouse.topology import pools_json

    pools_file = Path(env["AIRFLOW_HOME"]) / "pools.json"
    pools_file.write_text(pools_json())
    if _airflow(["pools", "import", str(pools_file)], env, log_file) != 0:
        print(f"error: `airflow pools import` failed; see {log_file}", file=sys.stderr)
        return 1
    print(f"== running DAG {DAG_ID} for {logical_date} (airflow dags test)", flush=True)
    conf = ["--conf", '{"full_refresh": true}'] if full_refresh else []
    code = _airflow(["dags", "test", DAG_ID, logical_date.isoformat(), *conf], env, log_file, show_progress=True)
    state = _last_run_state(log_file)
    if code != 0 or state != "success":
        print(
            f"error: DAG run ended in state '{state or 'unknown'}'; nothing new was published. Full log: {log_file}",
            file=sys.stderr,
        )
        return 1
    from funnelhouse.steps import summary

    print("== summary", flush=True)
    print(summary(), flush=True)
    return 0


def _last_run_state(log_file: Path) -> str | None:
    states = re.findall(r"DagRun Finished: .*?state=(\w+)", log_file.read_text())
    return states[-1] if states else None


def _rollback(to_run_id: str | None, list_only: bool) -> int:
    from extractors import settings
    from funnelhouse import steps
    from funnelhouse.publish import RollbackError, current_run_id, versions

    published = settings.published_path()
    if list_only:
        current = current_run_id(published)
        for version in versions(published):
            print(f"{'*' if version.run_id == current else ' '} {version.published_at}  {version.run_id}")
        return 0
    try:
        result = steps.rollback(to_run_id)
    except RollbackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{published} now holds run {result['run_id']} (was {result['was']})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m funnelhouse", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run everything against the embedded sandbox")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--scale", type=float, default=1.0)
    demo.add_argument("--days", type=int, default=90)
    demo.add_argument("--full-refresh", action="store_true", help="rebuild the incremental dbt models from scratch")
    run = sub.add_parser("run", help="run the DAG against the Connections in the environment")
    run.add_argument(
        "--date", type=date.fromisoformat, default=None, help="logical date (the run reads days before it); default today, UTC"
    )
    run.add_argument("--full-refresh", action="store_true", help="rebuild the incremental dbt models from scratch")
    sub.add_parser("summary", help="print the last run's summary")
    rollback = sub.add_parser("rollback", help="make an earlier published version current, atomically")
    rollback.add_argument(
        "--to", metavar="RUN_ID", help="the run whose version to publish again (default: the one before the current)"
    )
    rollback.add_argument("--list", action="store_true", help="list the kept versions and exit")
    sub.add_parser("pools", help="print the DAG's pools (writer and per-platform) as JSON for `airflow pools import`")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    if args.command == "pools":
        from funnelhouse.topology import pools_json

        print(pools_json())
        return 0
    from extractors import settings

    data_dir = settings.data_dir()
    if args.command == "summary":
        if not settings.published_path().exists():
            print(
                f"error: nothing published yet at {settings.published_path()}: run `make demo` or `make run` first",
                file=sys.stderr,
            )
            return 1
        from funnelhouse.steps import summary

        print(summary())
        return 0
    if args.command == "rollback":
        return _rollback(args.to, args.list)
    if args.command == "run":
        return run_dag(args.date or datetime.now(UTC).date(), data_dir, full_refresh=args.full_refresh)

    from sandbox.server import SandboxServer
    from sandbox.world import World

    world = World(seed=args.seed, scale=args.scale, days=args.days)
    with SandboxServer(world) as server:
        print(
            f"== sandbox serving a simulated business ({world.start}..{world.end}, seed {args.seed}, scale {args.scale}) at {server.base_url}",
            flush=True,
        )
        os.environ.update(server.connections())
        return run_dag(world.end + timedelta(days=1), data_dir, full_refresh=args.full_refresh)


if __name__ == "__main__":
    sys.exit(main())
