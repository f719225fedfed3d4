"""Google Analytics 4 Data API v1beta: daily sessions by source/medium/campaign/landing page,
and daily page views (https://developers.google.com/analytics/devguides/reporting/data/v1); exits
per page from the property's BigQuery export when it is configured (ga4_export.py).

Credentials: Airflow connection ``ga4``: host = https://analyticsdata.googleapis.com,
password = an OAuth access token (sent as Bearer) or, for unattended runs, extra
``client_id``/``client_secret``/``refresh_token`` (see google_oauth.py), extra ``{"property_ids": ["123456789"],
"start_date": "YYYY-MM-DD"}``; for the export also ``bigquery_project_id`` (see ga4_export.py).

runReport answers with header lists and rows of string values; each row becomes
one record keyed by its header names (``{"date": "20260601", "sessionSource":
"google", ..., "sessions": "12"}``). Paging is offset/limit (as strings) until
the offset reaches rowCount. Recent days keep changing for 48-72 hours after they
end in the property's time zone, so both reports re-read the last 4 days every run
and replace them: with daily runs at 00:00 UTC, 3 days would stop re-reading a day
a few hours before its last late hits arrive (property days end up to 12 hours
after UTC midnight), and those sessions would never land.

Only metrics the Data API has: ``exits`` and ``entrances`` are not among them (a request naming
one is refused with 400 and would lose the whole report). Entrances are the sessions report's
sessions by ``landingPage``; exits come from the export. ``conversions`` is now ``keyEvents``.

Folded rows: a report with more rows than its GA4 table allows condenses the rarest into one
"(other)" row and sets ``metadata.dataLossFromOtherRow``. Such a window is read again one day at a
time; a day that still folds is read once more without its detail dimension (landingPage), and
what the detailed rows miss of each coarse row becomes a row with landingPage "(other)", so every
source / medium / campaign keeps its exact sessions. Where even that folds, the "(other)" row is
kept as GA4 sent it (dated with its day). Either way the unit's batch carries a note.

Quotas: every request asks for ``returnPropertyQuota``; once the hour's (or day's) tokens left are
fewer than the last request cost, the unit stops before its next report with ``QuotaExhausted``
rather than running into 429 RESOURCE_EXHAUSTED, which does not clear for up to an hour (the HTTP
client does not retry that 429 either, and raises the same error).

Verified against: Data API reference (runReport, Dimension/Metric, ResponseMetaData
.dataLossFromOtherRow, PropertyQuota and QuotaStatus), the Data API quotas page, API schema
(no exits / entrances: googleapis/google-cloud-java#9279, googleanalytics/ga-dev-tools#1658), the
support article on the (other) row (answer 13331684), a user's recorded 429 body ("Exhausted
property tokens for a project per hour ...", TROCCO's GA4 docs), Airbyte source-google-analytics-
data-api api_quota.py and test_api_quota.py (propertyQuota shape, quota message patterns).
Not verified: the "(other)" row's dimension values (the sandbox puts "(other)" in every dimension,
date included); whether a request without landingPage is served from a table that folds less (the
documented advice, not a documented guarantee); the token cost of a request (Google does not
publish it; pacing uses the last request's cost); the wording of the hourly-per-property and daily
429 messages; when ``conversions`` stopped being accepted.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from extractors.connections import PlatformConnection
from extractors.errors import QuotaExhausted
from extractors.landing import Note
from extractors.pagination import OffsetTotal, PageRequest, paginate
from extractors.sources import Source
from extractors.sources.ga4_export import EXPORT_STREAM, export_configured, read_export
from extractors.sources.google_oauth import google_access_token
from extractors.streams import KeyColumn, Stream

log = logging.getLogger(__name__)

PAGE_LIMIT = 100_000
YYYYMMDD = "try_strptime({}, '%Y%m%d')::{type}"
OTHER = "(other)"


@dataclass(frozen=True)
class Report:
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    # Dropped when one day still folds, to give the "(other)" row back its coarser dimensions.
    detail: str | None = None


REPORTS = {
    "sessions_daily": Report(
        # sessionGoogleAdsCampaign*: auto-tagged Google Ads clicks (gclid, no UTM) name their campaign ('(not set)' for others)
        (
            "date",
            "sessionSource",
            "sessionMedium",
            "sessionCampaignName",
            "sessionGoogleAdsCampaignId",
            "sessionGoogleAdsCampaignName",
            "landingPage",
        ),
        ("sessions", "engagedSessions", "bounceRate", "averageSessionDuration", "screenPageViews", "keyEvents"),
        detail="landingPage",
    ),
    "pages_daily": Report(("date", "pagePath"), ("screenPageViews", "userEngagementDuration", "sessions")),
}
# How a metric of a remainder row (a coarse row minus its detailed rows) is worked out: additive
# metrics subtract; averages and rates are recomputed from the additive ones, as GA4 defines them.
ADDITIVE = {"sessions", "engagedSessions", "screenPageViews", "keyEvents", "userEngagementDuration"}
# The hourly and daily token quotas (PropertyQuota) a run can spend.
TOKEN_QUOTAS = {"tokensPerProjectPerHour": "hour", "tokensPerHour": "hour", "tokensPerDay": "day"}


def _key(name: str) -> KeyColumn:
    return KeyColumn(name, f"$.{name}") if name != "date" else KeyColumn("date", "$.date", "DATE", parse=YYYYMMDD)


class QuotaGuard:
    """A property's Data API tokens as the last answer reported them, shared by the run's threads."""

    def __init__(self, property_id: str):
        self.property_id = property_id
        self._lock = threading.Lock()
        self._remaining: dict[str, int] = {}
        self._last_cost = 1

    def update(self, quota: dict | None) -> None:
        if not isinstance(quota, dict):
            return
        with self._lock:
            for name in TOKEN_QUOTAS:
                status = quota.get(name) or {}
                if "remaining" in status:
                    self._remaining[name] = int(status["remaining"])
                if name == "tokensPerHour" and status.get("consumed"):
                    self._last_cost = max(1, int(status["consumed"]))

    def check(self, what: str) -> None:
        """Stop before a request the quota left cannot pay for."""
        with self._lock:
            for name, period in TOKEN_QUOTAS.items():
                left = self._remaining.get(name)
                if left is not None and left < self._last_cost:
                    raise QuotaExhausted(
                        f"ga4 {what}: the property's Data API tokens for this {period} are spent ({name}: {left} left, "
                        f"the last request cost {self._last_cost}); stopped before sending more. GA4 returns them "
                        f"within the {period}: run again then to read this unit"
                    )


class GA4(Source):
    name = "ga4"
    conn_id = "ga4"
    max_concurrency = 4
    streams = (
        *(
            Stream(
                report,
                tuple(_key(d) for d in spec.dimensions),
                load="window",
                window_key="date",
                lookback=timedelta(days=4),
                description=f"GA4 report: {', '.join(spec.dimensions)} -> {', '.join(spec.metrics)}",
            )
            for report, spec in REPORTS.items()
        ),
        # Optional: read only for a connection with bigquery_project_id; a 403 skips it (no BigQuery access).
        Stream(
            EXPORT_STREAM,
            (KeyColumn("date", "$.event_date", "DATE", parse=YYYYMMDD), KeyColumn("page_path", "$.page_path")),
            load="window",
            window_key="date",
            lookback=timedelta(days=4),
            optional=True,
            description="GA4 BigQuery export: page views and exits (a session's last page_view) per day and page",
        ),
    )

    def __init__(self):
        self._guards: dict[str, QuotaGuard] = {}
        self._guards_lock = threading.Lock()

    def accounts(self, conn: PlatformConnection, stream: Stream) -> list[str]:
        properties = conn.list_extra("property_ids", '{"property_ids": ["123456789"]}')
        if stream.name == EXPORT_STREAM and not export_configured(conn):
            return []  # no export linked: content_performance leaves exits NULL
        return properties

    def client(self, conn: PlatformConnection):
        token = google_access_token(self.name, conn)
        return self.http_client(conn, headers={"Authorization": f"Bearer {token}"}, secrets=[token])

    def _guard(self, property_id: str) -> QuotaGuard:
        with self._guards_lock:
            return self._guards.setdefault(property_id, QuotaGuard(property_id))

    def read(self, client, conn, stream, account, window) -> Iterator[list[dict] | Note]:
        if stream.name == EXPORT_STREAM:
            yield from read_export(client, conn, account, window)
            return
        spec = REPORTS[stream.name]
        guard = self._guard(account)
        what = f"{stream.name} [property {account}]"
        first, last = window.first_day, window.last_day
        pages = _ReportPages(client, account, guard, what)
        whole = pages.read(spec.dimensions, spec.metrics, first, last)
        records = next(whole, None)
        if not pages.folded:
            if records is not None:
                yield records
            yield from whole
            return
        whole.close()
        log.warning("ga4 %s: GA4 folded rows into (other) for %s..%s; reading one day at a time", what, first, last)
        day = first
        while day <= last:
            yield from _read_day(pages, spec, day, what)
            day += timedelta(days=1)


class _ReportPages:
    """runReport pages of one property, paced by its quota; ``folded`` tells whether GA4 folded rows."""

    def __init__(self, client, property_id: str, guard: QuotaGuard, what: str):
        self.client, self.property_id, self.guard, self.what = client, property_id, guard, what
        self.folded = False

    def read(self, dimensions, metrics, first: date, last: date) -> Iterator[list[dict]]:
        self.folded = False
        body = {
            "dateRanges": [{"startDate": first.isoformat(), "endDate": last.isoformat()}],
            "dimensions": [{"name": d} for d in dimensions],
            "metrics": [{"name": m} for m in metrics],
            "limit": str(PAGE_LIMIT),
            "offset": "0",
            "returnPropertyQuota": True,
        }
        self.guard.check(self.what)
        request = PageRequest("POST", f"/v1beta/properties/{self.property_id}:runReport", json_body=body)
        yield from paginate(self.client, request, OffsetTotal(("rowCount",), as_string=True), self._records, what=self.what)

    def _records(self, page: dict) -> list[dict]:
        self.guard.update(page.get("propertyQuota"))
        if (page.get("metadata") or {}).get("dataLossFromOtherRow"):
            self.folded = True
        return _rows_as_records(page)

    def all(self, dimensions, metrics, day: date) -> list[dict]:
        return [r for records in self.read(dimensions, metrics, day, day) for r in records]


def _read_day(pages: _ReportPages, spec: Report, day: date, what: str) -> Iterator[list[dict] | Note]:
    rows = pages.all(spec.dimensions, spec.metrics, day)
    if not pages.folded:
        yield rows
        return
    stamp = day.strftime("%Y%m%d")
    folded = [r for r in rows if all(r.get(d) == OTHER for d in spec.dimensions)]
    detailed = [r for r in rows if not all(r.get(d) == OTHER for d in spec.dimensions)]
    if spec.detail is not None:
        coarse_dims = tuple(d for d in spec.dimensions if d != spec.detail)
        coarse = pages.all(coarse_dims, spec.metrics, day)
        if not pages.folded:
            remainders = _remainders(detailed, coarse, coarse_dims, spec)
            yield [*detailed, *remainders]
            yield Note(
                f"{what} {day}: GA4 folded rows into (other); {len(remainders)} rows keep their "
                f"{', '.join(d for d in coarse_dims if d != 'date')} with {spec.detail} '(other)'"
            )
            return
    for row in folded:
        row["date"] = stamp  # the request covered this one day
    yield [*detailed, *folded]
    yield Note(
        f"{what} {day}: GA4 folded rows into (other) even for one day"
        + (f" without {spec.detail}" if spec.detail else "")
        + "; the (other) row is kept as GA4 sent it"
    )


def _remainders(detailed: list[dict], coarse: list[dict], coarse_dims: tuple[str, ...], spec: Report) -> list[dict]:
    """For each coarse row, what its detailed rows do not account for, as one row with the detail '(other)'."""
    sums: dict[tuple, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in detailed:
        totals = sums[tuple(row[d] for d in coarse_dims)]
        for name, value in _counters(row).items():
            totals[name] += value
    out = []
    for row in coarse:
        key = tuple(row[d] for d in coarse_dims)
        whole, known = _counters(row), sums.get(key, {})
        rest = {name: value - known.get(name, 0.0) for name, value in whole.items()}
        if round(rest.get("sessions", rest.get("screenPageViews", 0.0))) <= 0:
            continue
        record = {d: row[d] for d in coarse_dims} | {spec.detail: OTHER}
        for metric in spec.metrics:
            record[metric] = _metric_text(metric, rest)
        out.append({name: record[name] for name in (*spec.dimensions, *spec.metrics)})
    return out


def _counters(row: dict) -> dict[str, float]:
    """A row's additive counters, its session time included (averageSessionDuration x sessions)."""
    counters = {m: float(row[m]) for m in ADDITIVE if m in row}
    if "averageSessionDuration" in row and "sessions" in row:
        counters["sessionDuration"] = float(row["averageSessionDuration"]) * float(row["sessions"])
    return counters


def _metric_text(metric: str, counters: dict[str, float]) -> str:
    sessions = counters.get("sessions", 0.0)
    if metric == "bounceRate":  # GA4: 1 - engagement rate
        return repr(1 - counters.get("engagedSessions", 0.0) / sessions) if sessions else "0"
    if metric == "averageSessionDuration":
        return repr(counters.get("sessionDuration", 0.0) / sessions) if sessions else "0"
    return str(int(round(counters[metric])))


def _rows_as_records(page: dict) -> list[dict]:
    dimensions = [h["name"] for h in page.get("dimensionHeaders") or []]
    metrics = [h["name"] for h in page.get("metricHeaders") or []]
    records = []
    for row in page.get("rows") or []:
        values = [v.get("value") for v in row.get("dimensionValues") or []] + [
            v.get("value") for v in row.get("metricValues") or []
        ]
        records.append(dict(zip(dimensions + metrics, values, strict=False)))
    return records
