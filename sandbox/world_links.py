"""The links other sites make to the business's site, as Yandex Webmaster sees them.

Referring sites (REFERRERS) link to the site's pages over time: each link is discovered on a
day (``discovery_date``) and some are lost again later (the page removed, the link edited out),
so the set a crawler knows changes from one run to the next. Yandex lists the links it knows at
an instant (``known``) and keeps a daily count (``total_on``). Ground truth per week:
``weekly``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sandbox.draws import poisson

if TYPE_CHECKING:
    from sandbox.world import World

USER_ID = "880000001"
HOST_ID = "https:www.funnelhouse.example:443"  # Yandex Webmaster's host id: scheme:host:port
ORIGIN = "https://www.funnelhouse.example"
REFERRERS = ("partnerblog.example", "martech-weekly.example", "growthforum.example", "agency-notes.example",
             "saasreviews.example", "analytics-digest.example", "dev.to.example", "marketingstack.example")
PAGES = ("/", "/blog/utm-tagging-guide", "/blog/attribution-models-explained", "/blog/marketing-budget-template",
         "/integrations", "/pricing")
LINKS_BEFORE = 40  # links known before the simulated period
NEW_PER_DAY = 0.9
LOST_SHARE = 0.25  # of links, lost at some point after discovery
LIFETIME_DAYS = (10, 70)


@dataclass(frozen=True, slots=True)
class Link:
    source_url: str
    destination_url: str
    discovered: date
    lost: date | None  # the first day Yandex no longer lists it

    @property
    def domain(self) -> str:
        return self.source_url.split("/")[2]

    def known_on(self, day: date) -> bool:
        return self.discovered <= day and (self.lost is None or day < self.lost)


class LinkWorld:
    def __init__(self, world: World):
        self.world = world
        self._links: list[Link] | None = None

    @property
    def links(self) -> list[Link]:
        if self._links is None:
            self._links = self._generate()
        return self._links

    def _generate(self) -> list[Link]:
        rng = random.Random(f"{self.world.seed}:links")
        out = []
        days = [self.world.start - timedelta(days=rng.randrange(1, 400)) for _ in range(LINKS_BEFORE)]
        for offset in range(self.world.days):
            day = self.world.start + timedelta(days=offset)
            days += [day] * poisson(rng, NEW_PER_DAY)
        for n, discovered in enumerate(sorted(days)):
            domain = rng.choice(REFERRERS)
            lost = None
            if rng.random() < LOST_SHARE:
                lost = max(discovered + timedelta(days=rng.randint(*LIFETIME_DAYS)), self.world.start + timedelta(days=rng.randrange(self.world.days)))
            out.append(Link(f"https://{domain}/posts/{n:04d}-{rng.randrange(10_000):04d}", ORIGIN + rng.choice(PAGES),
                            discovered, lost))
        return out

    def known(self, as_of: datetime) -> list[Link]:
        """The links Yandex lists at ``as_of`` (its day in UTC), newest discovery first."""
        day = as_of.date()
        return sorted((link for link in self.links if link.known_on(day)), key=lambda k: (k.discovered, k.source_url), reverse=True)

    def total_on(self, day: date) -> int:
        return sum(1 for link in self.links if link.known_on(day))
