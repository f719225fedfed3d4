"""The simulated marketing business behind every sandbox API.

One seeded, deterministic company that markets on several channels at once.
Everything the platforms serve is derived from the same events, so the numbers
agree across platforms: a Meta ad click becomes a HubSpot contact whose UTM tags
name the campaign and the ad; contacts move through lifecycle stages with dates;
some win deals with amounts in their market's currency.

The world is a function of time: ``contacts(as_of)`` shows each contact as a
platform would on that instant (stages not yet reached are empty, the
last-modified date is the latest visible change, archived records appear only
after they were archived). Moving the sandbox clock forward therefore changes
records that an extractor already read, which is what incremental reads and
restatement windows must cope with.

Days are generated independently from ``Random(f"{seed}:{kind}:{day}:{key}")``
(string seeds hash with SHA-512, so results do not depend on PYTHONHASHSEED),
which keeps generation lazy: a day is built only when asked for and cached.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

# Exchange rates the business books with; the dbt seed fx_rates.csv holds the same.
FX_TO_USD = {"USD": 1.0, "EUR": 1.08, "RUB": 0.011, "GBP": 1.27}

STAGES = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer")
ALL_HUBSPOT_STAGES = STAGES + ("evangelist", "other")


@dataclass(frozen=True)
class AdAccount:
    account_id: str
    name: str
    currency: str
    timezone_name: str
    timezone_offset_hours_utc: float


@dataclass(frozen=True)
class Campaign:
    """A Meta campaign and the economics of the people it brings in."""

    campaign_id: str
    name: str
    account: AdAccount
    daily_budget: float  # account currency, before the scale knob
    cpm: float  # cost per 1000 impressions, account currency
    ctr: float  # clicks / impressions
    lead_rate: float  # contacts / clicks
    mql_rate: float
    sql_rate: float
    win_rate: float  # of SQLs
    deal_size: float  # mean deal amount, account currency
    view_through_leads: float  # extra leads the platform claims per true lead

    @property
    def ads(self) -> list[tuple[str, str, str, str]]:
        """(adset_id, adset_name, ad_id, ad_name): two ad sets of two ads each."""
        out = []
        for s in range(2):
            adset_id = f"{self.campaign_id[:-2]}1{s}"
            for a in range(2):
                out.append((adset_id, f"{self.name} / set {s + 1}", f"{self.campaign_id[:-2]}2{s}{a}", f"{self.name} / ad {s + 1}.{a + 1}"))
        return out


@dataclass(frozen=True)
class OrganicSource:
    """A channel that brings contacts without ad spend the sandbox reports on."""

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


US = AdAccount("1001", "Funnelhouse Demo US", "USD", "America/New_York", -4.0)
EU = AdAccount("1002", "Funnelhouse Demo EU", "EUR", "Europe/Berlin", 2.0)
AD_ACCOUNTS = (US, EU)

# Economics chosen so the marts have something true to find: retargeting is
# clearly the best paid channel, the EU video awareness campaign plainly loses money.
CAMPAIGNS = (
    Campaign("23850000000100", "us_prospecting_lookalike", US, 180.0, 9.0, 0.012, 0.035, 0.45, 0.45, 0.35, 1400.0, 0.3),
    Campaign("23850000000200", "us_retargeting_site_visitors", US, 90.0, 14.0, 0.021, 0.07, 0.6, 0.55, 0.45, 1800.0, 0.5),
    Campaign("23850000000300", "eu_brand_awareness_video", EU, 220.0, 6.0, 0.006, 0.012, 0.25, 0.3, 0.2, 700.0, 0.8),
    Campaign("23850000000400", "eu_lead_gen_forms", EU, 120.0, 10.0, 0.01, 0.05, 0.4, 0.4, 0.3, 1100.0, 0.4),
)

ORGANIC_SOURCES = (
    OrganicSource("paid_search", "PAID_SEARCH", "google", "cpc", ("search_brand", "search_generic"), 6.0, 0.5, 0.5, 0.35, 1500.0),
    OrganicSource("organic_search", "ORGANIC_SEARCH", None, None, (), 7.0, 0.35, 0.4, 0.3, 1200.0),
    OrganicSource("direct", "DIRECT_TRAFFIC", None, None, (), 4.0, 0.4, 0.45, 0.35, 1300.0),
    OrganicSource("referral", "REFERRALS", None, None, (), 2.0, 0.45, 0.5, 0.4, 1500.0),
    OrganicSource("email", "EMAIL_MARKETING", "newsletter", "email", ("newsletter_weekly", "product_update"), 5.0, 0.3, 0.35, 0.3, 900.0, starts_as_subscriber=True),
    OrganicSource("organic_social", "SOCIAL_MEDIA", "instagram", "social", ("ig_stories", "ig_reels"), 3.0, 0.25, 0.3, 0.25, 800.0),
)

CONTACT_ID_BASE = 1_000_000_000
CONTACT_IDS_PER_DAY = 1_000_000
DEAL_OPEN_STAGES = ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin", "contractsent")


@dataclass(frozen=True)
class ContactFacts:
    """Everything that will ever happen to one contact (times in UTC)."""

    contact_id: str
    created_at: datetime
    channel: str
    hs_analytics_source: str
    source_data_1: str
    source_data_2: str
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_content: str | None
    stage_dates: dict[str, datetime]  # stage -> entered at; only stages that will be reached
    archived_at: datetime | None
    deal: DealFacts | None


@dataclass(frozen=True)
class DealFacts:
    deal_id: str
    contact_id: str
    created_at: datetime
    closed_at: datetime
    is_won: bool
    amount: float  # in currency, 2 decimals
    currency: str


@dataclass(frozen=True)
class AdDay:
    """One ad's delivery on one day of its account's time zone."""

    account: AdAccount
    campaign: Campaign
    adset_id: str
    adset_name: str
    ad_id: str
    ad_name: str
    day: date
    impressions: int
    clicks: int
    spend: float  # account currency, 2 decimals
    true_lead_ids: tuple[str, ...]
    claimed_leads: tuple[datetime, ...]  # when the platform reports each lead it claims


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


@dataclass
class World:
    seed: int = 7
    scale: float = 1.0
    start: date = date(2026, 6, 1)
    days: int = 90
    _day_cache: dict = field(default_factory=dict, repr=False)

    @property
    def end(self) -> date:
        """The last simulated day (inclusive)."""
        return self.start + timedelta(days=self.days - 1)

    @property
    def default_now(self) -> datetime:
        """The clock a fresh server starts at: the midnight after the last day."""
        return datetime.combine(self.end + timedelta(days=1), datetime.min.time(), UTC)

    def _rng(self, kind: str, day: date, key: str) -> random.Random:
        return random.Random(f"{self.seed}:{kind}:{day.isoformat()}:{key}")

    # ---- generation -------------------------------------------------------

    def ad_days(self, day: date) -> list[AdDay]:
        return self._generate_day(day)[0]

    def contacts_created_on(self, day: date) -> list[ContactFacts]:
        return self._generate_day(day)[1]

    def _generate_day(self, day: date) -> tuple[list[AdDay], list[ContactFacts]]:
        if day in self._day_cache:
            return self._day_cache[day]
        day_index = (day - self.start).days
        if not 0 <= day_index < self.days:
            return [], []
        next_seq = iter(range(CONTACT_IDS_PER_DAY)).__next__
        contact_id = lambda: str(CONTACT_ID_BASE + day_index * CONTACT_IDS_PER_DAY + next_seq())  # noqa: E731
        ad_days: list[AdDay] = []
        contacts: list[ContactFacts] = []
        weekday_factor = 0.8 if day.weekday() >= 5 else 1.05

        for campaign in CAMPAIGNS:
            for adset_id, adset_name, ad_id, ad_name in campaign.ads:
                rng = self._rng("ad", day, ad_id)
                budget = campaign.daily_budget * self.scale / 4 * weekday_factor * rng.uniform(0.85, 1.15)
                impressions = int(budget / campaign.cpm * 1000)
                clicks = _binomial(rng, impressions, campaign.ctr)
                spend = round(impressions * campaign.cpm / 1000, 2)
                n_leads = _binomial(rng, clicks, campaign.lead_rate)
                lead_ids = []
                claimed = []
                for _ in range(n_leads):
                    cid = contact_id()
                    # Clicks happen in the account's day; contacts are stamped in UTC.
                    local_seconds = rng.uniform(6 * 3600, 23 * 3600)
                    created = datetime.combine(day, datetime.min.time(), UTC) + timedelta(seconds=local_seconds - campaign.account.timezone_offset_hours_utc * 3600)
                    contacts.append(self._contact(rng, cid, created, "paid_social", "PAID_SOCIAL", "facebook", campaign.name,
                                                  "facebook", "paid_social", campaign.name, ad_id,
                                                  campaign.mql_rate, campaign.sql_rate, campaign.win_rate, campaign.deal_size, campaign.account.currency, False))
                    lead_ids.append(cid)
                    claimed.append(created + timedelta(minutes=rng.uniform(1, 90)))
                # The platform also claims view-through leads, reported days later (restatement).
                n_view = _binomial(rng, n_leads * 3, campaign.view_through_leads / 3)
                for _ in range(n_view):
                    claimed.append(datetime.combine(day, datetime.min.time(), UTC) + timedelta(days=rng.uniform(0.5, 7)))
                ad_days.append(AdDay(campaign.account, campaign, adset_id, adset_name, ad_id, ad_name, day,
                                     impressions, clicks, spend, tuple(lead_ids), tuple(claimed)))

        for source in ORGANIC_SOURCES:
            rng = self._rng("organic", day, source.channel)
            n = _poisson(rng, source.contacts_per_day * self.scale * weekday_factor)
            for _ in range(n):
                cid = contact_id()
                created = datetime.combine(day, datetime.min.time(), UTC) + timedelta(seconds=rng.uniform(0, 86_399))
                campaign = rng.choice(source.campaigns) if source.campaigns else None
                data_1 = {"ORGANIC_SEARCH": "google", "DIRECT_TRAFFIC": "", "REFERRALS": "partnerblog.example"}.get(source.hs_analytics_source, source.utm_source or "")
                contacts.append(self._contact(rng, cid, created, source.channel, source.hs_analytics_source, data_1, campaign or "",
                                              source.utm_source, source.utm_medium, campaign, None,
                                              source.mql_rate, source.sql_rate, source.win_rate, source.deal_size, source.currency,
                                              source.starts_as_subscriber))
        contacts.sort(key=lambda c: c.contact_id)
        self._day_cache[day] = (ad_days, contacts)
        return ad_days, contacts

    def _contact(self, rng, cid, created, channel, hs_source, data_1, data_2, utm_source, utm_medium, utm_campaign, utm_content,
                 mql_rate, sql_rate, win_rate, deal_size, currency, starts_as_subscriber) -> ContactFacts:
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
            for stage, rate, mean_days in (("marketingqualifiedlead", mql_rate, 4), ("salesqualifiedlead", sql_rate, 7), ("opportunity", 0.85, 5)):
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
        return ContactFacts(cid, created, channel, hs_source, data_1, data_2, utm_source, utm_medium, utm_campaign, utm_content,
                            stage_dates, archived_at, deal)

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

    def iter_deals(self, as_of: datetime, from_id: int = 0):
        """Deals that exist at ``as_of``, in id order (a deal's id is 9 followed by its contact's id)."""
        for c in self.iter_contacts(as_of, int(str(from_id)[1:] or 0)):
            if c.deal and c.deal.created_at <= as_of and not (c.archived_at and c.archived_at <= as_of):
                yield c.deal

    def contact_record(self, c: ContactFacts, as_of: datetime, properties: list[str] | None) -> dict:
        visible = {s: t for s, t in c.stage_dates.items() if t <= as_of}
        current = max(visible, key=lambda s: visible[s])
        updated = max([c.created_at, *visible.values()])
        props = {
            "createdate": _iso(c.created_at),
            "email": f"contact{c.contact_id}@example.com",
            "firstname": "Contact",
            "lastname": c.contact_id,
            "hs_object_id": c.contact_id,
            "lastmodifieddate": _iso(updated),
            "lifecyclestage": current,
            "hs_analytics_source": c.hs_analytics_source,
            "hs_analytics_source_data_1": c.source_data_1,
            "hs_analytics_source_data_2": c.source_data_2,
            "utm_source": c.utm_source,
            "utm_medium": c.utm_medium,
            "utm_campaign": c.utm_campaign,
            "utm_content": c.utm_content,
        }
        for stage in ALL_HUBSPOT_STAGES:
            props[f"hs_lifecyclestage_{stage}_date"] = _iso(visible[stage]) if stage in visible else None
        if properties is not None:  # HubSpot returns the requested properties plus a few defaults
            wanted = set(properties) | {"createdate", "lastmodifieddate", "hs_object_id"}
            props = {k: v for k, v in props.items() if k in wanted}
            props.update({k: None for k in wanted - props.keys()})
        record = {"id": c.contact_id, "properties": props, "createdAt": _iso(c.created_at), "updatedAt": _iso(updated),
                  "archived": False}
        if c.archived_at and c.archived_at <= as_of:
            record["archived"] = True
            record["archivedAt"] = _iso(c.archived_at)
        return record

    def deal_record(self, d: DealFacts, as_of: datetime, properties: list[str] | None, with_contacts: bool) -> dict:
        closed = d.closed_at <= as_of
        updated = d.closed_at if closed else d.created_at
        stage = ("closedwon" if d.is_won else "closedlost") if closed else DEAL_OPEN_STAGES[int(d.deal_id) % len(DEAL_OPEN_STAGES)]
        props = {
            "dealname": f"Deal for contact {d.contact_id}",
            "amount": f"{d.amount:.2f}",
            "dealstage": stage,
            "pipeline": "default",
            "closedate": _iso(d.closed_at) if closed else None,
            "createdate": _iso(d.created_at),
            "hs_lastmodifieddate": _iso(updated),
            "hs_is_closed_won": "true" if closed and d.is_won else "false",
            "hs_is_closed": "true" if closed else "false",
            "deal_currency_code": d.currency,
            "hs_object_id": d.deal_id,
        }
        if properties is not None:
            wanted = set(properties) | {"createdate", "hs_lastmodifieddate", "hs_object_id"}
            props = {k: v for k, v in props.items() if k in wanted}
            props.update({k: None for k in wanted - props.keys()})
        record = {"id": d.deal_id, "properties": props, "createdAt": _iso(d.created_at), "updatedAt": _iso(updated), "archived": False}
        if with_contacts:
            record["associations"] = {"contacts": {"results": [{"id": d.contact_id, "type": "deal_to_contact"}]}}
        return record

    def insights_rows(self, account_id: str, since: date, until: date, as_of: datetime) -> list[dict]:
        """Ad-level daily insights rows as Meta returns them (numbers as strings)."""
        rows = []
        day = max(since, self.start)
        while day <= min(until, self.end):
            for ad in self.ad_days(day):
                if ad.account.account_id != account_id:
                    continue
                day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC) - timedelta(hours=ad.account.timezone_offset_hours_utc)
                if day_end > as_of:  # the account's day has not finished yet
                    continue
                leads = sum(1 for t in ad.claimed_leads if t <= as_of)
                row = {
                    "account_id": account_id, "account_currency": ad.account.currency,
                    "campaign_id": ad.campaign.campaign_id, "campaign_name": ad.campaign.name,
                    "adset_id": ad.adset_id, "adset_name": ad.adset_name, "ad_id": ad.ad_id, "ad_name": ad.ad_name,
                    "spend": f"{ad.spend:.2f}", "impressions": str(ad.impressions), "clicks": str(ad.clicks),
                    "date_start": day.isoformat(), "date_stop": day.isoformat(),
                }
                actions = [{"action_type": "link_click", "value": str(ad.clicks)}]
                if leads:
                    actions.append({"action_type": "lead", "value": str(leads)})
                    actions.append({"action_type": "offsite_conversion.fb_pixel_lead", "value": str(leads)})
                row["actions"] = actions
                rows.append(row)
            day += timedelta(days=1)
        return rows

    # ---- ground truth for tests -------------------------------------------

    def truth(self, as_of: datetime | None = None) -> GroundTruth:
        return GroundTruth(self, as_of or self.default_now)


@dataclass
class GroundTruth:
    """What the marts must recover, computed straight from the simulated events."""

    world: World
    as_of: datetime

    @cached_property
    def _live_contacts(self) -> list[ContactFacts]:
        return [c for c in self.world.iter_contacts(self.as_of) if not (c.archived_at and c.archived_at <= self.as_of)]

    @cached_property
    def spend_by_account(self) -> dict[str, float]:
        """Spend in each account's own currency, days whose account day has ended."""
        out: dict[str, float] = defaultdict(float)
        for account in AD_ACCOUNTS:
            for row in self.world.insights_rows(account.account_id, self.world.start, self.world.end, self.as_of):
                out[account.account_id] += float(row["spend"])
        return {k: round(v, 2) for k, v in out.items()}

    @cached_property
    def spend_by_campaign_usd(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for account in AD_ACCOUNTS:
            for row in self.world.insights_rows(account.account_id, self.world.start, self.world.end, self.as_of):
                out[row["campaign_name"]] += float(row["spend"]) * FX_TO_USD[account.currency]
        return dict(out)

    @property
    def total_spend_usd(self) -> float:
        return sum(self.spend_by_campaign_usd.values())

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
    def revenue_by_channel_usd(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for c in self._live_contacts:
            d = c.deal
            if d and d.is_won and d.closed_at <= self.as_of:
                out[c.channel] += d.amount * FX_TO_USD[d.currency]
        return dict(out)

    @cached_property
    def revenue_by_campaign_usd(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for c in self._live_contacts:
            d = c.deal
            if d and d.is_won and d.closed_at <= self.as_of and c.utm_campaign:
                out[c.utm_campaign] += d.amount * FX_TO_USD[d.currency]
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
    def meta_true_leads_by_account_day(self) -> dict[tuple[str, date], int]:
        """Live contacts that became leads from a Meta ad, per (ad account, day of the lead in
        the account's time zone): what the CRM can attribute to Meta."""
        campaigns = {c.name: c for c in CAMPAIGNS}
        out: dict[tuple[str, date], int] = defaultdict(int)
        for c in self._live_contacts:
            lead_at = c.stage_dates.get("lead")
            if c.channel != "paid_social" or lead_at is None or lead_at > self.as_of:
                continue
            account = campaigns[c.utm_campaign].account
            out[(account.account_id, (lead_at + timedelta(hours=account.timezone_offset_hours_utc)).date())] += 1
        return dict(out)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam > 50:  # normal approximation keeps large scales fast
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def _binomial(rng: random.Random, n: int, p: float) -> int:
    if n < 200:
        return sum(1 for _ in range(n) if rng.random() < p)
    return min(n, max(0, int(round(rng.gauss(n * p, math.sqrt(n * p * (1 - p)))))))
