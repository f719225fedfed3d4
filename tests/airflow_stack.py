"""A real Airflow CeleryExecutor stack on this machine's PostgreSQL and Redis, for the integration tests.

The settings every process gets (``celery_stack_settings``) are the ones docker-compose.yml gives its
containers; tests/unit/test_docker_compose.py checks the compose file against the same function, so the
stack the tests run and the stack the compose file describes cannot drift apart.

Processes: ``airflow api-server`` (the Execution API the workers' tasks talk to, on 127.0.0.1),
``airflow scheduler``, ``airflow dag-processor`` and two ``airflow celery worker`` processes with
their own hostnames: one serves the ``warehouse`` queue (and ``default``), the other ``default`` only.
Every process runs in its own session, so stopping one (or SIGKILLing it, as a lost machine) takes
its children (Celery's pool processes and the tasks they run) with it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
AIRFLOW = Path(sys.executable).with_name("airflow")

WAREHOUSE_QUEUE = "warehouse"
# The queues each kind of worker serves: the one that holds the DuckDB file also takes the warehouse queue.
WORKER_QUEUES = {"warehouse": f"default,{WAREHOUSE_QUEUE}", "extract": "default"}
HOSTNAME_VARIABLE = "FUNNELHOUSE_TEST_HOSTNAME"


def worker_hostname() -> str:
    """[core] hostname_callable for the test workers: two workers on one machine, told apart by name."""
    return os.environ.get(HOSTNAME_VARIABLE) or socket.getfqdn()


def celery_stack_settings(*, postgres: str, redis: str, api_server: str) -> dict[str, str]:
    """The Airflow and funnelhouse settings of the production stack, for given service addresses.

    ``postgres`` is ``user:password@host/database``, ``redis`` ``host:port/db``, ``api_server`` the API
    server's base URL. The result backend names its driver: with SQLAlchemy 2.1 a bare
    ``db+postgresql://`` would mean psycopg 3, which the lock does not install.
    """
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{postgres}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{postgres}",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{redis}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_server}/execution/",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "FUNNELHOUSE_WAREHOUSE_QUEUE": WAREHOUSE_QUEUE,
    }


def ensure_services() -> None:
    """Start this machine's PostgreSQL and Redis if they are down (as .ci/run does)."""
    if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode != 0:
        version = sorted(os.listdir("/etc/postgresql"))[-1]
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False)
    if subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True).returncode != 0:
        subprocess.run(
            ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", "", "--appendonly", "no"],
            check=False,
        )
    for _ in range(60):
        pg = subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0
        rd = subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True).returncode == 0
        if pg and rd:
            return
        time.sleep(1)
    raise RuntimeError("PostgreSQL (127.0.0.1:5432) or Redis (127.0.0.1:6379) did not come up")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _psql(sql: str, database: str = "postgres") -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
        capture_output=True,
    )


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen
    data_dir: Path


@dataclass
class CeleryStack:
    """Start with ``start()``; ``close()`` stops every process it started and drops its database."""

    root: Path
    connections: dict[str, str]
    extra_env: dict[str, str] = field(default_factory=dict)
    database: str = field(default_factory=lambda: f"funnelhouse_test_{uuid.uuid4().hex[:10]}")
    redis_db: int = 0
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    workers: dict[str, Worker] = field(default_factory=dict)

    def __post_init__(self):
        self.api_port = free_port()
        self.home = self.root / "airflow"
        self.logs = self.root / "logs"
        self.landing = self.root / "landing"  # the storage every worker reaches (start_workers may change it)
        for d in (self.home, self.logs, self.landing):
            d.mkdir(parents=True, exist_ok=True)
        # A Redis database of its own, emptied first, so leftovers of another run cannot reach these workers.
        self.redis_db = 8 + (os.getpid() % 8)

    @property
    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "FUNNELHOUSE_"))}
        return {
            **keep,
            **self.connections,
            **celery_stack_settings(
                postgres=f"postgres@127.0.0.1/{self.database}",
                redis=f"127.0.0.1:6379/{self.redis_db}",
                api_server=f"http://127.0.0.1:{self.api_port}",
            ),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
            "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
            "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.airflow_stack.worker_hostname",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.logs),
            # Only the runs the tests trigger or backfill: no scheduled run for "today" beside them.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "2",
            # A task a killed worker had reserved but not started is failed (and retried) after this.
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "180",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "FUNNELHOUSE_LANDING_URL": str(self.landing),
            "PYTHONPATH": str(PROJECT),
            **self.extra_env,
        }

    def start(self) -> None:
        ensure_services()
        self.fernet_key = _fernet_key()
        self.jwt_secret = secrets.token_urlsafe(64)  # HS512 wants 64 bytes or more
        _psql(f"CREATE DATABASE {self.database}")
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "-n", str(self.redis_db), "flushdb"], check=True, capture_output=True)
        self.run(["db", "migrate"])
        pools = self.root / "pools.json"
        pools.write_text(
            subprocess.run(
                [sys.executable, "-m", "funnelhouse", "pools"], capture_output=True, text=True, check=True, cwd=PROJECT
            ).stdout
        )
        self.run(["pools", "import", str(pools)])
        self.procs["api-server"] = self._spawn(
            "api-server", ["api-server", "--host", "127.0.0.1", "--port", str(self.api_port), "--workers", "1"]
        )
        self.procs["scheduler"] = self._spawn("scheduler", ["scheduler", "--skip-serve-logs"])
        self.procs["dag-processor"] = self._spawn("dag-processor", ["dag-processor"])
        self.wait_for(
            lambda: self.query("SELECT 1 FROM serialized_dag WHERE dag_id = 'funnelhouse'"), 240, "the DAG to be parsed"
        )
        self.wait_for(self._api_up, 120, "the API server")
        self.run(["dags", "unpause", "funnelhouse"])

    def start_workers(self, data_dirs: dict[str, Path], landing: Path | None = None) -> None:
        """One worker per entry of WORKER_QUEUES, each with its own data dir (only the warehouse worker's
        holds a warehouse) and the landing storage both share."""
        if landing is not None:
            self.landing = landing
            landing.mkdir(parents=True, exist_ok=True)
        for name, queues in WORKER_QUEUES.items():
            data = data_dirs[name]
            data.mkdir(parents=True, exist_ok=True)
            env = {
                "FUNNELHOUSE_DATA_DIR": str(data),
                HOSTNAME_VARIABLE: f"{name}-worker",
                "FUNNELHOUSE_LANDING_URL": str(self.landing),
            }
            proc = self._spawn(
                f"worker-{name}",
                [
                    "celery",
                    "worker",
                    "--celery-hostname",
                    f"{name}@%h",
                    "--queues",
                    queues,
                    "--skip-serve-logs",
                    "--without-gossip",
                    "--without-mingle",
                ],
                env,
            )
            self.workers[name] = Worker(f"{name}-worker", proc, data)
        self.wait_for(self._workers_ready, 180, "both Celery workers")

    def stop_workers(self) -> None:
        for worker in self.workers.values():
            _stop(worker.proc)
        self.workers.clear()

    def kill_worker(self, name: str) -> None:
        """SIGKILL the worker with every process it started, as when its machine is lost."""
        worker = self.workers.pop(name)
        os.killpg(worker.proc.pid, signal.SIGKILL)
        worker.proc.wait(timeout=30)

    def close(self) -> None:
        self.stop_workers()
        for proc in reversed(list(self.procs.values())):
            _stop(proc)
        self.procs.clear()
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)"],
            capture_output=True,
        )
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "-n", str(self.redis_db), "flushdb"], capture_output=True)

    # --- Airflow, through its CLI and its metadata database ---

    def run(self, args: list[str], timeout: int = 300) -> str:
        out = subprocess.run([str(AIRFLOW), *args], env=self.env, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if out.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
        return out.stdout

    def trigger(self, logical_date: str, run_id: str) -> str:
        self.run(["dags", "trigger", "funnelhouse", "--logical-date", logical_date, "--run-id", run_id])
        return run_id

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg2

        with psycopg2.connect(host="127.0.0.1", user="postgres", dbname=self.database) as con, con.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def run_state(self, run_id: str) -> str | None:
        rows = self.query("SELECT state FROM dag_run WHERE dag_id = 'funnelhouse' AND run_id = %s", (run_id,))
        return rows[0][0] if rows else None

    def wait_for_runs(self, run_ids_sql: str, params: tuple, count: int, timeout_s: float) -> dict[str, str]:
        """Wait until ``count`` runs selected by the SQL (run_id, state) are finished; their states."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._check_alive()
            states = dict(self.query(run_ids_sql, params))
            if len(states) >= count and all(s in ("success", "failed") for s in states.values()):
                return states
            time.sleep(2)
        raise TimeoutError(
            f"runs not finished after {timeout_s:.0f} s: {dict(self.query(run_ids_sql, params))}\n{self.tail_logs()}"
        )

    def wait_for_run(self, run_id: str, timeout_s: float) -> str:
        return self.wait_for_runs(
            "SELECT run_id, state FROM dag_run WHERE dag_id = 'funnelhouse' AND run_id = %s", (run_id,), 1, timeout_s
        )[run_id]

    def task_tries(self, run_id: str) -> list[tuple[str, int, str | None, str | None]]:
        """(task_id, try_number, hostname, state) of every try of every task of the run, earlier tries included."""
        sql = """SELECT task_id, try_number, hostname, state FROM task_instance WHERE run_id = %s
                 UNION ALL SELECT task_id, try_number, hostname, state FROM task_instance_history WHERE run_id = %s
                 ORDER BY 1, 2"""
        return self.query(sql, (run_id, run_id))

    def wait_for(self, check, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if check():
                    return
            except Exception:  # not up yet (e.g. the table is not created)
                pass
            time.sleep(1)
        raise TimeoutError(f"waited {timeout_s:.0f} s for {what}\n{self.tail_logs()}")

    def tail_logs(self, lines: int = 30) -> str:
        out = []
        for path in sorted(self.root.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)

    def _check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"airflow {name} exited with {proc.returncode}\n{self.tail_logs()}")

    def _api_up(self) -> bool:
        import requests

        return requests.get(f"http://127.0.0.1:{self.api_port}/api/v2/version", timeout=5).status_code == 200

    def _workers_ready(self) -> bool:
        return all("ready." in (self.root / f"worker-{name}.log").read_text(errors="replace") for name in self.workers)

    def _spawn(self, name: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "a")
        return subprocess.Popen(
            [str(AIRFLOW), *args],
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            start_new_session=True,
        )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        except ProcessLookupError:
            pass
    # Children that outlived their leader (a task still shutting down) go with the session.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def copy_published(data_dir: Path, target: Path) -> Path:
    """A copy of a data dir's published marts, to compare runs after the data dir is reused."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(data_dir / "published" / "funnelhouse.duckdb", target)
    return target
