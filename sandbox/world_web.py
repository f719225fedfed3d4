"""The website side of the simulated business: GA4 sessions and page views.

Every visit is a session in one GA4 property whose reporting time zone is
``America/New_York`` (GA4's ``date`` is the property's local date). A paid click
(Meta or Google Ads) is a session tagged with its ad's UTM source, medium and
campaign; organic search, direct, referral, email and organic social traffic
make sessions of their own (email and organic social ones are the clicks of
Mailchimp campaigns and of Facebook / Instagram posts). A HubSpot contact is created in one of those
sessions, so each contact is a converting session on its creation instant.

Sessions are modelled in blocks, never one by one, so memory and time stay flat
as the scale knob grows: a block is "n sessions of one source/medium/campaign
landing on one page on one property date, k of which converted". Its engagement
(engaged sessions, duration, page views, the pages viewed and the exits) is
drawn for the block as a whole from the traffic profile of its channel.

Late hits: GA4 keeps changing the last 2-3 days. Each block is split into an
on-time part, visible once its property date has ended, and a small late part
that arrives between 3 and 72 hours later. A report therefore shows a day only
after it has ended and shows its final numbers three days after that.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sandbox.draws import apportion, fast_binomial, multinomial, poisson, sum_of_uniforms

PROPERTY_ID = "420000001"
PROPERTY_TIME_ZONE = "America/New_York"
PROPERTY_TZ = ZoneInfo(PROPERTY_TIME_ZONE)
PROPERTY_CURRENCY = "USD"

LATE_HIT_SHARE = 0.06  # of a block's non-converting sessions
LATE_HIT_HOURS = (3.0, 72.0)  # after the property date ends
BOUNCE_SECONDS = (0.0, 10.0)  # a session under 10 s with one page view and no conversion is not engaged


@dataclass(frozen=True)
class TrafficProfile:
    """How visitors of one channel behave on the site."""

    default_channel_group: str  # GA4's sessionDefaultChannelGroup
    engagement_rate: float  # of non-converting sessions
    extra_pages_per_engaged: float  # mean page views after the landing page, per engaged session
    mean_engaged_seconds: float


PROFILES = {
    "paid_social": TrafficProfile("Paid Social", 0.42, 1.2, 75.0),
    "paid_search": TrafficProfile("Paid Search", 0.62, 1.8, 110.0),
    "organic_search": TrafficProfile("Organic Search", 0.66, 2.2, 150.0),
    "direct": TrafficProfile("Direct", 0.58, 2.0, 140.0),
    "referral": TrafficProfile("Referral", 0.60, 2.0, 130.0),
    "email": TrafficProfile("Email", 0.70, 1.6, 120.0),
    "organic_social": TrafficProfile("Organic Social", 0.45, 1.1, 70.0),
}

# Pages visitors move on to after landing, with how much traffic each attracts.
CONTENT_PAGES: dict[str, float] = {
    "/": 5.0,
    "/pricing": 4.0,
    "/features": 4.0,
    "/demo": 2.0,
    "/customers": 2.0,
    "/integrations": 2.0,
    "/signup": 1.5,
    "/blog": 2.0,
    "/blog/attribution-models-explained": 1.5,
    "/blog/utm-tagging-guide": 1.5,
    "/blog/marketing-budget-template": 1.0,
    "/about": 1.0,
}


@dataclass(frozen=True)
class OrganicTraffic:
    """The sessions an organic channel brings: its GA4 tags and where visitors land."""

    source: str
    medium: str
    campaign: str | None  # GA4's campaign when the visit carries no utm_campaign
    contact_rate: float  # contacts per session
    landing_pages: tuple[tuple[str, float, float], ...]  # (path, weight on the first day, weight on the last day)


# One content trend on purpose, so "which content is falling" has an answer: the UTM
# guide loses organic traffic week over week while the attribution article gains it.
ORGANIC_TRAFFIC = {
    "organic_search": OrganicTraffic(
        "google",
        "organic",
        "(organic)",
        0.025,
        (
            ("/blog/utm-tagging-guide", 6.0, 1.0),
            ("/blog/attribution-models-explained", 2.0, 6.0),
            ("/blog/marketing-budget-template", 2.0, 2.0),
            ("/", 3.0, 3.0),
            ("/features", 1.5, 1.5),
            ("/pricing", 1.0, 1.0),
        ),
    ),
    "direct": OrganicTraffic(
        "(direct)",
        "(none)",
        "(direct)",
        0.03,
        (("/", 6.0, 6.0), ("/pricing", 2.0, 2.0), ("/signup", 1.0, 1.0), ("/demo", 1.0, 1.0)),
    ),
    "referral": OrganicTraffic(
        "partnerblog.example",
        "referral",
        "(referral)",
        0.04,
        (("/integrations", 3.0, 3.0), ("/blog/attribution-models-explained", 3.0, 3.0), ("/", 1.0, 1.0)),
    ),
}
# Email and organic-social sessions are not drawn here: they are the tracked clicks of Mailchimp
# campaigns (sandbox/world_email.py) and of Facebook / Instagram posts (sandbox/world_social.py).


def landing_weights(traffic: OrganicTraffic, progress: float) -> tuple[list[str], list[float]]:
    """Landing pages and their weights ``progress`` of the way (0..1) through the simulated period."""
    return (
        [p for p, _, _ in traffic.landing_pages],
        [first + (last - first) * progress for _, first, last in traffic.landing_pages],
    )


class PageViews:
    """A block's pages: iterates (pagePath, screenPageViews, sessions, exits, userEngagementDuration).

    Kept as the paths and one int64 array of (views, exits, engagement) per page, a third of
    the memory of a tuple per page, because every day's blocks stay in memory (World._reports).
    """

    __slots__ = ("paths", "counts")

    def __init__(self, pages: list[tuple[str, int, int, int, int]]):
        self.paths = tuple(path for path, *_ in pages)
        self.counts = array("q", [x for _, views, _, exits, engagement in pages for x in (views, exits, engagement)])

    def __iter__(self) -> Iterator[tuple[str, int, int, int, int]]:
        counts = self.counts
        for i, path in enumerate(self.paths):
            views = counts[3 * i]
            yield path, views, views, counts[3 * i + 1], counts[3 * i + 2]

    def __len__(self) -> int:
        return len(self.paths)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PageViews) and self.paths == other.paths and self.counts == other.counts

    def __hash__(self) -> int:
        return hash((self.paths, tuple(self.counts)))

    def __repr__(self) -> str:
        return f"PageViews({list(self)!r})"


@dataclass(frozen=True, slots=True)  # slots: every day's blocks stay in memory (World._reports)
class SessionBlock:
    """Sessions of one source/medium/campaign landing on one page on one property date.

    ``pages`` holds (pagePath, screenPageViews, sessions, exits, userEngagementDuration)
    per page these sessions viewed. Each page is viewed at most once per session, so a
    page's sessions equal its views; every session exits from exactly one page.
    """

    property_date: date
    arrives_at: datetime  # when GA4 shows these numbers (UTC)
    channel: str
    source: str
    medium: str
    campaign: str
    landing_page: str
    sessions: int
    engaged_sessions: int
    duration_seconds: int  # sum over sessions; also their user engagement duration
    page_views: int
    conversions: int  # sessions in which a contact was created
    pages: PageViews


def property_date(ts: datetime) -> date:
    return ts.astimezone(PROPERTY_TZ).date()


def property_day_end(day: date) -> datetime:
    """The UTC instant the property's date ``day`` ends."""
    return datetime.combine(day + timedelta(days=1), time.min, PROPERTY_TZ).astimezone(UTC)


def window_split(start: datetime, end: datetime) -> list[tuple[date, float]]:
    """How a time window [start, end) falls on property dates: (date, share of the window)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = (end - start).total_seconds()
    out = []
    cursor = start
    while cursor < end:
        day = property_date(cursor)
        stop = min(end, property_day_end(day))
        out.append((day, (stop - cursor).total_seconds() / total))
        cursor = stop
    return out


def split_by_window(rng: random.Random, n: int, start: datetime, end: datetime) -> dict[date, int]:
    """Spread ``n`` visits made uniformly in [start, end) over the property dates the window touches."""
    shares = window_split(start, end)
    counts = multinomial(rng, n, [s for _, s in shares])
    return {day: c for (day, _), c in zip(shares, counts, strict=True)}


def session_blocks(
    rng: random.Random,
    day: date,
    channel: str,
    source: str,
    medium: str,
    campaign: str,
    landing_page: str,
    sessions: int,
    conversions: int,
) -> list[SessionBlock]:
    """The on-time and the late part of ``sessions`` visits, ``conversions`` of which made a contact."""
    if sessions <= 0:
        return []
    profile = PROFILES[channel]
    day_end = property_day_end(day)
    late = fast_binomial(rng, sessions - conversions, LATE_HIT_SHARE)
    late_at = day_end + timedelta(hours=rng.uniform(*LATE_HIT_HOURS))
    blocks = []
    for n, k, arrives_at in ((sessions - late, conversions, day_end), (late, 0, late_at)):
        if n > 0:
            blocks.append(_block(rng, profile, day, arrives_at, channel, source, medium, campaign, landing_page, n, k))
    return blocks


def _block(
    rng: random.Random,
    profile: TrafficProfile,
    day: date,
    arrives_at: datetime,
    channel: str,
    source: str,
    medium: str,
    campaign: str,
    landing_page: str,
    n: int,
    k: int,
) -> SessionBlock:
    engaged = k + fast_binomial(rng, n - k, profile.engagement_rate)  # a converting session is engaged
    bounced = n - engaged
    extra_views = poisson(rng, engaged * profile.extra_pages_per_engaged)
    multi_page = min(engaged, extra_views)  # sessions that went past the landing page
    engaged_seconds = 0.0
    if engaged:
        engaged_seconds = 10.0 * engaged + rng.gammavariate(engaged, profile.mean_engaged_seconds - 10.0)
    duration = int(round(sum_of_uniforms(rng, bounced, *BOUNCE_SECONDS) + engaged_seconds))

    paths = [p for p in CONTENT_PAGES if p != landing_page]
    views = multinomial(rng, extra_views, [CONTENT_PAGES[p] for p in paths])
    exits = _spread_exits(rng, multi_page, views)
    all_views = [n, *views]
    engagement = apportion(duration, all_views)
    pages = [(landing_page, n, n, n - multi_page, engagement[0])]
    pages += [(p, v, v, e, s) for p, v, e, s in zip(paths, views, exits, engagement[1:], strict=True) if v]
    return SessionBlock(
        day,
        arrives_at,
        channel,
        source,
        medium,
        campaign,
        landing_page,
        n,
        engaged,
        duration,
        n + extra_views,
        k,
        PageViews(pages),
    )


def _spread_exits(rng: random.Random, exits: int, views: list[int]) -> list[int]:
    """Which of the ``sum(views)`` later page views were the last of their session (``exits`` of them)."""
    out = []
    remaining_exits, remaining_views = exits, sum(views)
    for v in views:
        if remaining_views == v:
            x = remaining_exits
        else:
            x = fast_binomial(rng, v, remaining_exits / remaining_views) if remaining_views else 0
            x = min(v, remaining_exits, max(x, remaining_exits - (remaining_views - v)))
        out.append(x)
        remaining_exits -= x
        remaining_views -= v
    return out


# ---- GA4's BigQuery export: the same sessions as events ---------------------------------------

EXPORT_SITE = "https://funnelhouse.example"
EXPORT_STREAM_ID = "4200000011"
EXPORT_DELAY = timedelta(hours=12)  # a day's events_YYYYMMDD table appears this long after the day ends
SECONDS_BETWEEN_VIEWS = 15


def export_ready(day: date, as_of: datetime) -> bool:
    """Whether the daily export table of property date ``day`` exists at ``as_of``."""
    return property_day_end(day) + EXPORT_DELAY <= as_of


def session_paths(block: SessionBlock) -> Iterator[list[str]]:
    """Each session of a block as the pages it viewed, in order: the landing page first, the exit page last.

    Consistent with the block's numbers: every page's views and exits add up to the block's, so the
    export's page views and exits per page are the Data API's page views and the world's exits.
    """
    pages = list(block.pages)
    landing_path, _, _, landing_exits, _ = pages[0]
    others = pages[1:]
    multi_page = block.sessions - landing_exits
    exit_pages = [path for path, _, _, exits, _ in others for _ in range(exits)]
    middles = [path for path, views, _, exits, _ in others for _ in range(views - exits)]
    for i in range(block.sessions):
        if i < multi_page:
            yield [landing_path, *middles[i::multi_page], exit_pages[i]]
        else:
            yield [landing_path]


def export_sessions(blocks: list[SessionBlock], day: date) -> Iterator[dict]:
    """The sessions of property date ``day`` as GA4's export identifies them, one dict each: user_pseudo_id,
    ga_session_id, start_us (the session_start event's timestamp, microseconds), arrives_us (when its
    events reach the table: late hits update it for three days), paths (the pages viewed, in order) and
    the session's source / medium / campaign.

    ``blocks`` are all of the day's blocks (late ones too), so ids do not depend on the clock.
    """
    start = property_day_end(day - timedelta(days=1))
    span = int((property_day_end(day) - start).total_seconds()) - 3600  # every session ends before midnight
    first_seen = int(start.timestamp())
    for k, block in enumerate(blocks):
        arrives_us = int(block.arrives_at.timestamp() * 1_000_000)
        for i, paths in enumerate(session_paths(block)):
            session_start = first_seen + (k * 7919 + i * 104729) % span
            yield {
                "user_pseudo_id": f"{1_000_000_000 + (k * 100_003 + i) % 1_000_000_000}.{first_seen}",
                "ga_session_id": session_start,
                "start_us": session_start * 1_000_000,
                "arrives_us": arrives_us,
                "paths": paths,
                "source": block.source,
                "medium": block.medium,
                "campaign": block.campaign,
            }
