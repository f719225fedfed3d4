"""Paid search in the simulated business: Google Ads customers, campaigns and ad groups.

Three client accounts under one manager account, each in its own currency and
time zone (RUB in Moscow, USD in Los Angeles, GBP in London), so that currency
conversion and time-zone handling downstream have something real to do. An ad
group's day is a day of its account's time zone; its cost is in micros of the
account currency.

Two tagging conventions, as advertisers run them. The US and UK accounts turn
auto-tagging off and tag their links utm_source=google, utm_medium=cpc,
utm_campaign=<campaign name>, utm_content=<ad group id>, utm_term=<keyword>. The RU
account keeps Google's default, auto-tagging: its clicks carry a gclid and no UTM
tags; GA4 (linked to Google Ads) still reports them as google / cpc, with the campaign
in sessionCampaignName and in sessionGoogleAdsCampaignId / Name; HubSpot records the
contact's original source as PAID_SEARCH with no utm_* and keeps the gclid
(hs_google_click_id); Google Ads' click_view lists every click's gclid with its
campaign and ad group. Every click is a GA4 session, and some clicks become HubSpot
contacts. Google reports
conversions for the click's day but learns about them later (true leads within
two days, imported and modelled conversions up to 30 days later), so the
conversions of past days are restated as the clock moves.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
from array import array
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cached_property
from zoneinfo import ZoneInfo

from sandbox.instants import epoch_us

CONVERSION_WINDOW_DAYS = 30


@dataclass(frozen=True)
class GoogleAdsCustomer:
    customer_id: str
    name: str
    currency: str
    time_zone: str
    manager: bool = False
    auto_tagged: bool = False  # Google's default: clicks carry a gclid, no UTM tags

    @cached_property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.time_zone)

    @property
    def resource_name(self) -> str:
        return f"customers/{self.customer_id}"

    def day_start(self, day: date) -> datetime:
        """The UTC instant the account's date ``day`` begins."""
        return datetime.combine(day, time.min, self.tz).astimezone(UTC)


@dataclass(frozen=True)
class AdGroup:
    ad_group_id: str
    name: str
    keyword: str
    landing_page: str


@dataclass(frozen=True)
class SearchCampaign:
    """A Google Ads search campaign and the economics of the people it brings in."""

    campaign_id: str
    name: str
    customer: GoogleAdsCustomer
    daily_budget: float  # account currency, before the scale knob
    cpc: float  # mean cost per click, account currency
    ctr: float
    lead_rate: float  # contacts / clicks
    mql_rate: float
    sql_rate: float
    win_rate: float  # of SQLs
    deal_size: float  # mean deal amount, account currency
    extra_conversion_rate: float  # imported/modelled conversions per click on top of the true leads
    value_per_conversion: float  # conversion value Google reports, account currency
    ad_groups: tuple[AdGroup, ...]


MANAGER = GoogleAdsCustomer("5550000", "Funnelhouse MCC", "USD", "America/New_York", manager=True)
RU = GoogleAdsCustomer("5550001", "Funnelhouse RU Search", "RUB", "Europe/Moscow", auto_tagged=True)
US_SEARCH = GoogleAdsCustomer("5550002", "Funnelhouse US Search", "USD", "America/Los_Angeles")
UK = GoogleAdsCustomer("5550003", "Funnelhouse UK Search", "GBP", "Europe/London")
GOOGLE_ADS_CUSTOMERS = (RU, US_SEARCH, UK)  # the client accounts that serve ads
ALL_GOOGLE_ADS_CUSTOMERS = (MANAGER, *GOOGLE_ADS_CUSTOMERS)


def _groups(campaign_id: str, *groups: tuple[str, str, str]) -> tuple[AdGroup, ...]:
    return tuple(AdGroup(f"1{campaign_id}{i + 1:02d}", name, keyword, page) for i, (name, keyword, page) in enumerate(groups))


# Brand search pays well (but below Meta retargeting), generic search roughly breaks even,
# and bidding on competitors' names in the UK loses money.
SEARCH_CAMPAIGNS = (
    SearchCampaign(
        "21000000101",
        "ru_search_brand",
        RU,
        3000.0,
        30.0,
        0.08,
        0.03,
        0.55,
        0.5,
        0.4,
        120_000.0,
        0.01,
        2500.0,
        _groups("21000000101", ("brand exact", "funnelhouse", "/"), ("brand misspellings", "funnel house", "/")),
    ),
    SearchCampaign(
        "21000000102",
        "ru_search_generic",
        RU,
        5500.0,
        55.0,
        0.03,
        0.02,
        0.4,
        0.45,
        0.3,
        100_000.0,
        0.008,
        2000.0,
        _groups(
            "21000000102",
            ("marketing analytics", "marketing analytics software", "/features"),
            ("roi dashboard", "marketing roi dashboard", "/pricing"),
        ),
    ),
    SearchCampaign(
        "21000000201",
        "us_search_brand",
        US_SEARCH,
        60.0,
        1.1,
        0.09,
        0.05,
        0.55,
        0.5,
        0.4,
        1600.0,
        0.012,
        45.0,
        _groups("21000000201", ("brand exact", "funnelhouse", "/"), ("brand pricing", "funnelhouse pricing", "/pricing")),
    ),
    SearchCampaign(
        "21000000202",
        "us_search_generic",
        US_SEARCH,
        150.0,
        3.2,
        0.035,
        0.04,
        0.45,
        0.45,
        0.35,
        2000.0,
        0.01,
        40.0,
        _groups(
            "21000000202",
            ("attribution", "marketing attribution tool", "/features"),
            ("lead funnel", "lead funnel analytics", "/demo"),
        ),
    ),
    SearchCampaign(
        "21000000301",
        "uk_search_competitors",
        UK,
        80.0,
        3.8,
        0.025,
        0.02,
        0.3,
        0.3,
        0.25,
        900.0,
        0.01,
        30.0,
        _groups(
            "21000000301",
            ("competitor alternatives", "hubspot analytics alternative", "/lp/competitor-switch"),
            ("competitor vs", "funnelhouse vs competitor", "/lp/competitor-switch"),
        ),
    ),
)


def gclid(key: str) -> str:
    """A Google Click ID: opaque base64url text (Google's start with 'Cj0KCQ'), a pure function of ``key``."""
    return "Cj0KCQjw" + base64.urlsafe_b64encode(hashlib.sha256(f"gclid:{key}".encode()).digest()).decode().rstrip("=")


@dataclass(frozen=True)
class AdGroupDay:
    """One ad group's delivery on one day of its account's time zone."""

    campaign: SearchCampaign
    ad_group: AdGroup
    day: date
    impressions: int
    clicks: int
    cost_micros: int  # account currency
    # Each conversion: when Google reports it (epoch microseconds) and its credit, sorted by (time, credit).
    conversion_times: array
    conversion_credits: array
    # the contacts its clicks created, in click order (their gclid is theirs); auto-tagged accounts only
    contact_ids: tuple[str, ...] = ()

    @property
    def customer(self) -> GoogleAdsCustomer:
        return self.campaign.customer

    def reported_by(self, as_of: datetime) -> bool:
        """Google shows a day once it has ended in the account's time zone."""
        return self.customer.day_start(self.day + timedelta(days=1)) <= as_of

    def conversions_at(self, as_of: datetime) -> float:
        return round(sum(self.conversion_credits[: bisect.bisect_right(self.conversion_times, epoch_us(as_of))]), 6)

    def gclids(self) -> list[str]:
        """Every click's gclid (click_view): the converting clicks' are their contacts', then the others."""
        others = self.clicks - len(self.contact_ids)
        return [gclid(c) for c in self.contact_ids] + [
            gclid(f"{self.ad_group.ad_group_id}:{self.day}:{i}") for i in range(others)
        ]

    def conversions_value_at(self, as_of: datetime) -> float:
        return round(self.conversions_at(as_of) * self.campaign.value_per_conversion, 6)
