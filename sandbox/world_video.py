"""The business's YouTube channel: its videos' daily views, watch time, reactions and subscribers,
the comments people leave, and the visits the videos' tagged links bring to the site.

Each video (VIDEOS) is watched from the day it is published, most in its first days (a decay per
day of age), less at weekends. A day's numbers: views, estimatedMinutesWatched (minutes, whole),
averageViewDuration (seconds, whole), likes, comments, shares, subscribersGained, subscribersLost.
YouTube Analytics shows a day ANALYTICS_LAG after the day ends (Pacific time): the latest days are
missing from a report, however far its endDate reaches.

A share of the viewers click the link in the description, tagged utm_source=youtube,
utm_medium=video, utm_campaign=<video id> (GA4's Organic Video channel): those clicks are GA4
sessions of the world (sandbox/world.py ``_video_day``), on the video's landing page. The videos make
no CRM contacts in this world, so a video's leads and customers are 0 here (see README).

Comments: every comment the day's ``comments`` counts is a top-level comment thread with a
deterministic id, text, author and instant (the commentThreads the Data API lists).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sandbox.draws import fast_binomial, poisson

if TYPE_CHECKING:
    from sandbox.world import World

PACIFIC = ZoneInfo("America/Los_Angeles")
CHANNEL_ID = "UCfunnelhouseDemoChan001"  # 24 characters, as YouTube channel ids are
CHANNEL_TITLE = "Funnelhouse"
UPLOADS_PLAYLIST_ID = "UU" + CHANNEL_ID[2:]  # YouTube's uploads playlist: the channel id with UU for UC
ANALYTICS_LAG = timedelta(hours=48)
SUBSCRIBERS_BEFORE = 1_800  # the channel's subscribers before the simulated period
COMMENT_TEXTS = ("Great walkthrough, thanks!", "Which attribution model do you use yourselves?",
                 "This finally made UTM tags click for me.", "Could you share the template?",
                 "Audio is a bit quiet.", "Exactly what I needed for our Q3 budget.", "How does this work with GA4?")


@dataclass(frozen=True)
class Video:
    video_id: str  # 11 characters
    title: str
    published: date
    duration_s: int
    views_per_day: float  # on its first day
    decay: float  # share of the day before's views a day later
    watched_share: float  # mean share of the video a view watches
    like_rate: float
    comment_rate: float
    share_rate: float
    subscribe_rate: float
    unsubscribe_rate: float
    click_rate: float  # views whose viewer clicks the tagged link
    landing_page: str

    @property
    def utm_campaign(self) -> str:
        return self.video_id


VIDEOS = (
    Video("fhUtmGuide1", "UTM tagging in 8 minutes", date(2026, 5, 20), 480, 260.0, 0.985, 0.46,
          0.045, 0.006, 0.004, 0.010, 0.001, 0.012, "/blog/utm-tagging-guide"),
    Video("fhAttrModel", "Attribution models, explained", date(2026, 6, 10), 720, 420.0, 0.975, 0.41,
          0.052, 0.009, 0.006, 0.014, 0.0015, 0.015, "/blog/attribution-models-explained"),
    Video("fhBudgetTpl", "Build a marketing budget that holds", date(2026, 7, 1), 600, 300.0, 0.97, 0.38,
          0.040, 0.005, 0.008, 0.009, 0.001, 0.02, "/blog/marketing-budget-template"),
    Video("fhDemoTour1", "Funnelhouse product tour", date(2026, 7, 20), 300, 180.0, 0.98, 0.55,
          0.030, 0.003, 0.002, 0.006, 0.0008, 0.03, "/demo"),
    Video("fhGa4Report", "GA4 reports marketers actually need", date(2026, 8, 12), 900, 520.0, 0.96, 0.35,
          0.060, 0.012, 0.007, 0.018, 0.002, 0.01, "/features"),
)
BY_ID = {v.video_id: v for v in VIDEOS}


def day_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, PACIFIC).astimezone(UTC)


def is_reported(day: date, as_of: datetime) -> bool:
    """True once YouTube Analytics shows ``day``."""
    return as_of >= day_end(day) + ANALYTICS_LAG


@dataclass(frozen=True, slots=True)
class VideoDay:
    video_id: str
    day: date  # Pacific
    views: int
    minutes_watched: int
    likes: int
    comments: int
    shares: int
    subscribers_gained: int
    subscribers_lost: int
    link_clicks: int

    @property
    def average_view_duration_s(self) -> int:
        return round(self.minutes_watched * 60 / self.views) if self.views else 0


@dataclass(frozen=True, slots=True)
class Comment:
    comment_id: str
    video_id: str
    published_at: datetime
    author: str
    text: str
    like_count: int


class VideoWorld:
    def __init__(self, world: World):
        self.world = world
        self._days: dict[date, list[VideoDay]] = {}

    @property
    def first_day(self) -> date:
        return min(v.published for v in VIDEOS)

    def days_of(self, day: date) -> list[VideoDay]:
        """Every published video's numbers on Pacific day ``day`` (the world's days only)."""
        cached = self._days.get(day)
        if cached is None:
            cached = self._days[day] = self._generate(day)
        return cached

    def _generate(self, day: date) -> list[VideoDay]:
        if day > self.world.end or day < self.first_day:
            return []
        weekday = 0.85 if day.weekday() >= 5 else 1.0
        out = []
        for video in VIDEOS:
            if day < video.published:
                continue
            rng = random.Random(f"{self.world.seed}:video:{day.isoformat()}:{video.video_id}")
            views = poisson(rng, video.views_per_day * video.decay ** (day - video.published).days * weekday)
            minutes = round(views * video.duration_s * video.watched_share * rng.uniform(0.9, 1.1) / 60)
            out.append(VideoDay(video.video_id, day, views, minutes, fast_binomial(rng, views, video.like_rate),
                                fast_binomial(rng, views, video.comment_rate), fast_binomial(rng, views, video.share_rate),
                                fast_binomial(rng, views, video.subscribe_rate), fast_binomial(rng, views, video.unsubscribe_rate),
                                fast_binomial(rng, views, video.click_rate)))
        return out

    def reported(self, since: date, until: date, as_of: datetime) -> list[VideoDay]:
        """The video days YouTube Analytics shows at ``as_of`` in [since, until]."""
        out = []
        day = max(since, self.first_day)
        while day <= until:
            if is_reported(day, as_of):
                out.extend(self.days_of(day))
            day += timedelta(days=1)
        return out

    def totals(self, video_id: str, as_of: datetime) -> dict[str, int]:
        """The video's lifetime counters as the Data API's statistics show them at ``as_of`` (live, no lag)."""
        sums = {"viewCount": 0, "likeCount": 0, "commentCount": 0}
        video = BY_ID[video_id]
        day = video.published
        while day <= self.world.end and datetime.combine(day, time.min, PACIFIC) <= as_of:
            for d in self.days_of(day):
                if d.video_id == video_id:
                    sums["viewCount"] += d.views
                    sums["likeCount"] += d.likes
                    sums["commentCount"] += d.comments
            day += timedelta(days=1)
        return sums

    def subscribers(self, as_of: datetime) -> int:
        gained = lost = 0
        day = self.first_day
        while day <= self.world.end and day_end(day) <= as_of:
            for d in self.days_of(day):
                gained += d.subscribers_gained
                lost += d.subscribers_lost
            day += timedelta(days=1)
        return SUBSCRIBERS_BEFORE + gained - lost

    def comments(self, video_id: str, as_of: datetime) -> list[Comment]:
        """The video's comment threads published by ``as_of``, newest first (the API's default order)."""
        out = []
        video = BY_ID[video_id]
        day = video.published
        while day <= self.world.end:
            for d in self.days_of(day):
                if d.video_id != video_id:
                    continue
                rng = random.Random(f"{self.world.seed}:comments:{day.isoformat()}:{video_id}")
                start = datetime.combine(day, time.min, PACIFIC).astimezone(UTC)
                for n in range(d.comments):
                    at = start + timedelta(seconds=rng.uniform(0, 86_399))
                    if at <= as_of:
                        out.append(Comment(f"Ugz{video_id}{day:%Y%m%d}{n:03d}", video_id, at.replace(microsecond=0),
                                           f"Viewer {rng.randrange(10_000):04d}", rng.choice(COMMENT_TEXTS), rng.randrange(6)))
            day += timedelta(days=1)
        out.sort(key=lambda c: (c.published_at, c.comment_id), reverse=True)
        return out

    def link_clicks(self, day: date) -> list[tuple[Video, int, datetime, datetime]]:
        """(video, tracked clicks, window start, window end) of Pacific day ``day``: the sessions its links made."""
        start = datetime.combine(day, time.min, PACIFIC).astimezone(UTC)
        return [(BY_ID[d.video_id], d.link_clicks, start, day_end(day)) for d in self.days_of(day) if d.link_clicks]
