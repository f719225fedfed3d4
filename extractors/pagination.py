"""The one paginator. A page style says how to ask for the next page; the loop is shared.

Styles in use: a cursor in the body (HubSpot ``paging.next.after``,
sent back as a query parameter on list calls and in the JSON body on search
calls), a full next URL (Meta ``paging.next``), and offset/total (Mailchimp
``total_items``, GA4 ``rowCount``). None of them stops on "fewer rows than limit".
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol

from extractors.errors import ApiError
from extractors.http import HttpClient


@dataclass(frozen=True)
class PageRequest:
    method: str
    url: str
    params: dict | None = None
    json_body: dict | None = None


class PageStyle(Protocol):
    def next_request(self, page: dict, request: PageRequest, rows_so_far: int) -> PageRequest | None: ...


def _dig(page: dict, path: tuple[str, ...]):
    for key in path:
        if not isinstance(page, dict):
            return None
        page = page.get(key)
    return page


@dataclass(frozen=True)
class BodyCursor:
    """The next cursor sits in the response body and goes back as ``param``."""

    cursor_path: tuple[str, ...]
    param: str = "after"
    in_json_body: bool = False

    def next_request(self, page, request, rows_so_far):
        cursor = _dig(page, self.cursor_path)
        if not cursor:
            return None
        if self.in_json_body:
            return replace(request, json_body={**(request.json_body or {}), self.param: cursor})
        return replace(request, params={**(request.params or {}), self.param: cursor})


@dataclass(frozen=True)
class NextUrl:
    """The response names the full URL of the next page (its query included)."""

    url_path: tuple[str, ...]

    def next_request(self, page, request, rows_so_far):
        url = _dig(page, self.url_path)
        return replace(request, url=url, params=None) if url else None


@dataclass(frozen=True)
class OffsetTotal:
    """``offset``/``count`` parameters; done when the offset reaches the reported total."""

    total_path: tuple[str, ...]
    offset_param: str = "offset"
    as_string: bool = False  # GA4 sends offsets as strings

    def next_request(self, page, request, rows_so_far):
        total = int(_dig(page, self.total_path) or 0)
        if rows_so_far >= total:
            return None
        value = str(rows_so_far) if self.as_string else rows_so_far
        if request.json_body is not None:
            return replace(request, json_body={**request.json_body, self.offset_param: value})
        return replace(request, params={**(request.params or {}), self.offset_param: value})


def paginate(
    client: HttpClient,
    first: PageRequest,
    style: PageStyle,
    records: tuple[str, ...] | Callable[[dict], list[dict]],
    *,
    what: str,
) -> Iterator[list[dict]]:
    """Yield the records of each page until the style says there is no next page.

    ``records`` is the path of the record list in a page, or a function that builds
    the records from a page (for reports whose rows need their headers).
    """
    take = records if callable(records) else (lambda page: _dig(page, records) or [])
    request: PageRequest | None = first
    seen_requests: set[bytes] = set()
    rows = 0
    while request is not None:
        # A digest, not the text: a long listing keeps 16 bytes a page, not the request's whole parameters.
        fingerprint = hashlib.blake2b(
            repr(
                (request.url, sorted((request.params or {}).items()), sorted((request.json_body or {}).items(), key=str))
            ).encode(),
            digest_size=16,
        ).digest()
        if fingerprint in seen_requests:  # a platform bug must not become an endless loop
            raise ApiError(f"{client.source} {what}: the API returned the same next page twice; stopping")
        seen_requests.add(fingerprint)
        page = client.request(request.method, request.url, params=request.params, json_body=request.json_body, what=what)
        page_records = take(page)
        rows += len(page_records)
        yield page_records
        request = style.next_request(page, request, rows)
