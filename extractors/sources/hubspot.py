"""HubSpot CRM v3: contacts and deals (https://developers.hubspot.com/docs/api/crm/contacts).

API: CRM v3 objects list, batch read and search endpoints (OpenAPI in tests/specs/hubspot).
Credentials: Airflow connection ``hubspot``: host = API base URL
(https://api.hubapi.com), password = private-app token (sent as Bearer), extra
``{"portal_id": "..."}`` (tags every row; optional), ``"extra_properties"``
(more properties to read, e.g. your own UTM fields) and ``"all_properties": true``
(read every property the portal defines; new ones land without a code change).

Contacts: the first run lists everything; later runs search on
``lastmodifieddate`` from the saved cursor (minus one hour: search indexes with
a lag). Search stops at 10,000 results per query, so the query restarts from the
last modified date it reached. A search page may come back short or even empty
while still giving ``paging.next.after``: only a missing cursor ends a query. Search
allows 4 requests per second per token: the client paces its searches under that
(``rate_limits``), so a long search is never throttled. Archiving does not change the
modified date, so every run also lists archived contacts. Deals (live and archived) are
listed in full every run, because search returns no associations and each deal must keep
its contacts.

Lists put the properties in the URL, which HubSpot refuses past about 16,000 characters
(414): a longer list (``all_properties`` on a portal with hundreds) is split into chunks of
at most 15,000 encoded characters. The first chunk is listed page by page; the others are
read for exactly that page's ids with ``POST /crm/v3/objects/{type}/batch/read`` and merged
by id, so every chunk carries the same records (see ``HubSpot._list``).

Contact visits (``contact_visits``, for multi-touch attribution): the page-visit
events (``e_visited_page``) of every contact associated with a deal, from the
web-analytics events API ``GET /events/v3/events?objectType=contact&objectId=
&eventType=e_visited_page&occurredAfter=&occurredBefore=&limit=&after=`` (Marketing
Hub Enterprise: a portal without it answers 403, and the run skips this optional
stream, reports it and loads the rest). The deals are listed
in the same read (one page of associations per 100 deals): a deal created or
changed since the saved cursor gets its contact's whole history (the deal is new
to us, its contact's earlier visits are not), every other deal's contact only the
visits since the cursor. Rows merge on the event id; the cursor is committed with
them, as for every stream.

Verified against:
- HubSpot's CRM v3 OpenAPI files (tests/specs/hubspot): list, search and batch read (its
  ``archived`` parameter, ``inputs``/``properties`` body, 207 answer with errors).
- HubSpot's Events v3 OpenAPI file: the events parameters, the record shape ``{objectType,
  objectId, eventType, occurredAt, id, properties}`` and ``paging.next.after``.
- Airbyte source-hubspot: the 15,000-character split of the properties parameter (helpers.py,
  "split properties" unit test), the ~16,300-character limit it measured, the 414 page its users
  quote (airbytehq/airbyte#33976), and search's empty page with a cursor
  (test_crm_search_pagination_boundaries).
- HubSpot's changelog "CRM Search API Rate Limit Increase": 4 search requests per second per token.

Not verified:
- The exact URL limit, whether it counts the host, and any limit on the number of properties in
  a batch read or a search body.
- The page-view property names (hs_url, hs_referrer, hs_utm_*) and the events limit's maximum.
- The message text of batch read's OBJECT_NOT_FOUND error, and how often search's empty pages occur.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from extractors.connections import PlatformConnection
from extractors.errors import ApiError
from extractors.http import HttpClient, RateLimit
from extractors.pagination import BodyCursor, PageRequest, paginate
from extractors.sources import Source
from extractors.streams import KeyColumn, Stream, Window

LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
CONTACT_PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "createdate",
    "lastmodifieddate",
    "lifecyclestage",
    *(f"hs_lifecyclestage_{s}_date" for s in LIFECYCLE_STAGES),
    "hs_analytics_source",
    "hs_analytics_source_data_1",
    "hs_analytics_source_data_2",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    # the gclid of an auto-tagged Google Ads click ("Google ad click id"): its campaign is in Google Ads' click_view
    "hs_google_click_id",
)
DEAL_PROPERTIES = (
    "dealname",
    "amount",
    "dealstage",
    "pipeline",
    "closedate",
    "createdate",
    "hs_lastmodifieddate",
    "hs_is_closed_won",
    "hs_is_closed",
    "deal_currency_code",
)
LIST_LIMIT = 100
EVENTS_LIMIT = 100
LANDING_PAGE_RECORDS = 1000
VISIT_EVENT_TYPE = "e_visited_page"
SEARCH_LIMIT = 200
SEARCH_CAP = 10_000
# HubSpot refuses request URLs past about 16,000 characters (414, its proxy's HTML page); Airbyte measured
# ~16,300 and keeps the encoded properties parameter of one GET under 15,000, as we do.
PROPERTIES_PARAM_MAX = 15_000
BATCH_READ_MAX = 100  # ids per batch read, HubSpot's batch limit (and our list page size)

log = logging.getLogger(__name__)

ID = (KeyColumn("id", "$.id"),)


class HubSpot(Source):
    name = "hubspot"
    conn_id = "hubspot"
    max_concurrency = 4
    # CRM search allows 4 requests per second per token, fewer than the other endpoints. The client
    # counts each from its answer, a round trip after HubSpot did: that is the headroom.
    rate_limits = (RateLimit(r"/crm/v3/objects/[^/]+/search$", max_requests=4, window_s=1.0),)
    streams = (
        Stream(
            "contacts",
            ID,
            lookback=timedelta(hours=1),
            description="contacts with lifecycle dates, source and UTM properties; archived ones flagged",
        ),
        Stream("deals", ID, description="deals with stage, amount, currency and associated contacts (full list each run)"),
        # The events API needs Marketing Hub Enterprise: other portals answer 403.
        Stream(
            "contact_visits",
            ID,
            lookback=timedelta(hours=1),
            optional=True,
            description="page-visit events (e_visited_page) of the contacts associated with deals",
        ),
    )

    def accounts(self, conn: PlatformConnection, stream: Stream) -> list[str]:
        return [str(conn.extra.get("portal_id") or "default")]

    def read(self, client, conn, stream, account, window) -> Iterator[list[dict]]:
        if stream.name == "contact_visits":
            yield from self._contact_visits(client, window)
            return
        if stream.name == "deals":
            properties = _properties(client, "deals", DEAL_PROPERTIES, conn)
            yield from self._list(client, "deals", properties, archived=False, associations="contacts")
            yield from self._list(client, "deals", properties, archived=True)  # deleted deals must stop counting
            return
        properties = _properties(client, "contacts", CONTACT_PROPERTIES, conn)
        if window.start is None:
            yield from self._list(client, "contacts", properties, archived=False)
        else:
            yield from self._search(client, "contacts", "lastmodifieddate", properties, window)
        yield from self._list(client, "contacts", properties, archived=True)

    def _list(
        self, client: HttpClient, object_type: str, properties: list[str], archived: bool, associations: str | None = None
    ) -> Iterator[list[dict]]:
        """List every record, with every property asked for.

        The properties go in the URL, so a long list (``all_properties`` on a portal with hundreds)
        is split into chunks that each fit HubSpot's URL limit. The first chunk is listed page by
        page; the other chunks are read for exactly that page's ids with the batch read endpoint
        (properties in the body) and merged by id. Paging every chunk separately would not give
        every chunk the same records: records created, archived or changed between the requests
        shift the pages. A record whose chunks disagree on ``updatedAt`` (it changed between the
        requests) is read again in every chunk; one that vanished (archived mid-read) is left to the
        archived pass (or, for the archived pass, to the next run), never landed with half its properties.
        """
        first_chunk, *other_chunks = _property_chunks(properties)
        params = {"limit": LIST_LIMIT, "properties": ",".join(first_chunk), "archived": str(archived).lower()}
        if associations:
            params["associations"] = associations
        first = PageRequest("GET", f"/crm/v3/objects/{object_type}", params=params)
        what = f"{object_type}{' (archived)' if archived else ''}"
        for page in paginate(client, first, BodyCursor(("paging", "next", "after")), ("results",), what=what):
            yield (
                _complete(client, object_type, page, first_chunk, other_chunks, archived, what) if other_chunks and page else page
            )

    def _contact_visits(self, client: HttpClient, window: Window) -> Iterator[list[dict]]:
        since: dict[str, datetime | None] = {}  # contact id -> read visits from (None: all of them)
        probed = False
        for deals in self._list(client, "deals", ["hs_lastmodifieddate"], archived=False, associations="contacts"):
            for deal in deals:
                changed = window.start is None or _iso_datetime(deal.get("updatedAt")) >= window.start
                for association in ((deal.get("associations") or {}).get("contacts") or {}).get("results") or []:
                    contact_id = str(association["id"])
                    start = None if changed else window.start
                    if contact_id not in since or start is None:  # any new deal of the contact: whole history
                        since[contact_id] = start
            if since and not probed:
                # The events API needs Marketing Hub Enterprise: ask it once now, so a portal without it
                # refuses (403: the stream is skipped and reported) after one page of deals, not all of them.
                client.request(
                    "GET",
                    "/events/v3/events",
                    what=f"contact_visits [{next(iter(since))}]",
                    params={"objectType": "contact", "objectId": next(iter(since)), "eventType": VISIT_EVENT_TYPE, "limit": 1},
                )
                probed = True
        before = _iso_z(window.end)
        buffered: list[dict] = []
        for contact_id in sorted(since, key=lambda c: (len(c), c)):
            params = {
                "objectType": "contact",
                "objectId": contact_id,
                "eventType": VISIT_EVENT_TYPE,
                "occurredBefore": before,
                "limit": EVENTS_LIMIT,
            }
            if since[contact_id] is not None:
                params["occurredAfter"] = _iso_z(since[contact_id])
            first = PageRequest("GET", "/events/v3/events", params=params)
            for page in paginate(
                client, first, BodyCursor(("paging", "next", "after")), ("results",), what=f"contact_visits [{contact_id}]"
            ):
                buffered += page
            # Most contacts have a handful of visits: land several contacts per file, not one file each.
            if len(buffered) >= LANDING_PAGE_RECORDS:
                yield buffered
                buffered = []
        yield buffered

    def _search(
        self, client: HttpClient, object_type: str, modified: str, properties: list[str], window: Window
    ) -> Iterator[list[dict]]:
        """Keyset paging: each query starts at the last modified time seen, never at an offset.

        An offset into a result set sorted by modified time skips rows when a record read
        earlier is modified mid-run (it leaves the set and the rest shift up). Restarting
        from the last modified time also keeps every query far below the 10,000-result cap.
        Boundary records come twice and merge away. Only a block of records sharing one
        millisecond is paged by offset.
        """
        start_ms, end_ms, after = _ms(window.start), _ms(window.end), None
        last_ms = start_ms  # the last modified time this query has shown (its first page may be empty)
        while True:
            body = {
                "filterGroups": [
                    {
                        "filters": [
                            {"propertyName": modified, "operator": "GTE", "value": str(start_ms)},
                            {"propertyName": modified, "operator": "LT", "value": str(end_ms)},
                        ]
                    }
                ],
                "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
                "properties": properties,
                "limit": SEARCH_LIMIT,
                **({"after": after} if after else {}),
            }
            page = client.request("POST", f"/crm/v3/objects/{object_type}/search", json_body=body, what=f"{object_type} (search)")
            records = page.get("results") or []
            yield records
            next_after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not next_after:  # a short or even empty page does not end the search; only a missing cursor does
                return
            if records:
                last_ms = _iso_ms(records[-1]["properties"][modified])
            if last_ms > start_ms:
                start_ms, after = last_ms, None
            elif int(next_after) + SEARCH_LIMIT > SEARCH_CAP:
                raise ApiError(
                    f"hubspot {object_type} (search): more than {SEARCH_CAP} records share one "
                    "modified time; cannot page past the search cap"
                )
            else:
                after = next_after


def _property_chunks(properties: list[str]) -> list[list[str]]:
    """Consecutive chunks whose comma-joined, URL-encoded form stays within PROPERTIES_PARAM_MAX;
    ours come first, so the first chunk (the listed one) holds them."""
    chunks: list[list[str]] = [[]]
    length = 0
    for name in properties:
        size = len(quote(name + ",", safe=""))
        if chunks[-1] and length + size > PROPERTIES_PARAM_MAX:
            chunks.append([])
            length = 0
        chunks[-1].append(name)
        length += size
    return chunks


def _batch_read(
    client: HttpClient, object_type: str, ids: list[str], properties: list[str], archived: bool, what: str
) -> dict[str, dict]:
    """{id: record} of the records with these ids that still exist (a missing one comes back as an error
    of category OBJECT_NOT_FOUND in a 207 answer, not as a failure of the call)."""
    body = client.request(
        "POST",
        f"/crm/v3/objects/{object_type}/batch/read",
        params={"archived": str(archived).lower()},
        json_body={"properties": properties, "inputs": [{"id": i} for i in ids]},
        what=f"{what} (batch read)",
    )
    return {str(r["id"]): r for r in body.get("results") or []}


def _complete(
    client: HttpClient,
    object_type: str,
    page: list[dict],
    first_chunk: list[str],
    chunks: list[list[str]],
    archived: bool,
    what: str,
) -> list[dict]:
    """The page's records with the properties of the other chunks, read for exactly their ids and merged by id."""
    records = {str(r["id"]): r for r in page}
    parts = [_batch_read(client, object_type, list(records), chunk, archived, what) for chunk in chunks]
    vanished = {i for i in records if any(i not in part for part in parts)}
    changed = [
        i for i in records if i not in vanished and any(part[i].get("updatedAt") != records[i].get("updatedAt") for part in parts)
    ]
    unsettled = 0
    if changed:
        # Changed between the requests: read them again in every chunk, the listed one too, so that all
        # their properties are of one version. The list's associations stay (batch read has none).
        first = _batch_read(client, object_type, changed, first_chunk, archived, what)
        again = [_batch_read(client, object_type, changed, chunk, archived, what) for chunk in chunks]
        for i in changed:
            if i not in first or any(i not in part for part in again):
                vanished.add(i)
                continue
            if len({first[i].get("updatedAt"), *(part[i].get("updatedAt") for part in again)}) > 1:
                unsettled += 1  # still changing: keep the first read; its modified date brings it back next run
                continue
            records[i] = {**first[i], **({"associations": records[i]["associations"]} if "associations" in records[i] else {})}
            for part, fresh in zip(parts, again, strict=True):
                part[i] = fresh[i]
    merged = []
    for p in page:
        i = str(p["id"])
        if i in vanished:
            continue
        record = records[i]
        properties = {}
        for part in parts:
            properties.update(part[i]["properties"])
        properties.update(record["properties"])  # the listed record's values win where chunks overlap (the defaults)
        record["properties"] = dict(sorted(properties.items()))  # as one answer would hold them: alphabetical
        merged.append(record)
    if vanished:
        log.warning(
            "hubspot %s: %d records vanished between the requests of one page (archived or deleted "
            "mid-read); the archived pass or the next run reads them",
            what,
            len(vanished),
        )
    if unsettled:
        log.warning(
            "hubspot %s: %d records kept changing while their properties were read; the next run reads them again",
            what,
            unsettled,
        )
    return merged


def _properties(client: HttpClient, object_type: str, defaults: tuple[str, ...], conn: PlatformConnection) -> list[str]:
    """The properties to request: ours, the connection's ``extra_properties``, and with
    ``"all_properties": true`` every property the portal defines, read from the properties
    API each run, so a property added in HubSpot lands without a code change."""
    extra = conn.extra.get("extra_properties") or []
    extra = extra if isinstance(extra, list) else str(extra).split(",")
    names = [*defaults, *(p.strip() for p in extra if p.strip())]
    if conn.extra.get("all_properties") in (True, "true", "True", 1):
        definitions = client.request("GET", f"/crm/v3/properties/{object_type}", what=f"{object_type} (properties)")
        names += [d["name"] for d in definitions.get("results") or [] if not d.get("archived")]
    return list(dict.fromkeys(names))


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _iso_z(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _iso_datetime(value: str | None) -> datetime:
    """HubSpot's ISO instant; a missing one counts as new (read the whole history)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else datetime.max.replace(tzinfo=UTC)


def _iso_ms(value: str) -> int:
    return _ms(datetime.fromisoformat(value.replace("Z", "+00:00")))
