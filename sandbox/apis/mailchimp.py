"""Mailchimp Marketing API 3.0: campaigns, reports, email activity, audiences and their members.

Contract: the Mailchimp Marketing API 3.0 reference; the evidence is listed under "Verified
against" in extractors/sources/mailchimp.py.

    GET /3.0/campaigns?status=sent&since_send_time=2026-06-01T00:00:00+00:00&count=1000&offset=0&fields=...
    GET /3.0/reports?since_send_time=...           GET /3.0/reports/{campaign_id}
    GET /3.0/reports/{campaign_id}/email-activity?count=&offset=&since=
    GET /3.0/lists                                 GET /3.0/lists/{list_id}
    GET /3.0/lists/{list_id}/members?since_last_changed=&status=&count=&offset=
    GET /3.0/ping

Auth is HTTP Basic with any user name and the API key as password (or the key as
a Bearer token). Paging is ``count`` (default 10, at most 1000: a larger count is
answered, not refused, with at most 1000) and ``offset``; every list answer carries
``total_items``. ``fields`` and ``exclude_fields`` take dotted paths
(``campaigns.id,total_items``). Times are ISO 8601 with ``+00:00``; time filters
accept any ISO 8601 instant, ``since_*`` (and email activity's ``since``) exclude the
exact second and ``before_*`` include it. Errors are ``application/problem+json``:
``{type, title, status, detail, instance}`` (401 "API Key Invalid", 404 "Resource Not
Found", 400 "Invalid Resource").

Orders: campaigns by create time, reports by send time, members in the order they
joined, email activity by recipient in member order. Email activity lists every
recipient (``activity`` is empty for one who did nothing yet, or nothing after
``since``) with the actions that happened by the sandbox clock; a campaign not sent
yet answers an empty page. Not reproduced: ``_links``, the actions' ``ip``, archived
members, the cap of 1,000 opens and 1,000 clicks per recipient.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from array import array
from datetime import UTC, datetime

from sandbox.http import Request, Response
from sandbox.world_email import AUDIENCES, Audience, CampaignActivity, EmailCampaign, epoch_seconds, member_email, member_id

DEFAULT_COUNT = 10
MAX_COUNT = 1000
ERROR_DOCS = "https://mailchimp.com/developer/marketing/docs/errors/"
FROM_NAME, REPLY_TO = "Funnelhouse", "hello@funnelhouse.example"


class _Problem(Exception):
    def __init__(self, status: int, title: str, detail: str):
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


def problem(request: Request, status: int, title: str, detail: str) -> Response:
    return Response(
        status,
        {"type": ERROR_DOCS, "title": title, "status": status, "detail": detail, "instance": request.correlation_id()},
        content_type="application/problem+json; charset=utf-8",
    )


def _not_found() -> _Problem:
    return _Problem(404, "Resource Not Found", "The requested resource could not be found.")


def api_key(request: Request) -> str | None:
    """The API key a request carries: HTTP Basic's password, or a Bearer token."""
    key = request.bearer_token()
    auth = request.headers.get("authorization", "")
    if key is None and auth.lower().startswith("basic "):
        try:
            key = base64.b64decode(auth[6:], validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    return key


def _check_auth(request: Request) -> Response | None:
    key = api_key(request)
    if not key:
        return problem(request, 401, "API Key Missing", "Your request did not include an API key.")
    if key != request.sandbox.tokens["mailchimp"]:
        return problem(
            request, 401, "API Key Invalid", "Your API key may be invalid, or you've attempted to access the wrong datacenter."
        )
    return None


def _handler(build):
    """Auth, then the body; a _Problem becomes the problem+json answer; fields/exclude_fields apply."""

    def handle(request: Request) -> Response:
        if (denied := _check_auth(request)) is not None:
            return denied
        try:
            body = build(request)
        except _Problem as p:
            return problem(request, p.status, p.title, p.detail)
        return Response(200, select_fields(body, request.query.get("fields"), request.query.get("exclude_fields")))

    return handle


# ---- parameters ----------------------------------------------------------------


def _paging(request: Request) -> tuple[int, int]:
    try:
        count = int(request.query.get("count", DEFAULT_COUNT))
        offset = int(request.query.get("offset", 0))
    except ValueError:
        raise _Problem(400, "Invalid Resource", "The count and offset must be whole numbers.") from None
    if count < 0 or offset < 0:
        raise _Problem(400, "Invalid Resource", "The count and offset must be 0 or more.")
    return min(count, MAX_COUNT), offset  # a larger count is answered, not refused


def _instant(request: Request, name: str) -> datetime | None:
    text = request.query.get(name)
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace(" ", "+"))  # a '+' sent unencoded arrives as a space
    except ValueError:
        raise _Problem(
            400, "Invalid Resource", f"The value of {name} must be an ISO 8601 time, e.g. 2026-06-01T00:00:00+00:00."
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _page(items: list, request: Request) -> list:
    count, offset = _paging(request)
    return items[offset : offset + count]


def select_fields(body: object, fields: str | None, exclude: str | None) -> object:
    """Mailchimp's ``fields`` / ``exclude_fields``: dotted paths, applied inside lists."""
    if fields:
        body = _keep(body, _path_tree(fields))
    if exclude:
        body = _drop(body, _path_tree(exclude))
    return body


def _path_tree(paths: str) -> dict:
    tree: dict = {}
    for path in paths.split(","):
        node = tree
        for part in path.strip().split("."):
            if part:
                node = node.setdefault(part, {})
    return tree


def _keep(value: object, tree: dict) -> object:
    if not tree:
        return value
    if isinstance(value, list):
        return [_keep(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: _keep(v, tree[k]) for k, v in value.items() if k in tree}
    return value


def _drop(value: object, tree: dict) -> object:
    if isinstance(value, list):
        return [_drop(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: (_drop(v, tree[k]) if tree.get(k) else v) for k, v in value.items() if k not in tree or tree[k]}
    return value


def _iso(ts: datetime | None) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00") if ts is not None else ""


# ---- records -------------------------------------------------------------------


def _campaign_record(request: Request, c: EmailCampaign) -> dict:
    world, now = request.sandbox.world, request.sandbox.now
    sent = c.send_time <= now
    counts = world.mailchimp.activity(c).counts(now) if sent else None
    slug = hashlib.sha256(f"{world.seed}:archive:{c.campaign_id}".encode()).hexdigest()[:6]
    record = {
        "id": c.campaign_id,
        "web_id": c.web_id,
        "type": "regular",
        "create_time": _iso(c.create_time),
        "archive_url": f"https://mailchi.mp/funnelhouse/{slug}",
        "long_archive_url": f"https://us21.campaign-archive.com/?u=0f1c2d3e4b5a69788796a5b4c&id={c.campaign_id}",
        "status": "sent" if sent else "save",
        "emails_sent": counts["emails_sent"] if sent else 0,
        "send_time": _iso(c.send_time) if sent else "",
        "content_type": "template",
        "needs_block_refresh": False,
        "resendable": False,
        "recipients": {
            "list_id": c.audience.list_id,
            "list_is_active": True,
            "list_name": c.audience.name,
            "segment_text": "",
            "recipient_count": counts["emails_sent"] if sent else 0,
        },
        "settings": {
            "subject_line": c.subject_line,
            "preview_text": f"{c.series.subject}, and what's next.",
            "title": c.title,
            "from_name": FROM_NAME,
            "reply_to": REPLY_TO,
            "use_conversation": False,
            "to_name": "*|FNAME|*",
            "folder_id": "",
            "authenticate": True,
            "auto_footer": False,
            "inline_css": False,
            "auto_tweet": False,
            "fb_comments": True,
            "timewarp": False,
            "template_id": 10001,
            "drag_and_drop": True,
        },
        "tracking": {
            "opens": True,
            "html_clicks": True,
            "text_clicks": False,
            "goal_tracking": False,
            "ecomm360": False,
            "google_analytics": c.tracking_name,
            "clicktale": "",
        },
        "delivery_status": {"enabled": False},
    }
    if sent:
        record["report_summary"] = {
            "opens": counts["opens"],
            "unique_opens": counts["unique_opens"],
            "open_rate": counts["open_rate"],
            "clicks": counts["clicks"],
            "subscriber_clicks": counts["unique_subscriber_clicks"],
            "click_rate": counts["click_rate"],
            "ecommerce": {"total_orders": 0, "total_spent": 0, "total_revenue": 0},
        }
    return record


def _report_record(request: Request, c: EmailCampaign) -> dict:
    counts = request.sandbox.world.mailchimp.activity(c).counts(request.sandbox.now)
    return {
        "id": c.campaign_id,
        "campaign_title": c.title,
        "type": "regular",
        "list_id": c.audience.list_id,
        "list_is_active": True,
        "list_name": c.audience.name,
        "subject_line": c.subject_line,
        "preview_text": f"{c.series.subject}, and what's next.",
        "emails_sent": counts["emails_sent"],
        "abuse_reports": 0,
        "unsubscribed": counts["unsubscribed"],
        "send_time": _iso(c.send_time),
        "bounces": {"hard_bounces": counts["hard_bounces"], "soft_bounces": counts["soft_bounces"], "syntax_errors": 0},
        "forwards": {"forwards_count": 0, "forwards_opens": 0},
        "opens": {
            "opens_total": counts["opens"],
            "unique_opens": counts["unique_opens"],
            "open_rate": counts["open_rate"],
            "last_open": _iso(counts["last_open"]),
        },
        "clicks": {
            "clicks_total": counts["clicks"],
            "unique_clicks": counts["unique_clicks"],
            "unique_subscriber_clicks": counts["unique_subscriber_clicks"],
            "click_rate": counts["click_rate"],
            "last_click": _iso(counts["last_click"]),
        },
    }


def _email_record(activity: CampaignActivity, position: int, now: datetime, since: datetime | None) -> dict:
    c = activity.campaign
    email = member_email(c.audience, activity.recipients[position])
    actions = []
    for a in activity.actions_of(position, now):
        if since is not None and a.at <= since:
            continue
        action = {"action": a.action, "timestamp": _iso(a.at)}
        if a.action == "click":
            action["url"] = c.url(a.detail)
        elif a.action == "bounce":
            action["type"] = a.detail
        actions.append(action)
    return {
        "campaign_id": c.campaign_id,
        "list_id": c.audience.list_id,
        "list_is_active": True,
        "email_id": member_id(email),
        "email_address": email,
        "activity": actions,
    }


def _member_record(request: Request, members, i: int) -> dict:
    m = members.member(i)
    now = request.sandbox.now
    history = m.signup_at.date() < request.sandbox.world.start
    digest = hashlib.sha256(f"{request.sandbox.world.seed}:member:{m.audience.list_id}:{m.number}".encode()).hexdigest()
    return {
        "id": m.member_id,
        "email_address": m.email,
        "unique_email_id": digest[:10],
        "contact_id": digest[10:42],
        "full_name": "",
        "web_id": int(digest[42:50], 16) % 900_000_000 + 100_000_000,
        "email_type": "html",
        "status": m.status_at(now),
        "merge_fields": {"FNAME": "", "LNAME": ""},
        "ip_signup": "",
        "timestamp_signup": _iso(m.signup_at),
        "ip_opt": "",
        "timestamp_opt": _iso(m.opt_at) if m.opt_at is not None and m.opt_at <= now else "",
        "last_changed": _iso(m.last_changed_at(now)),
        "language": "",
        "vip": False,
        "email_client": "",
        "source": "Import" if history else "Hosted Signup Form",
        "tags_count": 0,
        "tags": [],
        "list_id": m.audience.list_id,
    }


# ---- endpoints -----------------------------------------------------------------


def _campaign(request: Request, sent_only: bool) -> EmailCampaign:
    c = request.sandbox.world.mailchimp.by_id.get(request.match["campaign"])
    if c is None or c.create_time > request.sandbox.now or (sent_only and c.send_time > request.sandbox.now):
        raise _not_found()
    return c


def _audience(request: Request) -> Audience:
    audience = request.sandbox.world.mailchimp.audience(request.match["list"])
    if audience is None:
        raise _not_found()
    return audience


def _filter_type(request: Request) -> None:
    if request.query.get("type") not in (None, "", "regular"):
        raise _Problem(400, "Invalid Resource", "The sandbox sends regular campaigns only; type must be 'regular'.")


def list_campaigns(request: Request) -> dict:
    now, q = request.sandbox.now, request.query
    _filter_type(request)
    since, before = _instant(request, "since_send_time"), _instant(request, "before_send_time")
    since_created, before_created = _instant(request, "since_create_time"), _instant(request, "before_create_time")
    statuses = {s for s in q.get("status", "").split(",") if s}
    campaigns = []
    for c in request.sandbox.world.mailchimp.campaigns:
        sent = c.send_time <= now
        if c.create_time > now or (statuses and ("sent" if sent else "save") not in statuses):
            continue
        if (since or before) and (not sent or (since and c.send_time <= since) or (before and c.send_time > before)):
            continue
        if (since_created and c.create_time <= since_created) or (before_created and c.create_time > before_created):
            continue
        if q.get("list_id") and c.audience.list_id != q["list_id"]:
            continue
        campaigns.append(c)
    sort_field = q.get("sort_field", "create_time")
    if sort_field not in ("create_time", "send_time"):
        raise _Problem(400, "Invalid Resource", "sort_field must be create_time or send_time.")
    campaigns.sort(key=lambda c: (getattr(c, sort_field), c.campaign_id), reverse=q.get("sort_dir", "ASC").upper() == "DESC")
    return {"campaigns": [_campaign_record(request, c) for c in _page(campaigns, request)], "total_items": len(campaigns)}


def get_campaign(request: Request) -> dict:
    return _campaign_record(request, _campaign(request, sent_only=False))


def list_reports(request: Request) -> dict:
    _filter_type(request)
    since, before = _instant(request, "since_send_time"), _instant(request, "before_send_time")
    sent = [
        c
        for c in request.sandbox.world.mailchimp.sent_campaigns(request.sandbox.now)
        if not (since and c.send_time <= since) and not (before and c.send_time > before)
    ]
    return {"reports": [_report_record(request, c) for c in _page(sent, request)], "total_items": len(sent)}


def get_report(request: Request) -> dict:
    return _report_record(request, _campaign(request, sent_only=True))


def email_activity(request: Request) -> dict:
    c = _campaign(request, sent_only=False)
    count, offset = _paging(request)
    if c.send_time > request.sandbox.now:  # a draft has no recipients yet: an empty page, not a 404
        return {"emails": [], "campaign_id": c.campaign_id, "total_items": 0}
    since = _instant(request, "since")
    activity = request.sandbox.world.mailchimp.activity(c)
    positions = range(offset, min(offset + count, len(activity.recipients)))
    return {
        "emails": [_email_record(activity, p, request.sandbox.now, since) for p in positions],
        "campaign_id": c.campaign_id,
        "total_items": len(activity.recipients),
    }


def list_members(request: Request) -> dict:
    audience = _audience(request)
    now = request.sandbox.now
    since, before = _instant(request, "since_last_changed"), _instant(request, "before_last_changed")
    since_opt, before_opt = _instant(request, "since_timestamp_opt"), _instant(request, "before_timestamp_opt")
    status = request.query.get("status")
    if status and status not in ("subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived"):
        raise _Problem(400, "Invalid Resource", f"'{status}' is not a member status.")
    since, before, since_opt, before_opt = (epoch_seconds(t) if t else None for t in (since, before, since_opt, before_opt))
    count, offset = _paging(request)
    email = request.sandbox.world.mailchimp
    if since is None and before is None and since_opt is None and before_opt is None and not status:
        total, page = email.member_page(audience, now, offset, count)
    else:
        numbers = _matching_members(request, audience, (since, before, since_opt, before_opt, status))
        total, page = len(numbers), [email.member_row(audience, n) for n in numbers[offset : offset + count]]
    return {
        "members": [_member_record(request, members, i) for members, i in page],
        "list_id": audience.list_id,
        "total_items": total,
    }


def _matching_members(request: Request, audience: Audience, filters: tuple) -> array:
    """Numbers of the members a filtered listing matches, in member order; built once per clock and
    filters, because an incremental read asks page after page with the same ones."""
    sandbox = request.sandbox
    key = ("mailchimp-members", audience.list_id, sandbox.now, filters)
    numbers = sandbox.cache.get(key)
    if numbers is None:
        since, before, since_opt, before_opt, status = filters
        now = sandbox.now
        limit = epoch_seconds(now)
        numbers = array("i")
        for members, i in sandbox.world.mailchimp.member_rows(audience, now):
            if since is not None or before is not None:
                changed = members.last_changed(i, limit)
                if (since is not None and changed <= since) or (before is not None and changed > before):
                    continue
            if since_opt is not None or before_opt is not None:
                opt = members.opt[i]
                if (
                    opt < 0
                    or opt > limit
                    or (since_opt is not None and opt <= since_opt)
                    or (before_opt is not None and opt > before_opt)
                ):
                    continue
            if status and members.member(i).status_at(now) != status:
                continue
            numbers.append(members.first_number + i)
        sandbox.cache = {k: v for k, v in sandbox.cache.items() if k[:2] != key[:2]}  # keep one listing per audience
        sandbox.cache[key] = numbers
    return numbers


def _list_record(request: Request, audience: Audience) -> dict:
    world, now = request.sandbox.world, request.sandbox.now
    statuses: dict[str, int] = {"subscribed": 0, "unsubscribed": 0, "cleaned": 0, "pending": 0}
    last_sub = last_unsub = None
    for m in world.mailchimp.iter_members(audience, now):
        status = m.status_at(now)
        statuses[status] += 1
        if m.opt_at is not None and m.opt_at <= now:
            last_sub = max(last_sub or m.opt_at, m.opt_at)
        if status == "unsubscribed":
            last_unsub = max(last_unsub or m.leave_at, m.leave_at)
    sent = [c for c in world.mailchimp.sent_campaigns(now) if c.audience is audience]
    return {
        "id": audience.list_id,
        "web_id": audience.web_id,
        "name": audience.name,
        "contact": {
            "company": "Funnelhouse",
            "address1": "1 Market Street",
            "city": "San Francisco",
            "state": "CA",
            "zip": "94105",
            "country": "US",
        },
        "permission_reminder": "You signed up on funnelhouse.example.",
        "campaign_defaults": {"from_name": FROM_NAME, "from_email": REPLY_TO, "subject": "", "language": "en"},
        "date_created": _iso(datetime.combine(world.mailchimp.history_start, datetime.min.time(), UTC)),
        "double_optin": True,
        "visibility": "pub",
        "email_type_option": False,
        "stats": {
            "member_count": statuses["subscribed"],
            "unsubscribe_count": statuses["unsubscribed"],
            "cleaned_count": statuses["cleaned"],
            "campaign_count": len(sent),
            "campaign_last_sent": _iso(sent[-1].send_time) if sent else "",
            "last_sub_date": _iso(last_sub),
            "last_unsub_date": _iso(last_unsub),
        },
    }


def list_lists(request: Request) -> dict:
    return {"lists": [_list_record(request, a) for a in _page(list(AUDIENCES), request)], "total_items": len(AUDIENCES)}


def get_list(request: Request) -> dict:
    return _list_record(request, _audience(request))


def ping(request: Request) -> dict:
    return {"health_status": "Everything's Chimpy!"}


ROUTES = [
    ("GET", r"/3\.0/ping", _handler(ping)),
    ("GET", r"/3\.0/campaigns", _handler(list_campaigns)),
    ("GET", r"/3\.0/campaigns/(?P<campaign>[^/]+)", _handler(get_campaign)),
    ("GET", r"/3\.0/reports", _handler(list_reports)),
    ("GET", r"/3\.0/reports/(?P<campaign>[^/]+)", _handler(get_report)),
    ("GET", r"/3\.0/reports/(?P<campaign>[^/]+)/email-activity", _handler(email_activity)),
    ("GET", r"/3\.0/lists", _handler(list_lists)),
    ("GET", r"/3\.0/lists/(?P<list>[^/]+)", _handler(get_list)),
    ("GET", r"/3\.0/lists/(?P<list>[^/]+)/members", _handler(list_members)),
]
