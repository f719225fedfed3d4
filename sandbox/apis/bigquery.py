"""BigQuery REST v2, as far as GA4's export needs it: tables.list, jobs.query, jobs.getQueryResults.

    GET  /bigquery/v2/projects/{project}/datasets/analytics_420000001/tables?maxResults=&pageToken=
    POST /bigquery/v2/projects/{project}/queries      {"query": "...", "useLegacySql": false,
         "defaultDataset": {"projectId", "datasetId"}, "maxResults": 10000, "timeoutMs": 10000}
    GET  /bigquery/v2/projects/{project}/queries/{jobId}?location=US&maxResults=&pageToken=&timeoutMs=

The dataset is the property's export (``analytics_<property id>`` in project ``PROJECT_ID``) with one
table ``events_YYYYMMDD`` per property date, from the same sessions the Data API reports
(sandbox/world_web.py ``export_events``): a table appears ``EXPORT_DELAY`` after its day ends and
takes in late events as they arrive. Its columns are the export schema's event_date, event_timestamp,
event_name, event_params (key, value.string_value / int_value / float_value / double_value: the
parameters ga_session_id, ga_session_number, page_location, entrances), user_pseudo_id, stream_id,
platform, collected_traffic_source (manual_source, manual_medium, manual_campaign_name),
batch_event_index, batch_ordering_id and batch_page_id; the schema's other columns are absent.

A query is GoogleSQL: it is parsed with sqlglot's BigQuery dialect (a syntax error answers 400
invalidQuery), its table names resolve against ``defaultDataset`` or ``project.dataset.table`` (an
unknown one answers 404 notFound, as BigQuery does), and it runs in DuckDB after sqlglot's
translation plus one rewrite for the GA4 idiom ``(SELECT value.int_value FROM UNNEST(event_params)
WHERE key = '...')`` (BigQuery exposes a struct array's fields as columns; DuckDB needs them
unpacked). Answers have BigQuery's shape: ``schema.fields`` [{name, type, mode}], ``rows`` [{"f":
[{"v": "..."}]}] with every value a string (NULL as null), ``totalRows`` as a string, ``pageToken``
while rows remain, ``jobReference`` {projectId, jobId, location}, ``jobComplete``. A job answers
``jobComplete: false`` (no rows, no schema) to its first ``Sandbox.bigquery_pending_polls`` answers.
Pages hold at most ``maxResults`` rows and about 10 MB. Errors are Google's: {"error": {code,
message, errors: [{message, domain: "global", reason}], status}}.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tempfile
import threading
from collections import OrderedDict
from datetime import UTC, date, datetime

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from sandbox.http import Request, Response
from sandbox.world_web import (
    EXPORT_DELAY,
    EXPORT_SITE,
    EXPORT_STREAM_ID,
    PROPERTY_ID,
    SECONDS_BETWEEN_VIEWS,
    export_ready,
    export_sessions,
    property_day_end,
)

PROJECT_ID = "funnelhouse-sandbox"
DATASET_ID = f"analytics_{PROPERTY_ID}"
LOCATION = "US"
PAGE_BYTES = 10 * 1024 * 1024
KEPT_JOBS = 256
TABLE = re.compile(r"events_(\d{8})")
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
AUTH_HELP = (
    "Expected OAuth 2 access token, login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
TYPES = {
    "VARCHAR": "STRING",
    "BIGINT": "INTEGER",
    "INTEGER": "INTEGER",
    "HUGEINT": "INTEGER",
    "DOUBLE": "FLOAT",
    "FLOAT": "FLOAT",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "TIMESTAMP": "DATETIME",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
}


def _error(status: int, grpc_status: str, reason: str, message: str) -> Response:
    return Response(
        status,
        {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"message": message, "domain": "global", "reason": reason}],
                "status": grpc_status,
            }
        },
    )


def _check(request: Request) -> Response | None:
    token = request.bearer_token()
    if token is None or token != request.sandbox.tokens["ga4"]:
        return _error(
            401,
            "UNAUTHENTICATED",
            "unauthorized",
            f"Request is missing required authentication credential. {AUTH_HELP}"
            if token is None
            else f"Request had invalid authentication credentials. {AUTH_HELP}",
        )
    project = request.match["project"]
    if project != PROJECT_ID:
        return _error(
            403,
            "PERMISSION_DENIED",
            "accessDenied",
            f"Access Denied: Project {project}: User does not have bigquery.jobs.create permission in project {project}.",
        )
    return None


def _days(request: Request) -> list[date]:
    """The property dates whose daily table exists at the sandbox's clock."""
    first, last = request.sandbox.world.session_dates
    return [
        d
        for d in (date.fromordinal(o) for o in range(first.toordinal(), last.toordinal() + 1))
        if export_ready(d, request.sandbox.now)
    ]


def list_tables(request: Request) -> Response:
    if (denied := _check(request)) is not None:
        return denied
    if request.match["dataset"] != DATASET_ID:
        return _error(404, "NOT_FOUND", "notFound", f"Not found: Dataset {PROJECT_ID}:{request.match['dataset']}")
    names = [f"events_{d:%Y%m%d}" for d in _days(request)]
    size = _positive(request.query.get("maxResults"), 50)
    start = _offset(request.query.get("pageToken"))
    page = names[start : start + size]
    out: dict = {
        "kind": "bigquery#tableList",
        "etag": _etag(page),
        "tables": [
            {
                "kind": "bigquery#table",
                "id": f"{PROJECT_ID}:{DATASET_ID}.{name}",
                "tableReference": {"projectId": PROJECT_ID, "datasetId": DATASET_ID, "tableId": name},
                "type": "TABLE",
                "creationTime": _creation_ms(name),
            }
            for name in page
        ],
        "totalItems": len(names),
    }
    if start + size < len(names):
        out["nextPageToken"] = _token(start + size)
    return Response(200, out)


def query(request: Request) -> Response:
    if (denied := _check(request)) is not None:
        return denied
    try:
        body = request.json()
    except ValueError:
        return _error(400, "INVALID_ARGUMENT", "parseError", "Invalid JSON payload received.")
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return _error(400, "INVALID_ARGUMENT", "required", "Required parameter is missing: query")
    if body.get("useLegacySql", True):
        return _error(400, "INVALID_ARGUMENT", "invalidQuery", 'The sandbox runs GoogleSQL only: send "useLegacySql": false.')
    try:
        columns, rows = _run(request, body["query"], body.get("defaultDataset") or {})
    except _QueryError as exc:
        return exc.response
    job_id = "job_" + hashlib.sha256(f"{request.body!r} {request.sandbox.now.isoformat()}".encode()).hexdigest()[:27]
    job = {
        "columns": columns,
        "rows": rows,
        "pending": request.sandbox.bigquery_pending_polls,
        "bytes": sum(len(json.dumps(r)) for r in rows) * 40,
    }
    jobs = _jobs(request)
    with _JOBS_LOCK:
        jobs[job_id] = job
        while len(jobs) > KEPT_JOBS:
            jobs.popitem(last=False)
    return Response(200, _answer("bigquery#queryResponse", job_id, job, body.get("maxResults"), None))


def get_query_results(request: Request) -> Response:
    if (denied := _check(request)) is not None:
        return denied
    job_id = request.match["job"]
    with _JOBS_LOCK:
        job = _jobs(request).get(job_id)
    if job is None:
        return _error(404, "NOT_FOUND", "notFound", f"Not found: Job {PROJECT_ID}:{LOCATION}.{job_id}")
    return Response(
        200,
        _answer("bigquery#getQueryResultsResponse", job_id, job, request.query.get("maxResults"), request.query.get("pageToken")),
    )


_JOBS_LOCK = threading.Lock()


def _jobs(request: Request) -> OrderedDict:
    with request.sandbox._lock:
        return request.sandbox.cache.setdefault("bigquery_jobs", OrderedDict())


def _answer(kind: str, job_id: str, job: dict, max_results, page_token) -> dict:
    out: dict = {"kind": kind, "jobReference": {"projectId": PROJECT_ID, "jobId": job_id, "location": LOCATION}}
    with _JOBS_LOCK:
        pending = job["pending"] > 0
        job["pending"] = max(0, job["pending"] - 1)
    if pending:
        return {**out, "jobComplete": False}
    rows = job["rows"]
    start = _offset(page_token)
    size = _positive(max_results, len(rows))  # without maxResults only the ~10 MB page limit applies
    page, used = [], 0
    for row in rows[start : start + size]:
        cells = {"f": [{"v": value} for value in row]}
        used += len(json.dumps(cells))
        if page and used > PAGE_BYTES:
            break
        page.append(cells)
    out["schema"] = {"fields": [{"name": name, "type": kind_, "mode": "NULLABLE"} for name, kind_ in job["columns"]]}
    out["totalRows"] = str(len(rows))
    if page:
        out["rows"] = page
    if start + len(page) < len(rows):
        out["pageToken"] = _token(start + len(page))
    out["totalBytesProcessed"] = str(job["bytes"])
    out["jobComplete"] = True
    out["cacheHit"] = False
    return out


class _QueryError(Exception):
    def __init__(self, response: Response):
        super().__init__(str(response.body))
        self.response = response


def _run(request: Request, sql: str, default_dataset: dict) -> tuple[list[tuple[str, str]], list[list]]:
    """Parse the GoogleSQL, resolve its tables, run it in DuckDB; (columns with BigQuery types, rows as strings)."""
    try:
        tree = sqlglot.parse_one(sql, read="bigquery")
    except ParseError as exc:
        raise _QueryError(
            _error(
                400,
                "INVALID_ARGUMENT",
                "invalidQuery",
                f"Syntax error: {exc.errors[0]['description']}" if exc.errors else f"Syntax error: {exc}",
            )
        ) from None
    ready = set(_days(request))
    days: dict[str, date] = {}
    for table in tree.find_all(exp.Table):
        project = table.catalog or (default_dataset.get("projectId") if not table.db else None) or request.match["project"]
        dataset = table.db or default_dataset.get("datasetId") or ""
        name = table.name
        if not dataset:
            raise _QueryError(
                _error(
                    400,
                    "INVALID_ARGUMENT",
                    "invalidQuery",
                    f'Table "{name}" must be qualified with a dataset (e.g. dataset.table).',
                )
            )
        match = TABLE.fullmatch(name)
        day = _day(match[1]) if match else None
        if project != PROJECT_ID or dataset != DATASET_ID or day not in ready:
            raise _QueryError(
                _error(
                    404,
                    "NOT_FOUND",
                    "notFound",
                    f"Not found: Table {project}:{dataset}.{name} was not found in location {LOCATION}",
                )
            )
        days[name] = day
        table.replace(exp.to_table(name))
    _unnest_struct_arrays(tree)
    duck_sql = tree.sql(dialect="duckdb")
    con = _database(request).cursor()  # its own connection: temp tables live and die with it
    try:
        for name, day in days.items():
            _create_table(con, request, name, day)
        try:
            result = con.execute(duck_sql)
        except duckdb.Error as exc:
            raise _QueryError(_error(400, "INVALID_ARGUMENT", "invalidQuery", str(exc).splitlines()[0])) from None
        columns = [(d[0], TYPES.get(str(d[1]).upper(), "STRING")) for d in result.description]
        rows = [[_text(v) for v in row] for row in result.fetchall()]
    finally:
        con.close()
    return columns, rows


SESSION_COLUMNS = {
    "user_pseudo_id": "VARCHAR",
    "ga_session_id": "BIGINT",
    "start_us": "BIGINT",
    "arrives_us": "BIGINT",
    "paths": "VARCHAR[]",
    "source": "VARCHAR",
    "medium": "VARCHAR",
    "campaign": "VARCHAR",
}
_PARAM = (
    "{{'key': '{key}', 'value': {{'string_value': {string}, 'int_value': {integer}, "
    "'float_value': NULL::DOUBLE, 'double_value': NULL::DOUBLE}}}}"
)
_PARAMS = ", ".join(
    [
        _PARAM.format(key="ga_session_id", string="NULL::VARCHAR", integer="ga_session_id"),
        _PARAM.format(key="ga_session_number", string="NULL::VARCHAR", integer="1::BIGINT"),
        _PARAM.format(key="page_location", string="page_location", integer="NULL::BIGINT"),
    ]
)
_ENTRANCE = _PARAM.format(key="entrances", string="NULL::VARCHAR", integer="1::BIGINT")


STRUCT_FIELDS = {"key", "value"}  # the fields of the export's event_params and user_properties records


def _unnest_struct_arrays(tree: exp.Expression) -> None:
    """BigQuery's ``FROM UNNEST(array of structs)`` exposes the struct's fields as columns; DuckDB's does not.

    The GA4 idiom ``(SELECT value.int_value FROM UNNEST(event_params) WHERE key = 'x')`` becomes a list
    filter (fast); any other bare ``FROM UNNEST(...)`` a derived table of the unpacked structs.
    """
    for subquery in list(tree.find_all(exp.Subquery)):
        select = subquery.this
        source = select.args.get("from_") if isinstance(select, exp.Select) else None
        unnest = source.this if source is not None else None
        if (
            not isinstance(unnest, exp.Unnest)
            or unnest.alias
            or len(select.expressions) != 1
            or any(select.args.get(k) for k in ("joins", "group", "having", "order", "limit", "distinct"))
        ):
            continue
        value = select.expressions[0].unalias()
        where = select.args.get("where")
        array = unnest.expressions[0].sql(dialect="duckdb")
        picked = f"LIST_FILTER({array}, __e -> {_element(where.this)})" if where is not None else array
        subquery.replace(sqlglot.parse_one(f"LIST_TRANSFORM({picked}, __e -> {_element(value)})[1]", read="duckdb"))
    for unnest in list(tree.find_all(exp.Unnest)):
        if isinstance(unnest.parent, exp.From) and not unnest.alias:
            array = unnest.expressions[0].sql(dialect="duckdb")
            unnest.replace(sqlglot.parse_one(f"(SELECT __e.* FROM (SELECT UNNEST({array}) AS __e))", read="duckdb"))


def _element(node: exp.Expression) -> str:
    """``node`` as DuckDB SQL with its references to the struct's fields read from the element ``__e``."""
    holder = exp.Paren(this=node.copy())  # a parent, so that a bare column can be replaced too
    for column in list(holder.find_all(exp.Column)):
        if column.parts and column.parts[0].name in STRUCT_FIELDS:
            column.replace(sqlglot.parse_one("__e." + column.sql(dialect="duckdb"), read="duckdb"))
    return holder.sql(dialect="duckdb")


def _database(request: Request) -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per sandbox; each query runs in a cursor of it (opening a database costs ~30 ms)."""
    with request.sandbox._lock:
        if "bigquery_duckdb" not in request.sandbox.cache:
            request.sandbox.cache["bigquery_duckdb"] = duckdb.connect()
        return request.sandbox.cache["bigquery_duckdb"]


def _create_table(con, request: Request, name: str, day: date) -> None:
    """The day's table from its sessions: a session_start event, then one page_view per page viewed
    (SECONDS_BETWEEN_VIEWS apart; the first carries the entrances parameter), as far as they have arrived."""
    blocks = list(request.sandbox.world.iter_session_blocks(day, day, FAR_FUTURE))
    # Bulk, through an NDJSON file; no bound parameters: binding one makes DuckDB import pandas (seconds).
    with tempfile.TemporaryDirectory(prefix="sandbox-bigquery-") as folder:
        path = os.path.join(folder, f"{name}.ndjson")
        with open(path, "w") as fh:
            for session in export_sessions(blocks, day):
                fh.write(json.dumps(session, separators=(",", ":")))
                fh.write("\n")
        columns = ", ".join(f"'{c}': '{t}'" for c, t in SESSION_COLUMNS.items())
        quoted = path.replace("'", "''")
        now_us = int(request.sandbox.now.timestamp() * 1_000_000)
        con.execute(f"""CREATE TEMP TABLE sessions_{name} AS
            SELECT * FROM read_json('{quoted}', columns={{{columns}}}, format='newline_delimited')
            WHERE arrives_us <= {now_us}""")
    con.execute(f"""CREATE TEMP TABLE {name} AS
        WITH views AS (
            SELECT *, unnest(paths) AS path, generate_subscripts(paths, 1) AS n FROM sessions_{name}
        ), events AS (
            SELECT *, 'session_start' AS event_name, start_us AS event_timestamp, 0 AS batch_event_index,
                   paths[1] AS path, 1 AS n
            FROM sessions_{name}
            UNION ALL BY NAME
            SELECT *, 'page_view' AS event_name, start_us + (n - 1) * {SECONDS_BETWEEN_VIEWS * 1_000_000} + n AS event_timestamp,
                   n AS batch_event_index
            FROM views
        )
        SELECT
            '{day:%Y%m%d}' AS event_date,
            event_timestamp,
            event_name,
            CASE WHEN event_name = 'page_view' AND n = 1 THEN [{_PARAMS}, {_ENTRANCE}] ELSE [{_PARAMS}] END AS event_params,
            user_pseudo_id,
            '{EXPORT_STREAM_ID}' AS stream_id,
            'WEB' AS platform,
            {{'manual_source': source, 'manual_medium': medium, 'manual_campaign_name': campaign}} AS collected_traffic_source,
            batch_event_index::BIGINT AS batch_event_index,
            1::BIGINT AS batch_ordering_id,
            (ga_session_id * 100 + n)::BIGINT AS batch_page_id
        FROM (SELECT *, '{EXPORT_SITE}' || path AS page_location FROM events)""")


def _text(value) -> str | None:
    """BigQuery's JSON: every value a string, NULL as null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(value)
    return str(value)


def _day(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def _positive(value, default: int) -> int:
    try:
        return max(0, int(value)) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(token) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(":", 1)[1])
    except (ValueError, IndexError):
        return 0


def _etag(items: list) -> str:
    return base64.b64encode(hashlib.sha256(repr(items).encode()).digest()[:12]).decode()


def _creation_ms(name: str) -> str:
    day = datetime.strptime(name[len("events_") :], "%Y%m%d").date()
    return str(int((property_day_end(day) + EXPORT_DELAY).timestamp() * 1000))


ROUTES = [
    ("GET", r"/bigquery/v2/projects/(?P<project>[^/]+)/datasets/(?P<dataset>[^/]+)/tables", list_tables),
    ("POST", r"/bigquery/v2/projects/(?P<project>[^/]+)/queries", query),
    ("GET", r"/bigquery/v2/projects/(?P<project>[^/]+)/queries/(?P<job>[^/]+)", get_query_results),
]
