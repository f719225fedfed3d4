"""Context ads in Yandex in the simulated business: one Yandex Direct advertiser account.

The account spends roubles and lives in Moscow time, as Russian advertisers' accounts do; a
report's Date is a day of that zone. Its ads' links are tagged the way Yandex's own help tells
advertisers to: utm_source=yandex, utm_medium=cpc, utm_campaign=<campaign name>,
utm_content=<ad group id>, utm_term=<keyword>; GA4 puts yandex / cpc in Paid Search (yandex is a
search source in Google's list) and HubSpot records PAID_SEARCH. Every click is a GA4 session,
some become HubSpot contacts.

Direct counts Conversions by Yandex Metrica goals: a true lead within two days of its click, and
goal reaches the CRM never sees (newsletter sign-ups, repeat form sends) up to a week later, both
credited to the click's day, so recent days' Conversions grow while the clock moves (the
extractor re-reads a week). Cost is kept without VAT; the report adds VAT when asked (IncludeVAT).

Brand search pays; the broad "marketing software" campaign in the ad network (РСЯ) hardly does.
"""

from __future__ import annotations

import bisect
from array import array
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sandbox.draws import fast_binomial
from sandbox.instants import epoch_us

if TYPE_CHECKING:
    from sandbox.world import ContactFacts, World
    from sandbox.world_web import SessionBlock

CONVERSION_LAG_DAYS = 7  # Metrica goal reaches are credited to the click's day up to a week later
# The VAT Direct adds to a report's money when asked (IncludeVAT: YES). Russia's general rate
# from 2026 (22%); the sandbox's constant: which rate an account is billed at is its own.
VAT_RATE = Decimal("0.22")


@dataclass(frozen=True)
class DirectAccount:
    client_login: str  # the advertiser's Yandex login: the Client-Login an agency sends
    name: str
    currency: str
    time_zone: str

    @cached_property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.time_zone)

    def day_start(self, day: date) -> datetime:
        return datetime.combine(day, time.min, self.tz).astimezone(UTC)


@dataclass(frozen=True)
class DirectAdGroup:
    ad_group_id: str
    name: str
    keyword: str
    landing_page: str


@dataclass(frozen=True)
class DirectCampaign:
    campaign_id: str
    name: str
    account: DirectAccount
    daily_budget: float  # roubles without VAT, before the scale knob
    cpc: float
    ctr: float
    lead_rate: float  # contacts / clicks
    mql_rate: float
    sql_rate: float
    win_rate: float
    deal_size: float  # roubles
    extra_goal_rate: float  # goal reaches per click the CRM never sees
    ad_groups: tuple[DirectAdGroup, ...]


DIRECT_ACCOUNT = DirectAccount("funnelhouse-direct", "Funnelhouse Яндекс Директ", "RUB", "Europe/Moscow")
DIRECT_ACCOUNTS = (DIRECT_ACCOUNT,)


def _groups(campaign_id: str, *groups: tuple[str, str, str]) -> tuple[DirectAdGroup, ...]:
    return tuple(DirectAdGroup(f"5{campaign_id}{i + 1:02d}", name, keyword, page) for i, (name, keyword, page) in enumerate(groups))


DIRECT_CAMPAIGNS = (
    DirectCampaign("71000101", "yd_search_brand", DIRECT_ACCOUNT, 1750.0, 24.0, 0.1, 0.035, 0.55, 0.5, 0.4, 60_000.0, 0.02,
                   _groups("71000101", ("бренд", "funnelhouse", "/"), ("бренд опечатки", "фаннелхаус", "/"))),
    DirectCampaign("71000102", "yd_network_marketing_software", DIRECT_ACCOUNT, 1800.0, 18.0, 0.006, 0.012, 0.3, 0.35, 0.25,
                   70_000.0, 0.03,
                   _groups("71000102", ("маркетинговая аналитика", "маркетинговая аналитика", "/features"),
                           ("сквозная аналитика", "сквозная аналитика сервис", "/lp/free-trial"))),
)
DIRECT_AD_GROUPS = {g.ad_group_id: g for c in DIRECT_CAMPAIGNS for g in c.ad_groups}


@dataclass(frozen=True)
class DirectAdGroupDay:
    """One ad group's delivery on one day of its account's time zone."""

    campaign: DirectCampaign
    ad_group: DirectAdGroup
    day: date
    impressions: int
    clicks: int
    cost_micros: int  # roubles x 1,000,000, without VAT
    goal_times: array  # when Metrica reports each goal reach (epoch microseconds), ascending

    @property
    def account(self) -> DirectAccount:
        return self.campaign.account

    def reported_by(self, as_of: datetime) -> bool:
        """Direct shows a day's statistics once the day has ended in the account's zone."""
        return self.account.day_start(self.day + timedelta(days=1)) <= as_of

    def conversions_at(self, as_of: datetime) -> int:
        return bisect.bisect_right(self.goal_times, epoch_us(as_of))

    def cost_micros_with(self, include_vat: bool) -> int:
        return int((Decimal(self.cost_micros) * (1 + VAT_RATE)).to_integral_value()) if include_vat else self.cost_micros


def direct_day(world: World, day: date, weekday_factor: float, contact_id, contacts: list[ContactFacts],
               blocks: list[SessionBlock]) -> list[DirectAdGroupDay]:
    """The day's Direct delivery; its clicks' contacts and GA4 sessions are appended to the day's."""
    from sandbox.world import AD_CLICK_HOURS  # sandbox.world imports this module

    out = []
    for campaign in DIRECT_CAMPAIGNS:
        account = campaign.account
        click_start = datetime.combine(day, time(AD_CLICK_HOURS[0]), account.tz).astimezone(UTC)
        click_seconds = (datetime.combine(day, time(AD_CLICK_HOURS[1]), account.tz).astimezone(UTC) - click_start).total_seconds()
        for group in campaign.ad_groups:
            rng = world._rng("yandex_direct", day, group.ad_group_id)
            budget = campaign.daily_budget * world.scale / len(campaign.ad_groups) * weekday_factor * rng.uniform(0.85, 1.15)
            impressions = int(budget / campaign.cpc / campaign.ctr)
            clicks = fast_binomial(rng, impressions, campaign.ctr)
            cost_kopecks = int(round(clicks * campaign.cpc * rng.uniform(0.85, 1.15) * 100))
            created_times, goals = [], []
            for _ in range(fast_binomial(rng, clicks, campaign.lead_rate)):
                created = click_start + timedelta(seconds=rng.uniform(0, click_seconds))
                contacts.append(world._contact(rng, contact_id(), created, "paid_search", "PAID_SEARCH", campaign.name,
                                               group.keyword, "yandex", "cpc", campaign.name, group.ad_group_id,
                                               campaign.mql_rate, campaign.sql_rate, campaign.win_rate, campaign.deal_size,
                                               account.currency, False, utm_term=group.keyword, ad_campaign=campaign.name,
                                               ad_group_id=group.ad_group_id))
                created_times.append(created)
                goals.append(created + timedelta(hours=rng.uniform(1, 48)))
            day_start = account.day_start(day)
            for _ in range(fast_binomial(rng, clicks, campaign.extra_goal_rate)):
                goals.append(day_start + timedelta(days=rng.uniform(0.3, CONVERSION_LAG_DAYS)))
            out.append(DirectAdGroupDay(campaign, group, day, impressions, clicks, cost_kopecks * 10_000,
                                        array("q", sorted(map(epoch_us, goals)))))
            blocks += world._click_sessions(world._rng("ga4", day, f"yandex_direct:{group.ad_group_id}"), day, account.tz,
                                            clicks, created_times, "paid_search", "yandex", "cpc", campaign.name,
                                            group.landing_page)
    return out
