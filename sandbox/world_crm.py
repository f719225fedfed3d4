"""The CRM side of the simulated business: contacts' and deals' facts, and their HubSpot records.

A contact's id encodes the day it was created (``CONTACT_ID_BASE + day index x
CONTACT_IDS_PER_DAY + n``); a deal's id is 9 followed by its contact's id. The facts
hold everything that will ever happen to the record; the record HubSpot's CRM API
shows at an instant (``contact_record``, ``deal_record``) is derived from them. The
World (sandbox/world.py) generates the facts and keeps each day's as ``ContactColumns``.
"""

from __future__ import annotations

import bisect
from array import array
from dataclasses import dataclass
from datetime import UTC, datetime

from sandbox.instants import NOT_REACHED, at_epoch_us, epoch_us
from sandbox.world_google_ads import gclid as gclid_of

STAGES = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer")
ALL_HUBSPOT_STAGES = STAGES + ("evangelist", "other")

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
    utm_term: str | None = None
    email: str | None = None  # the address the contact signed up with (an email subscriber's); else made from the id
    ad_campaign: str | None = None  # the ad campaign (Meta or Google Ads) whose click created it, however tagged
    ad_group_id: str | None = None  # and its Google Ads ad group (an auto-tagged click's is in click_view only)

    @property
    def gclid(self) -> str | None:
        """The Google Click ID of an auto-tagged ad click (an ad click without UTM tags); HubSpot keeps it."""
        if self.ad_campaign is None or self.utm_source is not None or self.utm_medium is not None:
            return None
        return gclid_of(self.contact_id)


@dataclass(frozen=True)
class DealFacts:
    deal_id: str
    contact_id: str
    created_at: datetime
    closed_at: datetime
    is_won: bool
    amount: float  # in currency, 2 decimals
    currency: str


def modified_ms(us: int) -> int:
    """Epoch ms of a time as HubSpot's ISO property reads back: truncated to ms, then through the
    float seconds of datetime.timestamp() (what parsing the rendered string gives, bit for bit)."""
    return int((us - us % 1000) / 1_000_000 * 1000)


@dataclass(frozen=True)
class ContactColumns:
    """One day's contacts as a few arrays (~93 bytes a contact), kept once a CRM request read the day.

    The HubSpot search index of a clock is built from these, and the contacts on a search page or
    behind an events request are rebuilt from them, so none regenerates the days the LRU of full
    days has dropped. The one structure of the sandbox that grows with the number of people: a
    CRM is an index of its records (~44 MiB for the 500,000 contacts of scale 100).
    """

    day_index: int
    seq: array  # contact id - the day's first id, ascending
    created: array  # epoch microseconds
    archived: array  # epoch microseconds or NOT_REACHED
    stages: array  # len(STAGES) per contact, in STAGES order: epoch microseconds or NOT_REACHED
    profiles: list[tuple]  # (channel, source, data 1, data 2, utm source/medium/campaign/content/term), shared
    emails: dict[int, str]  # position -> the address, for contacts that signed up with one
    # A minority of contacts have a deal: its columns, in position order (deal_at: the contact's position).
    deal_at: array
    deal_opened: array  # epoch microseconds
    deal_closed: array  # epoch microseconds
    deal_won: array
    deal_amount: array
    deal_currency: list[str]  # interned

    @classmethod
    def of(cls, day_index: int, contacts: list[ContactFacts], interned: dict) -> ContactColumns:
        base = CONTACT_ID_BASE + day_index * CONTACT_IDS_PER_DAY
        cols = cls(
            day_index,
            array("i"),
            array("q"),
            array("q"),
            array("q"),
            [],
            {},
            array("i"),
            array("q"),
            array("q"),
            array("b"),
            array("d"),
            [],
        )
        for i, c in enumerate(contacts):
            cols.seq.append(int(c.contact_id) - base)
            cols.created.append(epoch_us(c.created_at))
            cols.archived.append(NOT_REACHED if c.archived_at is None else epoch_us(c.archived_at))
            cols.stages.extend(epoch_us(c.stage_dates[s]) if s in c.stage_dates else NOT_REACHED for s in STAGES)
            profile = (
                c.channel,
                c.hs_analytics_source,
                c.source_data_1,
                c.source_data_2,
                c.utm_source,
                c.utm_medium,
                c.utm_campaign,
                c.utm_content,
                c.utm_term,
                c.ad_campaign,
                c.ad_group_id,
            )
            cols.profiles.append(interned.setdefault(profile, profile))
            if c.email is not None:
                cols.emails[i] = c.email
            if (d := c.deal) is not None:
                cols.deal_at.append(i)
                cols.deal_opened.append(epoch_us(d.created_at))
                cols.deal_closed.append(epoch_us(d.closed_at))
                cols.deal_won.append(d.is_won)
                cols.deal_amount.append(d.amount)
                cols.deal_currency.append(interned.setdefault(d.currency, d.currency))
        return cols

    def deal(self, i: int) -> DealFacts | None:
        """The deal of the contact at position i, equal to the generated one, or None."""
        k = bisect.bisect_left(self.deal_at, i)
        if k == len(self.deal_at) or self.deal_at[k] != i:
            return None
        contact_id = str(CONTACT_ID_BASE + self.day_index * CONTACT_IDS_PER_DAY + self.seq[i])
        return DealFacts(
            f"9{contact_id}",
            contact_id,
            at_epoch_us(self.deal_opened[k]),
            at_epoch_us(self.deal_closed[k]),
            bool(self.deal_won[k]),
            self.deal_amount[k],
            self.deal_currency[k],
        )

    def contact(self, i: int) -> ContactFacts:
        """The contact at position i, equal to the generated one (stages in the same order)."""
        (
            channel,
            source,
            data_1,
            data_2,
            utm_source,
            utm_medium,
            utm_campaign,
            utm_content,
            utm_term,
            ad_campaign,
            ad_group_id,
        ) = self.profiles[i]
        n = len(STAGES)
        stage_dates = {
            s: at_epoch_us(t) for s, t in zip(STAGES, self.stages[i * n : (i + 1) * n], strict=True) if t != NOT_REACHED
        }
        archived = self.archived[i]
        return ContactFacts(
            str(CONTACT_ID_BASE + self.day_index * CONTACT_IDS_PER_DAY + self.seq[i]),
            at_epoch_us(self.created[i]),
            channel,
            source,
            data_1,
            data_2,
            utm_source,
            utm_medium,
            utm_campaign,
            utm_content,
            stage_dates,
            None if archived == NOT_REACHED else at_epoch_us(archived),
            self.deal(i),
            utm_term,
            self.emails.get(i),
            ad_campaign,
            ad_group_id,
        )

    def position(self, contact_id: int) -> int | None:
        seq = contact_id - CONTACT_ID_BASE - self.day_index * CONTACT_IDS_PER_DAY
        i = bisect.bisect_left(self.seq, seq)
        return i if i < len(self.seq) and self.seq[i] == seq else None


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def contact_record(c: ContactFacts, as_of: datetime, properties: list[str] | None) -> dict:
    """The contact as HubSpot's CRM API shows it at ``as_of`` (only ``properties``, if given, and the defaults)."""
    visible = {s: t for s, t in c.stage_dates.items() if t <= as_of}
    current = max(visible, key=lambda s: visible[s])
    updated = max([c.created_at, *visible.values()])
    props = {
        "createdate": _iso(c.created_at),
        "email": c.email or f"contact{c.contact_id}@example.com",
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
        "utm_term": c.utm_term,
        "hs_google_click_id": c.gclid,
    }
    for stage in ALL_HUBSPOT_STAGES:
        props[f"hs_lifecyclestage_{stage}_date"] = _iso(visible[stage]) if stage in visible else None
    if properties is not None:  # HubSpot returns the requested properties plus a few defaults
        wanted = set(properties) | {"createdate", "lastmodifieddate", "hs_object_id"}
        props = {k: v for k, v in props.items() if k in wanted}
        props.update({k: None for k in wanted - props.keys()})
    record = {
        "id": c.contact_id,
        "properties": props,
        "createdAt": _iso(c.created_at),
        "updatedAt": _iso(updated),
        "archived": False,
    }
    if c.archived_at and c.archived_at <= as_of:
        record["archived"] = True
        record["archivedAt"] = _iso(c.archived_at)
    return record


def deal_record(d: DealFacts, as_of: datetime, properties: list[str] | None, with_contacts: bool) -> dict:
    """The deal as HubSpot's CRM API shows it at ``as_of``, with its contact association if asked."""
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
    record = {
        "id": d.deal_id,
        "properties": props,
        "createdAt": _iso(d.created_at),
        "updatedAt": _iso(updated),
        "archived": False,
    }
    if with_contacts:
        record["associations"] = {"contacts": {"results": [{"id": d.contact_id, "type": "deal_to_contact"}]}}
    return record
