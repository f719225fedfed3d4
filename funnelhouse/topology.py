"""Where each task runs: the warehouse queue, the writer pool and one pool per platform API.

Imported when the DAG file is parsed, so it reads only the environment (no files, no I/O).

- Tasks that open the DuckDB warehouse (load, transform, gate, publish, freshness) go to the
  Celery queue FUNNELHOUSE_WAREHOUSE_QUEUE (default ``warehouse``), which only the worker holding
  the file serves, and run in the one-slot pool ``duckdb_writer``. The queue is what makes that
  safe across hosts (a file lock does not cross machines); the pool keeps two of them from
  running at once on that worker. A server warehouse can set the queue to ``default``.
- Extract tasks (HTTP only) run on any worker, each in its platform's pool. One slot per
  platform: one extract task per API token at a time, across every DAG run and backfill, while
  the task itself keeps under the platform's documented limits (its client's concurrency and
  pacing, extractors/sources/). Two runs side by side would double the requests per token.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

WRITER_POOL = "duckdb_writer"
WRITER_POOL_DESCRIPTION = "DuckDB allows one writer per file"


@dataclass(frozen=True)
class ApiPool:
    name: str
    slots: int
    limit: str  # the platform's documented limit the slots are sized to


# One per platform API. The limits are per token, key or app, so one task at a time: the extract
# task's own client keeps under them (max_concurrency and rate_limits in extractors/sources/).
API_POOLS: dict[str, ApiPool] = {
    "hubspot": ApiPool(
        "api_hubspot",
        1,
        "HubSpot private apps: 100 requests per 10 s (190 on Professional and Enterprise), CRM search 4 per second per token",
    ),
    "meta_ads": ApiPool(
        "api_meta_marketing",
        1,
        "Meta Marketing API: business use case limits per ad account "
        "(X-Business-Use-Case-Usage); insights calls are the costly ones",
    ),
    "google_ads": ApiPool(
        "api_google_ads",
        1,
        "Google Ads API: operations per developer token per day (15,000 on Basic access) and requests per customer per second",
    ),
    "ga4": ApiPool(
        "api_ga4", 1, "GA4 Data API: 10 concurrent requests and 40,000 tokens per hour per property (standard properties)"
    ),
    "mailchimp": ApiPool("api_mailchimp", 1, "Mailchimp Marketing API: 10 simultaneous connections per API key"),
    "facebook_pages": ApiPool(
        "api_graph_pages", 1, "Graph API Pages and Instagram: platform and Page rate limits (X-App-Usage, X-Page-Usage)"
    ),
    "cbr": ApiPool("api_cbr", 1, "Bank of Russia XML services: public, no published rate limit (one series per request)"),
}


def warehouse_queue() -> str:
    """The Celery queue of the tasks that open the warehouse (ignored by the Local and Sequential executors)."""
    return os.environ.get("FUNNELHOUSE_WAREHOUSE_QUEUE", "").strip() or "warehouse"


def api_pool(source: str) -> str:
    return API_POOLS[source].name


def pools() -> list[tuple[str, int, str]]:
    """Every pool the DAG uses: (name, slots, description), for `airflow pools set`."""
    return [(WRITER_POOL, 1, WRITER_POOL_DESCRIPTION)] + [(p.name, p.slots, p.limit) for p in API_POOLS.values()]


def pools_json() -> str:
    """The pools in the form `airflow pools import <file>` reads (one CLI start for all of them)."""
    import json

    return json.dumps({name: {"slots": slots, "description": description} for name, slots, description in pools()}, indent=1)
