"""Every contact's path of website visits: what HubSpot's web-analytics events API serves.

A contact is created in one visit (its channel, UTM tags and instant are the
contact's own: ``hs_analytics_source``, ``utm_*``, ``createdate``). It then comes
back: return visits between its creation and its deal's close (and a few after
it), from organic search, direct, referral, paid-social retargeting, paid search
and, for email subscribers, newsletter clicks. So a won deal has several touches
and first-touch, last-touch and the multi-touch models credit channels
differently.

GA4 totals do not change: a return visit is an identity given to a session GA4
already counts, a non-converting one of the same property date, source, medium
and campaign. The channels drawn from are the ones with hundreds of such sessions
a day (times fall inside the hours those sessions happen), and
``identified_visits_by_cell`` (sandbox/world.py) lets a test check no cell gets more
identified visits than it has non-converting sessions.

A contact's path is a pure function of (seed, contact id, contact facts), drawn
on demand and never cached, so memory stays flat whatever the scale.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sandbox.draws import poisson
from sandbox.world_crm import ContactFacts
from sandbox.world_email import SITE, EmailWorld
from sandbox.world_frame import WorldFrame
from sandbox.world_google_ads import SEARCH_CAMPAIGNS, US_SEARCH
from sandbox.world_meta import CAMPAIGNS
from sandbox.world_web import ORGANIC_TRAFFIC, PROPERTY_TZ, property_date

EVENT_TYPE = "e_visited_page"
EVENT_ID_NAMESPACE = uuid.UUID("6f1f8a52-3c1e-4f7b-9a53-5d2b0c7e4a11")

# Return visits per contact: more while a deal is being worked, a few after it closed.
VISITS_UNTIL_CLOSE = 3.0  # mean, for contacts with a deal, between creation and close
VISITS_AFTER_CLOSE = 0.6  # mean, within VISITS_AFTER_CLOSE_DAYS after the close
VISITS_AFTER_CLOSE_DAYS = 14
VISITS_WITHOUT_DEAL = 1.0  # mean, within VISITS_WITHOUT_DEAL_DAYS after creation
VISITS_WITHOUT_DEAL_DAYS = 30

REFERRERS = {
    "organic_search": "https://www.google.com/",
    "paid_search": "https://www.google.com/",
    "paid_social": "https://l.facebook.com/",
    "referral": "https://partnerblog.example/",
}
SOCIAL_REFERRERS = {"facebook": "https://l.facebook.com/", "instagram": "https://l.instagram.com/"}

# Where return visits come from, with weights; email only for subscribers (see _return_channels).
RETURN_CHANNEL_WEIGHTS = {
    "organic_search": 0.30,
    "direct": 0.25,
    "paid_social": 0.15,
    "paid_search": 0.15,
    "referral": 0.05,
    "email": 0.10,
}
RETARGETING_CAMPAIGN = "us_retargeting_site_visitors"  # US account: its clicks fall 06-23 New York time
RETARGETING_LANDING_PAGE = "/pricing"
US_SEARCH_CAMPAIGNS = tuple(c for c in SEARCH_CAMPAIGNS if c.customer is US_SEARCH)
# Hours (property time, New York) when the channel's sessions happen on every day: US ads are
# clicked 06-23 in their account's zone (Los Angeles is 3 hours behind), email clicks follow a send.
VISIT_HOURS = {"paid_social": (6.5, 22.5), "paid_search": (9.5, 22.5)}


@dataclass(frozen=True)
class Touch:
    """One page visit of a known contact, as HubSpot records it (times in UTC, ms precision)."""

    event_id: str
    contact_id: str
    occurred_at: datetime
    channel: str
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_content: str | None
    utm_term: str | None
    landing_page: str
    referrer: str
    is_creating_visit: bool
    gclid: str | None = None  # an auto-tagged Google Ads click: in the page URL, no UTM tags

    @property
    def ga4_cell(self) -> tuple[date, str, str, str]:
        """The GA4 (property date, sessionSource, sessionMedium, sessionCampaignName) this visit is a session of."""
        if self.utm_source or self.utm_medium:
            return property_date(self.occurred_at), self.utm_source, self.utm_medium, self.utm_campaign
        traffic = ORGANIC_TRAFFIC[self.channel]
        return property_date(self.occurred_at), traffic.source, traffic.medium, traffic.campaign

    def event_record(self) -> dict:
        """The record of GET /events/v3/events (occurrence properties are strings; absent ones are left out)."""
        query = "&".join(
            f"utm_{k}={v}"
            for k, v in (
                ("source", self.utm_source),
                ("medium", self.utm_medium),
                ("campaign", self.utm_campaign),
                ("content", self.utm_content),
                ("term", self.utm_term),
            )
            if v
        )
        if self.gclid:
            query = f"gclid={self.gclid}"
        properties = {
            "hs_url": f"{SITE}{self.landing_page}" + (f"?{query}" if query else ""),
            "hs_page_path": self.landing_page,
            "hs_referrer": self.referrer or None,
            "hs_utm_source": self.utm_source,
            "hs_utm_medium": self.utm_medium,
            "hs_utm_campaign": self.utm_campaign,
            "hs_utm_content": self.utm_content,
            "hs_utm_term": self.utm_term,
        }
        return {
            "objectType": "CONTACT",
            "objectId": self.contact_id,
            "eventType": EVENT_TYPE,
            "occurredAt": iso_ms(self.occurred_at),
            "id": self.event_id,
            "properties": {k: v for k, v in sorted(properties.items()) if v is not None},
        }


def iso_ms(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def floor_ms(ts: datetime) -> datetime:
    """The instant as the APIs show it (milliseconds, floored like iso_ms)."""
    return ts.replace(microsecond=ts.microsecond // 1000 * 1000)


def touches(frame: WorldFrame, email: EmailWorld, contact: ContactFacts) -> tuple[Touch, ...]:
    """The contact's visits in time order: its creating visit, then its return visits (email ones
    after the newsletters ``email`` sent)."""
    rng = random.Random(f"{frame.seed}:touches:{contact.contact_id}")
    out = [_creating_visit(contact)]
    first_day, last_day = frame.start, frame.end
    created = contact.created_at
    spans: list[tuple[datetime, datetime, float]] = []
    deal = contact.deal
    # Spam sign-ups (archived) never come back.
    if contact.archived_at is None and deal is not None:
        spans.append((created, deal.closed_at, VISITS_UNTIL_CLOSE))
        spans.append((deal.closed_at, deal.closed_at + timedelta(days=VISITS_AFTER_CLOSE_DAYS), VISITS_AFTER_CLOSE))
    elif contact.archived_at is None:
        spans.append((created, created + timedelta(days=VISITS_WITHOUT_DEAL_DAYS), VISITS_WITHOUT_DEAL))
    channels, weights = _return_channels(contact)
    for start, end, mean in spans:
        for _ in range(poisson(rng, mean)):
            channel = rng.choices(channels, weights)[0]
            at = start + (end - start) * rng.random()
            visit = _return_visit(email, rng, contact, channel, at, len(out))
            # Only days GA4 has sessions for (UTC and property dates), strictly after the creating visit.
            if (
                visit is not None
                and created < visit.occurred_at
                and first_day <= visit.occurred_at.date() <= last_day
                and first_day <= property_date(visit.occurred_at) <= last_day
            ):
                out.append(visit)
    out.sort(key=lambda t: (t.occurred_at, t.event_id))
    return tuple(out)


def _return_channels(contact: ContactFacts) -> tuple[list[str], list[float]]:
    names = [c for c in RETURN_CHANNEL_WEIGHTS if c != "email" or contact.stage_dates.get("subscriber")]
    return names, [RETURN_CHANNEL_WEIGHTS[c] for c in names]


def _event_id(contact_id: str, n: int) -> str:
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{contact_id}:{n}"))


def _creating_visit(c: ContactFacts) -> Touch:
    if c.channel in ORGANIC_TRAFFIC:
        landing = ORGANIC_TRAFFIC[c.channel].landing_pages[0][0]
    else:
        landing = _campaign_landing_page(c)
    referrer = SOCIAL_REFERRERS.get(c.utm_source or "", "") if c.channel == "organic_social" else REFERRERS.get(c.channel, "")
    return Touch(
        _event_id(c.contact_id, 0),
        c.contact_id,
        floor_ms(c.created_at),
        c.channel,
        c.utm_source,
        c.utm_medium,
        c.utm_campaign,
        c.utm_content,
        c.utm_term,
        landing,
        referrer,
        True,
        c.gclid,
    )


def _campaign_landing_page(c: ContactFacts) -> str:
    for campaign in CAMPAIGNS:
        if campaign.name == c.utm_campaign:
            return campaign.landing_page
    for campaign in SEARCH_CAMPAIGNS:
        for group in campaign.ad_groups:
            if group.ad_group_id in (c.utm_content, c.ad_group_id):
                return group.landing_page
    return "/"  # email and social links land on pages the contact facts do not keep


def _return_visit(email: EmailWorld, rng: random.Random, c: ContactFacts, channel: str, at: datetime, n: int) -> Touch | None:
    """A visit on ``at``'s property date from ``channel``, at an hour that channel's sessions happen."""
    event_id = _event_id(c.contact_id, n)
    day = property_date(at)
    if channel in ORGANIC_TRAFFIC:
        pages = ORGANIC_TRAFFIC[channel].landing_pages
        landing = rng.choices([p for p, _, _ in pages], [w for _, w, _ in pages])[0]
        return Touch(
            event_id,
            c.contact_id,
            floor_ms(at),
            channel,
            None,
            None,
            None,
            None,
            None,
            landing,
            REFERRERS.get(channel, ""),
            False,
        )
    if channel == "email":
        sends = [s for s in email.campaigns if c.created_at < s.send_time <= at]
        if not sends:
            return None
        send = sends[-1]  # the latest newsletter before the visit; it is clicked within hours of the send
        visit_at = send.send_time + timedelta(minutes=rng.uniform(5, 240))
        return Touch(
            event_id,
            c.contact_id,
            floor_ms(visit_at),
            "email",
            "newsletter",
            "email",
            send.tracking_name,
            None,
            None,
            "/",
            "",
            False,
        )
    hours = VISIT_HOURS[channel]
    local = datetime.combine(day, time.min, PROPERTY_TZ) + timedelta(hours=rng.uniform(*hours))
    visit_at = local.astimezone(UTC)
    if channel == "paid_social":
        return Touch(
            event_id,
            c.contact_id,
            floor_ms(visit_at),
            channel,
            "facebook",
            "paid_social",
            RETARGETING_CAMPAIGN,
            None,
            None,
            RETARGETING_LANDING_PAGE,
            REFERRERS[channel],
            False,
        )
    campaign = rng.choice(US_SEARCH_CAMPAIGNS)
    group = rng.choice(campaign.ad_groups)
    return Touch(
        event_id,
        c.contact_id,
        floor_ms(visit_at),
        channel,
        "google",
        "cpc",
        campaign.name,
        group.ad_group_id,
        group.keyword,
        group.landing_page,
        REFERRERS[channel],
        False,
    )


# ---- expected attribution (plain Python, the marts' definition) ----------------------

MODELS = ("first_touch", "last_touch", "linear", "position_based", "time_decay")
UNATTRIBUTED = "unattributed"


def allocate_units(total: int, weights: list[float]) -> list[int]:
    """``total`` (e.g. a deal's cents) shared out by ``weights`` in whole units that add up to it: each
    gets floor(total x weight), the units left over go one each to the largest remainders (ties: the
    earlier touch), as the marts share revenue out (dbt_project/macros/currency.sql, allocate_units)."""
    raw = [float(total) * w for w in weights]
    units = [math.floor(r) for r in raw]
    left = total - sum(units)
    if left >= 0:
        for i in sorted(range(len(raw)), key=lambda i: (-(raw[i] - units[i]), i))[:left]:
            units[i] += 1
    else:
        for i in sorted(range(len(raw)), key=lambda i: (raw[i] - units[i], -i))[:-left]:
            units[i] -= 1
    return units


def model_weights(days_before_close: list[float], half_life_days: float) -> dict[str, list[float]]:
    """Each model's weight per touch (touches in time order, days before the close of each)."""
    n = len(days_before_close)
    position = [1.0] if n == 1 else [0.5, 0.5] if n == 2 else [0.4, *([0.2 / (n - 2)] * (n - 2)), 0.4]
    decay = [0.5 ** (d / half_life_days) for d in days_before_close]
    return {
        "first_touch": [1.0 if i == 0 else 0.0 for i in range(n)],
        "last_touch": [1.0 if i == n - 1 else 0.0 for i in range(n)],
        "linear": [1.0 / n] * n,
        "position_based": position,
        "time_decay": [w / sum(decay) for w in decay],
    }
