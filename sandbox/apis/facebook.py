"""Facebook Pages and Instagram (Graph API): posts, media, comments, page and media insights.

Contract: the Graph API reference for Pages and Instagram (evidence: "Verified against" in
extractors/sources/facebook_pages.py); node fields follow tests/specs/meta (Page, PagePost, IGMedia, InsightsResult).

    GET /v21.0/{page_id}/posts?fields=id,message,created_time,permalink_url,shares,
        comments.summary(true),reactions.summary(true)&since=<unix>&until=<unix>&limit=25
    GET /v21.0/{page_id}/insights?metric=page_media_view,page_post_engagements,page_follows&period=day&since=&until=
    GET /v21.0/{ig_user_id}/media?fields=id,caption,media_type,timestamp,like_count,comments_count,permalink
    GET /v21.0/{media_id}/insights?metric=<the metrics its media_product_type and media_type answer>
    GET /v21.0/{post_id}/comments?fields=id,message,created_time&filter=stream&since=
    GET /v21.0/{media_id}/comments?fields=id,text,timestamp,username,like_count
    GET /v21.0/{page_id | ig_user_id | post_id | media_id}?fields=...

Media insights: each product and media type answers its own metrics (``MEDIA_METRICS_BY_TYPE``);
one metric it does not answer fails the whole request, "(#100) The metric likes is not supported for
this media type" (that wording: exileum/meta-mcp issue #120). Media posted before the account's business
conversion answer error 100 / 2108006 "Media posted before business account conversion".

Versions: Graph serves a call to a version that is no longer available as the oldest available one
(Meta, "Platform Versioning"): no error. The sandbox serves every ``vNN.N`` alike.

Auth: a page token as ``access_token`` or Bearer (the sandbox's "facebook" token;
the Meta ads token is a different one and is refused here, as a token without the
page's permissions would be). Errors use the Graph envelope ``{"error": {message,
type, code, error_subcode?, fbtrace_id}}``; the fault plan treats these paths as
platform "meta" (Graph's throttling codes, 4/17/32/613/800xx).

Paging: ``limit`` (default 25, at most 100) with keyset cursors (``after`` /
``before``) and a full ``paging.next`` URL while more remain. Posts and media come
newest first, comments oldest first. ``since``/``until`` take unix seconds (or an
ISO date) and select [since, until). Counters are as of the sandbox clock and grow
for two weeks after publishing. Graph omits ``shares`` when a post has none; the
sandbox does too. ``reactions`` carries its summary only (no list of reacting
profiles); ``comments`` as a field holds its first page with cursors but no
``next`` URL (that URL would put the sandbox's port into every post record). Facebook
comments are Comment nodes (``id,message,created_time``); Instagram comments are
IGComment nodes (``id,text,timestamp,username,like_count``) and, as on Graph, have no
``message`` or ``created_time`` field.

Page insights answer one value per day of the page's time zone (America/Los_Angeles)
whose ``end_time`` falls in (since, until] and that has ended. Like Graph, every answer
carries ``paging.previous`` and ``paging.next``: the same span of time before and after
the window asked for, whether or not anything is there (a client that follows ``next``
walks into the future for ever). The window may span at most 93 days, as on Graph.
Metrics are the current ones: ``page_media_view`` (it replaced ``page_impressions``) and
``page_follows`` (it replaced ``page_fans``); Meta removed ``page_fans``, ``page_fan_adds``,
``page_impressions`` and their kin on 2025-11-15 and answers them with an invalid metric
error, and so does the sandbox.
"""

from __future__ import annotations

import base64
import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from sandbox.http import Request, Response
from sandbox.world_social import (
    FACEBOOK_PAGE,
    INSTAGRAM_ACCOUNT,
    SocialAccount,
    SocialPost,
    account_day_bounds,
)

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MAX_INSIGHTS_DAYS = 93
ACCOUNTS = {a.account_id: a for a in (FACEBOOK_PAGE, INSTAGRAM_ACCOUNT)}

PAGE_METRICS = {
    "page_media_view": (
        "impressions",
        "Daily Media Views",
        "Daily: The number of times your Page's content was played or displayed.",
    ),
    "page_post_engagements": (
        "engagements",
        "Daily Post Engagements",
        "Daily: The number of times people have engaged with your posts through reactions, comments, shares and more.",
    ),
    "page_follows": ("audience", "Lifetime Page Follows", "Lifetime: The number of followers of your Facebook Page."),
}

MEDIA_METRICS = {
    "reach": ("Accounts reached", "The number of unique accounts that have seen your post at least once."),
    "likes": ("Likes", "The number of likes on your post."),
    "comments": ("Comments", "The number of comments on your post."),
    "shares": ("Shares", "The number of shares of your post."),
    "saved": ("Saved", "The number of saves of your post."),
    "total_interactions": ("Post interactions", "Likes, saves, comments and shares on your post."),
    "views": ("Views", "The number of times your post was seen."),
}
# The metrics each (media_product_type, media_type) answers; asking for any other fails the whole request
# with (#100). From Airbyte source-instagram's per-type lists (its manifest and the mock-server tests
# media_insights_for_reels / _carousel_album / _general_media: no likes or comments for albums; exileum/meta-mcp
# issue #120's matrix agrees for albums) and Meta's
# IG Media Insights reference (views for FEED, REELS and STORY). A legacy FEED video refuses views with
# "(#100) The Media Insights API does not support the views metric for this media product type."
# (Airbyte PR #62902); the world publishes none (videos are reels), so the sandbox has no row for it.
MEDIA_METRICS_BY_TYPE = {
    ("FEED", "IMAGE"): {"comments", "likes", "reach", "saved", "shares", "total_interactions", "views"},
    ("FEED", "CAROUSEL_ALBUM"): {"reach", "saved", "shares", "total_interactions", "views"},
    ("REELS", "VIDEO"): {"comments", "likes", "reach", "saved", "shares", "total_interactions", "views"},
}


class _GraphError(Exception):
    def __init__(
        self,
        message: str,
        code: int = 100,
        type_: str = "OAuthException",
        subcode: int | None = None,
        status: int = 400,
        extra: dict | None = None,
    ):
        super().__init__(message)
        self.message, self.code, self.type, self.subcode, self.status = message, code, type_, subcode, status
        self.extra = extra or {}


def _error(request: Request, e: _GraphError) -> Response:
    err = {"message": e.message, "type": e.type, "code": e.code}
    if e.subcode is not None:
        err["error_subcode"] = e.subcode
    err |= e.extra
    err["fbtrace_id"] = request.correlation_id().replace("-", "")[:22]
    return Response(e.status, {"error": err})


def _posted_before_business() -> _GraphError:
    """Graph's answer for media posted before the account's business conversion (Airbyte issue #1814's
    log, the error_posted_before_business fixture of its media_insights tests)."""
    return _GraphError(
        "Invalid parameter",
        100,
        subcode=2108006,
        extra={
            "error_data": {"blame_field_specs": [[""]]},
            "is_transient": False,
            "error_user_title": "Media posted before business account conversion",
            "error_user_msg": "The media was posted before the most recent time that the user's account was converted "
            "to a business account from a personal account.",
        },
    )


def _check_auth(request: Request) -> None:
    token = request.query.get("access_token") or request.bearer_token()
    if token is None:
        raise _GraphError("An access token is required to request this resource.", 104)
    if token != request.sandbox.tokens["facebook"]:
        raise _GraphError("Invalid OAuth access token - Cannot parse access token", 190)


def _handler(build):
    def handle(request: Request) -> Response:
        try:
            _check_auth(request)
            return Response(200, build(request))
        except _GraphError as e:
            return _error(request, e)

    return handle


def _missing(node_id: str) -> _GraphError:
    return _GraphError(
        f"Unsupported get request. Object with ID '{node_id}' does not exist, cannot be loaded due to missing "
        "permissions, or does not support this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api",
        100,
        "GraphMethodException",
        subcode=33,
    )


def _graph_time(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


# ---- fields: id,message,comments.limit(5).summary(true){id,message} ---------------------------


@dataclass(frozen=True)
class FieldSpec:
    name: str
    modifiers: tuple[tuple[str, str], ...] = ()
    subfields: tuple[FieldSpec, ...] | None = None

    def modifier(self, name: str) -> str | None:
        return next((v for k, v in self.modifiers if k == name), None)


_FIELD = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)")
_MODIFIER = re.compile(r"\.([A-Za-z_]+)\(([^()]*)\)")


def parse_fields(text: str | None) -> list[FieldSpec] | None:
    if not text:
        return None
    specs, pos = _parse_list(text, 0)
    if pos != len(text):
        raise _GraphError(
            f'Syntax error "Expected end of string instead of "{text[pos : pos + 10]}"." at character {pos}: {text}', 2500
        )
    return specs


def _parse_list(text: str, pos: int) -> tuple[list[FieldSpec], int]:
    specs = []
    while True:
        m = _FIELD.match(text, pos)
        if m is None:
            raise _GraphError(f'Syntax error "Field name expected." at character {pos}: {text}', 2500)
        name, pos = m.group(1), m.end()
        modifiers = []
        while (mod := _MODIFIER.match(text, pos)) is not None:
            modifiers.append((mod.group(1), mod.group(2)))
            pos = mod.end()
        subfields = None
        if text.startswith("{", pos):
            subfields, pos = _parse_list(text, pos + 1)
            if not text.startswith("}", pos):
                raise _GraphError(f'Syntax error "Expected "}}"." at character {pos}: {text}', 2500)
            pos += 1
        specs.append(FieldSpec(name, tuple(modifiers), tuple(subfields) if subfields is not None else None))
        if text.startswith(",", pos):
            pos += 1
            continue
        return specs, pos


def _select(specs: list[FieldSpec] | None, default: tuple[str, ...], available: dict, node_type: str) -> dict:
    """The requested fields of a node; ``available`` maps a field name to a function of its FieldSpec."""
    out = {}
    for spec in specs or [FieldSpec(n) for n in default]:
        if spec.name not in available:
            raise _GraphError(f"(#100) Tried accessing nonexisting field ({spec.name}) on node type ({node_type})")
        value = available[spec.name](spec)
        if value is not _OMIT:
            out[spec.name] = value
    if "id" in available and "id" not in out:
        out = {"id": available["id"](FieldSpec("id")), **out}
    return out


_OMIT = object()


# ---- nodes ----------------------------------------------------------------------------


def _node(request: Request, node_id: str):
    """An account, or a post / media published by the sandbox clock."""
    if node_id in ACCOUNTS:
        return ACCOUNTS[node_id]
    post = request.sandbox.world.social.by_id.get(node_id)
    if post is None or post.published_at > request.sandbox.now:
        raise _missing(node_id)
    return post


def _post_fields(request: Request, post: SocialPost) -> dict:
    now = request.sandbox.now
    return {
        "id": lambda s: post.post_id,
        "message": lambda s: post.message,
        "created_time": lambda s: _graph_time(post.published_at),
        "updated_time": lambda s: _graph_time(max([post.published_at, *(c.created_at for c in post.comments_at(now)[-1:])])),
        "permalink_url": lambda s: post.permalink,
        "status_type": lambda s: {"link": "shared_story", "photo": "added_photos", "video": "added_video"}[post.kind],
        "is_published": lambda s: True,
        "from": lambda s: {"name": post.account.name, "id": post.account.account_id},
        "shares": lambda s: {"count": n} if (n := post.shares.count_at(now)) else _OMIT,
        "comments": lambda s: _comments_edge(request, post, s),
        "reactions": lambda s: _summary_edge(s, {"total_count": post.likes.count_at(now), "viewer_reaction": "NONE"}),
        "likes": lambda s: _summary_edge(s, {"total_count": post.likes.count_at(now), "can_like": True, "has_liked": False}),
    }


def _media_fields(request: Request, post: SocialPost) -> dict:
    now = request.sandbox.now
    return {
        "id": lambda s: post.post_id,
        "caption": lambda s: post.message,
        "media_type": lambda s: post.kind,
        "media_product_type": lambda s: post.media_product_type,
        "timestamp": lambda s: _graph_time(post.published_at),
        "like_count": lambda s: post.likes.count_at(now),
        "comments_count": lambda s: post.comments.count_at(now),
        "permalink": lambda s: post.permalink,
        "shortcode": lambda s: post.shortcode,
        "username": lambda s: post.account.username,
        "is_comment_enabled": lambda s: True,
        "owner": lambda s: {"id": post.account.account_id},
        "comments": lambda s: _comments_edge(request, post, s),
    }


def _account_fields(request: Request, account: SocialAccount) -> dict:
    world, now = request.sandbox.world, request.sandbox.now
    audience = lambda s: world.social.audience_at(account, now)  # noqa: E731
    common = {"id": lambda s: account.account_id, "name": lambda s: account.name, "username": lambda s: account.username}
    if account.platform == "facebook":
        return {
            **common,
            "fan_count": audience,
            "followers_count": audience,
            "category": lambda s: "Software",
            "link": lambda s: f"https://www.facebook.com/{account.username}",
        }
    return {
        **common,
        "followers_count": audience,
        "follows_count": lambda s: 180,
        "media_count": lambda s: len(world.social.posts(account, now)),
        "biography": lambda s: "Every channel, one funnel.",
        "website": lambda s: "https://funnelhouse.example/",
    }


def _comment_record(post: SocialPost, comment, specs: list[FieldSpec] | None) -> dict:
    fields = {"id": lambda s: comment.comment_id}
    if post.platform == "instagram":  # IGComment: text and timestamp, no message or created_time
        fields |= {
            "text": lambda s: comment.message,
            "timestamp": lambda s: _graph_time(comment.created_at),
            "username": lambda s: f"fan_{int(comment.comment_id) % 100_000:05d}",
            "like_count": lambda s: 0,
        }
        default = ("id", "text", "timestamp")
    else:
        fields |= {
            "message": lambda s: comment.message,
            "created_time": lambda s: _graph_time(comment.created_at),
            "like_count": lambda s: 0,
            "comment_count": lambda s: 0,
        }
        default = ("id", "message", "created_time")
    return _select(specs, default, fields, "IGComment" if post.platform == "instagram" else "Comment")


def _summary_edge(spec: FieldSpec, summary: dict) -> dict:
    edge: dict = {"data": []}
    if spec.modifier("summary") == "true":
        edge["summary"] = summary
    return edge


def _comments_edge(request: Request, post: SocialPost, spec: FieldSpec) -> dict:
    """A post's comments as a field: the first page of them, and their summary when asked for."""
    comments = post.comments_at(request.sandbox.now)
    limit = _limit(spec.modifier("limit"))
    page = comments[:limit]
    edge: dict = {"data": [_comment_record(post, c, list(spec.subfields) if spec.subfields else None) for c in page]}
    if page:
        # Cursors only: a next URL would hold the sandbox's own address (a port that changes from run to
        # run) inside the post record; read on with /{post_id}/comments?after=<cursor>.
        edge["paging"] = {
            "cursors": {
                "before": _cursor(page[0].created_at, page[0].comment_id),
                "after": _cursor(page[-1].created_at, page[-1].comment_id),
            }
        }
    if spec.modifier("summary") == "true":
        edge["summary"] = {"order": "chronological", "total_count": len(comments), "can_comment": True}
    return edge


# ---- paging ---------------------------------------------------------------------------


def _limit(text: str | None) -> int:
    if text in (None, ""):
        return DEFAULT_LIMIT
    try:
        limit = int(text)
    except ValueError:
        raise _GraphError(f"(#100) Param limit must be a positive integer, not '{text}'") from None
    if limit < 1:
        raise _GraphError(f"(#100) Param limit must be a positive integer, not '{text}'")
    return min(limit, MAX_LIMIT)


def _cursor(ts: datetime, item_id: str) -> str:
    return base64.urlsafe_b64encode(f"{int(ts.timestamp())}:{item_id}".encode()).decode().rstrip("=")


def _decode_cursor(text: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        seconds, item_id = raw.split(":", 1)
        return int(seconds), item_id
    except (ValueError, UnicodeDecodeError):
        raise _GraphError(f"(#100) Invalid paging cursor '{text}'") from None


def _first(items: Sequence, past_mark) -> int:
    """The position of the first item past the cursor's mark (len(items) if none), by bisection:
    items are in key order, so ``past_mark`` is false up to some position and true from it on."""
    return bisect.bisect_left(range(len(items)), True, key=lambda i: past_mark(items[i]))


def _keyed_page(request: Request, items: Sequence, key, newest_first: bool, render) -> dict:
    """One page of ``items`` (in key order: oldest or newest first) after/before the cursor, with Graph's paging block."""
    q = request.query
    limit = _limit(q.get("limit"))
    start, stop = 0, len(items)
    if q.get("after"):
        mark = _decode_cursor(q["after"])
        start = _first(items, lambda item: key(item) < mark if newest_first else key(item) > mark)
        stop = min(len(items), start + limit)
    elif q.get("before"):
        mark = _decode_cursor(q["before"])
        stop = _first(items, lambda item: not (key(item) > mark if newest_first else key(item) < mark))
        start = max(0, stop - limit)
    else:
        stop = min(len(items), limit)
    page = items[start:stop]
    body: dict = {"data": [render(item) for item in page]}
    if page:
        first, last = key(page[0]), key(page[-1])
        cursors = {
            "before": _cursor(datetime.fromtimestamp(first[0], UTC), first[1]),
            "after": _cursor(datetime.fromtimestamp(last[0], UTC), last[1]),
        }
        body["paging"] = {"cursors": cursors}
        if stop < len(items):
            query = {k: v for k, v in q.items() if k not in ("after", "before")} | {
                "after": cursors["after"]
            }  # Graph keeps access_token
            body["paging"]["next"] = f"{request.base_url}{request.path}?{urlencode(query)}"
        if start > 0:
            query = {k: v for k, v in q.items() if k not in ("after", "before")} | {"before": cursors["before"]}
            body["paging"]["previous"] = f"{request.base_url}{request.path}?{urlencode(query)}"
    return body


def _time_param(request: Request, name: str) -> datetime | None:
    text = request.query.get(name)
    if not text:
        return None
    try:
        if text.lstrip("-").isdigit():
            return datetime.fromtimestamp(int(text), UTC)
        value = datetime.fromisoformat(text)
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise _GraphError(f"(#100) The parameter {name} must be a unix timestamp or a date, not '{text}'") from None


def _post_key(post: SocialPost) -> tuple[int, str]:
    return int(post.published_at.timestamp()), post.post_id


# ---- endpoints ------------------------------------------------------------------------


def get_node(request: Request) -> dict:
    node = _node(request, request.match["node"])
    specs = parse_fields(request.query.get("fields"))
    if isinstance(node, SocialPost):
        if node.platform == "facebook":
            return _select(specs, ("id", "message", "created_time"), _post_fields(request, node), "PagePost")
        return _select(specs, ("id",), _media_fields(request, node), "IGMedia")
    node_type = "Page" if node.platform == "facebook" else "IGUser"
    return _select(specs, ("id", "name"), _account_fields(request, node), node_type)


def _posts_of(request: Request, platform: str, edge: str) -> tuple[SocialAccount, list[SocialPost]]:
    node = _node(request, request.match["node"])
    if not isinstance(node, SocialAccount) or node.platform != platform:
        node_type = "IGUser" if isinstance(node, SocialAccount) else ("PagePost" if node.platform == "facebook" else "IGMedia")
        raise _GraphError(f"(#100) Tried accessing nonexisting field ({edge}) on node type ({node_type})")
    since, until = _time_param(request, "since"), _time_param(request, "until")
    posts = [
        p
        for p in request.sandbox.world.social.posts(node, request.sandbox.now)
        if not (since and p.published_at < since) and not (until and p.published_at >= until)
    ]
    return node, posts


def list_posts(request: Request) -> dict:
    _, posts = _posts_of(request, "facebook", "posts")
    specs = parse_fields(request.query.get("fields"))
    return _keyed_page(
        request,
        posts,
        _post_key,
        True,
        lambda p: _select(specs, ("id", "message", "created_time"), _post_fields(request, p), "PagePost"),
    )


def list_media(request: Request) -> dict:
    _, media = _posts_of(request, "instagram", "media")
    specs = parse_fields(request.query.get("fields"))
    return _keyed_page(request, media, _post_key, True, lambda p: _select(specs, ("id",), _media_fields(request, p), "IGMedia"))


def list_comments(request: Request) -> dict:
    node = _node(request, request.match["node"])
    if not isinstance(node, SocialPost):
        raise _GraphError(
            f"(#100) Tried accessing nonexisting field (comments) on node type ({'Page' if node.platform == 'facebook' else 'IGUser'})"
        )
    q = request.query
    if q.get("order", "chronological") not in ("chronological", "reverse_chronological") or q.get("filter", "toplevel") not in (
        "toplevel",
        "stream",
    ):
        raise _GraphError("(#100) order must be chronological or reverse_chronological, filter toplevel or stream")
    since = _time_param(request, "since")
    comments = node.comments_at(request.sandbox.now, since)
    newest_first = q.get("order") == "reverse_chronological"
    if newest_first:
        comments = comments.newest_first()
    specs = parse_fields(q.get("fields"))
    body = _keyed_page(
        request,
        comments,
        lambda c: (int(c.created_at.timestamp()), c.comment_id),
        newest_first,
        lambda c: _comment_record(node, c, specs),
    )
    if q.get("summary") == "true":
        body["summary"] = {"order": q.get("order", "chronological"), "total_count": len(comments), "can_comment": True}
    return body


def get_insights(request: Request) -> dict:
    node = _node(request, request.match["node"])
    metrics = [m for m in request.query.get("metric", "").split(",") if m]
    if isinstance(node, SocialPost):
        if node.platform != "instagram":
            raise _GraphError("(#100) The sandbox serves insights for pages and Instagram media, not for page posts")
        return _media_insights(request, node, metrics)
    if node.platform != "facebook":
        raise _GraphError("(#100) The sandbox serves Instagram insights per media, not per account")
    return _page_insights(request, node, metrics)


def _media_insights(request: Request, post: SocialPost, metrics: list[str]) -> dict:
    if not metrics or any(m not in MEDIA_METRICS for m in metrics):
        bad = next((i for i, m in enumerate(metrics) if m not in MEDIA_METRICS), 0)
        raise _GraphError(f"(#100) metric[{bad}] must be one of the following values: {', '.join(MEDIA_METRICS)}")
    valid = MEDIA_METRICS_BY_TYPE[(post.media_product_type, post.kind)]
    if unsupported := next((m for m in metrics if m not in valid), None):
        raise _GraphError(f"(#100) The metric {unsupported} is not supported for this media type")
    if not request.sandbox.world.social.has_insights(post):
        raise _posted_before_business()
    counters = post.counters_at(request.sandbox.now)
    counters["total_interactions"] = counters["likes"] + counters["comments"] + counters["shares"] + counters["saved"]
    counters["views"] = counters["impressions"]
    data = [
        {
            "name": m,
            "period": "lifetime",
            "values": [{"value": counters[m]}],
            "title": MEDIA_METRICS[m][0],
            "description": MEDIA_METRICS[m][1],
            "id": f"{post.post_id}/insights/{m}/lifetime",
        }
        for m in metrics
    ]
    return {"data": data}


def _page_insights(request: Request, page: SocialAccount, metrics: list[str]) -> dict:
    if not metrics or any(m not in PAGE_METRICS for m in metrics):
        # the same answer for a removed metric (page_fans, page_impressions) as for a made-up one
        raise _GraphError("(#100) The value must be a valid insights metric")
    if request.query.get("period", "day") != "day":
        raise _GraphError("(#100) The sandbox serves page insights with period=day only")
    now = request.sandbox.now
    until = _time_param(request, "until") or now
    since = _time_param(request, "since") or until - timedelta(days=2)
    if since > until:
        raise _GraphError("(#100) since must be before until")
    if until - since > timedelta(days=MAX_INSIGHTS_DAYS):
        raise _GraphError(
            f"(#100) There cannot be more than {MAX_INSIGHTS_DAYS} days ({MAX_INSIGHTS_DAYS * 86400} s) between since and until"
        )
    social = request.sandbox.world.social
    days: list[tuple[date, datetime]] = []
    for day in social.reported_days(now):
        end = account_day_bounds(day)[1]
        if since < end <= until:
            days.append((day, end))
    data = []
    for m in metrics:
        key, title, description = PAGE_METRICS[m]
        values = [{"value": social.account_day(page, day)[key], "end_time": _graph_time(end)} for day, end in days]
        data.append(
            {
                "name": m,
                "period": "day",
                "values": values,
                "title": title,
                "description": description,
                "id": f"{page.account_id}/insights/{m}/day",
            }
        )
    # Graph's time paging: the same span before and after, always both, even past the clock.
    span = until - since
    kept = {k: v for k, v in request.query.items() if k not in ("since", "until")}  # Graph keeps access_token
    previous = kept | {"since": int((since - span).timestamp()), "until": int(since.timestamp())}
    following = kept | {"since": int(until.timestamp()), "until": int((until + span).timestamp())}
    return {
        "data": data,
        "paging": {
            "previous": f"{request.base_url}{request.path}?{urlencode(previous)}",
            "next": f"{request.base_url}{request.path}?{urlencode(following)}",
        },
    }


node_handler = _handler(get_node)
insights_handler = _handler(get_insights)
NODE = r"/v\d+\.\d+/(?P<node>\d+(?:_\d+)?)"
# Numeric nodes and their insights reach these through sandbox/apis/meta.py first, which keeps the
# Marketing API's report runs (the same /vNN.0/{id} paths) and hands every other id to Graph.
ROUTES = [
    ("GET", NODE, node_handler),
    ("GET", NODE + r"/(?:posts|published_posts|feed)", _handler(list_posts)),
    ("GET", NODE + r"/media", _handler(list_media)),
    ("GET", NODE + r"/comments", _handler(list_comments)),
    ("GET", NODE + r"/insights", insights_handler),
]
