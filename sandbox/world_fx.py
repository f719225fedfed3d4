"""The simulated business's exchange rates: the Bank of Russia's official daily rates.

The business books money in USD, EUR, GBP and RUB (its Google Ads account in Moscow spends
roubles). The Bank of Russia quotes every currency in roubles and sets the rates on its working
days, each for the next calendar day: a currency's series has records dated Tuesday to Saturday
and none for Sundays, Mondays or the day after a holiday (the rate set on Friday holds until
Tuesday). The sandbox serves this series (sandbox/apis/cbr.py) and the ground truth converts the
world's money with it (``FxRates.convert``) by the marts' rule: an amount of a day without a
rate takes the last rate dated before it, at most MAX_AGE_DAYS old, and the converted amount is
rounded half away from zero to the cent once (dbt_project/macros/currency.sql).

Each rate walks from the level the business used to book with (USD 90.91 RUB, EUR 1.08 USD,
GBP 1.27 USD) by a seeded random step of about half a percent a day, kept to four decimals, as
the Bank publishes them.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

BASE = "RUB"
MAX_AGE_DAYS = 14  # the marts' var fx_rate_max_age_days
CENT = Decimal("0.01")
# A rate dated D is set on the Bank's working day before D; the sandbox publishes it at 15:30
# Moscow time (12:30 UTC) that day (the sandbox's assumption: the hour is not documented here).
PUBLISHED_AT = time(12, 30)
# The days before the world's first day the series starts (a run reads rates from before its
# first day, so that the first day, maybe a Monday, has the Saturday rate before it).
HISTORY_DAYS = 60


@dataclass(frozen=True)
class Currency:
    code: str
    cbr_id: str  # the Bank's own code (XML_valFull.asp Item/@ID, XML_dynamic.asp VAL_NM_RQ)
    iso_num: str
    name: str  # the Bank's Russian name
    eng_name: str
    nominal: int
    start_rub: float  # roubles per unit on the series' first day


CURRENCIES = (
    Currency("USD", "R01235", "840", "Доллар США", "US Dollar", 1, 90.91),
    Currency("EUR", "R01239", "978", "Евро", "Euro", 1, 90.91 * 1.08),
    Currency("GBP", "R01035", "826", "Фунт стерлингов", "British Pound Sterling", 1, 90.91 * 1.27),
)
BY_CODE = {c.code: c for c in CURRENCIES}
BY_CBR_ID = {c.cbr_id: c for c in CURRENCIES}

# The non-working days of the simulated Bank's calendar (Russia's public holidays of 2026, a
# holiday on a weekend moved to the next Monday; the government's other transfers are not modelled).
HOLIDAYS = frozenset(
    {
        *(date(2026, 1, d) for d in range(1, 9)),
        date(2026, 2, 23),
        date(2026, 3, 9),
        date(2026, 5, 1),
        date(2026, 5, 11),
        date(2026, 6, 12),
        date(2026, 11, 4),
    }
)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in HOLIDAYS


def has_rate(day: date) -> bool:
    """The Bank sets a rate for ``day`` only on a working day before it."""
    return is_working_day(day - timedelta(days=1))


def published_at(rate_date: date) -> datetime:
    """When the rate dated ``rate_date`` appears: on the working day before it."""
    return datetime.combine(rate_date - timedelta(days=1), PUBLISHED_AT, UTC)


@dataclass
class FxRates:
    """Every currency's published series between ``first_day`` and ``last_day``, in roubles."""

    seed: int
    first_day: date
    last_day: date
    _series: dict[str, tuple[list[date], list[Decimal]]] = field(init=False, repr=False)

    def __post_init__(self):
        self._series = {c.code: self._walk(c) for c in CURRENCIES}

    def _walk(self, currency: Currency) -> tuple[list[date], list[Decimal]]:
        rng = random.Random(f"{self.seed}:fx:{currency.code}")
        level, days, values = currency.start_rub, [], []
        day = self.first_day
        while day <= self.last_day:
            if has_rate(day):
                level *= 1 + rng.gauss(0.0, 0.005)
                days.append(day)
                values.append(Decimal(f"{level * currency.nominal:.4f}"))  # roubles for `nominal` units
            day += timedelta(days=1)
        return days, values

    @classmethod
    def for_world(cls, seed: int, start: date, end: date) -> FxRates:
        # one day past the end: the rate dated the day after the last is set on the last day
        return cls(seed, start - timedelta(days=HISTORY_DAYS), end + timedelta(days=1))

    def published(self, code: str, since: date, until: date, now: datetime) -> list[tuple[date, Decimal]]:
        """(rate date, roubles for the currency's nominal) for the dates in [since, until] set by ``now``."""
        days, values = self._series.get(code, ([], []))
        lo, hi = bisect.bisect_left(days, since), bisect.bisect_right(days, until)
        return [(d, v) for d, v in zip(days[lo:hi], values[lo:hi], strict=True) if published_at(d) <= now]

    def rate(self, code: str, day: date) -> Fraction | None:
        """Roubles per unit of ``code`` for amounts of ``day``: the last rate dated on or before it, at
        most MAX_AGE_DAYS old (None without one). RUB is 1."""
        if code == BASE:
            return Fraction(1)
        days, values = self._series[code]
        i = bisect.bisect_right(days, day) - 1
        if i < 0 or (day - days[i]).days >= MAX_AGE_DAYS:
            return None
        return Fraction(values[i]) / BY_CODE[code].nominal

    def convert(self, amount: Decimal | Fraction | int, code: str, day: date, to: str = "USD") -> Decimal:
        """``amount`` of ``code`` on ``day`` in ``to``, rounded half away from zero to the cent, as the
        marts convert it (an amount already in ``to`` is only rounded)."""
        if code == to:
            return Decimal(amount).quantize(CENT, ROUND_HALF_UP) if not isinstance(amount, Fraction) else _cents(amount)
        rate_from, rate_to = self.rate(code, day), self.rate(to, day)
        if rate_from is None or rate_to is None:
            raise LookupError(f"no {code} to {to} rate for {day}")
        return _cents(Fraction(amount) * rate_from / rate_to)


def _cents(value: Fraction) -> Decimal:
    """Half away from zero to the cent, exactly."""
    cents = value * 100
    whole = (abs(cents.numerator) * 2 + cents.denominator) // (2 * cents.denominator)
    return (Decimal(whole if cents >= 0 else -whole) / 100).quantize(CENT)
