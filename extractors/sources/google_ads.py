"""Google Ads API (REST): customers, campaigns, ad groups and ad-group daily performance
(https://developers.google.com/google-ads/api/rest/overview, searchStream, API v17).

Credentials: Airflow connection ``google_ads``: host = https://googleads.googleapis.com,
password = an OAuth access token (sent as Bearer) or, for unattended runs, extra
``client_id``/``client_secret``/``refresh_token`` (see google_oauth.py), extra ``{"developer_token": "...",
"customer_ids": ["1234567890", ...], "login_customer_id": "<manager id, optional>",
"api_version": "v17", "start_date": "YYYY-MM-DD"}``. Customer ids without dashes.

searchStream answers one GAQL query with a JSON array of batches and no paging.
Field names are lowerCamelCase, int64 values are strings, cost is in micros of
the account currency, and dates are in the account's time zone. Conversions are
restated for up to the conversion window, so the performance stream re-reads
the last 30 days every run and those days replace what was loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from extractors.connections import PlatformConnection
from extractors.http import HttpClient
from extractors.sources import Source
from extractors.sources.google_oauth import google_access_token
from extractors.streams import KeyColumn, Stream

QUERIES = {
    "customers": "SELECT customer.id, customer.descriptive_name, customer.currency_code, customer.time_zone FROM customer",
    "campaigns": ("SELECT customer.id, campaign.id, campaign.name, campaign.status, campaign.advertising_channel_type "
                  "FROM campaign"),
    "ad_groups": "SELECT customer.id, campaign.id, ad_group.id, ad_group.name, ad_group.status FROM ad_group",
    "ad_group_performance": (
        "SELECT customer.id, customer.currency_code, customer.time_zone, campaign.id, campaign.name, "
        "ad_group.id, ad_group.name, metrics.impressions, metrics.clicks, metrics.cost_micros, "
        "metrics.conversions, metrics.conversions_value, segments.date FROM ad_group "
        "WHERE segments.date BETWEEN '{since}' AND '{until}'"),
}


class GoogleAds(Source):
    name = "google_ads"
    conn_id = "google_ads"
    max_concurrency = 4
    streams = (
        Stream("customers", (KeyColumn("customer_id", "$.customer.id"),), description="account currency and time zone"),
        Stream("campaigns", (KeyColumn("campaign_id", "$.campaign.id"),), description="campaign names and status"),
        Stream("ad_groups", (KeyColumn("ad_group_id", "$.adGroup.id"),), description="ad group names and status"),
        Stream("ad_group_performance", (KeyColumn("ad_group_id", "$.adGroup.id"), KeyColumn("date", "$.segments.date", "DATE")),
               load="window", window_key="date", lookback=timedelta(days=30),
               description="ad-group daily impressions, clicks, cost (micros), conversions, in the account's time zone"),
    )

    def accounts(self, conn: PlatformConnection, stream: Stream) -> list[str]:
        conn.require_extra("developer_token", '{"developer_token": "<your developer token>"}')
        return [i.replace("-", "") for i in conn.list_extra("customer_ids", '{"customer_ids": ["1234567890"]}')]

    def client(self, conn: PlatformConnection) -> HttpClient:
        token = google_access_token(self.name, conn)
        headers = {"Authorization": f"Bearer {token}", "developer-token": str(conn.extra["developer_token"])}
        if conn.extra.get("login_customer_id"):
            headers["login-customer-id"] = str(conn.extra["login_customer_id"]).replace("-", "")
        return self.http_client(conn, headers=headers, secrets=[token, str(conn.extra["developer_token"])])

    def read(self, client, conn, stream, account, window) -> Iterator[list[dict]]:
        query = QUERIES[stream.name]
        if stream.load == "window":
            query = query.format(since=window.first_day.isoformat(), until=window.last_day.isoformat())
        version = conn.extra.get("api_version", "v17")
        batches = client.request("POST", f"/{version}/customers/{account}/googleAds:searchStream", json_body={"query": query},
                                 what=f"{stream.name} [customer {account}]")
        for batch in batches or []:
            yield batch.get("results") or []

