"""Mailchimp Marketing API 3.0: campaigns, reports, email activity, list members
(https://mailchimp.com/developer/marketing/api/).

Credentials: Airflow connection ``mailchimp``: host = https://<dc>.api.mailchimp.com
(the data center is the API key's suffix, e.g. us21), password = the API key
(HTTP Basic, any user name), extra ``{"list_ids": ["<audience id>", ...],
"start_date": "YYYY-MM-DD"}``. Mailchimp allows 10 concurrent connections per key.

Paging is ``count``/``offset`` until offset reaches ``total_items``. Reports
and email activity keep changing for weeks after a send, so each run re-reads
campaigns sent in the last 30 days. Email activity arrives nested (one email,
many actions) and is landed one record per action, so a re-read can only add
or repeat actions, never drop them.

Verified against:
- Mailchimp's Marketing API reference as generated into its own SDK (mailchimp-marketing-python:
  campaigns list, reports list, email activity, list members) and its OpenAPI file (api-evangelist/
  mailchimp): ``count`` default 10, maximum 1000, ``offset``, ``total_items``; ``fields`` /
  ``exclude_fields`` with dot notation; ``status``, ``since_send_time``, ``since_last_changed``; the
  email-activity shape ``emails[{campaign_id, list_id, email_id, email_address, activity[{action,
  type, timestamp, url, ip}]}]``; the problem+json error ``{type, title, status, detail, instance}``.
- Mailchimp's "Fundamentals" page (10 simultaneous connections, else 429) and error glossary
  (401 "API Key Invalid", 404 "Resource Not Found", 429 "Too Many Requests"), as quoted in
  api-evangelist/mailchimp; Airbyte source-mailchimp's manifest (max_concurrency 10, page size
  1000, Basic auth with any user name); a user's recorded 400 answer (``application/problem+json``, "Invalid Resource").
- Airbyte source-mailchimp (MailChimpRecordExtractorEmailActivity and its unit test) and
  singer-io/tap-mailchimp (sync.py): one record per action, the email's fields copied onto each;
  the tap's campaigns read (``status=sent``, ``since_send_time``, ``fields`` naming ``total_items``).
- Estuary source-mailchimp-native's recorded probes of a real account: ``since_*`` and ``since``
  exclude the exact second, ``before_*`` include it; ``since`` empties ``activity`` but keeps every
  recipient and ``total_items``; offsets past the end give an empty page; a count over 1000 is not
  refused; a draft's email activity is an empty page; a bounce is ``{action, type, timestamp}``;
  ``/reports`` lists sent campaigns only; archived members are left out of an unfiltered listing.

Not verified:
- Whether ``since_send_time`` excludes its exact second like the probed filters (the 30-day
  re-read makes it moot), and whether a count over 1000 is cut to 1000 (only 1000 is asked).
- The default order of each listing (no ``sort_field`` is sent) and whether it is stable while
  records change between pages.
- Archived members are not read (they are not in the unfiltered listing); ``_links`` are landed
  as sent; the bare 403 Mailchimp says may replace a 429 "at exceptionally high volumes" would
  stop the run (requests are kept to 10 at a time so it should not happen).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from extractors.connections import PlatformConnection
from extractors.http import HttpClient
from extractors.pagination import OffsetTotal, PageRequest, paginate
from extractors.sources import Source
from extractors.streams import KeyColumn, Stream

PAGE_COUNT = 1000
ACCOUNT = "account"  # one API key = one Mailchimp account; audiences (lists) are read inside it

SENT_CAMPAIGN_LOOKBACK = timedelta(days=30)


class Mailchimp(Source):
    name = "mailchimp"
    conn_id = "mailchimp"
    max_concurrency = 10
    streams = (
        Stream("campaigns", (KeyColumn("id", "$.id"),), lookback=SENT_CAMPAIGN_LOOKBACK, description="sent campaigns"),
        Stream(
            "reports",
            (KeyColumn("id", "$.id"),),
            lookback=SENT_CAMPAIGN_LOOKBACK,
            description="per-campaign sends, opens, clicks, bounces, unsubscribes",
        ),
        Stream(
            "email_activity",
            (
                KeyColumn("campaign_id", "$.campaign_id"),
                KeyColumn("email_id", "$.email_id"),
                KeyColumn("action", "$.action"),
                KeyColumn("timestamp", "$.timestamp"),
                # two clicks in one second on different links are two actions ('' for opens/bounces)
                KeyColumn("url", "$.url", parse="COALESCE({}, '')"),
            ),
            lookback=SENT_CAMPAIGN_LOOKBACK,
            description="one record per open / click / bounce of one recipient",
        ),
        Stream(
            "list_members",
            (KeyColumn("list_id", "$.list_id"), KeyColumn("id", "$.id")),
            lookback=timedelta(hours=1),
            description="audience members with status and last change",
        ),
    )

    def accounts(self, conn: PlatformConnection, stream: Stream) -> list[str]:
        if stream.name == "list_members":
            return conn.list_extra("list_ids", '{"list_ids": ["<audience id>"]}')
        return [ACCOUNT]

    def client(self, conn: PlatformConnection) -> HttpClient:
        client = self.http_client(conn)
        client.session.auth = (conn.login or "funnelhouse", conn.password)
        return client

    def read(self, client, conn, stream, account, window) -> Iterator[list[dict]]:
        since = window.start.strftime("%Y-%m-%dT%H:%M:%S+00:00") if window.start else None
        if stream.name == "list_members":
            params = {"count": PAGE_COUNT, "offset": 0, **({"since_last_changed": since} if since else {})}
            yield from self._pages(client, f"/3.0/lists/{account}/members", params, "members", f"list_members [{account}]")
            return
        sent = {"status": "sent", "count": PAGE_COUNT, "offset": 0, **({"since_send_time": since} if since else {})}
        if stream.name == "campaigns":
            yield from self._pages(client, "/3.0/campaigns", sent, "campaigns", "campaigns")
        elif stream.name == "reports":
            yield from self._pages(client, "/3.0/reports", {k: v for k, v in sent.items() if k != "status"}, "reports", "reports")
        else:  # email_activity: per campaign sent in the window
            for campaigns in self._pages(
                client, "/3.0/campaigns", {**sent, "fields": "campaigns.id,total_items"}, "campaigns", "campaigns"
            ):
                for campaign in campaigns:
                    yield from self._activity(client, campaign["id"])

    def _pages(self, client, path, params, key, what) -> Iterator[list[dict]]:
        yield from paginate(client, PageRequest("GET", path, params=params), OffsetTotal(("total_items",)), (key,), what=what)

    def _activity(self, client, campaign_id: str) -> Iterator[list[dict]]:
        def actions(page: dict) -> list[dict]:
            return [
                {
                    "campaign_id": page.get("campaign_id", campaign_id),
                    "list_id": email.get("list_id"),
                    "email_id": email.get("email_id"),
                    "email_address": email.get("email_address"),
                    **action,
                }
                for email in page.get("emails") or []
                for action in email.get("activity") or []
            ]

        first = PageRequest("GET", f"/3.0/reports/{campaign_id}/email-activity", params={"count": PAGE_COUNT, "offset": 0})
        # Offsets count emails, not actions: the style is told how many emails a page held.
        yield from paginate(client, first, _EmailOffset(), actions, what=f"email_activity [{campaign_id}]")


class _EmailOffset(OffsetTotal):
    """Offset paging over emails, whose actions are flattened into several records each."""

    def __init__(self):
        super().__init__(("total_items",))

    def next_request(self, page, request, rows_so_far):
        emails_so_far = (request.params or {}).get("offset", 0) + len(page.get("emails") or [])
        return super().next_request(page, request, emails_so_far)
