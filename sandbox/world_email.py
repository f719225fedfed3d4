"""Email in the simulated business: Mailchimp audiences, members, campaigns and their activity.

Two audiences (Mailchimp lists), each with its own series of campaigns:

- "Funnelhouse Newsletter" gets the weekly newsletter (Tuesdays, 14:00 UTC);
- "Funnelhouse Product Updates" gets a product update on some Thursdays (15:00 UTC).

Members joined before the simulated period (a year of history, all confirmed) and
keep joining during it (double opt-in: most confirm within hours, some never do and
stay ``pending``). A member's whole future is drawn when they join, from the fixed
send schedule: the campaign on which they will leave the list (unsubscribe, or a
hard bounce that gets them ``cleaned``) and the campaign on which they will click
through and become a HubSpot contact. So a member's status and ``last_changed``
at any instant need nothing but the member, and the recipients of a campaign are
the members subscribed at its send time.

A campaign's activity (per recipient: opens, clicks with their URL, bounces) is
drawn when first asked for, from one seeded stream over its recipients in member
order, and arrives within ``ACTIVITY_DAYS`` of the send; counters therefore grow
as the clock moves and stop a week after the send. Every link carries
``utm_source=newsletter&utm_medium=email&utm_campaign=<tracking name>``, the
tracking name being the campaign's ``tracking.google_analytics`` setting
(``newsletter_weekly_2026_06_02``). A click the website's analytics sees
(``TRACKED_CLICK_SHARE``: consent banners and blockers lose the rest) is a GA4
session with those tags; the click on a member's converting campaign creates
their HubSpot contact (with the subscriber's email address). Hence, per
campaign: clicks >= sessions >= contacts.

Times are whole seconds in UTC. Activity after the simulated period is shown by
Mailchimp but makes no session or contact (the website's simulation ends there).
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from sandbox.draws import poisson
from sandbox.world_frame import WorldFrame

HISTORY_DAYS = 365  # members who joined before the simulated period
ACTIVITY_DAYS = 7  # opens and clicks arrive within a week of the send
TRACKED_CLICK_SHARE = 0.85  # clicks the website's analytics records as a session
MEMBER_NUMBERS_PER_DAY = 100_000
SITE = "https://funnelhouse.example"
UTM_SOURCE, UTM_MEDIUM = "newsletter", "email"

# Members are kept as columns, about 40 bytes each (some 30 MB at scale 100), and all of them:
# every campaign needs every member who joined before it. Campaign activities take about 20 bytes
# per recipient; this many are kept at scale 1, fewer as the scale grows.
ACTIVITY_CACHE_BUDGET = 40
MIN_CACHED_ACTIVITIES = 2


@dataclass(frozen=True)
class Audience:
    """A Mailchimp list and how its members behave (rates per campaign received)."""

    list_id: str
    web_id: int
    name: str
    address_prefix: str
    history_signups_per_day: float  # before the simulated period, before the scale knob
    signups_per_day: float
    confirm_rate: float  # double opt-in: the others stay pending
    open_rate: float  # of recipients
    click_rate: float  # of openers
    soft_bounce_rate: float
    hard_bounce_rate: float  # the member is cleaned
    unsubscribe_rate: float
    convert_rate: float  # clicks through and becomes a HubSpot contact

    @property
    def leave_rate(self) -> float:
        return self.hard_bounce_rate + self.unsubscribe_rate


@dataclass(frozen=True)
class EmailSeries:
    """A recurring campaign: which audience, which weekday and hour, how often, what it links to."""

    name: str  # the tracking-name prefix; also the series' old utm_campaign
    audience: Audience
    weekday: int  # Monday = 0
    send_hour_utc: int
    probability: float  # that a week has one
    subject: str
    links: tuple[tuple[str, float], ...]  # (site path, share of the clicks)


NEWSLETTER = Audience(
    "7f3a9c2e1b", 410001, "Funnelhouse Newsletter", "reader", 10.0, 25.0, 0.88, 0.36, 0.13, 0.008, 0.0015, 0.0025, 0.0045
)
PRODUCT_UPDATES = Audience(
    "b41d8e6f0c", 410002, "Funnelhouse Product Updates", "builder", 3.0, 6.0, 0.92, 0.45, 0.20, 0.006, 0.001, 0.004, 0.006
)
AUDIENCES = (NEWSLETTER, PRODUCT_UPDATES)

SERIES = (
    EmailSeries(
        "newsletter_weekly",
        NEWSLETTER,
        1,
        14,
        1.0,
        "This week in marketing analytics",
        (("/blog/marketing-budget-template", 3.0), ("/features", 2.0), ("/", 1.0)),
    ),
    EmailSeries(
        "product_update",
        PRODUCT_UPDATES,
        3,
        15,
        0.4,
        "New in Funnelhouse",
        (("/features", 3.0), ("/integrations", 2.0), ("/pricing", 1.0)),
    ),
)


@dataclass(frozen=True)
class EmailCampaign:
    campaign_id: str  # Mailchimp's 10-hex-digit id
    web_id: int
    series: EmailSeries
    index: int  # position in its audience's send schedule
    send_time: datetime

    @property
    def audience(self) -> Audience:
        return self.series.audience

    @property
    def tracking_name(self) -> str:
        """``tracking.google_analytics``: the utm_campaign on every link of the campaign."""
        return f"{self.series.name}_{self.send_time:%Y_%m_%d}"

    @property
    def title(self) -> str:
        return f"{self.series.name.replace('_', ' ').title()} {self.send_time:%Y-%m-%d}"

    @property
    def subject_line(self) -> str:
        return f"{self.series.subject} ({self.send_time:%B} {self.send_time.day})"

    @property
    def create_time(self) -> datetime:
        return self.send_time - timedelta(days=3)

    @property
    def activity_end(self) -> datetime:
        return self.send_time + timedelta(days=ACTIVITY_DAYS)

    def url(self, path: str) -> str:
        return f"{SITE}{path}?utm_source={UTM_SOURCE}&utm_medium={UTM_MEDIUM}&utm_campaign={self.tracking_name}"


class Member(NamedTuple):
    """One list member's whole story. Campaign indexes are positions in the audience's schedule."""

    audience: Audience
    number: int  # signup day since the history began * MEMBER_NUMBERS_PER_DAY + sequence
    signup_at: datetime
    opt_at: datetime | None  # None: never confirms (stays pending)
    leave_index: int | None  # the campaign on which they leave
    leave_kind: str | None  # "unsubscribed" | "cleaned"
    leave_at: datetime | None
    convert_index: int | None  # the campaign whose click makes them a HubSpot contact

    @property
    def email(self) -> str:
        return member_email(self.audience, self.number)

    @property
    def member_id(self) -> str:
        """Mailchimp's member id: the MD5 hash of the lowercase email address."""
        return member_id(self.email)

    def status_at(self, as_of: datetime) -> str:
        if self.leave_at is not None and self.leave_at <= as_of:
            return self.leave_kind
        if self.opt_at is not None and self.opt_at <= as_of:
            return "subscribed"
        return "pending"

    def last_changed_at(self, as_of: datetime) -> datetime:
        return max(t for t in (self.signup_at, self.opt_at, self.leave_at) if t is not None and t <= as_of)


def member_email(audience: Audience, number: int) -> str:
    return f"{audience.address_prefix}{number}@example.net"


def member_id(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


# Times are kept as whole seconds since this instant, in 32-bit columns (good until 2068).
TIME_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)


def _utc(seconds: int) -> datetime:
    return TIME_ORIGIN + timedelta(seconds=seconds)


def epoch_seconds(ts: datetime) -> int:
    """An instant as the columns keep it: whole seconds since TIME_ORIGIN."""
    return int((ts - TIME_ORIGIN).total_seconds())


_epoch = epoch_seconds


NONE = -1
LEAVE_KINDS = (None, "unsubscribed", "cleaned")


class MemberDay:
    """The members who signed up on one day, as columns (seconds since TIME_ORIGIN; -1 for none):
    17 bytes a member, so that every member of every audience can stay in memory at any scale."""

    __slots__ = ("audience", "first_number", "signup", "opt", "leave_index", "leave_kind", "leave_at", "convert_index")

    def __init__(self, audience: Audience, first_number: int):
        self.audience, self.first_number = audience, first_number
        self.signup, self.opt, self.leave_at = array("i"), array("i"), array("i")
        self.leave_index, self.convert_index, self.leave_kind = array("h"), array("h"), array("b")

    def __len__(self) -> int:
        return len(self.signup)

    def member(self, i: int) -> Member:
        opt, leave_at = self.opt[i], self.leave_at[i]
        return Member(
            self.audience,
            self.first_number + i,
            _utc(self.signup[i]),
            _utc(opt) if opt != NONE else None,
            self.leave_index[i] if self.leave_index[i] != NONE else None,
            LEAVE_KINDS[self.leave_kind[i]],
            _utc(leave_at) if leave_at != NONE else None,
            self.convert_index[i] if self.convert_index[i] != NONE else None,
        )

    def last_changed(self, i: int, as_of: int) -> int:
        return max(t for t in (self.signup[i], self.opt[i], self.leave_at[i]) if t != NONE and t <= as_of)


# Action codes of a campaign's activity columns.
OPEN, CLICK, HARD_BOUNCE, SOFT_BOUNCE = 0, 1, 2, 3
TRACKED, CONVERTS = 1, 2


class Action(NamedTuple):
    at: datetime
    action: str  # open | click | bounce
    detail: str | None  # click: the site path; bounce: hard | soft


class EmailClick(NamedTuple):
    """A click the website saw: a GA4 session, and maybe a new contact."""

    at: datetime
    campaign: EmailCampaign
    member: Member
    path: str
    converts: bool


class CampaignActivity:
    """Every recipient of a campaign (member numbers, in member order) and, as columns, the actions
    of those who acted: ``actors[j]`` is a recipient position whose actions are rows
    ``starts[j]:starts[j + 1]`` of ``at`` / ``code`` / ``link`` / ``flags``, in time order."""

    def __init__(self, campaign: EmailCampaign):
        self.campaign = campaign
        self.recipients = array("i")
        self.actors, self.starts = array("i"), array("i", [0])
        self.at, self.code, self.link, self.flags = array("i"), array("b"), array("b"), array("b")
        self.unsubscribes = array("i")

    def add(self, number: int, actions: list[tuple[int, int, int, int]]) -> None:
        if actions:
            self.actors.append(len(self.recipients))
            for at, code, link, flags in sorted(actions) if len(actions) > 1 else actions:
                self.at.append(at)
                self.code.append(code)
                self.link.append(link)
                self.flags.append(flags)
            self.starts.append(len(self.at))
        self.recipients.append(number)

    def actions_of(self, position: int, as_of: datetime | None = None) -> list[Action]:
        """One recipient's actions up to ``as_of``, as Mailchimp lists them."""
        j = bisect.bisect_left(self.actors, position)
        if j == len(self.actors) or self.actors[j] != position:
            return []
        limit = _epoch(as_of) if as_of is not None else None
        links = self.campaign.series.links
        out = []
        for r in range(self.starts[j], self.starts[j + 1]):
            if limit is not None and self.at[r] > limit:
                break
            code = self.code[r]
            detail = (
                links[self.link[r]][0]
                if code == CLICK
                else ("hard" if code == HARD_BOUNCE else "soft" if code == SOFT_BOUNCE else None)
            )
            out.append(Action(_utc(self.at[r]), ("open", "click", "bounce", "bounce")[code], detail))
        return out

    def counts(self, as_of: datetime) -> dict:
        """The campaign's report at ``as_of``: what Mailchimp's /reports shows."""
        limit = _epoch(as_of)
        opens = unique_opens = clicks = subscriber_clicks = hard = soft = 0
        unique_clicks = 0
        last_open = last_click = None
        at, code, link = self.at, self.code, self.link
        for j in range(len(self.actors)):
            opened = False
            clicked: set[int] = set()
            for r in range(self.starts[j], self.starts[j + 1]):
                if at[r] > limit:
                    break
                c = code[r]
                if c == OPEN:
                    opens += 1
                    opened = True
                    last_open = at[r] if last_open is None or at[r] > last_open else last_open
                elif c == CLICK:
                    clicks += 1
                    clicked.add(link[r])
                    last_click = at[r] if last_click is None or at[r] > last_click else last_click
                elif c == HARD_BOUNCE:
                    hard += 1
                else:
                    soft += 1
            unique_opens += opened
            subscriber_clicks += bool(clicked)
            unique_clicks += len(clicked)
        sent = len(self.recipients)
        delivered = sent - hard - soft
        return {
            "emails_sent": sent,
            "opens": opens,
            "unique_opens": unique_opens,
            "open_rate": unique_opens / delivered if delivered else 0.0,
            "clicks": clicks,
            "unique_clicks": unique_clicks,
            "unique_subscriber_clicks": subscriber_clicks,
            "click_rate": subscriber_clicks / delivered if delivered else 0.0,
            "hard_bounces": hard,
            "soft_bounces": soft,
            "unsubscribed": sum(1 for t in self.unsubscribes if t <= limit),
            "last_open": _utc(last_open) if last_open is not None else None,
            "last_click": _utc(last_click) if last_click is not None else None,
        }

    def tracked_clicks(self) -> TrackedClicks:
        out = TrackedClicks(self.campaign)
        rows = []
        for j, position in enumerate(self.actors):
            for r in range(self.starts[j], self.starts[j + 1]):
                if self.code[r] == CLICK and self.flags[r] & TRACKED:
                    rows.append((self.at[r], self.recipients[position], self.link[r], self.flags[r] & CONVERTS))
        for at, number, link, converts in sorted(rows):
            out.at.append(at)
            out.number.append(number)
            out.link.append(link)
            out.converts.append(converts)
        return out


class TrackedClicks:
    """A campaign's tracked clicks as columns, in time order: what generating the web's days needs."""

    def __init__(self, campaign: EmailCampaign):
        self.campaign = campaign
        self.at, self.number, self.link, self.converts = array("i"), array("i"), array("b"), array("b")

    def between(self, start: datetime, end: datetime) -> range:
        """Rows of the clicks in [start, end)."""
        return range(bisect.bisect_left(self.at, _epoch(start)), bisect.bisect_left(self.at, _epoch(end)))


class _Lru:
    """A small thread-safe LRU; a value may be built twice by racing threads, identically."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, key):
        with self._lock:
            return self._items.get(key)

    def get(self, key, build: Callable):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return value


def truncated_exponential(rng: random.Random, mean: float, limit: float) -> float:
    """A draw from an exponential with ``mean``, conditioned on being below ``limit`` (inverse CDF)."""
    return -mean * math.log(1.0 - rng.random() * (1.0 - math.exp(-limit / mean)))


def _geometric(rng: random.Random, p: float) -> int:
    """Failures before the first success, each trial succeeding with ``p``."""
    if p <= 0:
        return 1 << 30
    return int(math.log(1.0 - rng.random()) / math.log1p(-p))


class EmailWorld:
    """The Mailchimp account of one World: generated lazily, deterministic from the world's seed."""

    def __init__(self, frame: WorldFrame):
        self.frame = frame
        self.history_start = frame.start - timedelta(days=HISTORY_DAYS)
        self._members = _Lru(len(AUDIENCES) * (HISTORY_DAYS + frame.days + 1))
        self._activities = _Lru(max(MIN_CACHED_ACTIVITIES, int(ACTIVITY_CACHE_BUDGET / frame.scale)))
        self.campaigns = self._schedule()
        # Every campaign's tracked clicks (some 10 bytes a click): days are read in order, and an
        # LRU smaller than the campaigns would rebuild each activity on every pass over the days.
        self._clicks = _Lru(len(self.campaigns))
        self.by_id = {c.campaign_id: c for c in self.campaigns}
        self._send_times = {a.list_id: [_epoch(c.send_time) for c in self.campaigns if c.audience is a] for a in AUDIENCES}

    # ---- the send schedule ------------------------------------------------------

    def _schedule(self) -> tuple[EmailCampaign, ...]:
        out = []
        for series in SERIES:
            index = 0
            day = self.frame.start
            while day <= self.frame.end:
                if day.weekday() == series.weekday:
                    draw = random.Random(f"{self.frame.seed}:mc_schedule:{series.name}:{day.isoformat()}").random()
                    if series.probability >= 1 or draw < series.probability:
                        send = datetime.combine(day, time(series.send_hour_utc), UTC)
                        digest = hashlib.sha256(
                            f"{self.frame.seed}:mc_campaign:{series.name}:{day.isoformat()}".encode()
                        ).hexdigest()
                        out.append(EmailCampaign(digest[:10], int(digest[10:16], 16) % 900_000 + 100_000, series, index, send))
                        index += 1
                day += timedelta(days=1)
        out.sort(key=lambda c: (c.send_time, c.campaign_id))
        return tuple(out)

    def sent_campaigns(self, as_of: datetime) -> list[EmailCampaign]:
        return [c for c in self.campaigns if c.send_time <= as_of]

    def audience(self, list_id: str) -> Audience | None:
        return next((a for a in AUDIENCES if a.list_id == list_id), None)

    # ---- members ----------------------------------------------------------------

    def member_days(self, until: date) -> Iterator[date]:
        day = self.history_start
        while day <= min(until, self.frame.end):
            yield day
            day += timedelta(days=1)

    def members_joined_on(self, audience: Audience, day: date) -> MemberDay:
        return self._members.get((audience.list_id, day), lambda: self._generate_members(audience, day))

    def member(self, audience: Audience, number: int) -> Member:
        members, i = self.member_row(audience, number)
        return members.member(i)

    def member_row(self, audience: Audience, number: int) -> tuple[MemberDay, int]:
        """(day, index) of the member ``number``."""
        return (
            self.members_joined_on(audience, self.history_start + timedelta(days=number // MEMBER_NUMBERS_PER_DAY)),
            number % MEMBER_NUMBERS_PER_DAY,
        )

    def member_rows(self, audience: Audience, as_of: datetime) -> Iterator[tuple[MemberDay, int]]:
        """(day, index) of the members who signed up by ``as_of``, in member order (the members endpoint's order)."""
        limit = _epoch(as_of)
        for day in self.member_days(as_of.date()):
            members = self.members_joined_on(audience, day)
            for i in range(len(members)):
                if members.signup[i] <= limit:
                    yield members, i

    def member_page(
        self, audience: Audience, as_of: datetime, offset: int, count: int
    ) -> tuple[int, list[tuple[MemberDay, int]]]:
        """How many members signed up by ``as_of`` and (day, index) of those at [offset, offset + count)
        in member order: ``member_rows`` sliced, from each day's size instead of a walk over every member."""
        limit, last = _epoch(as_of), as_of.date()
        total, page = 0, []
        for day in self.member_days(last):
            members = self.members_joined_on(audience, day)
            # Every member of an earlier day signed up before as_of; on its own day, some later.
            rows = range(len(members)) if day < last else [i for i in range(len(members)) if members.signup[i] <= limit]
            if len(page) < count and total + len(rows) > offset:
                start = max(0, offset - total)
                page += [(members, i) for i in rows[start : start + count - len(page)]]
            total += len(rows)
        return total, page

    def iter_members(self, audience: Audience, as_of: datetime) -> Iterator[Member]:
        for members, i in self.member_rows(audience, as_of):
            yield members.member(i)

    def _generate_members(self, audience: Audience, day: date) -> MemberDay:
        rng = random.Random(f"{self.frame.seed}:mc_members:{audience.list_id}:{day.isoformat()}")
        history = day < self.frame.start
        weekday_factor = 1.0 if history else (0.8 if day.weekday() >= 5 else 1.05)
        rate = audience.history_signups_per_day if history else audience.signups_per_day
        n = poisson(rng, rate * self.frame.scale * weekday_factor)
        out = MemberDay(audience, (day - self.history_start).days * MEMBER_NUMBERS_PER_DAY)
        day_start = _epoch(datetime.combine(day, time.min, UTC))
        send_times = self._send_times[audience.list_id]
        hard_share = audience.hard_bounce_rate / audience.leave_rate
        for _ in range(n):
            signup = day_start + int(rng.uniform(0, 86_399))
            opt = leave_index = leave_at = convert_index = NONE
            leave_kind = 0
            if rng.random() < (0.97 if history else audience.confirm_rate):
                opt = signup + int(truncated_exponential(rng, 1.5, 72.0) * 3600)
                first = bisect.bisect_right(send_times, opt)
                leave = first + _geometric(rng, audience.leave_rate)
                kind_draw = rng.random()
                delay = truncated_exponential(rng, 6.0, ACTIVITY_DAYS * 24 - 1)
                if leave < len(send_times):
                    leave_index = leave
                    if kind_draw < hard_share:  # bounces within minutes of the send: cleaned
                        leave_kind, leave_at = 2, send_times[leave] + 20 + int(delay * 60)
                    else:  # opens the email and unsubscribes 90 seconds later
                        leave_kind, leave_at = 1, send_times[leave] + int(delay * 3600) + 90
                convert = first + _geometric(rng, audience.convert_rate)
                if convert < len(send_times) and (leave_index == NONE or convert < leave_index):
                    convert_index = convert
            out.signup.append(signup)
            out.opt.append(opt)
            out.leave_index.append(leave_index)
            out.leave_kind.append(leave_kind)
            out.leave_at.append(leave_at)
            out.convert_index.append(convert_index)
        return out

    # ---- campaign activity ------------------------------------------------------

    def activity(self, campaign: EmailCampaign) -> CampaignActivity:
        return self._activities.get(campaign.campaign_id, lambda: self._generate_activity(campaign))

    def tracked_clicks(self, campaign: EmailCampaign) -> TrackedClicks:
        # Built from a fresh activity when none is cached, without caching it: generating the
        # web's days needs only the clicks, which keeps memory flat as the scale grows.
        def build():
            return (self._activities.peek(campaign.campaign_id) or self._generate_activity(campaign)).tracked_clicks()

        return self._clicks.get(campaign.campaign_id, build)

    def clicks_on(self, day: date) -> list[EmailClick]:
        """Tracked clicks (GA4 sessions) that happen on the UTC day ``day``, every campaign, in time order."""
        day_start = datetime.combine(day, time.min, UTC)
        day_end = day_start + timedelta(days=1)
        out = []
        for c in self.campaigns:
            if c.send_time < day_end and c.activity_end > day_start:
                clicks = self.tracked_clicks(c)
                for r in clicks.between(day_start, day_end):
                    out.append(
                        EmailClick(
                            _utc(clicks.at[r]),
                            c,
                            self.member(c.audience, clicks.number[r]),
                            c.series.links[clicks.link[r]][0],
                            bool(clicks.converts[r]),
                        )
                    )
        out.sort(key=lambda k: (k.at, k.campaign.campaign_id, k.member.number))
        return out

    def _generate_activity(self, campaign: EmailCampaign) -> CampaignActivity:
        """One seeded stream over the recipients in member order. Most recipients do nothing:
        the stream draws the gap to the next one who opens or bounces, not a coin per recipient."""
        rng = random.Random(f"{self.frame.seed}:mc_activity:{campaign.campaign_id}")
        audience = campaign.audience
        send, k = _epoch(campaign.send_time), campaign.index
        end = send + ACTIVITY_DAYS * 86_400 - 3600
        paths = range(len(campaign.series.links))
        weights = [w for _, w in campaign.series.links]
        act_rate = 1 - (1 - audience.soft_bounce_rate) * (1 - audience.open_rate)
        soft_share = audience.soft_bounce_rate / act_rate
        out = CampaignActivity(campaign)
        recipients = out.recipients
        gap = _geometric(rng, act_rate)  # recipients (not leaving or converting here) before the next who acts
        for day in self.member_days(campaign.send_time.date()):
            members = self.members_joined_on(audience, day)
            base = members.first_number
            for i, opted, leave_index, convert_index in zip(
                range(len(members)), members.opt, members.leave_index, members.convert_index, strict=True
            ):
                if opted == NONE or opted >= send or (leave_index != NONE and leave_index < k):
                    continue
                number = base + i
                if leave_index == k:
                    leave_at = members.leave_at[i]
                    if members.leave_kind[i] == 2:
                        out.add(number, [(leave_at, HARD_BOUNCE, NONE, 0)])
                    else:  # opened, then followed the unsubscribe link
                        out.add(number, [(leave_at - 90, OPEN, NONE, 0)])
                        out.unsubscribes.append(leave_at)
                    continue
                converts = convert_index == k
                if not converts:
                    if gap:
                        gap -= 1
                        recipients.append(number)
                        continue
                    gap = _geometric(rng, act_rate)
                    if rng.random() < soft_share:
                        out.add(number, [(send + int(rng.uniform(30, 1200)), SOFT_BOUNCE, NONE, 0)])
                        continue
                first_open = send + int(truncated_exponential(rng, 6.0, ACTIVITY_DAYS * 24 - 1) * 3600)
                actions = [(first_open, OPEN, NONE, 0)]
                for _ in range(poisson(rng, 0.7)):
                    actions.append((first_open + int((end - first_open) * rng.random()), OPEN, NONE, 0))
                if converts or rng.random() < audience.click_rate:
                    first_click = first_open + int(rng.uniform(5, 180))
                    tracked = converts or rng.random() < TRACKED_CLICK_SHARE
                    actions.append(
                        (
                            first_click,
                            CLICK,
                            rng.choices(paths, weights)[0],
                            (TRACKED if tracked else 0) | (CONVERTS if converts else 0),
                        )
                    )
                    for _ in range(poisson(rng, 0.45)):
                        at = first_click + int((end - first_click) * rng.random())
                        actions.append(
                            (at, CLICK, rng.choices(paths, weights)[0], TRACKED if rng.random() < TRACKED_CLICK_SHARE else 0)
                        )
                out.add(number, actions)
        out.unsubscribes = array("i", sorted(out.unsubscribes))
        return out
