"""Meta Marketing API: ad accounts and ad-level daily insights
(https://developers.facebook.com/docs/marketing-api/insights), in the version extractors/api_versions.py
gives (default v26.0; the connection's ``api_version`` extra overrides it).

Credentials: Airflow connection ``meta_ads``: host = https://graph.facebook.com,
password = a system-user access token (sent as Bearer, so it never appears in
paging URLs), extra ``{"account_ids": ["1234", ...], "start_date": "2026-01-01"}`` and optionally
``"api_version": "v27.0"`` and ``"report_timeout_s": 1800``; account ids without the ``act_`` prefix.

Insights are report data: conversions keep arriving for days after the click,
so every run re-reads a lookback window (28 days, Meta's longest attribution
window) and those days replace what was loaded before.

Each window is read as an asynchronous report run, because Meta refuses a large synchronous
ad x day request with HTTP 500 code 1 "Please reduce the amount of data you're asking for":
``POST /act_{id}/insights`` answers a ``report_run_id``; ``GET /{report_run_id}`` is polled until its
``async_status`` is "Job Completed" (at most ``report_timeout_s``, default 30 minutes); then
``GET /{report_run_id}/insights`` is paged. A run that ends "Job Failed" or "Job Skipped" is started
once more, then its window is split in halves; so is a window answered with code 1, which is never
sent again as it was. A single day that still fails fails the unit with Meta's words. The request asks
for every ``ad.effective_status``: without that ``filtering``, account-level insights leave out deleted
ads, and their spend with them.

A retired version (HTTP 400 code 2635) stops the run with one line naming the connection, the extra and
a supported version; it is not retried.

Verified against:
- Meta, "Marketing API version history" and "Versioning" (dates; auto-upgrade: a call to an expired
  version of an unchanged endpoint is served by the next version, else code 2635); Meta for Developers
  blog 2024-04-16 (the 2635 message).
- tests/specs/meta: AdAccount.json (the GET and POST ``insights`` edges and their parameters; POST
  returns AdReportRun), AdsInsights.json, enum_types.json (Ad_effective_status, the list asked for).
- Meta, "Manage your ad object's status" (deleted ads are not in ``act_{id}/insights?level=ad`` unless
  the ad.effective_status filter asks); Airbyte issue #36998 and PR #39439, singer-io/tap-facebook
  #33/#34 (every status asked for in the insights job).
- Airbyte source-facebook-marketing: async_job.py (async_status values "Job Completed", "Job Failed",
  "Job Skipped", async_percent_completion; bounded waits), the fb_call_amount_data_response fixture and
  ``_is_reduce_data_error`` (code 1, matched on the message); facebook-python-business-sdk #470, #510.

Not verified:
- The row count at which Meta refuses a synchronous request (unpublished; the sandbox picks one).
- Whether POST or result pages can answer code 1 themselves (the split covers it if they do).
- The wording of ``X-Ad-Api-Version-Warning`` (only its presence is used: it is logged).
- Splitting a single day further (by campaign, as Airbyte does): one day is the smallest unit here.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Iterator
from datetime import date, timedelta

from extractors.api_versions import api_version, deprecated_version_message
from extractors.connections import PlatformConnection
from extractors.errors import ApiError, ApiVersionError, ConfigError, RequestTooLarge
from extractors.pagination import NextUrl, PageRequest, paginate
from extractors.sources import Source
from extractors.streams import KeyColumn, Stream

log = logging.getLogger(__name__)

INSIGHT_FIELDS = (
    "account_id",
    "account_currency",
    "campaign_id",
    "campaign_name",
    "adset_id",
    "adset_name",
    "ad_id",
    "ad_name",
    "spend",
    "impressions",
    "clicks",
    "actions",
    "action_values",
    "date_start",
    "date_stop",
)
ACCOUNT_FIELDS = ("id", "account_id", "name", "currency", "timezone_name", "timezone_offset_hours_utc")
PAGE_LIMIT = 500
# Every Ad_effective_status Meta defines (tests/specs/meta/enum_types.json): deleted and archived ads too.
AD_EFFECTIVE_STATUSES = (
    "ACTIVE",
    "ADSET_PAUSED",
    "ARCHIVED",
    "CAMPAIGN_PAUSED",
    "DELETED",
    "DISAPPROVED",
    "IN_PROCESS",
    "PAUSED",
    "PENDING_BILLING_INFO",
    "PENDING_REVIEW",
    "PREAPPROVED",
    "WITH_ISSUES",
)
DEFAULT_REPORT_TIMEOUT_S = 1800.0
POLL_DELAYS_S = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0)  # then every 15 s until the timeout
RUN_ATTEMPTS = 2  # a failed or skipped run is started once more before its window is split
JOB_DONE, JOB_FAILURES = "Job Completed", ("Job Failed", "Job Skipped")


class _RunFailed(Exception):
    """A report run that ended failed or skipped, every time it was started."""


class MetaAds(Source):
    name = "meta_ads"
    conn_id = "meta_ads"
    max_concurrency = 4
    streams = (
        Stream("ad_accounts", (KeyColumn("id", "$.id"),), description="ad account currency and time zone"),
        Stream(
            "insights",
            (KeyColumn("ad_id", "$.ad_id"), KeyColumn("date_start", "$.date_start", "DATE")),
            load="window",
            window_key="date_start",
            lookback=timedelta(days=28),
            description="ad-level daily spend, impressions, clicks, actions in the account's currency and time zone",
        ),
    )

    def accounts(self, conn: PlatformConnection, stream: Stream) -> list[str]:
        ids = conn.list_extra("account_ids", '{"account_ids": ["1234567890"]}')
        return [i.removeprefix("act_") for i in ids]

    def read(self, client, conn, stream, account, window) -> Iterator[list[dict]]:
        version = api_version("meta_marketing", conn)
        try:
            if stream.name == "ad_accounts":
                yield [
                    client.request(
                        "GET",
                        f"/{version}/act_{account}",
                        params={"fields": ",".join(ACCOUNT_FIELDS)},
                        what=f"ad_accounts [act_{account}]",
                    )
                ]
            else:
                yield from self._insights(client, conn, version, account, window.first_day, window.last_day)
        except ApiVersionError:
            raise ApiVersionError(deprecated_version_message("meta_marketing", conn.conn_id, version)) from None

    def _insights(self, client, conn, version, account, first: date, last: date) -> Iterator[list[dict]]:
        """The window's rows, one report run per range; a range Meta will not run is split in halves."""
        timeout_s = _timeout(conn)
        pending = [(first, last)]
        while pending:
            since, until = pending.pop()
            what = f"insights [act_{account}] {since}..{until}"
            try:
                yield from self._report(client, version, account, since, until, timeout_s, what)
            except (RequestTooLarge, _RunFailed) as exc:
                if since == until:
                    raise ApiError(f"meta_ads {what}: Meta will not report even one day: {exc}") from None
                middle = since + (until - since) // 2
                log.warning(
                    "meta_ads %s: %s; asking for %s..%s and %s..%s instead",
                    what,
                    exc,
                    since,
                    middle,
                    middle + timedelta(days=1),
                    until,
                )
                pending += [(middle + timedelta(days=1), until), (since, middle)]  # the earlier half first

    def _report(self, client, version, account, since, until, timeout_s, what) -> Iterator[list[dict]]:
        params = {
            "level": "ad",
            "time_increment": 1,
            "fields": ",".join(INSIGHT_FIELDS),
            "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()}),
            "filtering": json.dumps([{"field": "ad.effective_status", "operator": "IN", "value": list(AD_EFFECTIVE_STATUSES)}]),
        }
        for attempt in range(1, RUN_ATTEMPTS + 1):
            run_id = client.request("POST", f"/{version}/act_{account}/insights", form=params, what=what)["report_run_id"]
            status = _wait(client, version, run_id, timeout_s, what)
            if status == JOB_DONE:
                first = PageRequest("GET", f"/{version}/{run_id}/insights", params={"limit": PAGE_LIMIT})
                yield from paginate(client, first, NextUrl(("paging", "next")), ("data",), what=f"{what} run {run_id}")
                return
            log.warning("meta_ads %s: report run %s ended '%s' (attempt %d of %d)", what, run_id, status, attempt, RUN_ATTEMPTS)
        raise _RunFailed(f"report runs ended '{status}' {RUN_ATTEMPTS} times")


def _wait(client, version, run_id, timeout_s, what) -> str:
    """Poll a report run until it completes, fails or is skipped; its last async_status."""
    deadline = time.monotonic() + timeout_s
    for n in itertools.count():
        time.sleep(POLL_DELAYS_S[min(n, len(POLL_DELAYS_S) - 1)])
        run = client.request("GET", f"/{version}/{run_id}", what=f"{what} run {run_id}")
        status = run.get("async_status")
        if status == JOB_DONE or status in JOB_FAILURES:
            return status
        if time.monotonic() >= deadline:
            raise ApiError(
                f"meta_ads {what}: report run {run_id} did not finish in {timeout_s:.0f}s ({status}, "
                f"{run.get('async_percent_completion')}%): run again later, or raise the extra 'report_timeout_s'"
            )


def _timeout(conn: PlatformConnection) -> float:
    try:
        return float(conn.extra.get("report_timeout_s", DEFAULT_REPORT_TIMEOUT_S))
    except (TypeError, ValueError):
        raise ConfigError(f"connection '{conn.conn_id}' extra 'report_timeout_s' is not a number of seconds") from None
