"""GA4's BigQuery export: page views and exits per day and page, from the event-level tables.

The Data API has no exits metric; GA4's export has every event. A session's exit page is the page
of its last ``page_view`` event (sessions are ``user_pseudo_id`` + the ``ga_session_id`` event
parameter). The ``ga4_export`` stream runs one query per day on that day's table
``events_YYYYMMDD`` in the property's export dataset (``analytics_<property_id>``) and lands one
record per day and page: ``{"event_date": "20260601", "page_path": "/pricing", "page_views": "120",
"exits": "31"}`` (BigQuery sends every value as a string).

Configuration (extras of the ``ga4`` connection; without ``bigquery_project_id`` the stream reads
nothing and content_performance leaves exits NULL): ``bigquery_project_id`` (the Google Cloud
project that runs the query jobs and holds the export), optional ``bigquery_datasets``
({"<property id>": "<dataset>"}, default ``analytics_<property id>``), ``bigquery_location``
(e.g. "EU"; default: BigQuery finds it) and ``bigquery_url`` (default
https://bigquery.googleapis.com). Credentials are the connection's (google_oauth.py: an access token,
a refresh token, or a service account key whose JWT asks for both scopes): the token needs
https://www.googleapis.com/auth/bigquery.readonly besides analytics.readonly, and the account the
IAM roles BigQuery Job User on the project and BigQuery Data Viewer on the dataset. A 403 skips
the stream, reported, and the reports still load.

Requests: ``tables.list`` (paged by ``nextPageToken``) says which days have a table: the daily
table appears some hours after the day ends, and GA4 keeps updating it for three days with late
events, so a missing recent day is read by a later run (the stream re-reads 4 days, like the
reports). Then per day ``jobs.query`` (GoogleSQL, ``defaultDataset`` = the export dataset,
``maxResults``, ``timeoutMs``); while its answer says ``jobComplete: false``,
``jobs.getQueryResults`` with ``maxResults=0`` waits for the job (at most ``MAX_POLLS`` times
``timeoutMs``), then the rows are paged with ``pageToken``. Rows are ``{"f": [{"v": ...}]}`` in the
order of ``schema.fields``.

Verified against: BigQuery REST reference (jobs.query and QueryRequest/QueryResponse,
jobs.getQueryResults, tables.list; apstndb/bigquery-docs-mirror), the GA4 BigQuery Export schema
(event_date, event_timestamp, event_name, event_params key / value.int_value / value.string_value,
user_pseudo_id, batch_ordering_id, batch_event_index; daily tables updated for up to three days),
googleapis/google-cloud-python bigquery unit tests (row shape, polling with maxResults=0).
Not verified: the query has never run on BigQuery itself (the sandbox runs it in DuckDB after
translating it with sqlglot); a session that crosses the property's midnight has an exit on each
day (each day's table is queried alone); how long after the day the daily table appears.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

from extractors.connections import PlatformConnection
from extractors.errors import ApiError, ConfigError
from extractors.pagination import BodyCursor, PageRequest, paginate
from extractors.streams import Window

log = logging.getLogger(__name__)

EXPORT_STREAM = "ga4_export"
BIGQUERY_URL = "https://bigquery.googleapis.com"
PAGE_ROWS = 10_000
POLL_TIMEOUT_MS = 10_000
MAX_POLLS = 30  # with timeoutMs 10 s: a job may take about five minutes

# One day's page views and exits. page_path is page_location between the host and the query
# string, as the Data API's pagePath; '/' for a bare host. Events without a session id count as
# views but end no session.
EXITS_QUERY = """
SELECT
  event_date,
  page_path,
  COUNT(*) AS page_views,
  COUNTIF(from_end = 1 AND ga_session_id IS NOT NULL) AS exits
FROM (
  SELECT
    event_date,
    ga_session_id,
    COALESCE(NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(page_location, r'^[^:/?#]+://[^/?#]*', ''), r'[?#].*$', ''), ''), '/')
      AS page_path,
    ROW_NUMBER() OVER (
      PARTITION BY user_pseudo_id, ga_session_id
      ORDER BY event_timestamp DESC, batch_ordering_id DESC, batch_event_index DESC
    ) AS from_end
  FROM (
    SELECT
      event_date,
      user_pseudo_id,
      event_timestamp,
      batch_ordering_id,
      batch_event_index,
      (SELECT value.int_value FROM UNNEST(event_params) WHERE key = 'ga_session_id') AS ga_session_id,
      (SELECT value.string_value FROM UNNEST(event_params) WHERE key = 'page_location') AS page_location
    FROM {table}
    WHERE event_name = 'page_view'
  )
)
GROUP BY event_date, page_path
ORDER BY event_date, page_path
"""


def export_configured(conn: PlatformConnection) -> bool:
    return bool(conn.extra.get("bigquery_project_id"))


def _dataset(conn: PlatformConnection, property_id: str) -> str:
    datasets = conn.extra.get("bigquery_datasets") or {}
    if not isinstance(datasets, dict):
        raise ConfigError(
            f"connection '{conn.conn_id}' extra 'bigquery_datasets' must map property ids to datasets, "
            f'e.g. {{"{property_id}": "analytics_{property_id}"}}'
        )
    return str(datasets.get(property_id) or f"analytics_{property_id}")


def read_export(client, conn: PlatformConnection, property_id: str, window: Window) -> Iterator[list[dict]]:
    project = str(conn.extra["bigquery_project_id"])
    dataset = _dataset(conn, property_id)
    base = str(conn.extra.get("bigquery_url") or BIGQUERY_URL).rstrip("/")
    location = conn.extra.get("bigquery_location")
    what = f"{EXPORT_STREAM} [property {property_id}, {project}.{dataset}]"
    tables = _table_ids(client, base, project, dataset, what)
    day = window.first_day
    while day <= window.last_day:
        table = f"events_{day:%Y%m%d}"
        if table in tables:
            yield from _query(client, base, project, dataset, location, EXITS_QUERY.format(table=table), f"{what} {table}")
        else:
            log.info("%s: no table %s yet; a later run reads that day", what, table)
        day += timedelta(days=1)


def _table_ids(client, base: str, project: str, dataset: str, what: str) -> set[str]:
    first = PageRequest("GET", f"{base}/bigquery/v2/projects/{project}/datasets/{dataset}/tables", params={"maxResults": 1000})
    pages = paginate(
        client,
        first,
        BodyCursor(("nextPageToken",), param="pageToken"),
        lambda page: [t.get("tableReference", {}).get("tableId") for t in page.get("tables") or []],
        what=f"{what} tables",
    )
    return {table for page in pages for table in page}


def _query(client, base: str, project: str, dataset: str, location, sql: str, what: str) -> Iterator[list[dict]]:
    body = {
        "query": sql,
        "useLegacySql": False,
        "defaultDataset": {"projectId": project, "datasetId": dataset},
        "maxResults": PAGE_ROWS,
        "timeoutMs": POLL_TIMEOUT_MS,
    }
    if location:
        body["location"] = location
    answer = client.request("POST", f"{base}/bigquery/v2/projects/{project}/queries", json_body=body, what=what)
    job = answer.get("jobReference") or {}
    if not job.get("jobId"):
        raise ApiError(f"ga4 {what}: BigQuery answered the query without a jobReference; cannot page its results")
    results = f"{base}/bigquery/v2/projects/{project}/queries/{job['jobId']}"
    params = {"location": job["location"]} if job.get("location") else {}
    polls = 0
    while not answer.get("jobComplete"):
        if polls == MAX_POLLS:
            raise ApiError(
                f"ga4 {what}: BigQuery job {job['jobId']} has not finished after {MAX_POLLS} waits of "
                f"{POLL_TIMEOUT_MS // 1000} s; run again later"
            )
        polls += 1
        answer = client.request("GET", results, params={**params, "maxResults": 0, "timeoutMs": POLL_TIMEOUT_MS}, what=what)
    log.info("ga4 %s: %s rows, %s bytes processed", what, answer.get("totalRows"), answer.get("totalBytesProcessed"))
    page_params = {**params, "maxResults": PAGE_ROWS}
    if polls == 0:  # jobs.query finished within its timeout: its answer is the first page
        yield _records(answer)
        if not answer.get("pageToken"):
            return
        page_params["pageToken"] = answer["pageToken"]
    yield from paginate(
        client,
        PageRequest("GET", results, params=page_params),
        BodyCursor(("pageToken",), param="pageToken"),
        _records,
        what=what,
    )


def _records(page: dict) -> list[dict]:
    """BigQuery rows ({"f": [{"v": value}]}, values as strings) as {field name: value}."""
    fields = [f["name"] for f in (page.get("schema") or {}).get("fields") or []]
    return [
        {name: cell.get("v") for name, cell in zip(fields, row.get("f") or [], strict=False)} for row in page.get("rows") or []
    ]
