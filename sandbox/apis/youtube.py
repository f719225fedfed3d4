"""YouTube Analytics API v2 (``reports.query``) and YouTube Data API v3 (channels, playlistItems,
videos, commentThreads) over the world's channel (sandbox/world_video.py).

    GET /v2/reports?ids=channel==MINE&startDate=2026-06-01&endDate=2026-06-30
        &metrics=views,estimatedMinutesWatched,...&dimensions=day,video&sort=day&maxResults=200&startIndex=1
        {"kind": "youtubeAnalytics#resultTable", "columnHeaders": [{"name", "columnType", "dataType"}],
         "rows": [["2026-06-01", "fhUtmGuide1", 212, ...]]}
    GET /youtube/v3/channels?part=snippet,contentDetails,statistics&mine=true
    GET /youtube/v3/playlistItems?part=contentDetails&playlistId=UU...&maxResults=50&pageToken=
    GET /youtube/v3/videos?part=snippet,statistics&id=a,b,c   (at most 50 ids)
    GET /youtube/v3/commentThreads?part=snippet&videoId=...&maxResults=100&pageToken=

Analytics quirks served: ``rows`` absent when nothing matched; the latest days (ANALYTICS_LAG after
a Pacific day ends) are missing, whatever endDate asks for; ``startIndex`` is one-based,
``maxResults`` at most 200 with the video dimension; the column order is shuffled per request
(Google documents dimensions then metrics in request order; clients that parse by header name
survive both). Data API: every list request costs 1 quota unit of the day (midnight to midnight
Pacific, ``Sandbox.youtube_quota_units``, default 10,000); past it, 403 ``quotaExceeded`` (domain
youtube.quota). Counters in ``statistics`` are strings, as the Data API sends uint64 values.

Verified against: the Analytics API reports.query reference and ResultTable (columnHeaders with
name, columnType DIMENSION/METRIC, dataType; rows omitted without data; no rows for the most recent
days with the day dimension), the metrics and dimensions pages (views, estimatedMinutesWatched,
averageViewDuration, likes, comments, shares, subscribersGained, subscribersLost), the Data API
quota cost table (list methods 1 unit, 10,000 a day, reset at midnight Pacific), users' recorded
quotaExceeded bodies (403, domain youtube.quota), the channels / playlistItems / videos /
commentThreads resource references (uploads playlist, statistics as strings, nextPageToken).
Not verified: whether day and video together are accepted without a filter (the issue asks for
it; Google's top-videos reports sort by views); the exact lag (here 48 hours after the Pacific day);
the error text for an unknown metric.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, date, datetime, time

from sandbox.server import Request, Response
from sandbox.world_search import PACIFIC
from sandbox.world_video import BY_ID, CHANNEL_ID, CHANNEL_TITLE, UPLOADS_PLAYLIST_ID, VIDEOS

METRICS = {"views": "views", "estimatedMinutesWatched": "minutes_watched", "averageViewDuration": "average_view_duration_s",
           "likes": "likes", "comments": "comments", "shares": "shares", "subscribersGained": "subscribers_gained",
           "subscribersLost": "subscribers_lost"}
DIMENSIONS = ("day", "video")
MAX_VIDEO_RESULTS = 200


def _error(status: int, message: str, reason: str, domain: str = "global") -> Response:
    return Response(status, {"error": {"code": status, "message": message,
                                       "errors": [{"message": message, "domain": domain, "reason": reason}]}})


def _check_auth(request: Request) -> Response | None:
    if request.bearer_token() != request.sandbox.tokens["youtube"]:
        return _error(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                      "or other valid authentication credential.", "authError")
    return None


def reports(request: Request) -> Response:
    if (denied := _check_auth(request)) is not None:
        return denied
    q = request.query
    if q.get("ids") not in ("channel==MINE", f"channel=={CHANNEL_ID}"):
        return _error(403, "Forbidden", "forbidden")
    try:
        first, last = date.fromisoformat(q["startDate"]), date.fromisoformat(q["endDate"])
        metrics = [m for m in q.get("metrics", "").split(",") if m]
        dimensions = [d for d in q.get("dimensions", "").split(",") if d]
        start_index = int(q.get("startIndex", 1))
        max_results = int(q.get("maxResults", 10_000))
    except (KeyError, ValueError):
        return _error(400, "Required: startDate, endDate and metrics; startIndex and maxResults are integers", "required")
    unknown = [m for m in metrics if m not in METRICS] + [d for d in dimensions if d not in DIMENSIONS]
    if not metrics or unknown:
        return _error(400, f"Unknown identifier ({(unknown or ['metrics'])[0]}) given in field parameters.metrics.", "invalid")
    if start_index < 1 or ("video" in dimensions and not 1 <= max_results <= MAX_VIDEO_RESULTS):
        return _error(400, f"The query is not supported: maxResults must be 1..{MAX_VIDEO_RESULTS} with the video dimension "
                      "and startIndex at least 1.", "badRequest")
    headers = ([{"name": d, "columnType": "DIMENSION", "dataType": "STRING"} for d in dimensions]
               + [{"name": m, "columnType": "METRIC", "dataType": "INTEGER"} for m in metrics])
    sums: dict[tuple, dict[str, int]] = {}
    for vd in request.sandbox.world.video.reported(first, last, request.sandbox.now):
        key = tuple({"day": vd.day.isoformat(), "video": vd.video_id}[d] for d in dimensions)
        row = sums.setdefault(key, {m: 0 for m in METRICS} | {"_minutes": 0, "_views": 0})
        for m, attr in METRICS.items():
            if m != "averageViewDuration":
                row[m] += getattr(vd, attr)
    rows = []
    for key in sorted(sums):
        row = sums[key]
        row["averageViewDuration"] = round(row["estimatedMinutesWatched"] * 60 / row["views"]) if row["views"] else 0
        rows.append(list(key) + [row[m] for m in metrics])
    rows = rows[start_index - 1:start_index - 1 + max_results]
    order = list(range(len(headers)))
    random.Random(request.correlation_id()).shuffle(order)  # parse by name: the order is not a promise
    out: dict = {"kind": "youtubeAnalytics#resultTable", "columnHeaders": [headers[i] for i in order]}
    if rows:
        out["rows"] = [[row[i] for i in order] for row in rows]
    return Response(200, out)


# ---- Data API v3 ---------------------------------------------------------------------------------

_quota_lock = threading.Lock()


def _spend_unit(request: Request) -> Response | None:
    now: datetime = request.sandbox.now
    key = ("youtube_quota", now.astimezone(PACIFIC).date())
    with _quota_lock:
        used = request.sandbox.cache.get(key, 0)
        if used + 1 > request.sandbox.youtube_quota_units:
            return _error(403, "The request cannot be completed because you have exceeded your "
                          "<a href=\"/youtube/v3/getting-started#quota\">quota</a>.", "quotaExceeded", domain="youtube.quota")
        request.sandbox.cache[key] = used + 1
    return None


def _data_call(request: Request) -> Response | None:
    return _check_auth(request) or _spend_unit(request)


def _page(items: list, request: Request, default: int, most: int, kind: str) -> dict:
    size = max(1, min(most, int(request.query.get("maxResults", default))))
    start = int(request.query.get("pageToken") or 0) if (request.query.get("pageToken") or "0").isdigit() else 0
    out = {"kind": kind, "etag": f"etag-{start}", "pageInfo": {"totalResults": len(items), "resultsPerPage": size},
           "items": items[start:start + size]}
    if start + size < len(items):
        out["nextPageToken"] = str(start + size)
    return out


def _published(day: date) -> str:
    return datetime.combine(day, time(9), PACIFIC).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def channels(request: Request) -> Response:
    if (refused := _data_call(request)) is not None:
        return refused
    if request.query.get("mine") != "true" and request.query.get("id") != CHANNEL_ID:
        return Response(200, {"kind": "youtube#channelListResponse", "etag": "etag", "pageInfo": {"totalResults": 0, "resultsPerPage": 5}})
    now = request.sandbox.now
    world = request.sandbox.world.video
    published = [v for v in VIDEOS if datetime.combine(v.published, datetime.min.time(), PACIFIC) <= now]
    item = {"kind": "youtube#channel", "etag": "etag-channel", "id": CHANNEL_ID,
            "snippet": {"title": CHANNEL_TITLE, "description": "Marketing data, end to end.", "publishedAt": "2024-03-01T17:00:00Z"},
            "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": UPLOADS_PLAYLIST_ID}},
            "statistics": {"viewCount": str(sum(world.totals(v.video_id, now)["viewCount"] for v in published)),
                           "subscriberCount": str(world.subscribers(now)), "hiddenSubscriberCount": False,
                           "videoCount": str(len(published))}}
    return Response(200, {"kind": "youtube#channelListResponse", "etag": "etag", "pageInfo": {"totalResults": 1, "resultsPerPage": 5},
                          "items": [item]})


def playlist_items(request: Request) -> Response:
    if (refused := _data_call(request)) is not None:
        return refused
    if request.query.get("playlistId") != UPLOADS_PLAYLIST_ID:
        return _error(404, "The playlist identified with the request's playlistId parameter cannot be found.", "playlistNotFound",
                      domain="youtube.playlistItem")
    now = request.sandbox.now
    uploads = sorted((v for v in VIDEOS if datetime.combine(v.published, datetime.min.time(), PACIFIC) <= now),
                     key=lambda v: v.published, reverse=True)
    items = [{"kind": "youtube#playlistItem", "etag": f"etag-{v.video_id}", "id": f"pl{v.video_id}",
              "contentDetails": {"videoId": v.video_id, "videoPublishedAt": _published(v.published)}} for v in uploads]
    return Response(200, _page(items, request, 5, 50, "youtube#playlistItemListResponse"))


def videos(request: Request) -> Response:
    if (refused := _data_call(request)) is not None:
        return refused
    ids = [i for i in request.query.get("id", "").split(",") if i]
    if len(ids) > 50:
        return _error(400, "The request specifies an invalid filter parameter.", "invalidFilters", domain="youtube.parameter")
    now = request.sandbox.now
    items = []
    for video_id in ids:
        video = BY_ID.get(video_id)
        if video is None:
            continue  # an unknown id is left out, not an error
        stats = request.sandbox.world.video.totals(video_id, now)
        items.append({"kind": "youtube#video", "etag": f"etag-{video_id}", "id": video_id,
                      "snippet": {"publishedAt": _published(video.published), "channelId": CHANNEL_ID, "title": video.title,
                                  "description": f"Read more: https://www.funnelhouse.example{video.landing_page}"
                                                 f"?utm_source=youtube&utm_medium=video&utm_campaign={video.utm_campaign}",
                                  "channelTitle": CHANNEL_TITLE},
                      "statistics": {"viewCount": str(stats["viewCount"]), "likeCount": str(stats["likeCount"]),
                                     "favoriteCount": "0", "commentCount": str(stats["commentCount"])}})
    return Response(200, {"kind": "youtube#videoListResponse", "etag": "etag", "items": items,
                          "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}})


def comment_threads(request: Request) -> Response:
    if (refused := _data_call(request)) is not None:
        return refused
    video_id = request.query.get("videoId", "")
    if video_id not in BY_ID:
        return _error(404, "The video identified by the videoId parameter could not be found.", "videoNotFound",
                      domain="youtube.commentThread")
    items = []
    for c in request.sandbox.world.video.comments(video_id, request.sandbox.now):
        at = c.published_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        items.append({"kind": "youtube#commentThread", "etag": f"etag-{c.comment_id}", "id": c.comment_id,
                      "snippet": {"channelId": CHANNEL_ID, "videoId": video_id, "canReply": True, "totalReplyCount": 0,
                                  "isPublic": True,
                                  "topLevelComment": {"kind": "youtube#comment", "etag": f"etag-c-{c.comment_id}", "id": c.comment_id,
                                                      "snippet": {"channelId": CHANNEL_ID, "videoId": video_id,
                                                                  "textDisplay": c.text, "textOriginal": c.text,
                                                                  "authorDisplayName": c.author, "likeCount": c.like_count,
                                                                  "publishedAt": at, "updatedAt": at}}}})
    return Response(200, _page(items, request, 20, 100, "youtube#commentThreadListResponse"))


ROUTES = [
    ("GET", r"/v2/reports", reports),
    ("GET", r"/youtube/v3/channels", channels),
    ("GET", r"/youtube/v3/playlistItems", playlist_items),
    ("GET", r"/youtube/v3/videos", videos),
    ("GET", r"/youtube/v3/commentThreads", comment_threads),
]
