"""VK Ads (ads.vk.com) API v2 over the world's VK Ads cabinet (world_vk.py).

    Authorization: Bearer <access token of the cabinet>
    GET /api/v2/user.json                      the cabinet: {id, username, currency, ...}
    GET /api/v2/{ad_plans|ad_groups|banners}.json?fields=id,name,...&limit=N&offset=M
        {"count", "offset", "items": [...]} (limit 20 by default, at most LIST_LIMIT)
    GET /api/v2/statistics/{banners|ad_groups|ad_plans}/day.json?id=1,2&date_from=YYYY-MM-DD&date_to=YYYY-MM-DD&metrics=base
        {"items": [{"id", "rows": [{"date", "base": {...}}], "total": {"base": {...}}}], "total": {"base": {...}}}

``base`` holds shows, clicks, goals, spent (roubles as a string), cpm, cpc, cpa (strings), ctr and
cr (numbers), and ``vk`` {goals, cpa, cr}: the goals of VK's own pixel. A row for each day of the
range that has ended in Moscow, zeros where nothing was shown. At most MAX_IDS objects and
MAX_DAYS days a request, and no day older than MAX_DAYS before today: else HTTP 400
``{"error": {"code": "ERR_LIMIT_EXCEEDED", "message"}}``; ERR_WRONG_DATE for a bad date,
ERR_WRONG_BANNERS / ERR_WRONG_ADGROUPS / ERR_WRONG_ADPLANS for ids the cabinet does not have,
HTTP 401 for a bad token.

Verified against: the VK Ads API docs "Statistics" (v2 day.json for banners, ad_groups, ad_plans,
users; id, date_from, date_to, metrics; the 366 days and 200 objects limits; the error table; the
answer's items / rows / total with base and base.vk), "AdPlans", "AdGroups" (ad_plan_id), "Banners"
(ad_group_id; limit 20 by default, offset, count), "User" (currency) and the API's status codes
(401, 403, 429), as mirrored in leonid293-ops/vk-ads-doc-api and metapeka/vk-ads-api-docs.
Not verified: the largest ``limit`` of the lists (LIST_LIMIT here); the body of a 401; whether
days without shows come as zero rows; the time zone of statistics days (Moscow here).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sandbox.server import Request, Response
from sandbox.world_vk import VK_AD_PLANS, VK_CABINET, VkBannerDay

MAX_IDS = 200
MAX_DAYS = 366
LIST_LIMIT = 250
DEFAULT_LIST_LIMIT = 20


def _error(status: int, code: str, message: str) -> Response:
    return Response(status, {"error": {"code": code, "message": message}})


def _authorized(request: Request) -> Response | None:
    if request.bearer_token() != request.sandbox.tokens["vk_ads"]:
        return _error(401, "invalid_token", "Invalid access token")
    return None


def _objects() -> dict[str, list[dict]]:
    plans = [{"id": p.ad_plan_id, "name": p.name, "status": "active"} for p in VK_AD_PLANS]
    groups = [{"id": g, "name": f"{p.name} / group {i + 1}", "status": "active", "ad_plan_id": p.ad_plan_id}
              for p in VK_AD_PLANS for i, g in enumerate(p.ad_group_ids)]
    banners = [{"id": b, "name": f"{p.name} / banner {b % 100}", "status": "active", "ad_group_id": g}
               for p in VK_AD_PLANS for g, b in p.banners]
    return {"ad_plans": plans, "ad_groups": groups, "banners": banners}


def get_user(request: Request) -> Response:
    if (refused := _authorized(request)) is not None:
        return refused
    return Response(200, {"id": int(VK_CABINET.account_id), "username": "funnelhouse@vk", "currency": VK_CABINET.currency,
                          "types": ["advertiser"], "status": "active"})


def get_list(request: Request) -> Response:
    if (refused := _authorized(request)) is not None:
        return refused
    items = _objects()[request.match["kind"]]
    try:
        limit = int(request.query.get("limit", DEFAULT_LIST_LIMIT))
        offset = int(request.query.get("offset", 0))
    except ValueError:
        return _error(400, "ERR_WRONG_PARAMETER", "limit and offset must be numbers")
    if not 1 <= limit <= LIST_LIMIT or offset < 0:
        return _error(400, "ERR_WRONG_PARAMETER", f"limit must be within 1..{LIST_LIMIT}")
    fields = [f for f in request.query.get("fields", "id,name").split(",") if f]
    page = [{f: item[f] for f in fields if f in item} for item in items[offset:offset + limit]]
    return Response(200, {"count": len(items), "offset": offset, "items": page})


def _base(days: list[VkBannerDay], as_of) -> dict:
    shows, clicks = sum(d.shows for d in days), sum(d.clicks for d in days)
    spent = Decimal(sum(d.spent_kopecks for d in days)) / 100
    goals = sum(d.goals_at(as_of) for d in days)

    def per(amount: Decimal, n: int) -> str:
        return f"{(amount / n).quantize(Decimal('0.01'))}" if n else "0"

    return {"shows": shows, "clicks": clicks, "goals": goals, "spent": f"{spent:.2f}", "cpm": per(spent * 1000, shows),
            "cpc": per(spent, clicks), "cpa": per(spent, goals), "ctr": clicks * 100 / shows if shows else 0,
            "cr": goals * 100 / clicks if clicks else 0,
            "vk": {"goals": goals, "cpa": float(per(spent, goals)), "cr": goals * 100 / clicks if clicks else 0}}


WRONG_IDS = {"banners": "ERR_WRONG_BANNERS", "ad_groups": "ERR_WRONG_ADGROUPS", "ad_plans": "ERR_WRONG_ADPLANS"}


def get_statistics(request: Request) -> Response:
    if (refused := _authorized(request)) is not None:
        return refused
    kind, sandbox = request.match["kind"], request.sandbox
    try:
        since, until = date.fromisoformat(request.query["date_from"]), date.fromisoformat(request.query["date_to"])
    except (KeyError, ValueError):
        return _error(400, "ERR_WRONG_DATE", "date_from and date_to must be YYYY-MM-DD")
    try:
        ids = [int(i) for i in request.query.get("id", "").split(",") if i]
    except ValueError:
        return _error(400, "ERR_WRONG_PARAMETER", "id must be a comma-separated list of numbers")
    if not ids:
        return _error(400, "ERR_WRONG_PARAMETER", "id is required")
    today = sandbox.now.astimezone(VK_CABINET.tz).date()
    if len(ids) > MAX_IDS or (until - since).days + 1 > MAX_DAYS or since < today - timedelta(days=MAX_DAYS - 1) or since > until:
        return _error(400, "ERR_LIMIT_EXCEEDED", f"At most {MAX_IDS} objects and {MAX_DAYS} days of the last {MAX_DAYS} a request")
    known = {o["id"] for o in _objects()[kind]}
    if unknown := [i for i in ids if i not in known]:
        return _error(400, WRONG_IDS[kind], f"Unknown {kind}: {', '.join(map(str, unknown))}")
    key = {"banners": lambda d: d.banner_id, "ad_groups": lambda d: d.ad_group_id, "ad_plans": lambda d: d.ad_plan.ad_plan_id}[kind]
    by_object: dict[int, dict[date, list[VkBannerDay]]] = {i: {} for i in ids}
    for d in sandbox.world.iter_vk_banner_days(since, until, sandbox.now):
        if key(d) in by_object:
            by_object[key(d)].setdefault(d.day, []).append(d)
    ended = [since + timedelta(days=n) for n in range((until - since).days + 1)
             if VK_CABINET.day_start(since + timedelta(days=n + 1)) <= sandbox.now]
    items, everything = [], []
    for object_id in ids:
        days = by_object[object_id]
        rows = [{"date": day.isoformat(), "base": _base(days.get(day, []), sandbox.now)} for day in ended]
        delivered = [d for ds in days.values() for d in ds]
        everything += delivered
        items.append({"id": object_id, "rows": rows, "total": {"base": _base(delivered, sandbox.now)}})
    return Response(200, {"items": items, "total": {"base": _base(everything, sandbox.now)}})


ROUTES = [
    ("GET", r"/api/v2/user\.json", get_user),
    ("GET", r"/api/v2/(?P<kind>ad_plans|ad_groups|banners)\.json", get_list),
    ("GET", r"/api/v2/statistics/(?P<kind>banners|ad_groups|ad_plans)/day\.json", get_statistics),
]
