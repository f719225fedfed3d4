"""The measured paths, one per child process (so each peak RSS is that path's own).

Every path reads the same records from the same benchmark server (benchmarks/server.py):
one HubSpot-shaped contacts stream, 100 records a page, cursor paging. Each function
returns a dict of numbers; ``rows`` and ``seconds`` always, ``checksum`` where a table
was loaded (the same value checksum for every tool: ``CHECKSUM_FIELDS``).
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

CONTACTS = "/crm/v3/objects/contacts"
TOKEN = "benchmark-token"
# What the checksum covers: (name, JSON path in the record, dlt's column). Strings, and one instant
# compared as epoch milliseconds (dlt parses ISO timestamps into TIMESTAMPTZ columns).
CHECKSUM_FIELDS = (
    ("id", "$.id", "id"),
    ("email", "$.properties.email", "properties__email"),
    ("lastname", "$.properties.lastname", "properties__lastname"),
    ("lifecyclestage", "$.properties.lifecyclestage", "properties__lifecyclestage"),
    ("utm_campaign", "$.properties.utm_campaign", "properties__utm_campaign"),
    ("gclid", "$.properties.hs_google_click_id", "properties__hs_google_click_id"),
)
CHECKSUM_INSTANT = ("$.createdAt", "created_at")


def peak_rss_mib() -> float:
    """This process's peak resident memory (Linux VmHWM: ru_maxrss would survive exec)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def connection_env(base_url: str) -> dict[str, str]:
    return {
        "AIRFLOW_CONN_HUBSPOT": json.dumps(
            {"conn_type": "http", "host": base_url, "password": TOKEN, "extra": {"portal_id": "1"}}
        )
    }


def _checksum_sql(table: str, fields: list[str], instant: str) -> str:
    return f"SELECT count(*), sum(hash({', '.join(fields)}, {instant}))::VARCHAR FROM {table}"


def funnelhouse_checksum(warehouse: Path) -> tuple[int, str]:
    import duckdb

    fields = [f"json_extract_string(_record, '{path}')" for _, path, _ in CHECKSUM_FIELDS]
    instant = f"epoch_ms(CAST(json_extract_string(_record, '{CHECKSUM_INSTANT[0]}') AS TIMESTAMPTZ))"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows, checksum = con.execute(_checksum_sql("raw_hubspot.contacts", fields, instant)).fetchone()
    return rows, checksum


def server_ceiling(base_url: str, records: int, threads: int = 4) -> dict:
    """The server alone: ``threads`` keep-alive clients read every page's bytes, parse nothing."""
    from benchmarks.server import page_count

    host, port = urlsplit(base_url).hostname, urlsplit(base_url).port
    pages = page_count(records)
    counts = [0] * threads

    def client(i: int) -> None:
        con = http.client.HTTPConnection(host, port)
        for page in range(1 + i, pages + 1, threads):
            con.request("GET", f"{CONTACTS}?limit=100&after={page}")
            con.getresponse().read()
            counts[i] += 1
        con.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    seconds = time.perf_counter() - started
    return {"rows": sum(counts) * 100, "requests": sum(counts), "seconds": seconds, "threads": threads}


def fetch(base_url: str, records: int) -> dict:
    """The fetch ceiling: requests + JSON parse (the standard library's, as the extractors) of every page
    in cursor order, keeping nothing."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    rows = requests_made = 0
    params = {"limit": 100}
    started = time.perf_counter()
    while True:
        page = json.loads(session.get(base_url + CONTACTS, params=params).content)
        rows, requests_made = rows + len(page["results"]), requests_made + 1
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            break
        params["after"] = after
    return {"rows": rows, "requests": requests_made, "seconds": time.perf_counter() - started, "peak_rss_mib": peak_rss_mib()}


def read_json(base_url: str, records: int, workdir: Path) -> dict:
    """DuckDB's own bulk JSON reader on the same records, landed first as one NDJSON file a page
    (untimed), then JSONL -> table into a database file (timed)."""
    import duckdb
    import requests

    pages = workdir / "jsonl"
    pages.mkdir(parents=True)
    session, params, files = requests.Session(), {"limit": 100}, []
    while True:
        page = json.loads(session.get(base_url + CONTACTS, params=params).content)
        files.append(str(pages / f"page-{len(files) + 1:06d}.ndjson"))
        Path(files[-1]).write_text(
            "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n" for r in page["results"])
        )
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            break
        params["after"] = after
    with duckdb.connect(str(workdir / "read_json.duckdb")) as con:
        started = time.perf_counter()
        rows = con.execute(
            "CREATE TABLE contacts AS SELECT * FROM read_json(?, format = 'newline_delimited')", [files]
        ).fetchone()[0]
        con.execute("CHECKPOINT")
        seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds, "peak_rss_mib": peak_rss_mib()}


def extract_load(base_url: str, records: int, workdir: Path) -> dict:
    """funnelhouse's extract (HTTP -> landing) then load (landing -> raw table), one process,
    as ``python -m extractors`` runs them."""
    os.environ.update(connection_env(base_url))
    from extractors import pipeline
    from extractors.connections import get_connection

    get_connection("hubspot")  # start-up is measured by the whole-process path, not here
    warehouse, landing = workdir / "warehouse.duckdb", workdir / "landing"
    end = datetime(2026, 12, 1, tzinfo=UTC)
    started = time.perf_counter()
    pipeline.extract("hubspot", end=end, stream_names=["contacts"], warehouse=warehouse, landing_root=landing)
    extracted = time.perf_counter()
    results = pipeline.load("hubspot", warehouse=warehouse, landing_root=landing)
    loaded = time.perf_counter()
    rows, checksum = funnelhouse_checksum(warehouse)
    return {
        "rows": rows,
        "loaded": sum(r.loaded.get("contacts", 0) for r in results),
        "checksum": checksum,
        "extract_seconds": extracted - started,
        "load_seconds": loaded - extracted,
        "seconds": loaded - started,
        "peak_rss_mib": peak_rss_mib(),
    }


def whole_process(base_url: str, records: int, workdir: Path) -> dict:
    """``python -m extractors hubspot --stream contacts`` as a user runs it: wall time, the time
    until its first request reaches the server, and the process's peak RSS."""
    import requests

    repo = Path(__file__).resolve().parent.parent
    env = {**os.environ, **connection_env(base_url), "FUNNELHOUSE_DATA_DIR": str(workdir / "data")}
    requests.get(base_url + "/_reset")
    started_wall, started = time.time(), time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "extractors.log"
    with open(log, "w") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "extractors", "hubspot", "--stream", "contacts"],
            cwd=repo,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(child.pid, 0)  # not Popen.wait: wait4 gives this child's own peak RSS
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"python -m extractors failed (exit {child.returncode}): {log.read_text().strip().splitlines()[-1:]}")
    stats = requests.get(base_url + "/_stats").json()
    rows, checksum = funnelhouse_checksum(workdir / "data" / "warehouse.duckdb")
    return {
        "rows": rows,
        "checksum": checksum,
        "seconds": seconds,
        "first_request_s": stats["first_request_at"] - started_wall,
        "requests": stats["requests"],
        "peak_rss_mib": usage.ru_maxrss / 1024,
    }


def dlt_rest_api(base_url: str, records: int, workdir: Path, file_format: str | None) -> dict:
    """The peer a user would pick instead: dlt's ``rest_api`` source into its DuckDB destination,
    merge on the id as funnelhouse does; ``file_format`` None is dlt's default (jsonl), or parquet."""
    os.environ.update(
        {"RUNTIME__DLTHUB_TELEMETRY": "false", "RUNTIME__LOG_LEVEL": "WARNING", "DLT_DATA_DIR": str(workdir / "dlt-data")}
    )
    import dlt
    import duckdb
    from dlt.sources.rest_api import rest_api_source

    source = rest_api_source(
        {
            "client": {
                "base_url": base_url + "/crm/v3/objects/",
                "auth": {"type": "bearer", "token": TOKEN},
                "paginator": {"type": "cursor", "cursor_path": "paging.next.after", "cursor_param": "after"},
            },
            "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
            "resources": [
                {
                    "name": "contacts",
                    "endpoint": {"path": "contacts", "params": {"limit": 100, "archived": "false"}, "data_selector": "results"},
                }
            ],
        }
    )
    database = workdir / "dlt.duckdb"
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{file_format or 'default'}",
        destination=dlt.destinations.duckdb(str(database)),
        dataset_name="hubspot",
        pipelines_dir=str(workdir / "dlt-pipelines"),
    )
    started = time.perf_counter()
    pipeline.run(source, **({"loader_file_format": file_format} if file_format else {}))
    seconds = time.perf_counter() - started
    with duckdb.connect(str(database), read_only=True) as con:
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'hubspot' AND table_name = 'contacts'"
            ).fetchall()
        )
        fields = [f"CAST({column} AS VARCHAR)" if column in types else "NULL::VARCHAR" for _, _, column in CHECKSUM_FIELDS]
        column = CHECKSUM_INSTANT[1]
        instant = (
            f"epoch_ms({column})" if types.get(column, "").startswith("TIMESTAMP") else f"epoch_ms(CAST({column} AS TIMESTAMPTZ))"
        )
        rows, checksum = con.execute(_checksum_sql("hubspot.contacts", fields, instant)).fetchone()
    return {"rows": rows, "checksum": checksum, "seconds": seconds, "peak_rss_mib": peak_rss_mib()}


PATHS = {
    "server": lambda base, n, wd: server_ceiling(base, n),
    "fetch": lambda base, n, wd: fetch(base, n),
    "read_json": read_json,
    "extract_load": extract_load,
    "dlt_default": lambda base, n, wd: dlt_rest_api(base, n, wd, None),
    "dlt_parquet": lambda base, n, wd: dlt_rest_api(base, n, wd, "parquet"),
}
