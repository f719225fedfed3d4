"""HubSpot CRM v3 objects API (contacts, deals): list, search, auth and errors.

Contract: HubSpot's CRM v3 reference (evidence: "Verified against" in extractors/sources/hubspot.py);
shapes follow the
OpenAPI files in tests/specs/hubspot (SimplePublicObjectWithAssociations,
CollectionResponse..., search responses, batch read).

Two behaviours of the real API that break naive clients:

- A request URL longer than about 16,000 characters is refused before it reaches the API: HTTP 414
  with the proxy's HTML page "414 Request-URI Too Large" (the answer quoted in Airbyte issue #33976;
  Airbyte's source-hubspot measured the limit at ~16,300 characters). A GET listing hundreds of
  properties hits it. Not verified: the exact limit (URL_LIMIT here) and whether it counts the host.
- Search now and then answers a page with no results that still carries ``paging.next.after``
  (Airbyte source-hubspot, test_crm_search_pagination_boundaries: "HubSpot can return an empty
  results array while still providing a paging cursor"): index entries of records it filters out
  when it renders the page. Here a seeded share of filtered queries has such a block of entries at the
  start of its result list (``SEARCH_GHOST_SHARE``); the records after it come on the following pages.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import json
from array import array
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlencode

from sandbox.http import Request, Response

OBJECTS = ("contacts", "deals")
# HubSpot accepts an object type's id wherever it accepts its name; the OpenAPI files use the id (deals: /objects/0-3).
OBJECT_TYPE_IDS = {"0-1": "contacts", "0-3": "deals"}
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}
LIST_MAX_LIMIT = 100
SEARCH_MAX_LIMIT = 200
SEARCH_MAX_RESULTS = 10_000
URL_LIMIT = 16_000  # characters of the request target (path and query) the front proxy accepts
BATCH_READ_MAX_INPUTS = 100
SEARCH_GHOST_SHARE = 0.15  # the share of search queries whose first page comes back empty with a cursor
URI_TOO_LONG = (
    b"<html>\r\n<head><title>414 Request-URI Too Large</title></head>\r\n<body>\r\n"
    b"<center><h1>414 Request-URI Too Large</h1></center>\r\n</body>\r\n</html>\r\n"
)


def _error(request: Request, status: int, category: str, message: str) -> Response:
    return Response(
        status, {"status": "error", "message": message, "correlationId": request.correlation_id(), "category": category}
    )


def _missing_scopes(request: Request) -> Response:
    """HubSpot's 403 for a call the token may not make, in the shape HubSpot answers it. Not verified:
    that a portal lacking the product tier (not a scope) gets this category and message."""
    response = _error(
        request,
        403,
        "MISSING_SCOPES",
        "This app hasn't been granted all required scopes to make this call. "
        "Read more about required scopes here: https://developers.hubspot.com/scopes.",
    )
    response.body["links"] = {"scopes": "https://developers.hubspot.com/scopes"}
    return response


def _within_url_limit(handler):
    """Every HubSpot route sits behind the proxy that refuses over-long URLs."""

    def guarded(request: Request) -> Response:
        target = request.path + ("?" + urlencode(request.query) if request.query else "")
        if len(target) > URL_LIMIT:
            return Response(414, URI_TOO_LONG, content_type="text/html")
        return handler(request)

    return guarded


def _check_auth(request: Request) -> Response | None:
    token = request.bearer_token()
    if token is None:
        return _error(
            request,
            401,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        )
    if token != request.sandbox.tokens["hubspot"]:
        return _error(request, 401, "INVALID_AUTHENTICATION", "The OAuth token used to make this call expired or is invalid.")
    return None


def _object_type(request: Request) -> str:
    name = request.match["object"]
    return OBJECT_TYPE_IDS.get(name, name)


def _sorted_properties(record: dict) -> dict:
    """Properties in alphabetical order, as HubSpot sends them.

    Also makes the bytes independent of set iteration order (PYTHONHASHSEED) where
    the world fills in requested properties it does not know.
    """
    record["properties"] = dict(sorted(record["properties"].items()))
    return record


def _records(request: Request, object_type: str, archived: bool, properties, with_contacts: bool, from_id: int = 0):
    """Records of one object type in id order, as the platform shows them now."""
    world, now = request.sandbox.world, request.sandbox.now
    if object_type == "contacts":
        for c in world.iter_contacts(now, from_id):
            is_archived = bool(c.archived_at and c.archived_at <= now)
            if is_archived == archived:
                yield c.contact_id, lambda c=c: _sorted_properties(world.contact_record(c, now, properties))
    else:
        if archived:
            return  # the simulated business never deletes deals
        for d in world.iter_deals(now, from_id):
            yield d.deal_id, lambda d=d: _sorted_properties(world.deal_record(d, now, properties, with_contacts))


def _limit(request: Request, value, maximum: int) -> int | Response:
    try:
        limit = int(value)
    except (TypeError, ValueError):
        return _error(request, 400, "VALIDATION_ERROR", f"Invalid input JSON on line 1: limit '{value}' is not a number")
    return min(max(limit, 1), maximum)


def list_objects(request: Request) -> Response:
    if (denied := _check_auth(request)) is not None:
        return denied
    object_type = _object_type(request)
    limit = _limit(request, request.query.get("limit", "10"), LIST_MAX_LIMIT)
    if isinstance(limit, Response):
        return limit
    try:
        from_id = _decode_cursor(request.query["after"]) if request.query.get("after") else 0
    except ValueError:
        return _error(request, 400, "VALIDATION_ERROR", f"Invalid paging cursor after='{request.query['after']}'")
    properties = [p for p in request.query.get("properties", "").split(",") if p] or None
    archived = request.query.get("archived", "false").lower() == "true"
    with_contacts = "contacts" in request.query.get("associations", "").split(",")
    results, next_after = [], None
    for record_id, build in _records(request, object_type, archived, properties, with_contacts, from_id):
        if len(results) == limit:
            next_after = _encode_cursor(record_id)  # opaque, like HubSpot's ("NTI1Cg%3D%3D")
            break
        results.append(build())
    body: dict = {"results": results}
    if next_after is not None:
        # The link repeats the request (properties, archived, associations, limit), so following it reads the next page of the same list.
        next_query = {k: v for k, v in request.query.items() if k != "after"} | {"after": next_after}
        body["paging"] = {"next": {"after": next_after, "link": f"{request.base_url}{request.path}?{urlencode(next_query)}"}}
    return Response(200, body)


def _encode_cursor(record_id: str) -> str:
    return base64.urlsafe_b64encode(record_id.encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise ValueError(cursor) from exc


def _modified_index(request: Request, object_type: str) -> tuple[array, array]:
    """(modified ms, id) of every live record as two sorted arrays; built once per clock value.

    Search is re-asked page after page at the same clock, so sorting the whole portal
    for every page would make the sandbox the bottleneck of an incremental read. The
    index holds numbers only (World.modified_index); a page's records are rendered per page.
    """
    sandbox = request.sandbox
    key = ("hubspot-search", object_type, sandbox.now)
    index = sandbox.cache.get(key)
    if index is None:
        index = sandbox.world.modified_index(object_type, sandbox.now)
        sandbox.cache = {k: v for k, v in sandbox.cache.items() if k[:2] != key[:2]}  # keep one clock per object
        sandbox.cache[key] = index
    return index


def _matches(value_ms: int, operator: str, target: str) -> bool:
    target_ms = int(target)
    return {
        "GTE": value_ms >= target_ms,
        "GT": value_ms > target_ms,
        "LTE": value_ms <= target_ms,
        "LT": value_ms < target_ms,
        "EQ": value_ms == target_ms,
        "NEQ": value_ms != target_ms,
    }[operator]


def _matching(modified: array, groups: list[list[dict]]) -> Sequence[int]:
    """Positions in the index the filter groups match, in index order. One group of range filters (an
    incremental read's GTE) is a range found by bisection, so a page costs O(page), not O(portal)."""
    if not groups:
        return range(len(modified))
    if len(groups) == 1 and groups[0] and all(f["operator"] in ("GTE", "GT", "LTE", "LT") for f in groups[0]):
        try:
            bounds = [(f["operator"], int(f["value"])) for f in groups[0]]
        except (TypeError, ValueError):
            bounds = None  # checked record by record below, as before
        if bounds is not None:
            lo, hi = 0, len(modified)
            for operator, target in bounds:
                edge = (bisect.bisect_left if operator in ("GTE", "LT") else bisect.bisect_right)(modified, target)
                lo, hi = (max(lo, edge), hi) if operator in ("GTE", "GT") else (lo, min(hi, edge))
            return range(lo, max(lo, hi))
    return [
        i
        for i, ms in enumerate(modified)
        if any(all(_matches(ms, f["operator"], f["value"]) for f in filters) for filters in groups)
    ]


def _epoch_ms(iso: str) -> int:
    """A rendered modified time read back as epoch ms: what the index (world.modified_ms) must agree with."""
    return int(datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp() * 1000)


def _authorized_json(request: Request) -> tuple[str, dict] | Response:
    """The object type and JSON body of a POST, or HubSpot's refusal of it."""
    if (denied := _check_auth(request)) is not None:
        return denied
    try:
        return _object_type(request), request.json()
    except ValueError:
        return _error(request, 400, "VALIDATION_ERROR", "Invalid input JSON: request body is not JSON")


def search_objects(request: Request) -> Response:
    checked = _authorized_json(request)
    if isinstance(checked, Response):
        return checked
    object_type, body = checked
    limit = _limit(request, body.get("limit", 10), SEARCH_MAX_LIMIT)
    if isinstance(limit, Response):
        return limit
    try:
        offset = int(body.get("after") or 0)
        if offset < 0:
            raise ValueError(offset)
    except (TypeError, ValueError):
        return _error(
            request,
            400,
            "VALIDATION_ERROR",
            f"Invalid input JSON on line 1: after '{body.get('after')}' is not a valid paging cursor",
        )
    if offset + limit > SEARCH_MAX_RESULTS:
        return _error(
            request,
            400,
            "VALIDATION_ERROR",
            f"There was a problem with the request. Search results are limited to {SEARCH_MAX_RESULTS} records; narrow the filter (after={offset}).",
        )
    modified = MODIFIED_PROPERTY[object_type]
    groups = [group.get("filters", []) for group in body.get("filterGroups", [])]
    for f in (f for filters in groups for f in filters):
        if f.get("propertyName") != modified or f.get("operator") not in ("GTE", "GT", "LTE", "LT", "EQ", "NEQ"):
            return _error(
                request,
                400,
                "VALIDATION_ERROR",
                f"The sandbox filters {object_type} on {modified} with GTE/GT/LTE/LT/EQ/NEQ only, not {f.get('propertyName')} {f.get('operator')}",
            )
    sorts = body.get("sorts") or []
    for sort in sorts:  # the index is ordered by the modified date: any other order would be silently wrong
        if (
            not isinstance(sort, dict)
            or sort.get("propertyName") != modified
            or sort.get("direction", "ASCENDING") not in ("ASCENDING", "DESCENDING")
        ):
            return _error(
                request,
                400,
                "VALIDATION_ERROR",
                f"The sandbox sorts {object_type} on {modified} (ASCENDING or DESCENDING) only, not {sort!r}",
            )
    properties = body.get("properties") or None
    # Filters in a group must all match; any group may match (HubSpot's AND within, OR across).
    modified_ms, ids = _modified_index(request, object_type)
    matched = _matching(modified_ms, groups)
    if any(sort.get("direction") == "DESCENDING" for sort in sorts):
        matched = matched[::-1]
    world, now = request.sandbox.world, request.sandbox.now
    if object_type == "contacts":
        build = lambda record_id: world.contact_record(world.kept_contact(record_id), now, properties)  # noqa: E731
    else:
        build = lambda record_id: world.deal_record(world.kept_deal(record_id), now, properties, False)  # noqa: E731
    # A query with a block of filtered-out index entries at its start: positions [0, ghosts) render nothing.
    ghosts = limit if _has_ghosts(request, object_type, groups, sorts, limit) else 0
    positions = range(max(offset, ghosts) - ghosts, max(offset + limit - ghosts, 0))
    out: dict = {
        "total": len(matched),
        "results": [_sorted_properties(build(ids[matched[p]])) for p in positions if p < len(matched)],
    }
    if offset + limit < len(matched) + ghosts:
        out["paging"] = {"next": {"after": str(offset + limit)}}
    return Response(200, out)


def _has_ghosts(request: Request, object_type: str, groups: list, sorts: list, limit: int) -> bool:
    """Whether this query (its filters, order and page size) meets filtered-out entries: seeded, so the same
    query always does or never does, whatever the order of requests. Only filtered queries: the entries
    are what HubSpot's server-side filtering drops from a page (Airbyte's account of the behaviour)."""
    if not any(groups) or not request.sandbox.hubspot_search_gaps:
        return False
    key = f"{request.sandbox.world.seed}:{object_type}:{json.dumps([groups, sorts, limit], sort_keys=True)}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64 < SEARCH_GHOST_SHARE


def batch_read(request: Request) -> Response:
    """``POST /crm/v3/objects/{type}/batch/read[?archived=]`` with ``{"properties", "inputs": [{"id"}]}``:
    the records with those ids (archived ones when asked), in the BatchResponseSimplePublicObject shape;
    ids that do not exist (or are archived when live ones are asked for) make it a 207 with an
    OBJECT_NOT_FOUND error naming them. Not verified: the error's message text, whether results keep
    the inputs' order (here they do), and any limit on the number of properties."""
    checked = _authorized_json(request)
    if isinstance(checked, Response):
        return checked
    object_type, body = checked
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) and i.get("id") for i in inputs):
        return _error(request, 400, "VALIDATION_ERROR", 'Invalid input JSON on line 1: inputs must be a list of {"id": ...}')
    if len(inputs) > BATCH_READ_MAX_INPUTS:
        return _error(
            request,
            400,
            "VALIDATION_ERROR",
            f"Batch input limit exceeded: at most {BATCH_READ_MAX_INPUTS} inputs, got {len(inputs)}",
        )
    if body.get("idProperty"):
        return _error(request, 400, "VALIDATION_ERROR", "The sandbox reads batches by record id only, not by idProperty")
    archived = request.query.get("archived", "false").lower() == "true"
    properties = body.get("properties") or None
    world, now = request.sandbox.world, request.sandbox.now
    results, missing = [], []
    for record_id in (str(i["id"]) for i in inputs):
        record = _record_by_id(world, now, object_type, record_id, archived, properties)
        if record is None:
            missing.append(record_id)
        else:
            results.append(_sorted_properties(record))
    out: dict = {"status": "COMPLETE", "results": results, "startedAt": _iso_ms(now), "completedAt": _iso_ms(now)}
    if not missing:
        return Response(200, out)
    label = "CONTACT" if object_type == "contacts" else "DEAL"
    out["numErrors"] = 1
    out["errors"] = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "context": {"ids": missing},
            "errors": [],
            "links": {},
            "message": f"Could not get some {label} objects, they may be deleted or not exist. Check that ids are valid.",
        }
    ]
    return Response(207, out)


def _record_by_id(world, now: datetime, object_type: str, record_id: str, archived: bool, properties) -> dict | None:
    """The record as the list would show it, if it exists now in the asked archived state."""
    if object_type == "contacts":
        c = world.contact(record_id)
        if c is None or c.created_at > now or bool(c.archived_at and c.archived_at <= now) != archived:
            return None
        return world.contact_record(c, now, properties)
    if archived or not record_id.isdigit():
        return None  # the simulated business never deletes deals
    d = world.kept_deal(int(record_id))
    contact = world.contact(d.contact_id) if d is not None else None
    if d is None or d.created_at > now or contact is None or (contact.archived_at and contact.archived_at <= now):
        return None  # as iter_deals: a deal goes with its archived contact
    return world.deal_record(d, now, properties, False)


def _iso_ms(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def list_properties(request: Request) -> Response:
    """The property definitions of an object type (CRM v3 properties API).

    Names come from the records the world serves, so a property the world adds
    shows up here too, which is how an extractor that asks for every property
    picks up new ones without a code change.
    """
    if (denied := _check_auth(request)) is not None:
        return denied
    object_type = _object_type(request)
    world, now = request.sandbox.world, request.sandbox.now
    if object_type == "contacts":
        sample = world.contact_record(next(world.iter_contacts(now)), now, None)
    else:
        sample = world.deal_record(next(world.iter_deals(now)), now, None, False)
    results = []
    for order, name in enumerate(sorted(sample["properties"])):
        is_date = name.endswith("date") or name.endswith("_date")
        results.append(
            {
                "name": name,
                "label": name.replace("_", " ").capitalize(),
                "description": "",
                "groupName": "contactinformation" if object_type == "contacts" else "dealinformation",
                "type": "datetime" if is_date else "number" if name == "amount" else "string",
                "fieldType": "date" if is_date else "number" if name == "amount" else "text",
                "options": [],
                "displayOrder": order,
                "calculated": False,
                "externalOptions": False,
                "hasUniqueValue": name == "hs_object_id",
                "hidden": False,
                "formField": False,
                "hubspotDefined": not name.startswith("utm_"),
                "archived": False,
            }
        )
    return Response(200, {"results": results})


# ---- web analytics: GET /events/v3/events ---------------------------------------------
#
# HubSpot's event analytics API (v3). Verified with HubSpot's published OpenAPI file for
# "Events v3" and its guide: query parameters occurredAfter / occurredBefore (ISO 8601),
# objectType, objectId, eventType (e.g. e_visited_page), limit and the paging cursor after;
# records {objectType, objectId, eventType, occurredAt, id, properties}; the next cursor in
# paging.next.after (with a link). Not verified (the sandbox's choice, documented here): the
# page-view property names (hs_url, hs_referrer, hs_page_path, hs_utm_*), the limit's default
# and maximum (10 and 100 here), the order (oldest first here) and whether the bounds are
# inclusive (occurredAfter inclusive, occurredBefore exclusive here).
EVENTS_DEFAULT_LIMIT = 10
EVENTS_MAX_LIMIT = 100
EVENT_OBJECT_TYPES = ("contact", "contacts", "0-1")


def _parse_instant(request: Request, name: str) -> datetime | None | Response:
    value = request.query.get(name)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return _error(request, 400, "VALIDATION_ERROR", f"Unable to parse {name} '{value}' as an ISO 8601 timestamp")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def list_events(request: Request) -> Response:
    if (denied := _check_auth(request)) is not None:
        return denied
    if not request.sandbox.hubspot_enterprise:
        return _missing_scopes(request)
    object_type, object_id = request.query.get("objectType"), request.query.get("objectId")
    if not object_type or not object_id:
        return _error(request, 400, "VALIDATION_ERROR", "objectType and objectId (or objectProperty) are required")
    if object_type.lower() not in EVENT_OBJECT_TYPES:
        return _error(request, 400, "VALIDATION_ERROR", f"The sandbox records events on contacts only, not on '{object_type}'")
    if not object_id.isdigit():
        return _error(request, 400, "VALIDATION_ERROR", f"Invalid objectId '{object_id}': expected a number")
    limit = _limit(request, request.query.get("limit", str(EVENTS_DEFAULT_LIMIT)), EVENTS_MAX_LIMIT)
    if isinstance(limit, Response):
        return limit
    bounds = [_parse_instant(request, name) for name in ("occurredAfter", "occurredBefore")]
    if (bad := next((b for b in bounds if isinstance(b, Response)), None)) is not None:
        return bad
    after_ts, before_ts = bounds
    try:
        offset = _decode_cursor(request.query["after"]) if request.query.get("after") else 0
    except ValueError:
        return _error(request, 400, "VALIDATION_ERROR", f"Invalid paging cursor after='{request.query['after']}'")
    event_type = request.query.get("eventType")
    world, now = request.sandbox.world, request.sandbox.now
    contact = world.contact(object_id)
    visits = []
    if contact is not None and contact.created_at <= now and event_type in (None, "e_visited_page"):
        visits = [
            t
            for t in world.touches(contact)
            if t.occurred_at <= now  # nothing from the clock's future
            and (after_ts is None or t.occurred_at >= after_ts)
            and (before_ts is None or t.occurred_at < before_ts)
        ]
    body: dict = {"results": [t.event_record() for t in visits[offset : offset + limit]]}
    if offset + limit < len(visits):
        next_after = _encode_cursor(str(offset + limit))
        next_query = {k: v for k, v in request.query.items() if k != "after"} | {"after": next_after}
        body["paging"] = {"next": {"after": next_after, "link": f"{request.base_url}{request.path}?{urlencode(next_query)}"}}
    return Response(200, body)


ROUTES = [
    (method, path, _within_url_limit(handler))
    for method, path, handler in (
        ("GET", r"/events/v3/events/?", list_events),
        ("GET", r"/crm/v3/properties/(?P<object>contacts|deals|0-1|0-3)", list_properties),
        ("GET", r"/crm/v3/objects/(?P<object>contacts|deals|0-1|0-3)", list_objects),
        ("POST", r"/crm/v3/objects/(?P<object>contacts|deals|0-1|0-3)/search", search_objects),
        ("POST", r"/crm/v3/objects/(?P<object>contacts|deals|0-1|0-3)/batch/read", batch_read),
    )
]
