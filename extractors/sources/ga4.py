"""Google Analytics 4 Data API v1beta: daily sessions by source/medium/campaign/landing page,
and daily page views (https://developers.google.com/analytics/devguides/reporting/data/v1).

Credentials: Airflow connection ``ga4``: host = https://analyticsdata.googleapis.com,
password = an OAuth access token (sent as Bearer) or, for unattended runs, extra
``client_id``/``client_secret``/``refresh_token`` (see google_oauth.py), extra ``{"property_ids": ["123456789"],
"start_date": "YYYY-MM-DD"}``.

runReport answers with header lists and rows of string values; each row becomes
one record keyed by its header names (``{"date": "20260601", "sessionSource":
"google", ..., "sessions": "12"}``). Paging is offset/limit (as strings) until
the offset reaches rowCount. Recent days keep changing for 48-72 hours after they
end in the property's time zone, so both reports re-read the last 4 days every run
and replace them: with daily runs at 00:00 UTC, 3 days would stop re-reading a day
a few hours before its last late hits arrive (property days end up to 12 hours
after UTC midnight), and those sessions would never land.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from extractors.connections import PlatformConnection
from extractors.pagination import OffsetTotal, PageRequest, paginate
from extractors.sources import Source
from extractors.sources.google_oauth import google_access_token
from extractors.streams import KeyColumn, Stream

PAGE_LIMIT = 100_000
YYYYMMDD = "try_strptime({}, '%Y%m%d')::{type}"

REPORTS = {
    "sessions_daily": {
        # auto-tagged Google Ads clicks (gclid, no UTM): GA4 names their Google Ads campaign ('(not set)' for others)
        "dimensions": ["date", "sessionSource", "sessionMedium", "sessionCampaignName", "sessionGoogleAdsCampaignId",
                       "sessionGoogleAdsCampaignName", "landingPage"],
        "metrics": ["sessions", "engagedSessions", "bounceRate", "averageSessionDuration", "screenPageViews", "conversions"],
    },
    "pages_daily": {
        "dimensions": ["date", "pagePath"],
        # exits: sessions whose last page it was (the contract's exit-page numbers, served with pagePath)
        "metrics": ["screenPageViews", "userEngagementDuration", "sessions", "exits"],
    },
}


def _key(name: str) -> KeyColumn:
    return KeyColumn(name, f"$.{name}") if name != "date" else KeyColumn("date", "$.date", "DATE", parse=YYYYMMDD)


class GA4(Source):
    name = "ga4"
    conn_id = "ga4"
    max_concurrency = 4
    streams = tuple(
        Stream(report, tuple(_key(d) for d in spec["dimensions"]), load="window", window_key="date",
               lookback=timedelta(days=4), description=f"GA4 report: {', '.join(spec['dimensions'])} -> {', '.join(spec['metrics'])}")
        for report, spec in REPORTS.items()
    )

    def accounts(self, conn: PlatformConnection, stream: Stream) -> list[str]:
        return conn.list_extra("property_ids", '{"property_ids": ["123456789"]}')

    def client(self, conn: PlatformConnection):
        token = google_access_token(self.name, conn)
        return self.http_client(conn, headers={"Authorization": f"Bearer {token}"}, secrets=[token])

    def read(self, client, conn, stream, account, window) -> Iterator[list[dict]]:
        spec = REPORTS[stream.name]
        body = {
            "dateRanges": [{"startDate": window.first_day.isoformat(), "endDate": window.last_day.isoformat()}],
            "dimensions": [{"name": d} for d in spec["dimensions"]],
            "metrics": [{"name": m} for m in spec["metrics"]],
            "limit": str(PAGE_LIMIT),
            "offset": "0",
        }
        first = PageRequest("POST", f"/v1beta/properties/{account}:runReport", json_body=body)
        yield from paginate(client, first, OffsetTotal(("rowCount",), as_string=True), _rows_as_records,
                            what=f"{stream.name} [property {account}]")


def _rows_as_records(page: dict) -> list[dict]:
    dimensions = [h["name"] for h in page.get("dimensionHeaders") or []]
    metrics = [h["name"] for h in page.get("metricHeaders") or []]
    records = []
    for row in page.get("rows") or []:
        values = [v.get("value") for v in row.get("dimensionValues") or []] + [v.get("value") for v in row.get("metricValues") or []]
        records.append(dict(zip(dimensions + metrics, values, strict=False)))
    return records
