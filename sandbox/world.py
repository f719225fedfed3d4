"""The simulated marketing business behind every sandbox API.

One seeded, deterministic company that markets on several channels at once.
Everything the platforms serve is derived from the same events, so the numbers
agree across platforms: a Meta or Google Ads click is a GA4 session tagged with
its ad's UTM source, medium and campaign; some sessions (paid or organic)
create a HubSpot contact whose UTM tags name the campaign and the ad; contacts
move through lifecycle stages with dates; some win deals with amounts in their
market's currency.

- Paid social: two Meta ad accounts (USD, EUR), ad-level daily delivery (``sandbox/world_meta.py``).
  They tag their links two common ways: the US account utm_source=facebook&utm_medium=paid_social,
  the EU account utm_source=facebook&utm_medium=cpc (GA4 calls both Paid Social).
- Paid search: three Google Ads accounts (RUB, USD, GBP) under one manager,
  ad-group daily delivery (``sandbox/world_google_ads.py``); the US and UK accounts tag
  their links google / cpc, the RU account is auto-tagged (gclid, no UTM tags).
- The website: one GA4 property in America/New_York whose sessions come from
  every paid click and from organic search, direct, referral, email and
  organic social traffic (``sandbox/world_web.py``).
- Email: two Mailchimp audiences with members joining and leaving, weekly
  newsletters and product updates; campaign clicks are the email channel's
  sessions and contacts (``sandbox/world_email.py``).
- Organic social: a Facebook page and an Instagram account whose posts gather
  reactions, comments and shares over days; post link clicks are the
  organic-social sessions and contacts (``sandbox/world_social.py``).
- The CRM: HubSpot contacts and deals, made here from all of the above; their facts
  (``sandbox/world_crm.py``) and their website visits (``sandbox/world_touches.py``).

The world is a function of time: ``contacts(as_of)`` shows each contact as a
platform would on that instant (stages not yet reached are empty, the
last-modified date is the latest visible change, archived records appear only
after they were archived). Moving the sandbox clock forward therefore changes
records that an extractor already read, which is what incremental reads and
restatement windows must cope with: Meta's view-through leads and Google's
conversions arrive days after the click, GA4's late hits for 72 hours.

Days are generated independently from ``Random(f"{seed}:{kind}:{day}:{key}")`` (``WorldFrame.rng``)
(string seeds hash with SHA-512, so results do not depend on PYTHONHASHSEED),
which keeps generation lazy: a day is built only when asked for, and a bounded
cache of recent days (fewer as the scale grows) keeps memory flat.
"""

from __future__ import annotations

import random
import threading
from array import array
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from functools import cached_property

from sandbox.draws import binomial as _binomial
from sandbox.draws import fast_binomial as _fast_binomial
from sandbox.draws import multinomial as _multinomial
from sandbox.draws import poisson as _poisson
from sandbox.instants import NOT_REACHED, epoch_us
from sandbox.world_crm import (
    CONTACT_ID_BASE,
    CONTACT_IDS_PER_DAY,
    STAGES,
    ContactColumns,
    ContactFacts,
    DealFacts,
    contact_record,
    deal_record,
    modified_ms,
)
from sandbox.world_email import AUDIENCES, EmailWorld
from sandbox.world_frame import WorldFrame
from sandbox.world_fx import FxRates
from sandbox.world_google_ads import (
    ALL_GOOGLE_ADS_CUSTOMERS,
    GOOGLE_ADS_CUSTOMERS,
    SEARCH_CAMPAIGNS,
    AdGroupDay,
    GoogleAdsCustomer,
    SearchCampaign,
)
from sandbox.world_meta import AD_ACCOUNTS, AD_STATUS_AT_FLIGHT_END, CAMPAIGNS, AdAccount, AdDay, Campaign
from sandbox.world_social import CONTACT_RATE as SOCIAL_CONTACT_RATE
from sandbox.world_social import COUNTER_DAYS, FACEBOOK_PAGE, SOCIAL_ACCOUNTS, SocialWorld
from sandbox.world_social import TRACKED_CLICK_SHARE as SOCIAL_TRACKED_CLICK_SHARE
from sandbox.world_touches import MODELS, UNATTRIBUTED, Touch, allocate_units, floor_ms, model_weights
from sandbox.world_touches import touches as contact_touches
from sandbox.world_web import (
    ORGANIC_TRAFFIC,
    SessionBlock,
    landing_weights,
    property_date,
    session_blocks,
    split_by_window,
)

__all__ = [
    "AD_ACCOUNTS",
    "AD_STATUS_AT_FLIGHT_END",
    "ALL_GOOGLE_ADS_CUSTOMERS",
    "CAMPAIGNS",
    "GOOGLE_ADS_CUSTOMERS",
    "ORGANIC_SOURCES",
    "SEARCH_CAMPAIGNS",
    "AdAccount",
    "AdDay",
    "AdGroupDay",
    "Campaign",
    "ContactFacts",
    "DealFacts",
    "GoogleAdsCustomer",
    "GroundTruth",
    "OrganicSource",
    "SearchCampaign",
    "SessionBlock",
    "World",
    "identified_visits_by_cell",
]

# Clicks (and so the contacts they create) happen between these local hours of the account's day.
AD_CLICK_HOURS = (6, 23)

# Full days kept in memory at scale 1; fewer at larger scales, so a day's size times the
# number of cached days stays about constant. Never fewer than a GA4 date needs (3). Only
# contacts need this LRU (ad delivery and GA4 blocks of every day are kept, see _reports),
# and they are read day after day, so 100 holds the whole demo business and little more.
CACHE_DAY_BUDGET = 100
MIN_CACHED_DAYS = 8


@dataclass(frozen=True)
class OrganicSource:
    """A channel that brings contacts without ad spend the sandbox reports on.

    ``driven_by`` names the platform whose activity makes the channel's sessions and
    contacts (Mailchimp campaign clicks, social post link clicks); the others draw
    ``contacts_per_day`` on their own.
    """

    channel: str
    hs_analytics_source: str
    utm_source: str | None
    utm_medium: str | None
    campaigns: tuple[str, ...]
    contacts_per_day: float
    mql_rate: float
    sql_rate: float
    win_rate: float
    deal_size: float
    currency: str = "USD"
    starts_as_subscriber: bool = False
    driven_by: str | None = None


# Paid search is not here: its contacts come from Google Ads clicks (SEARCH_CAMPAIGNS).
ORGANIC_SOURCES = (
    OrganicSource("organic_search", "ORGANIC_SEARCH", None, None, (), 7.0, 0.35, 0.4, 0.3, 1200.0),
    OrganicSource("direct", "DIRECT_TRAFFIC", None, None, (), 4.0, 0.4, 0.45, 0.35, 1300.0),
    OrganicSource("referral", "REFERRALS", None, None, (), 2.0, 0.45, 0.5, 0.4, 1500.0),
    # utm_campaign: the Mailchimp campaign's tracking name (newsletter_weekly_2026_06_02, product_update_...).
    OrganicSource(
        "email",
        "EMAIL_MARKETING",
        "newsletter",
        "email",
        (),
        0.0,
        0.3,
        0.35,
        0.3,
        900.0,
        starts_as_subscriber=True,
        driven_by="mailchimp",
    ),
    # utm_source facebook or instagram; utm_campaign: the post's or media's Graph id.
    OrganicSource("organic_social", "SOCIAL_MEDIA", None, "social", (), 0.0, 0.25, 0.3, 0.25, 800.0, driven_by="social"),
)
ORGANIC_BY_CHANNEL = {s.channel: s for s in ORGANIC_SOURCES}


@dataclass(frozen=True)
class DayFacts:
    """Everything generated for one simulated day (a day of each ad account's own time zone,
    a UTC day for organic traffic); GA4 blocks carry their own property date."""

    ad_days: list[AdDay]
    ad_group_days: list[AdGroupDay]
    contacts: list[ContactFacts]
    session_blocks: list[SessionBlock]


_EMPTY_DAY = DayFacts([], [], [], [])


class _DayCache:
    """A thread-safe LRU of generated days; a day may be built twice by racing threads, identically."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.generated = 0  # days built so far (misses), for laziness checks
        self._days: OrderedDict[date, DayFacts] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, day: date, build: Callable[[], DayFacts]) -> DayFacts:
        with self._lock:
            if day in self._days:
                self._days.move_to_end(day)
                return self._days[day]
            while len(self._days) >= self.capacity:  # make room first: memory peaks at capacity days, not one more
                self._days.popitem(last=False)
        facts = build()
        with self._lock:
            self.generated += 1
            self._days[day] = facts
            while len(self._days) > self.capacity:
                self._days.popitem(last=False)
        return facts

    def __len__(self) -> int:
        return len(self._days)


@dataclass
class World:
    seed: int = 7
    scale: float = 1.0
    start: date = date(2026, 6, 1)
    days: int = 90
    # seed, scale, start and days as the parts of the world share them (sandbox/world_frame.py)
    frame: WorldFrame = field(init=False, repr=False, compare=False)
    _day_cache: _DayCache = field(init=False, repr=False, compare=False)
    mailchimp: EmailWorld = field(init=False, repr=False, compare=False)
    social: SocialWorld = field(init=False, repr=False, compare=False)
    # The Bank of Russia's daily rates of USD, EUR and GBP (sandbox/world_fx.py): the cbr API
    # serves them and the ground truth converts money with them.
    fx: FxRates = field(init=False, repr=False, compare=False)
    _report_days: dict[date, DayFacts] = field(init=False, repr=False, compare=False, default_factory=dict)
    _contact_days: dict[date, ContactColumns] = field(init=False, repr=False, compare=False, default_factory=dict)
    _profiles: dict = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self):
        self.frame = WorldFrame(self.seed, self.scale, self.start, self.days)
        self._day_cache = _DayCache(max(MIN_CACHED_DAYS, int(CACHE_DAY_BUDGET / self.scale)))
        self.mailchimp = EmailWorld(self.frame)
        self.social = SocialWorld(self.frame)
        self.fx = FxRates.for_world(self.seed, self.start, self.end)

    @property
    def end(self) -> date:
        """The last simulated day (inclusive)."""
        return self.frame.end

    @property
    def default_now(self) -> datetime:
        """The clock a fresh server starts at: the midnight after the last day."""
        return self.frame.default_now

    def _rng(self, kind: str, day: date, key: str) -> random.Random:
        return self.frame.rng(kind, day, key)

    def cache_info(self) -> dict[str, int]:
        """How many days are held in memory, at most, how many were built so far, and how many days' contact columns are kept."""
        return {
            "cached_days": len(self._day_cache),
            "capacity": self._day_cache.capacity,
            "generated_days": self._day_cache.generated,
            "contact_column_days": len(self._contact_days),
        }

    # ---- generation -------------------------------------------------------

    def ad_days(self, day: date) -> list[AdDay]:
        return self._reports(day).ad_days

    def ad_group_days(self, day: date) -> list[AdGroupDay]:
        return self._reports(day).ad_group_days

    def contacts_created_on(self, day: date) -> list[ContactFacts]:
        """A day's contacts; the first time, their columns are kept too (see ContactColumns).

        Kept here, on the CRM's path, not in _day: the report endpoints (GA4, ads) walk every day
        and must not pay for contact columns no CRM request asked for.
        """
        contacts = self._day(day).contacts
        if day not in self._contact_days and 0 <= (day - self.start).days < self.days:
            self._contact_days.setdefault(day, ContactColumns.of((day - self.start).days, contacts, self._profiles))
        return contacts

    def _day(self, day: date) -> DayFacts:
        if not 0 <= (day - self.start).days < self.days:
            return _EMPTY_DAY
        facts = self._day_cache.get(day, lambda: self._generate_day(day))
        self._report_days.setdefault(day, DayFacts(facts.ad_days, facts.ad_group_days, [], facts.session_blocks))
        return facts

    def contact_columns(self, day: date) -> ContactColumns:
        """A day's contacts as kept arrays (see ContactColumns); generates the day only the first time."""
        cols = self._contact_days.get(day)
        if cols is None:
            self.contacts_created_on(day)
            cols = self._contact_days[day]
        return cols

    def _reports(self, day: date) -> DayFacts:
        """A day's ad delivery (ad days, ad-group days) and GA4 session blocks, without its contacts.

        Their number grows with the ads, posts, campaigns and pages, hardly with scale (a block
        counts its sessions, whatever their number: ~13,000 blocks for 90 days at scale 1, 10 or
        100), so every day's is kept once built: report endpoints re-read 90 days per request and
        must not regenerate the people each time the LRU of full days (which shrinks as scale
        grows) has dropped them. Contacts grow with scale and stay in the LRU only.
        """
        reports = self._report_days.get(day)
        return reports if reports is not None else (self._day(day) if 0 <= (day - self.start).days < self.days else _EMPTY_DAY)

    def _generate_day(self, day: date) -> DayFacts:
        day_index = (day - self.start).days
        next_seq = iter(range(CONTACT_IDS_PER_DAY)).__next__
        contact_id = lambda: str(CONTACT_ID_BASE + day_index * CONTACT_IDS_PER_DAY + next_seq())  # noqa: E731
        weekday_factor = 0.8 if day.weekday() >= 5 else 1.05
        contacts: list[ContactFacts] = []
        blocks: list[SessionBlock] = []

        ad_days = self._meta_day(day, weekday_factor, contact_id, contacts, blocks)
        ad_group_days = self._google_ads_day(day, weekday_factor, contact_id, contacts, blocks)
        self._organic_day(day, weekday_factor, contact_id, contacts, blocks)
        self._email_day(day, contact_id, contacts, blocks)
        self._social_day(day, contact_id, contacts, blocks)
        contacts.sort(key=lambda c: c.contact_id)
        return DayFacts(ad_days, ad_group_days, contacts, blocks)

    def _meta_day(self, day, weekday_factor, contact_id, contacts, blocks) -> list[AdDay]:
        ad_days: list[AdDay] = []
        for campaign in CAMPAIGNS:
            account = campaign.account
            for adset_id, adset_name, ad_id, ad_name in campaign.ads:
                rng = self._rng("ad", day, ad_id)
                budget = campaign.daily_budget * self.scale / 4 * weekday_factor * rng.uniform(0.85, 1.15)
                impressions = int(budget / campaign.cpm * 1000)
                clicks = _binomial(rng, impressions, campaign.ctr)
                spend = round(impressions * campaign.cpm / 1000, 2)
                n_leads = _binomial(rng, clicks, campaign.lead_rate)
                claimed = []
                created_times = []
                for _ in range(n_leads):
                    cid = contact_id()
                    # Clicks happen in the account's day; contacts are stamped in UTC.
                    local_seconds = rng.uniform(AD_CLICK_HOURS[0] * 3600, AD_CLICK_HOURS[1] * 3600)
                    created = datetime.combine(day, datetime.min.time(), UTC) + timedelta(
                        seconds=local_seconds - account.timezone_offset_hours_utc * 3600
                    )
                    contacts.append(
                        self._contact(
                            rng,
                            cid,
                            created,
                            "paid_social",
                            "PAID_SOCIAL",
                            "facebook",
                            campaign.name,
                            "facebook",
                            account.utm_medium,
                            campaign.name,
                            ad_id,
                            campaign.mql_rate,
                            campaign.sql_rate,
                            campaign.win_rate,
                            campaign.deal_size,
                            account.currency,
                            False,
                            ad_campaign=campaign.name,
                        )
                    )
                    created_times.append(created)
                    claimed.append(created + timedelta(minutes=rng.uniform(1, 90)))
                # The platform also claims view-through leads, reported days later (restatement).
                n_view = _binomial(rng, n_leads * 3, campaign.view_through_leads / 3)
                for _ in range(n_view):
                    claimed.append(datetime.combine(day, datetime.min.time(), UTC) + timedelta(days=rng.uniform(0.5, 7)))
                ad_days.append(
                    AdDay(
                        account,
                        campaign,
                        adset_id,
                        adset_name,
                        ad_id,
                        ad_name,
                        day,
                        impressions,
                        clicks,
                        spend,
                        array("q", sorted(map(epoch_us, claimed))),
                    )
                )
                blocks += self._click_sessions(
                    self._rng("ga4", day, f"meta:{ad_id}"),
                    day,
                    account.tz,
                    clicks,
                    created_times,
                    "paid_social",
                    "facebook",
                    account.utm_medium,
                    campaign.name,
                    campaign.landing_page,
                )
        return ad_days

    def _google_ads_day(self, day, weekday_factor, contact_id, contacts, blocks) -> list[AdGroupDay]:
        out: list[AdGroupDay] = []
        for campaign in SEARCH_CAMPAIGNS:
            customer = campaign.customer
            day_start = customer.day_start(day)
            click_start = datetime.combine(day, time(AD_CLICK_HOURS[0]), customer.tz).astimezone(UTC)
            click_seconds = (
                datetime.combine(day, time(AD_CLICK_HOURS[1]), customer.tz).astimezone(UTC) - click_start
            ).total_seconds()
            for group in campaign.ad_groups:
                rng = self._rng("gads", day, group.ad_group_id)
                budget = campaign.daily_budget * self.scale / len(campaign.ad_groups) * weekday_factor * rng.uniform(0.85, 1.15)
                impressions = int(budget / campaign.cpc / campaign.ctr)
                clicks = _fast_binomial(rng, impressions, campaign.ctr)
                cost_cents = int(round(clicks * campaign.cpc * rng.uniform(0.85, 1.15) * 100))
                n_leads = _fast_binomial(rng, clicks, campaign.lead_rate)
                created_times, conversions, contact_ids = [], [], []
                for _ in range(n_leads):
                    cid = contact_id()
                    created = click_start + timedelta(seconds=rng.uniform(0, click_seconds))
                    if customer.auto_tagged:
                        # no UTM tags: HubSpot has no utm_campaign for the drill-downs, and keeps the gclid
                        tags = ("", "", None, None, None, None, None)
                        contact_ids.append(cid)
                    else:
                        # drill-down 1: the campaign from utm_campaign; 2: the search term (utm_term)
                        tags = (campaign.name, group.keyword, "google", "cpc", campaign.name, group.ad_group_id, group.keyword)
                    data_1, data_2, utm_source, utm_medium, utm_campaign, utm_content, utm_term = tags
                    contacts.append(
                        self._contact(
                            rng,
                            cid,
                            created,
                            "paid_search",
                            "PAID_SEARCH",
                            data_1,
                            data_2,
                            utm_source,
                            utm_medium,
                            utm_campaign,
                            utm_content,
                            campaign.mql_rate,
                            campaign.sql_rate,
                            campaign.win_rate,
                            campaign.deal_size,
                            customer.currency,
                            False,
                            utm_term=utm_term,
                            ad_campaign=campaign.name,
                            ad_group_id=group.ad_group_id,
                        )
                    )
                    created_times.append(created)
                    conversions.append((created + timedelta(hours=rng.uniform(1, 48)), 1.0))
                # Imported and modelled conversions: credited to the click's day, learnt up to 30 days later.
                for _ in range(_fast_binomial(rng, clicks, campaign.extra_conversion_rate)):
                    conversions.append((day_start + timedelta(days=rng.uniform(1, 30)), rng.choice((0.5, 1.0))))
                conversions.sort()
                out.append(
                    AdGroupDay(
                        campaign,
                        group,
                        day,
                        impressions,
                        clicks,
                        cost_cents * 10_000,
                        array("q", [epoch_us(at) for at, _ in conversions]),
                        array("d", [c for _, c in conversions]),
                        tuple(contact_ids),
                    )
                )
                blocks += self._click_sessions(
                    self._rng("ga4", day, f"gads:{group.ad_group_id}"),
                    day,
                    customer.tz,
                    clicks,
                    created_times,
                    "paid_search",
                    "google",
                    "cpc",
                    campaign.name,
                    group.landing_page,
                )
        return out

    def _click_sessions(
        self,
        rng,
        day: date,
        tz: tzinfo,
        clicks: int,
        created_times: list[datetime],
        channel: str,
        source: str,
        medium: str,
        campaign: str,
        landing_page: str,
    ) -> list[SessionBlock]:
        """Every click is a session; the ones that created a contact fall on their contact's instant."""
        window = (datetime.combine(day, time(AD_CLICK_HOURS[0]), tz), datetime.combine(day, time(AD_CLICK_HOURS[1]), tz))
        return self._window_sessions(rng, *window, clicks, created_times, channel, source, medium, campaign, landing_page)

    def _window_sessions(
        self,
        rng,
        start: datetime,
        end: datetime,
        sessions: int,
        created_times: list[datetime],
        channel: str,
        source: str,
        medium: str,
        campaign: str,
        landing_page: str,
    ) -> list[SessionBlock]:
        """``sessions`` visits made uniformly in [start, end); those that created a contact fall on its instant."""
        by_date = split_by_window(rng, sessions - len(created_times), start, end)
        converted: dict[date, int] = defaultdict(int)
        for ts in created_times:
            converted[property_date(ts)] += 1
        blocks = []
        for pdate in sorted(by_date.keys() | converted.keys()):
            k = converted.get(pdate, 0)
            blocks += session_blocks(rng, pdate, channel, source, medium, campaign, landing_page, by_date.get(pdate, 0) + k, k)
        return blocks

    def _organic_day(self, day, weekday_factor, contact_id, contacts, blocks) -> None:
        day_start = datetime.combine(day, time.min, UTC)
        progress = (day - self.start).days / max(1, self.days - 1)
        for source in ORGANIC_SOURCES:
            if source.driven_by:
                continue
            rng = self._rng("organic", day, source.channel)
            expected = source.contacts_per_day * self.scale * weekday_factor
            n = _poisson(rng, expected)
            created_contacts = []
            for _ in range(n):
                cid = contact_id()
                created = day_start + timedelta(seconds=rng.uniform(0, 86_399))
                campaign = rng.choice(source.campaigns) if source.campaigns else None
                data_1 = {"ORGANIC_SEARCH": "google", "DIRECT_TRAFFIC": "", "REFERRALS": "partnerblog.example"}.get(
                    source.hs_analytics_source, source.utm_source or ""
                )
                contact = self._contact(
                    rng,
                    cid,
                    created,
                    source.channel,
                    source.hs_analytics_source,
                    data_1,
                    campaign or "",
                    source.utm_source,
                    source.utm_medium,
                    campaign,
                    None,
                    source.mql_rate,
                    source.sql_rate,
                    source.win_rate,
                    source.deal_size,
                    source.currency,
                    source.starts_as_subscriber,
                )
                contacts.append(contact)
                created_contacts.append(contact)
            blocks += self._organic_sessions(
                self._rng("ga4", day, f"organic:{source.channel}"), day_start, progress, source, expected, created_contacts
            )

    def _organic_sessions(
        self,
        rng,
        day_start: datetime,
        progress: float,
        source: OrganicSource,
        expected_contacts: float,
        created_contacts: list[ContactFacts],
    ) -> list[SessionBlock]:
        """The channel's sessions of one UTC day: one per contact created, plus the visits that made none."""
        traffic = ORGANIC_TRAFFIC[source.channel]
        pages, weights = landing_weights(traffic, progress)
        campaigns = list(source.campaigns) or [traffic.campaign]
        cells: dict[tuple[date, str, str], list[int]] = defaultdict(
            lambda: [0, 0]
        )  # (date, campaign, page) -> [sessions, contacts]
        for c in created_contacts:
            cell = cells[(property_date(c.created_at), c.utm_campaign or traffic.campaign, rng.choices(pages, weights)[0])]
            cell[0] += 1
            cell[1] += 1
        others = _poisson(rng, expected_contacts * (1 / traffic.contact_rate - 1))
        for pdate, n in split_by_window(rng, others, day_start, day_start + timedelta(days=1)).items():
            per_campaign = _multinomial(rng, n, [1.0] * len(campaigns))
            for campaign, m in zip(campaigns, per_campaign, strict=True):
                for page, count in zip(pages, _multinomial(rng, m, weights), strict=True):
                    cells[(pdate, campaign, page)][0] += count
        blocks = []
        for (pdate, campaign, page), (sessions, converted) in sorted(cells.items()):
            blocks += session_blocks(
                rng, pdate, source.channel, traffic.source, traffic.medium, campaign, page, sessions, converted
            )
        return blocks

    def _email_day(self, day, contact_id, contacts, blocks) -> None:
        """Newsletter and product-update clicks of the day: each a session, the converting ones a contact."""
        economics = ORGANIC_BY_CHANNEL["email"]
        cells: dict[str, dict[tuple[date, str], list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
        campaigns = {}
        for click in self.mailchimp.clicks_on(day):  # in time order, so contact ids follow the clicks
            campaign = click.campaign
            campaigns[campaign.campaign_id] = campaign
            cell = cells[campaign.campaign_id][(property_date(click.at), click.path)]
            cell[0] += 1
            if click.converts:
                cell[1] += 1
                rng = self._rng("email_contact", day, f"{campaign.campaign_id}:{click.member.number}")
                contacts.append(
                    self._contact(
                        rng,
                        contact_id(),
                        click.at,
                        "email",
                        "EMAIL_MARKETING",
                        "newsletter",
                        campaign.tracking_name,
                        "newsletter",
                        "email",
                        campaign.tracking_name,
                        None,
                        economics.mql_rate,
                        economics.sql_rate,
                        economics.win_rate,
                        economics.deal_size,
                        economics.currency,
                        True,
                        email=click.member.email,
                    )
                )
        for campaign_id in sorted(cells):
            campaign = campaigns[campaign_id]
            rng = self._rng("ga4", day, f"email:{campaign_id}")
            for (pdate, page), (sessions, converted) in sorted(cells[campaign_id].items()):
                blocks += session_blocks(
                    rng, pdate, "email", "newsletter", "email", campaign.tracking_name, page, sessions, converted
                )

    def _social_day(self, day, contact_id, contacts, blocks) -> None:
        """Link clicks on the page's posts and the Instagram media: sessions, and a few contacts."""
        economics = ORGANIC_BY_CHANNEL["organic_social"]
        for clicks in self.social.link_clicks_on(day):
            post = clicks.post
            rng = self._rng("social_visits", day, post.post_id)
            sessions = _fast_binomial(rng, clicks.clicks, SOCIAL_TRACKED_CLICK_SHARE)
            created_times = sorted(
                clicks.start + (clicks.end - clicks.start) * rng.random()
                for _ in range(_fast_binomial(rng, sessions, SOCIAL_CONTACT_RATE))
            )
            for created in created_times:
                contacts.append(
                    self._contact(
                        rng,
                        contact_id(),
                        created,
                        "organic_social",
                        "SOCIAL_MEDIA",
                        post.utm_source,
                        post.utm_campaign,
                        post.utm_source,
                        "social",
                        post.utm_campaign,
                        None,
                        economics.mql_rate,
                        economics.sql_rate,
                        economics.win_rate,
                        economics.deal_size,
                        economics.currency,
                        False,
                    )
                )
            blocks += self._window_sessions(
                self._rng("ga4", day, f"social:{post.post_id}"),
                clicks.start,
                clicks.end,
                sessions,
                created_times,
                "organic_social",
                post.utm_source,
                "social",
                post.utm_campaign,
                post.landing_page,
            )

    def _contact(
        self,
        rng,
        cid,
        created,
        channel,
        hs_source,
        data_1,
        data_2,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_content,
        mql_rate,
        sql_rate,
        win_rate,
        deal_size,
        currency,
        starts_as_subscriber,
        utm_term=None,
        email=None,
        ad_campaign=None,
        ad_group_id=None,
    ) -> ContactFacts:
        stage_dates: dict[str, datetime] = {}
        at = created
        if starts_as_subscriber:
            stage_dates["subscriber"] = at
            at = at + timedelta(days=rng.expovariate(1 / 6))
        stage_dates["lead"] = at
        archived_at = None
        deal = None
        if rng.random() < 0.02:  # spam sign-ups get deleted the next day
            archived_at = at + timedelta(hours=rng.uniform(12, 36))
        else:
            for stage, rate, mean_days in (
                ("marketingqualifiedlead", mql_rate, 4),
                ("salesqualifiedlead", sql_rate, 7),
                ("opportunity", 0.85, 5),
            ):
                if rng.random() >= rate:
                    break
                at = at + timedelta(days=rng.expovariate(1 / mean_days))
                stage_dates[stage] = at
            if "opportunity" in stage_dates:
                opened = stage_dates["opportunity"]
                won = rng.random() < win_rate / 0.85
                closed = opened + timedelta(days=rng.expovariate(1 / 10))
                amount = round(max(100.0, rng.gauss(deal_size, deal_size * 0.3)), 2)
                if won:
                    stage_dates["customer"] = closed
                deal = DealFacts(f"9{cid}", cid, opened, closed, won, amount, currency)
        return ContactFacts(
            cid,
            created,
            channel,
            hs_source,
            data_1,
            data_2,
            utm_source,
            utm_medium,
            utm_campaign,
            utm_content,
            stage_dates,
            archived_at,
            deal,
            utm_term,
            email,
            ad_campaign,
            ad_group_id,
        )

    # ---- views used by the API server -------------------------------------

    def days_until(self, as_of: datetime) -> list[date]:
        last = min(self.end, (as_of - timedelta(microseconds=1)).date())
        return [self.start + timedelta(days=i) for i in range((last - self.start).days + 1)]

    def iter_contacts(self, as_of: datetime, from_id: int = 0):
        """Contacts that exist at ``as_of``, in id order, from the id ``from_id`` on.

        Ids encode their creation day, so paging can jump straight to the right day.
        """
        first_day = max(0, (from_id - CONTACT_ID_BASE) // CONTACT_IDS_PER_DAY)
        for day in self.days_until(as_of)[first_day:]:
            for c in self.contacts_created_on(day):
                if c.created_at <= as_of and int(c.contact_id) >= from_id:
                    yield c

    def contact(self, contact_id: str) -> ContactFacts | None:
        """One contact by id (the id encodes its creation day), or None."""
        try:
            number = int(contact_id)
        except (TypeError, ValueError):
            return None
        return self.kept_contact(number) if str(number) == str(contact_id) else None

    def touches(self, contact: ContactFacts) -> tuple[Touch, ...]:
        """The contact's website visits (creating visit first), as HubSpot's events API records them."""
        return contact_touches(self.frame, self.mailchimp, contact)

    def iter_deals(self, as_of: datetime, from_id: int = 0):
        """Deals that exist at ``as_of``, in id order (a deal's id is 9 followed by its contact's id)."""
        for c in self.iter_contacts(as_of, int(str(from_id)[1:] or 0)):
            if c.deal and c.deal.created_at <= as_of and not (c.archived_at and c.archived_at <= as_of):
                yield c.deal

    def modified_index(self, object_type: str, as_of: datetime) -> tuple[array, array]:
        """(lastmodifieddate epoch ms, id) of every live contact or deal at ``as_of``, sorted, as two arrays.

        What HubSpot search pages through. Built from the kept ContactColumns, never from rendered
        records: ~16 bytes a record instead of a closure over every contact's facts.
        """
        now = epoch_us(as_of)
        n = len(STAGES)
        keys = []  # ms << 40 | id: ids (deals' too) are below 2**40, so one int sorts by (ms, id)
        for day in self.days_until(as_of):
            if not 0 <= (day - self.start).days < self.days:
                continue
            cols = self.contact_columns(day)
            base = CONTACT_ID_BASE + cols.day_index * CONTACT_IDS_PER_DAY
            stages, seq, archived_at = cols.stages, cols.seq, cols.archived
            if object_type == "contacts":
                for i, created in enumerate(cols.created):
                    archived = archived_at[i]
                    if created > now or (archived != NOT_REACHED and archived <= now):
                        continue
                    updated = created  # the latest of creation and the stages reached by now
                    for t in stages[i * n : (i + 1) * n]:
                        if updated < t <= now:
                            updated = t
                    keys.append(modified_ms(updated) << 40 | (base + seq[i]))
            else:
                deal_base = int(f"9{base}")  # a deal's id is 9 followed by its contact's id
                for k, i in enumerate(cols.deal_at):
                    archived = archived_at[i]
                    if cols.created[i] > now or (archived != NOT_REACHED and archived <= now):
                        continue
                    opened, closed = cols.deal_opened[k], cols.deal_closed[k]
                    if opened > now:
                        continue
                    keys.append(modified_ms(closed if closed <= now else opened) << 40 | (deal_base + seq[i]))
        keys.sort()
        mask = (1 << 40) - 1
        return array("q", [k >> 40 for k in keys]), array("q", [k & mask for k in keys])

    def _kept(self, contact_id: int) -> tuple[ContactColumns, int] | None:
        """The kept columns of a contact's day and its position in them, or None (no day regenerated once built)."""
        day_index = (contact_id - CONTACT_ID_BASE) // CONTACT_IDS_PER_DAY
        if not 0 <= day_index < self.days:
            return None
        cols = self.contact_columns(self.start + timedelta(days=day_index))
        i = cols.position(contact_id)
        return None if i is None else (cols, i)

    def kept_contact(self, contact_id: int) -> ContactFacts | None:
        """One contact by id, rebuilt from the kept columns."""
        found = self._kept(contact_id)
        return None if found is None else found[0].contact(found[1])

    def kept_deal(self, deal_id: int) -> DealFacts | None:
        """One deal by id (9 followed by its contact's id), from the kept columns."""
        if not str(deal_id).startswith("9"):
            return None
        found = self._kept(int(str(deal_id)[1:] or 0))
        return None if found is None else found[0].deal(found[1])

    # The HubSpot API renders records through these two methods (sandbox/world_crm.py does the
    # rendering), so a test can patch them on one world.
    def contact_record(self, c: ContactFacts, as_of: datetime, properties: list[str] | None) -> dict:
        return contact_record(c, as_of, properties)

    def deal_record(self, d: DealFacts, as_of: datetime, properties: list[str] | None, with_contacts: bool) -> dict:
        return deal_record(d, as_of, properties, with_contacts)

    def ad_effective_status(self, ad_id: str, as_of: datetime) -> str:
        """An ad's effective_status at ``as_of``: ACTIVE while its flight runs, then AD_STATUS_AT_FLIGHT_END's."""
        return AD_STATUS_AT_FLIGHT_END.get(ad_id, "ACTIVE") if as_of >= self.default_now else "ACTIVE"

    def insights_rows(self, account_id: str, since: date, until: date, as_of: datetime) -> list[dict]:
        """Ad-level daily insights rows as Meta returns them (numbers as strings)."""
        rows = []
        day = max(since, self.start)
        while day <= min(until, self.end):
            for ad in self.ad_days(day):
                if ad.account.account_id != account_id:
                    continue
                day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC) - timedelta(
                    hours=ad.account.timezone_offset_hours_utc
                )
                if day_end > as_of:  # the account's day has not finished yet
                    continue
                leads = ad.claimed_leads_by(as_of)
                row = {
                    "account_id": account_id,
                    "account_currency": ad.account.currency,
                    "campaign_id": ad.campaign.campaign_id,
                    "campaign_name": ad.campaign.name,
                    "adset_id": ad.adset_id,
                    "adset_name": ad.adset_name,
                    "ad_id": ad.ad_id,
                    "ad_name": ad.ad_name,
                    "spend": f"{ad.spend:.2f}",
                    "impressions": str(ad.impressions),
                    "clicks": str(ad.clicks),
                    "date_start": day.isoformat(),
                    "date_stop": day.isoformat(),
                }
                actions = [{"action_type": "link_click", "value": str(ad.clicks)}]
                if leads:
                    actions.append({"action_type": "lead", "value": str(leads)})
                    actions.append({"action_type": "offsite_conversion.fb_pixel_lead", "value": str(leads)})
                row["actions"] = actions
                if leads:  # Meta omits action_values when no action has a value
                    value = f"{leads * ad.campaign.value_per_lead:.2f}"
                    row["action_values"] = [
                        {"action_type": "lead", "value": value},
                        {"action_type": "offsite_conversion.fb_pixel_lead", "value": value},
                    ]
                rows.append(row)
            day += timedelta(days=1)
        return rows

    def iter_ad_group_days(self, customer_id: str | None, since: date, until: date, as_of: datetime) -> Iterator[AdGroupDay]:
        """Google Ads ad-group days of [since, until] (account dates) that Google reports at ``as_of``."""
        day = max(since, self.start)
        while day <= min(until, self.end):
            for agd in self.ad_group_days(day):
                if (customer_id is None or agd.customer.customer_id == customer_id) and agd.reported_by(as_of):
                    yield agd
            day += timedelta(days=1)

    @property
    def session_dates(self) -> tuple[date, date]:
        """The first and last GA4 property date that can hold sessions (one day beyond the world each side)."""
        return self.start - timedelta(days=1), self.end + timedelta(days=1)

    def iter_session_blocks(self, since: date, until: date, as_of: datetime) -> Iterator[SessionBlock]:
        """GA4 session blocks with a property date in [since, until] that GA4 shows at ``as_of``."""
        # A simulated day's visits fall on the property dates one day either side of it.
        day = max(since - timedelta(days=1), self.start)
        while day <= min(until + timedelta(days=1), self.end):
            for block in self._reports(day).session_blocks:
                if since <= block.property_date <= until and block.arrives_at <= as_of:
                    yield block
            day += timedelta(days=1)

    # ---- ground truth for tests -------------------------------------------

    def truth(self, as_of: datetime | None = None) -> GroundTruth:
        return GroundTruth(self, as_of or self.default_now)


PLATFORM_CHANNEL = {"meta_ads": "paid_social", "google_ads": "paid_search"}


def _nested(values: dict[str, dict]) -> dict[str, dict]:
    return {k: dict(v) for k, v in values.items()}


@dataclass
class GroundTruth:
    """What the marts must recover, computed straight from the simulated events.

    Spend counts the days each platform reports at ``as_of`` (an account's day must
    have ended); GA4 numbers are those GA4 shows at ``as_of`` (late hits included
    once they have arrived); CRM numbers count contacts and deals visible at ``as_of``.
    Money is Decimal: amounts in their own currency as the platforms send them, and amounts in
    USD converted row by row at the day's rate of the Bank of Russia series (world.fx), rounded
    half away from zero to the cent, as the marts convert them; so the marts must equal them exactly.
    """

    world: World
    as_of: datetime

    @cached_property
    def _live_contacts(self) -> list[ContactFacts]:
        return [c for c in self.world.iter_contacts(self.as_of) if not (c.archived_at and c.archived_at <= self.as_of)]

    # ---- paid media ---------------------------------------------------------

    @cached_property
    def _ad_spend(self) -> list[tuple[str, str, str, str, Decimal, date]]:
        """(platform, account id, currency, campaign, spend in account currency, the account's day) per reported ad day."""
        rows = []
        for account in AD_ACCOUNTS:
            for row in self.world.insights_rows(account.account_id, self.world.start, self.world.end, self.as_of):
                rows.append(
                    (
                        "meta_ads",
                        account.account_id,
                        account.currency,
                        row["campaign_name"],
                        Decimal(row["spend"]),
                        date.fromisoformat(row["date_start"]),
                    )
                )
        for agd in self.world.iter_ad_group_days(None, self.world.start, self.world.end, self.as_of):
            rows.append(
                (
                    "google_ads",
                    agd.customer.customer_id,
                    agd.customer.currency,
                    agd.campaign.name,
                    Decimal(agd.cost_micros) / 1_000_000,
                    agd.day,
                )
            )
        return rows

    def to_usd(self, amount: Decimal, currency: str, day: date) -> Decimal:
        """One amount of a day in USD, at that day's rate, rounded to the cent (the marts' rule)."""
        return self.world.fx.convert(amount, currency, day, "USD")

    def _deal_usd(self, d: DealFacts) -> Decimal:
        """A won deal's amount in USD at the rate of its close date (UTC), the day its revenue is booked on."""
        return self.to_usd(Decimal(f"{d.amount:.2f}"), d.currency, d.closed_at.astimezone(UTC).date())

    @cached_property
    def spend_by_account(self) -> dict[str, Decimal]:
        """Spend in each ad account's own currency (Meta ad accounts and Google Ads customers)."""
        out: dict[str, Decimal] = defaultdict(Decimal)
        for _, account_id, _, _, spend, _ in self._ad_spend:
            out[account_id] += spend
        return dict(out)

    @cached_property
    def spend_by_platform_currency(self) -> dict[str, dict[str, Decimal]]:
        """{platform: {currency: spend in that currency}}, e.g. {"google_ads": {"RUB": ...}}."""
        out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for platform, _, currency, _, spend, _ in self._ad_spend:
            out[platform][currency] += spend
        return _nested(out)

    @cached_property
    def spend_usd_by_platform_campaign(self) -> dict[str, dict[str, Decimal]]:
        """{platform: {campaign: spend in USD}}, each ad day converted at its own day's rate."""
        out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for platform, _, currency, campaign, spend, day in self._ad_spend:
            out[platform][campaign] += self.to_usd(spend, currency, day)
        return _nested(out)

    @cached_property
    def spend_by_campaign_usd(self) -> dict[str, Decimal]:
        """Spend in USD per campaign, every platform (campaign names are unique across platforms)."""
        return {c: v for per_campaign in self.spend_usd_by_platform_campaign.values() for c, v in per_campaign.items()}

    @cached_property
    def spend_usd_by_platform(self) -> dict[str, Decimal]:
        return {p: sum(v.values()) for p, v in self.spend_usd_by_platform_campaign.items()}

    @cached_property
    def spend_usd_by_channel(self) -> dict[str, Decimal]:
        return {PLATFORM_CHANNEL[p]: v for p, v in self.spend_usd_by_platform.items()}

    @property
    def total_spend_usd(self) -> Decimal:
        """Every platform's spend in USD."""
        return sum(self.spend_by_campaign_usd.values(), Decimal(0))

    @cached_property
    def google_ads_by_campaign(self) -> dict[str, dict[str, float]]:
        """Per Google Ads campaign, all reported days: impressions, clicks, cost_micros (account currency),
        conversions and conversions_value as Google reports them at ``as_of`` (restated for 30 days); the
        value in the account currency (Decimal, each row's value as sent) and in USD (``conversions_value_usd``,
        each row at its day's rate)."""
        out: dict[str, dict] = defaultdict(lambda: defaultdict(int))
        for agd in self.world.iter_ad_group_days(None, self.world.start, self.world.end, self.as_of):
            m = out[agd.campaign.name]
            m["impressions"] += agd.impressions
            m["clicks"] += agd.clicks
            m["cost_micros"] += agd.cost_micros
            m["conversions"] += agd.conversions_at(self.as_of)
            value = Decimal(repr(agd.conversions_value_at(self.as_of)))
            m["conversions_value"] += value
            m["conversions_value_usd"] += self.to_usd(value, agd.customer.currency, agd.day)
        return {c: {k: (round(v, 6) if k == "conversions" else v) for k, v in m.items()} for c, m in out.items()}

    @cached_property
    def google_ads_conversions_by_campaign(self) -> dict[str, float]:
        return {c: m["conversions"] for c, m in self.google_ads_by_campaign.items()}

    @cached_property
    def ad_clicks_by_campaign(self) -> dict[str, int]:
        """Clicks per campaign on every ad platform, whatever the reporting cut-off: every click is a session."""
        out: dict[str, int] = defaultdict(int)
        for day in self.world.days_until(self.world.default_now):
            for ad in self.world.ad_days(day):
                out[ad.campaign.name] += ad.clicks
            for agd in self.world.ad_group_days(day):
                out[agd.campaign.name] += agd.clicks
        return dict(out)

    # ---- the website (GA4, property dates in America/New_York) ------------

    @cached_property
    def _sessions(self) -> dict[str, dict]:
        sums: dict[str, dict] = {
            name: defaultdict(int)
            for name in (
                "by_channel_day",
                "by_channel",
                "by_channel_campaign",
                "by_source_medium_campaign",
                "engaged_by_channel",
                "conversions_by_source_medium_campaign",
                "page_views_by_page",
                "exits_by_page",
                "totals",
            )
        }
        for b in self.world.iter_session_blocks(*self.world.session_dates, self.as_of):
            utm = (b.source, b.medium, b.campaign)
            sums["by_channel_day"][(b.channel, b.property_date)] += b.sessions
            sums["by_channel"][b.channel] += b.sessions
            sums["by_channel_campaign"][(b.channel, b.campaign)] += b.sessions
            sums["by_source_medium_campaign"][utm] += b.sessions
            sums["engaged_by_channel"][b.channel] += b.engaged_sessions
            sums["conversions_by_source_medium_campaign"][utm] += b.conversions
            for path, views, _, exits, _ in b.pages:
                sums["page_views_by_page"][path] += views
                sums["exits_by_page"][path] += exits
            totals = sums["totals"]
            totals["sessions"] += b.sessions
            totals["engaged_sessions"] += b.engaged_sessions
            totals["page_views"] += b.page_views
            totals["duration_seconds"] += b.duration_seconds
            totals["conversions"] += b.conversions
        return {k: dict(v) for k, v in sums.items()}

    @property
    def sessions_by_channel_day(self) -> dict[tuple[str, date], int]:
        """Sessions per channel and GA4 property date."""
        return self._sessions["by_channel_day"]

    @property
    def sessions_by_channel(self) -> dict[str, int]:
        return self._sessions["by_channel"]

    @property
    def sessions_by_channel_campaign(self) -> dict[tuple[str, str], int]:
        """Sessions per (channel, sessionCampaignName)."""
        return self._sessions["by_channel_campaign"]

    @property
    def sessions_by_source_medium_campaign(self) -> dict[tuple[str, str, str], int]:
        """Sessions per (sessionSource, sessionMedium, sessionCampaignName)."""
        return self._sessions["by_source_medium_campaign"]

    @property
    def engaged_sessions_by_channel(self) -> dict[str, int]:
        return self._sessions["engaged_by_channel"]

    @property
    def ga4_conversions_by_source_medium_campaign(self) -> dict[tuple[str, str, str], int]:
        """Sessions that created a contact, per (source, medium, campaign)."""
        return self._sessions["conversions_by_source_medium_campaign"]

    @property
    def page_views_by_page(self) -> dict[str, int]:
        return self._sessions["page_views_by_page"]

    @property
    def exits_by_page(self) -> dict[str, int]:
        return self._sessions["exits_by_page"]

    @property
    def ga4_totals(self) -> dict[str, int]:
        """sessions, engaged_sessions, page_views, duration_seconds, conversions over every property date."""
        return self._sessions["totals"]

    @property
    def session_count(self) -> int:
        return self.ga4_totals.get("sessions", 0)

    # ---- CRM ----------------------------------------------------------------

    def _count_stage(self, stage: str) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for c in self._live_contacts:
            if stage in c.stage_dates and c.stage_dates[stage] <= self.as_of:
                out[c.channel] += 1
        return dict(out)

    @cached_property
    def leads_by_channel(self) -> dict[str, int]:
        return self._count_stage("lead")

    @cached_property
    def mqls_by_channel(self) -> dict[str, int]:
        return self._count_stage("marketingqualifiedlead")

    @cached_property
    def sqls_by_channel(self) -> dict[str, int]:
        return self._count_stage("salesqualifiedlead")

    @cached_property
    def customers_by_channel(self) -> dict[str, int]:
        return self._count_stage("customer")

    @cached_property
    def revenue_by_channel_usd(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = defaultdict(Decimal)
        for c in self._live_contacts:
            d = c.deal
            if d and d.is_won and d.closed_at <= self.as_of:
                out[c.channel] += self._deal_usd(d)
        return dict(out)

    @cached_property
    def revenue_by_campaign_usd(self) -> dict[str, Decimal]:
        """Won revenue in USD per campaign: the ad campaign that bought the contact (tagged or auto-tagged),
        else its utm_campaign (an email's tracking name, a post's id)."""
        out: dict[str, Decimal] = defaultdict(Decimal)
        for c in self._live_contacts:
            d = c.deal
            campaign = c.ad_campaign or c.utm_campaign
            if d and d.is_won and d.closed_at <= self.as_of and campaign:
                out[campaign] += self._deal_usd(d)
        return dict(out)

    @cached_property
    def funnel_by_ad_campaign(self) -> dict[str, dict[str, int | Decimal]]:
        """Per ad campaign (Meta and Google Ads, whatever their links' tags): leads and customers among live
        contacts it created (by ``as_of``), their won revenue in USD, and the campaign's spend in USD."""
        out: dict[str, dict[str, int | Decimal]] = {
            c: {"leads": 0, "customers": 0, "revenue_usd": Decimal(0), "spend_usd": spend}
            for c, spend in self.spend_by_campaign_usd.items()
        }
        for c in self._live_contacts:
            if c.ad_campaign is None:
                continue
            funnel = out[c.ad_campaign]
            funnel["leads"] += c.stage_dates.get("lead", self.as_of + timedelta(days=1)) <= self.as_of
            funnel["customers"] += c.stage_dates.get("customer", self.as_of + timedelta(days=1)) <= self.as_of
            if c.deal and c.deal.is_won and c.deal.closed_at <= self.as_of:
                funnel["revenue_usd"] += self._deal_usd(c.deal)
        return out

    @cached_property
    def contacts_created_by_utm(self) -> dict[tuple[str | None, str | None, str | None], int]:
        """Contacts created by ``as_of`` (archived ones too) per (utm_source, utm_medium, utm_campaign)."""
        out: dict[tuple, int] = defaultdict(int)
        for c in self.world.iter_contacts(self.as_of):
            out[(c.utm_source, c.utm_medium, c.utm_campaign)] += 1
        return dict(out)

    @cached_property
    def contact_count(self) -> int:
        """Contacts the CRM lists (archived ones excluded)."""
        return len(self._live_contacts)

    @cached_property
    def archived_contact_count(self) -> int:
        return sum(1 for c in self.world.iter_contacts(self.as_of) if c.archived_at and c.archived_at <= self.as_of)

    @cached_property
    def deal_count(self) -> int:
        return sum(1 for _ in self.world.iter_deals(self.as_of))

    @cached_property
    def insights_row_count(self) -> int:
        return sum(len(self.world.insights_rows(a.account_id, self.world.start, self.world.end, self.as_of)) for a in AD_ACCOUNTS)

    @cached_property
    def google_ads_row_count(self) -> int:
        """Ad-group days Google reports (the rows of an ad_group report segmented by date)."""
        return sum(1 for _ in self.world.iter_ad_group_days(None, self.world.start, self.world.end, self.as_of))

    @cached_property
    def meta_claimed_leads_by_account_day(self) -> dict[tuple[str, date], int]:
        """Leads Meta claims per (ad account, account day) as its insights show them at ``as_of``:
        its 'lead' action, view-through leads included; every reported day, 0s too."""
        out: dict[tuple[str, date], int] = defaultdict(int)
        for account in AD_ACCOUNTS:
            for row in self.world.insights_rows(account.account_id, self.world.start, self.world.end, self.as_of):
                key = (account.account_id, date.fromisoformat(row["date_start"]))
                out[key] += sum(int(a["value"]) for a in row["actions"] if a["action_type"] == "lead")
        return dict(out)

    @cached_property
    def meta_conversion_value_by_campaign(self) -> dict[str, dict[str, float]]:
        """Per Meta campaign, all reported days: the value of the leads Meta claims at ``as_of`` (its
        action_values 'lead' entry: claimed leads x the campaign's value_per_lead, restated as
        view-through leads arrive), as {"account_currency": ..., "usd": ...}: each row's value as Meta sends
        it (2 decimals), and in USD at the rate of the row's day."""
        out: dict[str, dict[str, Decimal]] = defaultdict(lambda: {"account_currency": Decimal(0), "usd": Decimal(0)})
        for account in AD_ACCOUNTS:
            for row in self.world.insights_rows(account.account_id, self.world.start, self.world.end, self.as_of):
                m = out[row["campaign_name"]]
                for a in row.get("action_values", []):
                    if a["action_type"] == "lead":
                        m["account_currency"] += Decimal(a["value"])
                        m["usd"] += self.to_usd(Decimal(a["value"]), account.currency, date.fromisoformat(row["date_start"]))
        return _nested(out)

    @cached_property
    def meta_true_leads_by_account_day(self) -> dict[tuple[str, date], int]:
        """Live contacts that became leads from a Meta ad, per (ad account, day of the lead in
        the account's time zone): what the CRM can attribute to Meta."""
        campaigns = {c.name: c for c in CAMPAIGNS}
        out: dict[tuple[str, date], int] = defaultdict(int)
        for c in self._live_contacts:
            lead_at = c.stage_dates.get("lead")
            if c.channel != "paid_social" or lead_at is None or lead_at > self.as_of:
                continue
            account = campaigns[c.ad_campaign].account
            out[(account.account_id, (lead_at + timedelta(hours=account.timezone_offset_hours_utc)).date())] += 1
        return dict(out)

    # ---- email (Mailchimp) ----------------------------------------------------

    @cached_property
    def email_by_campaign(self) -> dict[str, dict[str, float]]:
        """Mailchimp's report of each campaign sent by ``as_of``, keyed by its tracking name (the
        utm_campaign of its links): emails_sent, opens, unique_opens, open_rate, clicks, unique_clicks,
        unique_subscriber_clicks, click_rate, hard_bounces, soft_bounces, unsubscribed. Rates are of
        delivered emails (sent minus bounces), as Mailchimp computes them."""
        out = {}
        for c in self.world.mailchimp.sent_campaigns(self.as_of):
            counts = self.world.mailchimp.activity(c).counts(self.as_of)
            out[c.tracking_name] = {k: v for k, v in counts.items() if not k.startswith("last_")}
        return out

    @cached_property
    def email_campaign_ids(self) -> dict[str, str]:
        """Tracking name -> Mailchimp campaign id, for the campaigns sent by ``as_of``."""
        return {c.tracking_name: c.campaign_id for c in self.world.mailchimp.sent_campaigns(self.as_of)}

    @cached_property
    def list_members_by_status(self) -> dict[str, dict[str, int]]:
        """{list id: {status: members}} at ``as_of``: pending, subscribed, unsubscribed, cleaned."""
        out = {}
        for audience in AUDIENCES:
            counts: dict[str, int] = defaultdict(int)
            for m in self.world.mailchimp.iter_members(audience, self.as_of):
                counts[m.status_at(self.as_of)] += 1
            out[audience.list_id] = dict(counts)
        return out

    @cached_property
    def email_funnel_by_campaign(self) -> dict[str, dict[str, float]]:
        """Per email campaign (tracking name): sessions GA4 shows, contacts created (archived ones too),
        leads and customers among live contacts, and won revenue in USD."""
        return self._funnel_by_campaign("email")

    @cached_property
    def email_contact_stages_by_campaign(self) -> dict[str, dict[str, int]]:
        """Per email campaign (tracking name): live contacts it created (archived ones left out, as
        the CRM lists them) and how many of them reached lead, MQL and customer by ``as_of``."""
        out: dict[str, dict[str, int]] = defaultdict(lambda: {"contacts": 0, "leads": 0, "mqls": 0, "customers": 0})
        for c in self._live_contacts:
            if c.channel != "email":
                continue
            counts = out[c.utm_campaign]
            counts["contacts"] += 1
            for key, stage in (("leads", "lead"), ("mqls", "marketingqualifiedlead"), ("customers", "customer")):
                counts[key] += stage in c.stage_dates and c.stage_dates[stage] <= self.as_of
        return dict(out)

    # ---- organic social (Facebook page, Instagram) ------------------------------

    @cached_property
    def social_by_post(self) -> dict[str, dict]:
        """Per post / media id published by ``as_of``: platform, published_at and its counters at
        ``as_of``: impressions, reach, likes (Facebook: reactions), comments, shares, saved, link_clicks."""
        out = {}
        for account in SOCIAL_ACCOUNTS:
            for post in self.world.social.posts(account, self.as_of):
                out[post.post_id] = {"platform": post.platform, "published_at": post.published_at, **post.counters_at(self.as_of)}
        return out

    @cached_property
    def social_engagement_by_channel_day(self) -> dict[tuple[str, date], dict[str, int]]:
        """Likes (Facebook: reactions), comments and shares per (facebook | instagram, UTC date they happened), up to ``as_of``."""
        out: dict[tuple[str, date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        until = self.as_of + timedelta(microseconds=1)
        for account in SOCIAL_ACCOUNTS:
            for post in self.world.social.posts(account, self.as_of):
                day = post.published_at.date()
                while datetime.combine(day, time.min, UTC) < min(until, post.published_at + timedelta(days=COUNTER_DAYS + 1)):
                    start = datetime.combine(day, time.min, UTC)
                    end = min(start + timedelta(days=1), until)
                    for name, curve in (("likes", post.likes), ("comments", post.comments), ("shares", post.shares)):
                        out[(post.platform, day)][name] += curve.between(start, end)
                    day += timedelta(days=1)
        return {k: dict(v) for k, v in out.items()}

    @cached_property
    def page_insights_by_day(self) -> dict[date, dict[str, int]]:
        """The page's daily insights Graph shows at ``as_of``, per day of the page's time zone
        (America/Los_Angeles): page_media_view (views of the page's content and of the page itself),
        page_post_engagements, page_follows (followers at the day's end)."""
        out = {}
        for day in self.world.social.reported_days(self.as_of):
            facts = self.world.social.account_day(FACEBOOK_PAGE, day)
            out[day] = {
                "page_media_view": facts["impressions"],
                "page_post_engagements": facts["engagements"],
                "page_follows": facts["audience"],
            }
        return out

    @cached_property
    def followers(self) -> dict[str, int]:
        """Facebook page and Instagram followers at ``as_of`` (as of the last day that has ended)."""
        return {account.platform: self.world.social.audience_at(account, self.as_of) for account in SOCIAL_ACCOUNTS}

    @cached_property
    def social_funnel_by_post(self) -> dict[str, dict[str, float]]:
        """Per post / media id (the utm_campaign of its link): link_clicks, sessions GA4 shows,
        contacts created (archived ones too), leads and customers among live contacts, won revenue in USD."""
        funnel = self._funnel_by_campaign("organic_social")
        return {
            post_id: {"link_clicks": counters["link_clicks"], **funnel.get(post_id, _EMPTY_FUNNEL)}
            for post_id, counters in self.social_by_post.items()
        }

    def _funnel_by_campaign(self, channel: str) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = defaultdict(lambda: dict(_EMPTY_FUNNEL))
        for (block_channel, campaign), sessions in self.sessions_by_channel_campaign.items():
            if block_channel == channel:
                out[campaign]["sessions"] += sessions
        for c in self.world.iter_contacts(self.as_of):
            if c.channel == channel:
                out[c.utm_campaign]["contacts"] += 1
        for c in self._live_contacts:
            if c.channel != channel:
                continue
            funnel = out[c.utm_campaign]
            funnel["leads"] += c.stage_dates.get("lead", self.as_of + timedelta(days=1)) <= self.as_of
            funnel["customers"] += c.stage_dates.get("customer", self.as_of + timedelta(days=1)) <= self.as_of
            if c.deal and c.deal.is_won and c.deal.closed_at <= self.as_of:
                funnel["revenue_usd"] += self._deal_usd(c.deal)
        return dict(out)

    # ---- multi-touch attribution (HubSpot page-visit events) ---------------------

    def touches(self, contact_id: str) -> tuple[Touch, ...]:
        """A contact's visits visible at ``as_of`` (the events API shows nothing from the future)."""
        contact = self.world.contact(contact_id)
        return tuple(t for t in self.world.touches(contact) if t.occurred_at <= self.as_of) if contact else ()

    def attribution(self, lookback_days: int = 90, half_life_days: float = 7.0) -> dict[tuple[str, str, date], dict[str, float]]:
        """{(model, channel, month of close): {"customers": sum of weights, "revenue_usd": ...}} over live won deals
        closed by ``as_of``: every touch in the ``lookback_days`` before the close (close included) shares the
        deal's revenue by the model's weights, in whole cents that add up to it (allocate_units); a deal without
        one goes to channel 'unattributed'. Times are the APIs' (milliseconds), so window edges fall where the
        marts put them, and days before the close are computed as they do (milliseconds / 86,400,000)."""
        out: dict[tuple[str, str, date], dict] = defaultdict(lambda: {"customers": 0.0, "revenue_usd": Decimal(0)})
        for c in self._live_contacts:
            d = c.deal
            if not (d and d.is_won and d.closed_at <= self.as_of):
                continue
            closed = floor_ms(d.closed_at)
            window = [t for t in self.touches(c.contact_id) if closed - timedelta(days=lookback_days) <= t.occurred_at <= closed]
            revenue = self._deal_usd(d)
            month = closed.date().replace(day=1)
            if not window:
                for model in MODELS:
                    out[(model, UNATTRIBUTED, month)]["customers"] += 1.0
                    out[(model, UNATTRIBUTED, month)]["revenue_usd"] += revenue
                continue
            ms_before = [(closed - floor_ms(t.occurred_at)) // timedelta(milliseconds=1) for t in window]
            weights = model_weights([ms / 86400000.0 for ms in ms_before], half_life_days)
            for model in MODELS:
                cents = allocate_units(int(revenue * 100), weights[model])
                for t, w, c in zip(window, weights[model], cents, strict=True):
                    out[(model, t.channel, month)]["customers"] += w
                    out[(model, t.channel, month)]["revenue_usd"] += Decimal(c) / 100
        return dict(out)

    def attribution_by_channel(self, model: str, **kwargs) -> dict[str, Decimal]:
        """Attributed revenue in USD per channel for one model, all months."""
        out: dict[str, Decimal] = defaultdict(Decimal)
        for (m, channel, _), values in self.attribution(**kwargs).items():
            if m == model:
                out[channel] += values["revenue_usd"]
        return dict(out)

    @cached_property
    def won_revenue_usd(self) -> Decimal:
        return sum(self.revenue_by_channel_usd.values(), Decimal(0))


_EMPTY_FUNNEL = {"sessions": 0, "contacts": 0, "leads": 0, "customers": 0, "revenue_usd": Decimal(0)}


def identified_visits_by_cell(world: World, contacts: Iterable[ContactFacts]) -> dict[tuple[date, str, str, str], int]:
    """Return visits per GA4 (property date, source, medium, campaign): each must be a non-converting session there."""
    out: dict[tuple, int] = defaultdict(int)
    for c in contacts:
        for t in world.touches(c):
            if not t.is_creating_visit:
                out[t.ga4_cell] += 1
    return dict(out)
