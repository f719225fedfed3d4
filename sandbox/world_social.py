"""Organic social in the simulated business: a Facebook page and an Instagram account.

The page posts on most weekdays (links to the blog, photos, videos); the Instagram
account publishes images, carousels and reels on most days. Each post gets its
lifetime numbers when it is published (impressions, reach, reactions or likes,
comments, shares, saves and link clicks, all scaled by the scale knob), and those
numbers arrive over the following ``COUNTER_DAYS`` days (link clicks within
``LINK_CLICK_DAYS``, while the post is fresh in feeds) along one decaying curve
per counter: the ``i``-th like of a post happens at a fixed instant, so a counter
read at any clock is the number of events before it, re-reads of recent posts
change, and old posts stop changing. Comments are records (id, message, time)
on the same kind of curve, so ``comments_count`` always equals the comments listed.

Link clicks become the website's organic-social sessions. Every post links to one
page of the site tagged ``utm_source=facebook|instagram``, ``utm_medium=social``
and ``utm_campaign=<the post's or media's Graph id>``, so a session (and a HubSpot
contact made in it) names the very post that brought it. (Instagram feed posts
have no clickable links: their clicks are the bio link, which a link-in-bio tool
tags with the newest media's id.) ``TRACKED_CLICK_SHARE`` of the clicks reach the
site's analytics; per post, clicks >= sessions >= contacts.

Instagram media come in the product types Graph tells apart (``media_product_type``): FEED images and
carousels, and REELS (every video published since 2022 is a reel). The account became a business
account on the third day of the simulated period (``BUSINESS_SINCE_DAY``): its earlier media have
counters, but Graph answers their insights with error 100 / 2108006, as it does for media posted
before a personal account was converted.

Page insights are daily, for days of the page's time zone (America/Los_Angeles, so
Graph's ``end_time`` is 07:00 UTC in summer): page media views (post impressions
plus visits to the page itself; Graph's ``page_media_view``), post engagements
(reactions, comments, shares and link clicks of that day) and followers at the end of
the day (``page_follows``; the count grows with engagement). Only days that overlap the simulated period and have ended are shown.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sandbox.draws import fast_binomial, poisson
from sandbox.world_frame import WorldFrame

COUNTER_DAYS = 14  # a post's counters grow for two weeks after publishing
LINK_CLICK_DAYS = 3  # its link clicks come while it is fresh in feeds
TRACKED_CLICK_SHARE = 0.9  # link clicks the website's analytics records as a session
CONTACT_RATE = 0.02  # of those sessions, the ones that create a HubSpot contact
SITE = "https://funnelhouse.example"
UTM_MEDIUM = "social"
ACCOUNT_TIME_ZONE = "America/Los_Angeles"
ACCOUNT_TZ = ZoneInfo(ACCOUNT_TIME_ZONE)
BUSINESS_SINCE_DAY = 2  # the Instagram account became a business account at the start of the period's third day


@dataclass(frozen=True)
class SocialAccount:
    account_id: str
    platform: str  # facebook | instagram
    name: str
    username: str
    audience_at_start: int  # fans or followers on the first day, before the scale knob


FACEBOOK_PAGE = SocialAccount("104000000000001", "facebook", "Funnelhouse", "funnelhouse", 12_000)
INSTAGRAM_ACCOUNT = SocialAccount("17841400000000001", "instagram", "Funnelhouse", "funnelhouse.app", 8_500)
SOCIAL_ACCOUNTS = (FACEBOOK_PAGE, INSTAGRAM_ACCOUNT)

# A steady editorial calendar: the page posts every weekday, the Instagram account every day,
# each cycling through its formats and through the pages it links to, and a post's size varies
# a little only. Social traffic to each page is therefore flat week over week, so the one content
# trend the website plants (world_web.ORGANIC_TRAFFIC) stays the only one a content mart finds.
LANDING_CYCLE = ("/", "/customers", "/blog/utm-tagging-guide", "/", "/customers")
POST_SIZE_SIGMA = 0.15  # lognormal spread of a post's reach around its format's mean

# Format cycles and each format's link click rate (of reach); Facebook formats are post types,
# Instagram ones media types (a VIDEO is a reel, with twice the reach).
FACEBOOK_CYCLE = ("link", "link", "photo", "link", "video")
INSTAGRAM_CYCLE = ("IMAGE", "VIDEO", "CAROUSEL_ALBUM", "IMAGE", "VIDEO")
CLICK_RATES = {"link": 0.03, "photo": 0.008, "video": 0.006, "IMAGE": 0.02, "CAROUSEL_ALBUM": 0.02, "VIDEO": 0.02}

FACEBOOK_TEXT = {
    "link": (
        "New on the blog: how to tag every campaign so your funnel adds up.",
        "Budget season: our free template, updated.",
        "Attribution models explained in five minutes.",
        "What 300 marketing teams told us about ROI.",
    ),
    "photo": (
        "Behind the scenes at Funnelhouse HQ.",
        "Our team at the analytics meetup this week.",
        "One chart every CMO should see on Monday.",
    ),
    "video": ("Watch: building a channel report in 90 seconds.", "Customer story: from spreadsheets to one funnel."),
}
INSTAGRAM_TEXT = {
    "IMAGE": ("Monday metrics mood.", "The funnel, drawn by our designer.", "Link in bio: the UTM guide."),
    "CAROUSEL_ALBUM": (
        "5 dashboards we love (swipe).",
        "Before and after: one source of truth.",
        "Step by step: tag, track, attribute.",
    ),
    "VIDEO": ("60 seconds to a cleaner funnel.", "POV: your attribution finally adds up.", "Reel: budget template walkthrough."),
}
COMMENTS = (
    ("positive", "Love this, thanks for sharing!"),
    ("positive", "Super helpful, bookmarked."),
    ("positive", "This is exactly what our team needed."),
    ("positive", "Great tips as always 🙌"),
    ("neutral", "Interesting. Does it work with HubSpot?"),
    ("neutral", "Is there a version for agencies?"),
    ("neutral", "Where can I find the template?"),
    ("neutral", "Tagging @marketing_team"),
    ("negative", "The link is broken for me."),
    ("negative", "Pricing is too high for small teams."),
    ("negative", "Still waiting for the GA4 integration..."),
)


@dataclass(frozen=True)
class Curve:
    """``total`` events after ``start``, spread along an exponential decay (mean ``tau_hours``)
    truncated at ``days``. Event ``i`` happens at the (i + 1/2)/total quantile, in whole seconds."""

    total: int
    start: datetime
    tau_hours: float
    days: int = COUNTER_DAYS

    def time_of(self, i: int) -> datetime:
        horizon = self.days * 24.0
        x = (i + 0.5) / self.total
        hours = -self.tau_hours * math.log(1.0 - x * (1.0 - math.exp(-horizon / self.tau_hours)))
        return self.start + timedelta(seconds=int(hours * 3600))

    def count_at(self, as_of: datetime) -> int:
        """Events at or before ``as_of``."""
        if self.total <= 0 or as_of < self.start:
            return 0
        lo, hi = 0, self.total  # the first event after as_of is in [lo, hi]
        while lo < hi:
            mid = (lo + hi) // 2
            if self.time_of(mid) <= as_of:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def between(self, start: datetime, end: datetime) -> int:
        """Events in [start, end)."""
        return self.count_at(end - timedelta(microseconds=1)) - self.count_at(start - timedelta(microseconds=1))


class Comment(NamedTuple):
    comment_id: str
    message: str
    sentiment: str
    created_at: datetime


@dataclass(frozen=True)
class SocialPost:
    """A Facebook page post or an Instagram media, with its lifetime counters as curves."""

    account: SocialAccount
    post_id: str
    number: int
    published_at: datetime
    kind: str  # Facebook: link | photo | video; Instagram media_type: IMAGE | CAROUSEL_ALBUM | VIDEO
    text: str
    landing_page: str
    impressions: Curve
    reach: Curve
    likes: Curve  # Facebook reactions, Instagram likes
    comments: Curve
    shares: Curve
    saves: Curve  # Instagram only
    link_clicks: Curve
    seed: int = field(compare=False, default=0)

    @property
    def platform(self) -> str:
        return self.account.platform

    @property
    def utm_source(self) -> str:
        return self.account.platform

    @property
    def utm_campaign(self) -> str:
        return self.post_id

    @property
    def url(self) -> str:
        return f"{SITE}{self.landing_page}?utm_source={self.utm_source}&utm_medium={UTM_MEDIUM}&utm_campaign={self.utm_campaign}"

    @property
    def media_product_type(self) -> str:
        return "REELS" if self.kind == "VIDEO" else "FEED"

    @property
    def shortcode(self) -> str:
        return hashlib.sha256(f"{self.seed}:shortcode:{self.post_id}".encode()).hexdigest()[:11]

    @property
    def permalink(self) -> str:
        if self.platform == "facebook":
            return f"https://www.facebook.com/{self.account.account_id}/posts/{self.post_id.split('_')[1]}"
        return f"https://www.instagram.com/{'reel' if self.kind == 'VIDEO' else 'p'}/{self.shortcode}/"

    @property
    def message(self) -> str:
        """The post's text with its tagged link (Facebook link posts carry it; Instagram points to the bio)."""
        if self.platform == "facebook":
            return f"{self.text} {self.url}"
        return f"{self.text} #marketinganalytics"

    def comment(self, i: int) -> Comment:
        rng = random.Random(f"{self.seed}:comment:{self.post_id}:{i}")
        sentiment, message = rng.choice(COMMENTS)
        if self.platform == "facebook":
            comment_id = f"{self.post_id.split('_')[1]}_{1_000_000 + i}"
        else:
            comment_id = str(18_000_000_000_000_000 + self.number * 100_000 + i)
        return Comment(comment_id, message, sentiment, self.comments.time_of(i))

    def comments_at(self, as_of: datetime, since: datetime | None = None) -> CommentList:
        """The comments made by ``as_of`` (from ``since`` on), oldest first, made only when read."""
        first = self.comments.count_at(since - timedelta(microseconds=1)) if since else 0
        return CommentList(self, first, max(first, self.comments.count_at(as_of)))

    def counters_at(self, as_of: datetime) -> dict[str, int]:
        return {
            "impressions": self.impressions.count_at(as_of),
            "reach": self.reach.count_at(as_of),
            "likes": self.likes.count_at(as_of),
            "comments": self.comments.count_at(as_of),
            "shares": self.shares.count_at(as_of),
            "saved": self.saves.count_at(as_of),
            "link_clicks": self.link_clicks.count_at(as_of),
        }

    def engagements_between(self, start: datetime, end: datetime) -> int:
        """Reactions, comments, shares and link clicks in [start, end): Facebook's post engagements."""
        return sum(c.between(start, end) for c in (self.likes, self.comments, self.shares, self.link_clicks))


class CommentList(Sequence):
    """Comments ``first`` to ``stop - 1`` of a post, in order, each made when it is read.

    A post at scale 100 has thousands of comments: a page of 25 or a summary's total_count must not
    make them all. Comment times never decrease with the index, so paging cursors are found by bisection.
    """

    def __init__(self, post: SocialPost, first: int, stop: int, descending: bool = False):
        self.post, self.first, self.stop, self.descending = post, first, stop, descending

    def __len__(self) -> int:
        return self.stop - self.first

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self.post.comment(self.stop - 1 - i if self.descending else self.first + i)

    def newest_first(self) -> CommentList:
        """The same comments, newest first (Graph's order=reverse_chronological)."""
        return CommentList(self.post, self.first, self.stop, descending=True)


class LinkClicks(NamedTuple):
    """A post's link clicks in one window of one UTC day (the window starts at publishing, at the earliest)."""

    post: SocialPost
    clicks: int
    start: datetime
    end: datetime


def account_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants a day of the accounts' time zone begins and ends."""
    return (
        datetime.combine(day, time.min, ACCOUNT_TZ).astimezone(UTC),
        datetime.combine(day + timedelta(days=1), time.min, ACCOUNT_TZ).astimezone(UTC),
    )


class SocialWorld:
    """The page and the Instagram account of one World; posts are cheap and kept, counters are curves."""

    def __init__(self, frame: WorldFrame):
        self.frame = frame
        # When the Instagram account was last converted to a business account (Graph has no insights
        # for media posted before then).
        self.instagram_business_since = datetime.combine(
            frame.start + timedelta(days=BUSINESS_SINCE_DAY), time.min, ACCOUNT_TZ
        ).astimezone(UTC)
        self._posts: dict[date, list[SocialPost]] = {}
        self._page_days: dict[tuple[str, date], dict[str, int]] = {}
        self._lock = threading.Lock()

    # ---- posts ------------------------------------------------------------------

    def posts_on(self, day: date) -> list[SocialPost]:
        """Posts and media published on the UTC day ``day`` (both accounts), in publishing order."""
        if not 0 <= (day - self.frame.start).days < self.frame.days:
            return []
        with self._lock:
            if day in self._posts:
                return self._posts[day]
        posts = self._generate_posts(day)
        with self._lock:
            self._posts.setdefault(day, posts)
            return self._posts[day]

    @cached_property
    def by_id(self) -> dict[str, SocialPost]:
        return {p.post_id: p for day in self._world_days() for p in self.posts_on(day)}

    def _world_days(self) -> Iterator[date]:
        for i in range(self.frame.days):
            yield self.frame.start + timedelta(days=i)

    def posts(self, account: SocialAccount, as_of: datetime) -> list[SocialPost]:
        """The account's posts published by ``as_of``, newest first (the order Graph pages in)."""
        out = [p for day in self._world_days() for p in self.posts_on(day) if p.account is account and p.published_at <= as_of]
        out.sort(key=lambda p: (p.published_at, p.post_id), reverse=True)
        return out

    def _generate_posts(self, day: date) -> list[SocialPost]:
        day_index = (day - self.frame.start).days
        out = []
        for account, cycle, hours, impressions_mean, tau in (
            (FACEBOOK_PAGE, FACEBOOK_CYCLE, (9, 18), 6000.0, 10.0),
            (INSTAGRAM_ACCOUNT, INSTAGRAM_CYCLE, (11, 20), 4500.0, 16.0),
        ):
            if account is FACEBOOK_PAGE and day.weekday() >= 5:
                continue
            # The post's place in its account's calendar (Facebook counts weekdays only).
            ordinal = (
                day_index
                if account is INSTAGRAM_ACCOUNT
                else sum(1 for i in range(day_index) if (self.frame.start + timedelta(days=i)).weekday() < 5)
            )
            rng = self.frame.rng(f"social:{account.platform}", day, account.account_id)
            seconds = rng.uniform(hours[0] * 3600, hours[1] * 3600)
            number = day_index * 10
            published = (datetime.combine(day, time.min, ACCOUNT_TZ) + timedelta(seconds=int(seconds))).astimezone(UTC)
            kind = cycle[(ordinal + ordinal // len(cycle)) % len(cycle)]  # shifted each round: formats meet every page
            click_rate = CLICK_RATES[kind]
            landing = LANDING_CYCLE[ordinal % len(LANDING_CYCLE)]
            text = rng.choice((FACEBOOK_TEXT if account is FACEBOOK_PAGE else INSTAGRAM_TEXT)[kind])
            size = (
                impressions_mean * self.frame.scale * rng.lognormvariate(0, POST_SIZE_SIGMA) * (2.0 if kind == "VIDEO" else 1.0)
            )
            if account is FACEBOOK_PAGE:
                post_id = f"{account.account_id}_{810_000_000_000 + number}"
                impressions = int(size)
                reach = int(impressions * rng.uniform(0.6, 0.8))
                likes, saves = fast_binomial(rng, reach, 0.03), 0
                comments, shares = fast_binomial(rng, reach, 0.004), fast_binomial(rng, reach, 0.003)
            else:
                post_id = str(17_900_000_000_000_000 + number)
                reach = int(size)
                impressions = int(reach * rng.uniform(1.2, 1.6))
                likes, saves = fast_binomial(rng, reach, 0.05), fast_binomial(rng, reach, 0.006)
                comments, shares = fast_binomial(rng, reach, 0.005), fast_binomial(rng, reach, 0.004)
            clicks = fast_binomial(rng, reach, click_rate)
            curve = lambda total, t=tau, at=published: Curve(total, at, t)  # noqa: E731
            out.append(
                SocialPost(
                    account,
                    post_id,
                    number,
                    published,
                    kind,
                    text,
                    landing,
                    curve(impressions),
                    curve(reach),
                    curve(likes),
                    Curve(comments, published, tau * 0.8),
                    curve(shares),
                    curve(saves),
                    Curve(clicks, published, tau * 0.6, LINK_CLICK_DAYS),
                    seed=self.frame.seed,
                )
            )
        return out

    def recent_posts(self, start: datetime, end: datetime, days: int = COUNTER_DAYS) -> Iterator[SocialPost]:
        """Posts whose counters (of ``days`` days) may move in [start, end)."""
        day = max(self.frame.start, (start - timedelta(days=days + 1)).date())
        while day <= min(self.frame.end, end.date()):
            for p in self.posts_on(day):
                if p.published_at < end and p.published_at + timedelta(days=days) > start:
                    yield p
            day += timedelta(days=1)

    def link_clicks_on(self, day: date) -> list[LinkClicks]:
        """Link clicks of every post on the UTC day ``day``."""
        day_start = datetime.combine(day, time.min, UTC)
        day_end = day_start + timedelta(days=1)
        out = []
        for p in self.recent_posts(day_start, day_end, LINK_CLICK_DAYS):
            n = p.link_clicks.between(day_start, day_end)
            if n:
                out.append(LinkClicks(p, n, max(day_start, p.published_at), day_end))
        return out

    # ---- daily account insights ---------------------------------------------------

    @property
    def account_days(self) -> tuple[date, date]:
        """The first and last day of the accounts' time zone that overlap the simulated period."""
        first = datetime.combine(self.frame.start, time.min, UTC).astimezone(ACCOUNT_TZ).date()
        last = (self.frame.default_now - timedelta(microseconds=1)).astimezone(ACCOUNT_TZ).date()
        return first, last

    def account_day(self, account: SocialAccount, day: date) -> dict[str, int]:
        """impressions, engagements, new_audience and audience (fans / followers at the end of the day)."""
        key = (account.account_id, day)
        with self._lock:
            if key in self._page_days:
                return self._page_days[key]
        first, _ = self.account_days
        previous = (
            self.account_day(account, day - timedelta(days=1))["audience"]
            if day > first
            else int(account.audience_at_start * self.frame.scale)
        )
        start, end = account_day_bounds(day)
        impressions = engagements = 0
        for p in self.recent_posts(start, end):
            if p.account is account:
                impressions += p.impressions.between(start, end)
                engagements += p.engagements_between(start, end)
        rng = self.frame.rng(f"social_day:{account.platform}", day, account.account_id)
        impressions += poisson(rng, 400 * self.frame.scale)  # visits to the page itself
        gained = poisson(rng, 0.01 * engagements + 4 * self.frame.scale)
        lost = poisson(rng, 1.2 * self.frame.scale)
        facts = {
            "impressions": impressions,
            "engagements": engagements,
            "new_audience": gained - lost,
            "audience": previous + gained - lost,
        }
        with self._lock:
            self._page_days.setdefault(key, facts)
            return self._page_days[key]

    def has_insights(self, post: SocialPost) -> bool:
        """Whether Graph serves the media's insights: not for media posted before the business conversion."""
        return post.platform != "instagram" or post.published_at >= self.instagram_business_since

    def reported_days(self, as_of: datetime) -> list[date]:
        """Account days that have ended at ``as_of`` (Graph reports a day once it is over)."""
        first, last = self.account_days
        out = []
        day = first
        while day <= last and account_day_bounds(day)[1] <= as_of:
            out.append(day)
            day += timedelta(days=1)
        return out

    def audience_at(self, account: SocialAccount, as_of: datetime) -> int:
        """Fans / followers at ``as_of``: as of the end of the last day that has ended."""
        days = self.reported_days(as_of)
        return self.account_day(account, days[-1])["audience"] if days else int(account.audience_at_start * self.frame.scale)


def day_of(ts: datetime) -> date:
    """The accounts' day of an instant."""
    return ts.astimezone(ACCOUNT_TZ).date()


__all__ = [
    "ACCOUNT_TIME_ZONE",
    "CONTACT_RATE",
    "COUNTER_DAYS",
    "FACEBOOK_PAGE",
    "INSTAGRAM_ACCOUNT",
    "SOCIAL_ACCOUNTS",
    "Comment",
    "CommentList",
    "Curve",
    "LinkClicks",
    "SocialAccount",
    "SocialPost",
    "SocialWorld",
    "account_day_bounds",
    "day_of",
]
