"""Targeted ads in VK in the simulated business: one VK Ads (ads.vk.com) cabinet.

The cabinet spends roubles; a statistics day is a Moscow day. Its objects nest as VK Ads'
API v2 has them: ad plans (what the cabinet calls campaigns) hold ad groups, which hold
banners (the ads); statistics are served per banner, ad group or ad plan and day. Links are
tagged utm_source=vk, utm_medium=cpc, utm_campaign=<ad plan name>, utm_content=<banner id>; GA4
puts vk / cpc in Paid Social once vk is a social source (seeds/ga4_source_categories.csv) and
HubSpot records PAID_SOCIAL. Every click is a GA4 session, some become HubSpot contacts.

VK counts goals by its pixel: the true leads within hours of their click and view-through
goals the CRM never sees, reported up to three days later, credited to the day of the show.

VK Ads plainly loses money: broad interest targeting brings few leads, and the site's visitors it
retargets are the ones who rarely buy (small deals, seldom won).
"""

from __future__ import annotations

import bisect
from array import array
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sandbox.draws import binomial
from sandbox.instants import epoch_us

if TYPE_CHECKING:
    from sandbox.world import ContactFacts, World
    from sandbox.world_web import SessionBlock

GOAL_LAG_DAYS = 3


@dataclass(frozen=True)
class VkAdsCabinet:
    account_id: str
    name: str
    currency: str
    time_zone: str

    @cached_property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.time_zone)

    def day_start(self, day: date) -> datetime:
        return datetime.combine(day, time.min, self.tz).astimezone(UTC)


@dataclass(frozen=True)
class VkAdPlan:
    """An ad plan (a campaign) and the economics of the people it brings in."""

    ad_plan_id: int
    name: str
    daily_budget: float  # roubles, before the scale knob
    cpm: float
    ctr: float
    lead_rate: float
    mql_rate: float
    sql_rate: float
    win_rate: float
    deal_size: float  # roubles
    view_goals_per_lead: float  # goals VK claims per true lead on top of it
    landing_page: str

    @property
    def ad_group_ids(self) -> tuple[int, int]:
        return (self.ad_plan_id * 10 + 1, self.ad_plan_id * 10 + 2)

    @property
    def banners(self) -> list[tuple[int, int]]:
        """(ad_group_id, banner_id): two ad groups of two banners each."""
        return [(g, g * 10 + b) for g in self.ad_group_ids for b in (1, 2)]


VK_CABINET = VkAdsCabinet("19000001", "Funnelhouse VK Реклама", "RUB", "Europe/Moscow")
VK_AD_PLANS = (
    VkAdPlan(3100001, "vk_interests_broad", 1500.0, 120.0, 0.005, 0.008, 0.25, 0.3, 0.2, 60_000.0, 0.6, "/lp/free-trial"),
    VkAdPlan(3100002, "vk_retargeting_site", 750.0, 250.0, 0.015, 0.04, 0.5, 0.5, 0.1, 25_000.0, 0.3, "/pricing"),
)


@dataclass(frozen=True)
class VkBannerDay:
    ad_plan: VkAdPlan
    ad_group_id: int
    banner_id: int
    day: date
    shows: int
    clicks: int
    spent_kopecks: int
    goal_times: array  # when VK reports each goal (epoch microseconds), ascending

    def reported_by(self, as_of: datetime) -> bool:
        return VK_CABINET.day_start(self.day + timedelta(days=1)) <= as_of

    def goals_at(self, as_of: datetime) -> int:
        return bisect.bisect_right(self.goal_times, epoch_us(as_of))


def vk_ads_day(world: World, day: date, weekday_factor: float, contact_id, contacts: list[ContactFacts],
               blocks: list[SessionBlock]) -> list[VkBannerDay]:
    """The day's VK Ads delivery; its clicks' contacts and GA4 sessions are appended to the day's."""
    from sandbox.world import AD_CLICK_HOURS  # sandbox.world imports this module

    out = []
    tz = VK_CABINET.tz
    click_start = datetime.combine(day, time(AD_CLICK_HOURS[0]), tz).astimezone(UTC)
    click_seconds = (datetime.combine(day, time(AD_CLICK_HOURS[1]), tz).astimezone(UTC) - click_start).total_seconds()
    for plan in VK_AD_PLANS:
        for ad_group_id, banner_id in plan.banners:
            rng = world._rng("vk_ads", day, str(banner_id))
            budget = plan.daily_budget * world.scale / len(plan.banners) * weekday_factor * rng.uniform(0.85, 1.15)
            shows = int(budget / plan.cpm * 1000)
            clicks = binomial(rng, shows, plan.ctr)
            spent_kopecks = int(round(shows * plan.cpm / 10))  # cpm is per 1,000 shows: kopecks = shows x cpm x 100 / 1000
            created_times, goals = [], []
            for _ in range(binomial(rng, clicks, plan.lead_rate)):
                created = click_start + timedelta(seconds=rng.uniform(0, click_seconds))
                contacts.append(world._contact(rng, contact_id(), created, "paid_social", "PAID_SOCIAL", "vk", plan.name,
                                               "vk", "cpc", plan.name, str(banner_id), plan.mql_rate, plan.sql_rate,
                                               plan.win_rate, plan.deal_size, VK_CABINET.currency, False,
                                               ad_campaign=plan.name))
                created_times.append(created)
                goals.append(created + timedelta(minutes=rng.uniform(1, 120)))
            day_start = VK_CABINET.day_start(day)
            for _ in range(binomial(rng, len(created_times) * 3 + 1, plan.view_goals_per_lead / 3)):
                goals.append(day_start + timedelta(days=rng.uniform(0.3, GOAL_LAG_DAYS)))
            out.append(VkBannerDay(plan, ad_group_id, banner_id, day, shows, clicks, spent_kopecks,
                                   array("q", sorted(map(epoch_us, goals)))))
            blocks += world._click_sessions(world._rng("ga4", day, f"vk_ads:{banner_id}"), day, tz, clicks, created_times,
                                            "paid_social", "vk", "cpc", plan.name, plan.landing_page)
    return out
