"""The VK API (api.vk.com/method/...) for the world's VK community (world_vk_community.py).

    GET or POST /method/{wall.get|wall.getComments|stats.get|groups.getById}?...&access_token=...&v=5.199
    wall.get         owner_id=-<group id>, count (at most 100), offset: {"count", "items": [post]}, newest first;
                     a post {id, owner_id, from_id, date (unix), text, post_type, comments {count}, likes {count},
                     reposts {count}, views {count}}
    wall.getComments owner_id, post_id, count (at most 100), offset, sort=asc: {"count", "items": [comment],
                     "current_level_count", "can_post"}; a comment {id, from_id, post_id, owner_id, date, text}
    stats.get        group_id, timestamp_from, timestamp_to (unix), interval=day: a list, one entry per day,
                     {period_from, period_to (unix), visitors {views, visitors}, reach {reach, reach_subscribers},
                     activity {likes, comments, copies, hidden, subscribed, unsubscribed}}
    groups.getById   group_id, fields=members_count: {"groups": [{id, name, screen_name, type, members_count}],
                     "profiles": []}

Every answer is HTTP 200: ``{"response": ...}``, or ``{"error": {"error_code", "error_msg",
"request_params"}}``: 5 a bad token, 6 "Too many requests per second" (more than RATE_LIMIT
requests in a second per token), 8 without ``v``, 15 a community the token may not read, 100 a bad
parameter (count over 100, a missing id).

Verified against: VK API reference pages of wall.get, wall.getComments, stats.get and groups.getById
(their parameters and answers, groups.getById's {groups, profiles} since version 5.194), the API's
error list (5, 6, 8, 15, 100; errors are returned with HTTP 200), the "3 requests per second" limit
for user tokens; rvkstat's stats.get calls (timestamp_from / timestamp_to, interval, stats_groups).
Not verified: the order of stats.get's days (newest first here); period_from as a unix time of the
day's start in the community's zone; the texts of error_msg beyond 5 and 6.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import UTC, datetime

from sandbox.server import Request, Response
from sandbox.world_vk_community import TZ, VK_COMMUNITY, VkPost

RATE_LIMIT = 3  # requests per second per token
MAX_COUNT = 100
_lock = threading.Lock()


class _VkError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _params(request: Request) -> dict[str, str]:
    from urllib.parse import parse_qs

    form = {k: v[-1] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()} if request.body else {}
    return {**request.query, **form}


def _paced(request: Request, token: str) -> bool:
    """True if this request keeps the token within RATE_LIMIT requests in the last second."""
    now = time.monotonic()
    with _lock:
        sent = request.sandbox.cache.setdefault("vk_community_sent", {}).setdefault(token, deque())
        while sent and sent[0] <= now - 1.0:
            sent.popleft()
        if len(sent) >= RATE_LIMIT:
            return False
        sent.append(now)
        return True


def _int(params: dict, name: str, default: int | None = None) -> int:
    try:
        return int(params[name]) if name in params else int(default)
    except (TypeError, ValueError):
        raise _VkError(100, f"One of the parameters specified was missing or invalid: {name} is not a number") from None


def _page(params: dict) -> tuple[int, int]:
    count, offset = _int(params, "count", 20), _int(params, "offset", 0)
    if not 0 <= count <= MAX_COUNT:
        raise _VkError(100, f"One of the parameters specified was missing or invalid: count should be less or equal to {MAX_COUNT}")
    return count, offset


def _own_wall(params: dict) -> None:
    if _int(params, "owner_id", 0) != VK_COMMUNITY.owner_id:
        raise _VkError(15, "Access denied: this wall is not available")


def _post(p: VkPost, as_of: datetime) -> dict:
    c = p.counters_at(as_of)
    return {"id": p.post_id, "owner_id": VK_COMMUNITY.owner_id, "from_id": VK_COMMUNITY.owner_id,
            "date": int(p.published_at.timestamp()), "text": p.text, "post_type": "post",
            "comments": {"count": c["comments"], "can_post": 1}, "likes": {"count": c["likes"], "user_likes": 0, "can_like": 1},
            "reposts": {"count": c["reposts"], "user_reposted": 0}, "views": {"count": c["views"]}}


def wall_get(request: Request, params: dict):
    _own_wall(params)
    count, offset = _page(params)
    posts = request.sandbox.world.vk_community.posts(request.sandbox.now)
    return {"count": len(posts), "items": [_post(p, request.sandbox.now) for p in posts[offset:offset + count]]}


def wall_get_comments(request: Request, params: dict):
    _own_wall(params)
    count, offset = _page(params)
    post_id = _int(params, "post_id")
    post = next((p for p in request.sandbox.world.vk_community.all_posts if p.post_id == post_id
                 and p.published_at <= request.sandbox.now), None)
    if post is None:
        raise _VkError(100, "One of the parameters specified was missing or invalid: post_id is undefined")
    comments = post.comments_at(request.sandbox.now)
    if params.get("sort") == "desc":
        comments = comments[::-1]
    items = [{"id": c.comment_id, "from_id": c.from_id, "post_id": post.post_id, "owner_id": VK_COMMUNITY.owner_id,
              "parents_stack": [], "date": int(c.at.timestamp()), "text": c.text} for c in comments[offset:offset + count]]
    return {"count": len(comments), "items": items, "current_level_count": len(comments), "can_post": True,
            "show_reply_button": True, "groups_can_post": True}


def stats_get(request: Request, params: dict):
    if _int(params, "group_id", 0) != VK_COMMUNITY.group_id:
        raise _VkError(15, "Access denied: no access to this community's statistics")
    since = datetime.fromtimestamp(_int(params, "timestamp_from"), UTC).astimezone(TZ).date()
    until = datetime.fromtimestamp(_int(params, "timestamp_to"), UTC).astimezone(TZ).date()
    community = request.sandbox.world.vk_community
    out = []
    for day in community.reported_days(request.sandbox.now):
        if since <= day <= until:
            s = community.day_stats(day)
            start, end = community.day_bounds(day)
            out.append({"period_from": int(start.timestamp()), "period_to": int(end.timestamp()),
                        "visitors": {"views": s["views"], "visitors": s["visitors"]},
                        "reach": {"reach": s["reach"], "reach_subscribers": s["reach_subscribers"]},
                        "activity": {"likes": s["likes"], "comments": s["comments"], "copies": s["copies"], "hidden": 0,
                                     "subscribed": s["subscribed"], "unsubscribed": s["unsubscribed"]}})
    return out[::-1]


def groups_get_by_id(request: Request, params: dict):
    ids = [i.strip() for i in (params.get("group_id") or params.get("group_ids") or "").split(",") if i.strip()]
    if not ids:
        raise _VkError(100, "One of the parameters specified was missing or invalid: group_id is undefined")
    if any(i not in (str(VK_COMMUNITY.group_id), VK_COMMUNITY.screen_name) for i in ids):
        raise _VkError(100, "One of the parameters specified was missing or invalid: group_ids is invalid")
    group = {"id": VK_COMMUNITY.group_id, "name": VK_COMMUNITY.name, "screen_name": VK_COMMUNITY.screen_name,
             "is_closed": 0, "type": "group"}
    if "members_count" in (params.get("fields") or ""):
        group["members_count"] = request.sandbox.world.vk_community.members_at(request.sandbox.now)
    return {"groups": [group], "profiles": []}


METHODS = {"wall.get": wall_get, "wall.getComments": wall_get_comments, "stats.get": stats_get,
           "groups.getById": groups_get_by_id}


def method(request: Request) -> Response:
    params = _params(request)
    request_params = [{"key": "method", "value": request.match["name"]},
                      *({"key": k, "value": v} for k, v in params.items() if k != "access_token")]
    token = params.get("access_token") or request.bearer_token()
    try:
        if token != request.sandbox.tokens["vk_community"]:
            raise _VkError(5, "User authorization failed: invalid access_token (4).")
        if not _paced(request, token):
            raise _VkError(6, "Too many requests per second")
        if not params.get("v"):
            raise _VkError(8, "Invalid request: v (version) is required")
        handler = METHODS.get(request.match["name"])
        if handler is None:
            raise _VkError(3, "Unknown method passed")
        return Response(200, {"response": handler(request, params)})
    except _VkError as e:
        return Response(200, {"error": {"error_code": e.code, "error_msg": e.message, "request_params": request_params}})


ROUTES = [("GET", r"/method/(?P<name>[A-Za-z]+\.[A-Za-z]+)", method), ("POST", r"/method/(?P<name>[A-Za-z]+\.[A-Za-z]+)", method)]
