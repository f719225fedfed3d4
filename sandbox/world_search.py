"""Google Search Console's side of the simulated business: search clicks, impressions and positions.

The site is one Search Console domain property (``sc-domain:funnelhouse.example``) whose pages are
the GA4 property's pages on ``https://www.funnelhouse.example``. A day's clicks to a page follow
the GA4 organic search sessions that landed on it (sandbox/world_web.py) the way they do in life:
close, not equal. Search Console counts a click whether or not the visitor's browser ran GA4's
tag (consent banners, blockers) and GA4 folds a visitor's repeat clicks into one session, so each
(day, page) gets between 2% and 15% more clicks than sessions (CLICK_PER_SESSION). A session's
Search Console day is its GA4 property date: the three hours between New York and Pacific time
are not modelled.

Each page's clicks split over its queries (QUERIES), devices and countries; each cell gets the
impressions its position's click-through rate implies and a position that drifts over the period
(the UTM guide loses rank as it loses traffic, the attribution article gains). A share of every
page's clicks comes from rare queries Search Console anonymises: they count in the date-only
totals and never in query rows (ANONYMISED_SHARE).

Freshness: a day's data shows from the day's start (Pacific) with ``dataState: all``, partial
(``completeness``), and becomes final FINAL_AFTER after the day ends; ``dataState: final`` only
serves final days. Ground truth: ``cells``/``daily`` at an instant are what Search Console shows then.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sandbox.draws import fast_binomial, multinomial, poisson

if TYPE_CHECKING:
    from sandbox.world import World

SITE_URL = "sc-domain:funnelhouse.example"
ORIGIN = "https://www.funnelhouse.example"
PACIFIC = ZoneInfo("America/Los_Angeles")
FINAL_AFTER = timedelta(hours=48)  # after the Pacific day ends ("2-3 days late")
FIRST_SEEN_COMPLETENESS = 0.55  # share of a day's final numbers shown at its start
CLICK_PER_SESSION = (1.02, 1.15)
ANONYMISED_SHARE = (0.06, 0.18)
DEVICES = (("DESKTOP", 0.55, 0.0), ("MOBILE", 0.40, 0.4), ("TABLET", 0.05, 0.2))  # (device, share, position offset)
# ISO 3166-1 alpha-3, lower case, as Search Console names countries
COUNTRIES = (("usa", 0.40), ("gbr", 0.12), ("deu", 0.12), ("can", 0.08), ("ind", 0.08), ("aus", 0.08), ("fra", 0.06),
             ("nld", 0.06))
ANONYMISED_POSITION = 18.0

# Per organic landing page (world_web.ORGANIC_TRAFFIC): (query, weight, position on the first day, on the last day).
QUERIES: dict[str, tuple[tuple[str, float, float, float], ...]] = {
    "/blog/utm-tagging-guide": (("utm tagging guide", 5.0, 2.1, 6.5), ("how to use utm parameters", 3.0, 3.4, 8.0),
                                ("utm builder", 2.0, 6.0, 11.0), ("utm_campaign naming", 1.0, 4.2, 7.5)),
    "/blog/attribution-models-explained": (("attribution models", 4.0, 9.5, 3.2), ("first touch vs last touch", 2.0, 7.0, 2.4),
                                           ("position based attribution", 1.5, 12.0, 4.1), ("time decay attribution", 1.0, 14.0, 5.0)),
    "/blog/marketing-budget-template": (("marketing budget template", 4.0, 3.0, 3.0), ("marketing budget spreadsheet", 2.0, 5.5, 5.0)),
    "/": (("funnelhouse", 6.0, 1.0, 1.0), ("funnelhouse marketing", 1.5, 1.2, 1.1), ("marketing elt pipeline", 1.0, 8.0, 6.5)),
    "/features": (("marketing data pipeline", 2.0, 7.5, 6.0), ("marketing attribution software", 1.5, 11.0, 9.0)),
    "/pricing": (("funnelhouse pricing", 3.0, 1.3, 1.2), ("marketing analytics pricing", 1.0, 13.0, 12.0)),
}


def ctr_at(position: float) -> float:
    """Expected click-through rate of a result at ``position`` (a typical organic CTR curve)."""
    return min(0.45, 0.32 / position ** 0.95)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, PACIFIC).astimezone(UTC)


def day_end(day: date) -> datetime:
    return day_start(day + timedelta(days=1))


def is_final(day: date, as_of: datetime) -> bool:
    return as_of >= day_end(day) + FINAL_AFTER


def completeness(day: date, as_of: datetime) -> float:
    """Share of the day's final numbers Search Console shows at ``as_of`` (0 before the day starts)."""
    if as_of < day_start(day):
        return 0.0
    if is_final(day, as_of):
        return 1.0
    span = (day_end(day) + FINAL_AFTER - day_start(day)).total_seconds()
    return FIRST_SEEN_COMPLETENESS + (1 - FIRST_SEEN_COMPLETENESS) * (as_of - day_start(day)).total_seconds() / span


@dataclass(frozen=True, slots=True)
class SearchCell:
    """Final numbers of one (day, page, query, country, device); ``query`` None for the anonymised rest."""

    day: date
    page: str  # full URL, as Search Console names pages
    query: str | None
    country: str
    device: str
    clicks: int
    impressions: int
    position: float

    def shown(self, share: float) -> tuple[int, int]:
        """(clicks, impressions) shown when ``share`` of the day has been processed."""
        return int(self.clicks * share), int(self.impressions * share)


class SearchWorld:
    def __init__(self, world: World):
        self.world = world
        self._days: dict[date, list[SearchCell]] = {}

    def page_url(self, path: str) -> str:
        return ORIGIN + path

    def organic_sessions(self, day: date) -> dict[str, int]:
        """GA4 organic search sessions per landing page with property date ``day`` (late hits included)."""
        sessions: dict[str, int] = defaultdict(int)
        for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
            if not 0 <= (d - self.world.start).days < self.world.days:
                continue
            for block in self.world._reports(d).session_blocks:
                if block.channel == "organic_search" and block.property_date == day:
                    sessions[block.landing_page] += block.sessions
        return dict(sessions)

    def cells(self, day: date) -> list[SearchCell]:
        """The day's final cells, anonymised ones included, in a fixed order."""
        cells = self._days.get(day)
        if cells is None:
            cells = self._days[day] = self._generate(day)
        return cells

    def _generate(self, day: date) -> list[SearchCell]:
        progress = min(1.0, max(0.0, (day - self.world.start).days / max(1, self.world.days - 1)))
        out = []
        for path, sessions in sorted(self.organic_sessions(day).items()):
            queries = QUERIES.get(path)
            if not queries or sessions <= 0:
                continue
            rng = random.Random(f"{self.world.seed}:search:{day.isoformat()}:{path}")
            clicks = round(sessions * rng.uniform(*CLICK_PER_SESSION))
            anonymised = fast_binomial(rng, clicks, rng.uniform(*ANONYMISED_SHARE))
            keys, weights, positions = [], [], []
            for query, weight, first, last in queries:
                for device, device_share, offset in DEVICES:
                    for country, country_share in COUNTRIES:
                        keys.append((query, country, device))
                        weights.append(weight * device_share * country_share)
                        positions.append(first + (last - first) * progress + offset)
            for (query, country, device), n, base in zip(keys, multinomial(rng, clicks - anonymised, weights), positions, strict=True):
                position = round(max(1.0, base + rng.gauss(0, 0.3)), 2)
                impressions = n + poisson(rng, max(n, 0.3) * (1 / ctr_at(position) - 1))
                if impressions:
                    out.append(SearchCell(day, self.page_url(path), query, country, device, n, impressions, position))
            if anonymised:
                position = round(ANONYMISED_POSITION + rng.gauss(0, 2.0), 2)
                impressions = anonymised + poisson(rng, anonymised * (1 / ctr_at(position) - 1))
                out.append(SearchCell(day, self.page_url(path), None, "usa", "DESKTOP", anonymised, impressions, position))
        return out

    @property
    def dates(self) -> tuple[date, date]:
        """The first and last day that can have search data (GA4's session dates)."""
        return self.world.session_dates

    def shown(self, day: date, as_of: datetime, data_state: str = "all") -> list[tuple[SearchCell, int, int]]:
        """(cell, clicks, impressions) Search Console shows for ``day`` at ``as_of``; zero-impression rows dropped."""
        if data_state == "final" and not is_final(day, as_of):
            return []
        share = completeness(day, as_of)
        if share <= 0:
            return []
        return [(c, *c.shown(share)) for c in self.cells(day) if c.shown(share)[1] > 0]

    # ---- ground truth ------------------------------------------------------------

    def truth_by_page_query(self, as_of: datetime) -> dict[tuple[date, str, str], dict[str, float]]:
        """{(day, page path, query): clicks, impressions, position (impression-weighted)} at ``as_of``."""
        sums: dict[tuple, list[float]] = defaultdict(lambda: [0, 0, 0.0])
        first, last = self.dates
        day = first
        while day <= last:
            for cell, clicks, impressions in self.shown(day, as_of):
                if cell.query is None:
                    continue
                s = sums[(day, cell.page[len(ORIGIN):], cell.query)]
                s[0] += clicks
                s[1] += impressions
                s[2] += cell.position * impressions
            day += timedelta(days=1)
        return {k: {"clicks": c, "impressions": i, "position": p / i} for k, (c, i, p) in sums.items()}

    def truth_by_page(self, as_of: datetime) -> dict[tuple[date, str], dict[str, float]]:
        """{(day, page path): clicks, impressions (anonymised queries included), query_clicks} at ``as_of``."""
        sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
        first, last = self.dates
        day = first
        while day <= last:
            for cell, clicks, impressions in self.shown(day, as_of):
                s = sums[(day, cell.page[len(ORIGIN):])]
                s[0] += clicks
                s[1] += impressions
                s[2] += clicks if cell.query is not None else 0
            day += timedelta(days=1)
        return {k: {"clicks": c, "impressions": i, "query_clicks": q} for k, (c, i, q) in sums.items()}

    def truth_daily(self, as_of: datetime) -> dict[date, dict[str, float]]:
        """{day: clicks, impressions, query_clicks (clicks in query rows), is_final} at ``as_of``."""
        out = {}
        first, last = self.dates
        day = first
        while day <= last:
            shown = self.shown(day, as_of)
            if shown:
                out[day] = {"clicks": sum(c for _, c, _ in shown), "impressions": sum(i for _, _, i in shown),
                            "query_clicks": sum(c for cell, c, _ in shown if cell.query is not None),
                            "is_final": is_final(day, as_of)}
            day += timedelta(days=1)
        return out
