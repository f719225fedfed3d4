"""Google Ads API (REST): customers, campaigns, ad groups, ad-group daily performance and the
clicks of each day (https://developers.google.com/google-ads/api/rest/overview, searchStream; the
version comes from extractors/api_versions.py, v26 by default).

Credentials: Airflow connection ``google_ads``: host = https://googleads.googleapis.com,
password = an OAuth access token (sent as Bearer) or, for unattended runs, extra
``client_id``/``client_secret``/``refresh_token`` (see google_oauth.py), extra ``{"developer_token": "...",
"customer_ids": ["1234567890", ...], "login_customer_id": "<manager id, optional>",
"api_version": "v26" (optional: overrides the default), "start_date": "YYYY-MM-DD"}``. Customer ids
without dashes.

searchStream answers one GAQL query with a JSON array of batches and no paging.
Field names are lowerCamelCase, int64 values are strings, cost is in micros of
the account currency, and dates are in the account's time zone. Conversions are
restated for up to the conversion window, so the performance stream re-reads
the last 30 days every run and those days replace what was loaded. An error element
anywhere in the array (also after result batches) makes the answer that error: the
unit fails (or is retried, for a 5xx), its batches before the error are never landed
as if they were the result. A version past its sunset is refused by Google with HTTP 400;
that becomes one line naming the connection, its ``api_version`` extra and a supported
version, and stops the source without retries (every request would be refused so).

click_views lists every click's gclid with its campaign and ad group, so a CRM contact
that kept the gclid of an auto-tagged click (Google's default: no UTM tags) finds its
campaign. Google answers click_view one day per query (a filter on a single day) and
only for the last 90 days (ClickView reference; ClickViewError EXPECTED_FILTER_ON_A_SINGLE_DAY,
DATE_TOO_OLD), so the stream reads day by day and its window never starts earlier.

Verified against:
- Google Ads API "Search & SearchStream" guide: the searchStream URL, headers and the JSON array of
  batches (``results``, ``fieldMask``, ``requestId``).
- Google Ads "Deprecation and sunset" page and the developer blog's announcements and sunset
  reminders (v17 .. v26): the versions and dates in extractors/api_versions.py.
- Users' reports of a sunset version's answer: googleads/google-ads-python#332, floriankuwala/
  googlesearch2postgres#1 and selesnow/rgoogleads#33 ("Version vNN is deprecated. Requests to this
  version will be blocked.", INVALID_ARGUMENT, requestError UNKNOWN or UNSUPPORTED_VERSION).
- The ClickView and ClickViewError references (v16-v22) and Airbyte's source-google-ads click_view
  stream: one day per request, 90 days of history.

Not verified:
- The HTTP status and position of an error that interrupts a stream after its first batches (we
  treat an error element anywhere in the array, under any status, as the answer).
- The exact sunset days of v23-v26 (projected months until Google's reminder names the day).
- Whether a sunset version's REST answer comes inside searchStream's array (the sandbox answers so;
  the extractor recognises it either way).
- The row Google sends for a click on a day that has not ended yet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

from extractors.api_versions import PLATFORMS, api_version, deprecated_version_message
from extractors.connections import PlatformConnection
from extractors.errors import ApiError, ApiVersionError
from extractors.http import HttpClient
from extractors.sources import Source
from extractors.sources.google_oauth import google_access_token
from extractors.streams import KeyColumn, Stream

CLICK_VIEW_DAYS = 90  # Google serves click_view for the last 90 days
QUERIES = {
    "customers": "SELECT customer.id, customer.descriptive_name, customer.currency_code, customer.time_zone FROM customer",
    "campaigns": (
        "SELECT customer.id, campaign.id, campaign.name, campaign.status, campaign.advertising_channel_type FROM campaign"
    ),
    "ad_groups": "SELECT customer.id, campaign.id, ad_group.id, ad_group.name, ad_group.status FROM ad_group",
    # one day per query: Google refuses click_view over a range
    "click_views": (
        "SELECT customer.id, campaign.id, campaign.name, ad_group.id, click_view.gclid, segments.date "
        "FROM click_view WHERE segments.date = '{day}'"
    ),
    "ad_group_performance": (
        "SELECT customer.id, customer.currency_code, customer.time_zone, campaign.id, campaign.name, "
        "ad_group.id, ad_group.name, metrics.impressions, metrics.clicks, metrics.cost_micros, "
        "metrics.conversions, metrics.conversions_value, segments.date FROM ad_group "
        "WHERE segments.date BETWEEN '{since}' AND '{until}'"
    ),
}
_SUNSET_MESSAGE = re.compile(r"Version v\d+ is deprecated")


class GoogleAds(Source):
    name = "google_ads"
    conn_id = "google_ads"
    max_concurrency = 4
    streams = (
        Stream("customers", (KeyColumn("customer_id", "$.customer.id"),), description="account currency and time zone"),
        Stream("campaigns", (KeyColumn("campaign_id", "$.campaign.id"),), description="campaign names and status"),
        Stream("ad_groups", (KeyColumn("ad_group_id", "$.adGroup.id"),), description="ad group names and status"),
        Stream(
            "ad_group_performance",
            (KeyColumn("ad_group_id", "$.adGroup.id"), KeyColumn("date", "$.segments.date", "DATE")),
            load="window",
            window_key="date",
            lookback=timedelta(days=30),
            description="ad-group daily impressions, clicks, cost (micros), conversions, in the account's time zone",
        ),
        # the account's day may not have ended at the last run (Los Angeles ends 7 hours after UTC): 2 days again
        Stream(
            "click_views",
            (KeyColumn("gclid", "$.clickView.gclid"), KeyColumn("date", "$.segments.date", "DATE")),
            load="window",
            window_key="date",
            lookback=timedelta(days=2),
            max_history=timedelta(days=CLICK_VIEW_DAYS),
            description="every click's gclid with its campaign and ad group, one account day per query",
        ),
    )

    def accounts(self, conn: PlatformConnection, stream: Stream) -> list[str]:
        conn.require_extra("developer_token", '{"developer_token": "<your developer token>"}')
        return [i.replace("-", "") for i in conn.list_extra("customer_ids", '{"customer_ids": ["1234567890"]}')]

    def client(self, conn: PlatformConnection) -> HttpClient:
        api_version("google_ads", conn)  # warns once per run when the version nears its sunset
        token = google_access_token(self.name, conn)
        headers = {"Authorization": f"Bearer {token}", "developer-token": str(conn.extra["developer_token"])}
        if conn.extra.get("login_customer_id"):
            headers["login-customer-id"] = str(conn.extra["login_customer_id"]).replace("-", "")
        return self.http_client(conn, headers=headers, secrets=[token, str(conn.extra["developer_token"])])

    def read(self, client, conn, stream, account, window) -> Iterator[list[dict]]:
        version = str(conn.extra.get("api_version") or PLATFORMS["google_ads"].default)  # as api_version(), unwarned
        for query in _queries(stream, window):
            try:
                batches = client.request(
                    "POST",
                    f"/{version}/customers/{account}/googleAds:searchStream",
                    json_body={"query": query},
                    what=f"{stream.name} [customer {account}]",
                )
            except ApiError as exc:
                if _is_sunset_answer(exc.body):
                    raise ApiVersionError(deprecated_version_message("google_ads", conn.conn_id, version)) from None
                raise
            for batch in batches or []:
                yield batch.get("results") or []


def _queries(stream: Stream, window) -> Iterator[str]:
    query = QUERIES[stream.name]
    if stream.name == "click_views":
        day = window.first_day
        while day <= window.last_day:
            yield query.format(day=day.isoformat())
            day += timedelta(days=1)
    elif stream.load == "window":
        yield query.format(since=window.first_day.isoformat(), until=window.last_day.isoformat())
    else:
        yield query


def _is_sunset_answer(body) -> bool:
    """Google's refusal of a sunset version: a GoogleAdsFailure with requestError UNSUPPORTED_VERSION
    (UNKNOWN in older answers) saying "Version vNN is deprecated. Requests to this version will be blocked."."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return False
    for detail in error.get("details") or []:
        for failure in (detail.get("errors") or []) if isinstance(detail, dict) else []:
            code = (failure.get("errorCode") or {}).get("requestError") if isinstance(failure, dict) else None
            if code == "UNSUPPORTED_VERSION" or _SUNSET_MESSAGE.search(str(failure.get("message", ""))):
                return True
    return False
