"""The business's VK community: its wall posts, their comments, and the community's daily statistics.

The community (Moscow time) posts on about half the days: product news, cases, polls. Each post
gets its lifetime views, likes, reposts and comments when it is published (scaled by the scale
knob), arriving over the following COUNTER_DAYS along world_social's decaying curves, so a
counter read at any clock is the events before it and comments are records (id, author, time,
text) on the same curve: ``comments.count`` always equals the comments wall.getComments lists.

Daily statistics (stats.get, interval day) are sums of the same events per Moscow day: views of
the wall's posts plus visits to the community page, visitors and reach below them, likes, comments
and copies (reposts) that happened that day, and members who joined and left. The member count
(groups.getById members_count) is the starting audience plus every day's joins minus its leaves.
The posts carry no tracked links: the community is where the audience talks, not a traffic source.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from sandbox.draws import poisson
from sandbox.world_social import Curve

if TYPE_CHECKING:
    from sandbox.world import World

COUNTER_DAYS = 14
TZ = ZoneInfo("Europe/Moscow")
TOPICS = ("Новая версия дашборда", "Кейс клиента", "Опрос: какой отчёт нужен?", "Вебинар по сквозной аналитике",
          "Советы по UTM-меткам")


@dataclass(frozen=True)
class VkCommunity:
    group_id: int
    screen_name: str
    name: str
    members_at_start: int

    @property
    def owner_id(self) -> int:
        """A community's wall is owner_id = -group_id in the VK API."""
        return -self.group_id


VK_COMMUNITY = VkCommunity(219000001, "funnelhouse_ru", "Funnelhouse — сквозная аналитика", 9_500)


class VkComment(NamedTuple):
    comment_id: int
    from_id: int
    at: datetime
    text: str


@dataclass(frozen=True)
class VkPost:
    post_id: int
    published_at: datetime
    text: str
    views: Curve
    likes: Curve
    reposts: Curve
    comments: Curve

    def counters_at(self, as_of: datetime) -> dict[str, int]:
        return {name: getattr(self, name).count_at(as_of) for name in ("views", "likes", "reposts", "comments")}

    def comment(self, i: int) -> VkComment:
        rng = random.Random(f"vk_comment:{self.post_id}:{i}")
        return VkComment(self.post_id * 1000 + i + 1, rng.randrange(1_000_000, 900_000_000), self.comments.time_of(i),
                         rng.choice(("Отлично!", "А есть интеграция с 1С?", "Спасибо за кейс", "Когда вебинар?", "👍")))

    def comments_at(self, as_of: datetime) -> list[VkComment]:
        return [self.comment(i) for i in range(self.comments.count_at(as_of))]


class VkCommunityWorld:
    def __init__(self, world: World):
        self.world = world

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(day, time.min, TZ).astimezone(UTC)
        return start, datetime.combine(day + timedelta(days=1), time.min, TZ).astimezone(UTC)

    @cached_property
    def all_posts(self) -> list[VkPost]:
        """Every post of the simulated period, oldest first."""
        out = []
        w = self.world
        for n in range(w.days):
            day = w.start + timedelta(days=n)
            rng = random.Random(f"{w.seed}:vk_post:{day.isoformat()}")
            if rng.random() >= 0.5:
                continue
            start, _ = self.day_bounds(day)
            at = start + timedelta(hours=rng.uniform(9, 20))
            at = at.replace(microsecond=0)
            views = int(rng.uniform(1500, 4000) * w.scale)
            post_id = 1000 + n
            out.append(VkPost(post_id, at, f"{rng.choice(TOPICS)} #{post_id}", Curve(views, at, 10.0, COUNTER_DAYS),
                              Curve(int(views * rng.uniform(0.02, 0.05)), at, 14.0, COUNTER_DAYS),
                              Curve(int(views * rng.uniform(0.002, 0.008)), at, 18.0, COUNTER_DAYS),
                              Curve(int(views * rng.uniform(0.002, 0.01)), at, 20.0, COUNTER_DAYS)))
        return out

    def posts(self, as_of: datetime) -> list[VkPost]:
        """The wall at ``as_of``, newest first (as wall.get lists it)."""
        return [p for p in reversed(self.all_posts) if p.published_at <= as_of]

    def reported_days(self, as_of: datetime) -> list[date]:
        w = self.world
        return [w.start + timedelta(days=n) for n in range(w.days) if self.day_bounds(w.start + timedelta(days=n))[1] <= as_of]

    def day_stats(self, day: date) -> dict[str, int]:
        """stats.get's numbers for one Moscow day: the wall's events that day and the page's own."""
        start, end = self.day_bounds(day)
        rng = random.Random(f"{self.world.seed}:vk_stats:{day.isoformat()}")
        post_views = sum(p.views.between(start, end) for p in self.all_posts)
        views = post_views + poisson(rng, 120 * self.world.scale)
        reach = int(views * 0.8)
        return {"views": views, "visitors": int(views * 0.55), "reach": reach, "reach_subscribers": int(reach * 0.7),
                "likes": sum(p.likes.between(start, end) for p in self.all_posts),
                "comments": sum(p.comments.between(start, end) for p in self.all_posts),
                "copies": sum(p.reposts.between(start, end) for p in self.all_posts),
                "subscribed": poisson(rng, 14 * self.world.scale), "unsubscribed": poisson(rng, 5 * self.world.scale)}

    def members_at(self, as_of: datetime) -> int:
        """The members at ``as_of``: the start, plus the joins and leaves of every day that has ended."""
        count = int(VK_COMMUNITY.members_at_start * self.world.scale)
        for day in self.reported_days(as_of):
            stats = self.day_stats(day)
            count += stats["subscribed"] - stats["unsubscribed"]
        return count
