"""The CRM side of the simulated business: a contact's and a deal's facts, as HubSpot will show them.

A contact's id encodes the day it was created (``CONTACT_ID_BASE + day index x
CONTACT_IDS_PER_DAY + n``); a deal's id is 9 followed by its contact's id. The facts
hold everything that will ever happen to the record; what a platform shows at an
instant is derived from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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

