"""The Central Bank of Russia's official daily exchange rates (https://www.cbr.ru/development/sxml/):
the rates every amount in the marts is converted at (dbt var fx_rates_source: cbr).

Credentials: Airflow connection ``cbr``: host = https://www.cbr.ru, no password (the service is
public), extra ``{"currencies": ["USD", "EUR", "GBP"], "start_date": "YYYY-MM-DD"}``: the ISO codes
of every currency the data holds besides the rouble, and of the reporting currency.

Why this service: the marts need a daily rate for each currency the ad accounts and deals use.
The European Central Bank's reference rates, the other documented public service, stopped quoting
the rouble on 1 March 2022 (the ECB suspended its EUR/RUB reference rate "until further notice"),
and the demo business spends roubles in Moscow; the Bank of Russia quotes every currency it lists
(USD, EUR, GBP among them) in roubles on each of its working days, through XML endpoints it has
documented for two decades. Rates of two other currencies are crossed through the rouble in dbt.

Requests, one stream:
    GET /scripts/XML_valFull.asp   once per run: the Bank's currency list, to find each ISO code's
                                   own Bank code (Item/@ID, e.g. R01235 for USD)
    GET /scripts/XML_dynamic.asp?date_req1=DD/MM/YYYY&date_req2=DD/MM/YYYY&VAL_NM_RQ=<Bank code>
                                   ``daily_rates``: one currency's rates over the window, one page

The answers are XML in windows-1251. Each Record becomes one JSON record of its attributes and
elements as sent, strings with decimal commas (``{"Date": "02.06.2026", "Id": "R01235", "Nominal":
"1", "Value": "78,1234", "VunitRate": "78,1234"}``); staging reads Value / Nominal exactly. A rate
is dated the day it takes effect and set on the Bank's working day before it, so there are no
records for Sundays, Mondays and days after holidays: dbt carries the last rate over them. Rates
are never restated; the window still re-reads the last week (LOOKBACK), so that a run whose window
ended before the Bank set a day's rate picks it up on the next run. The first run reads
FIRST_RUN_HISTORY: the other sources' 90 days and the longest gap a rate may be carried over
(dbt var fx_rate_max_age_days), so the first days have the rate dated before them. With a
``start_date`` extra, give it that margin yourself.

The XML is parsed with the standard library (expat guards against entity expansion; no external
entities are fetched).

Verified against: the Bank's page "Получение данных, используя XML" (cbr.ru/development/sxml:
XML_daily.asp, XML_val.asp and XML_valFull.asp "список включающий ISO коды валют", XML_dynamic.asp
with date_req1, date_req2 in dd/mm/yyyy and VAL_NM_RQ); peers' recorded answers of XML_dynamic.asp
(ValCurs/Record with Date and Id attributes, Nominal, Value, VunitRate; no records on Sundays and
Mondays) and of XML_valFull.asp (Item/@ID, ISO_Char_Code, ParentCode); the ECB's notice on its
EUR/RUB reference rate (last published 1 March 2022).
Not verified: a rate limit (none is documented; requests are kept to 2 at a time); the answer to
malformed parameters or an unknown Bank code; the hour the Bank publishes a rate; the Content-Type.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta

from extractors.connections import PlatformConnection
from extractors.errors import ConfigError
from extractors.http import HttpClient
from extractors.sources import Source
from extractors.streams import KeyColumn, Stream

BASE_CURRENCY = "RUB"  # every rate is roubles per unit; the rouble itself has none
LOOKBACK = timedelta(days=7)
FIRST_RUN_HISTORY = timedelta(days=90 + 14)
DD_MM_YYYY = "try_strptime({}, '%d.%m.%Y')::{type}"


def _xml(content: bytes) -> ET.Element:
    try:
        return ET.fromstring(content)
    except ET.ParseError as exc:  # a truncated or damaged answer: HttpClient retries it
        raise ValueError(f"not well-formed XML: {exc}") from None


def _records(root: ET.Element) -> list[dict]:
    """Each Record as sent: its attributes and the text of its elements."""
    return [{**record.attrib, **{child.tag: (child.text or "").strip() for child in record}} for record in root.iter("Record")]


class CentralBankOfRussia(Source):
    name = "cbr"
    conn_id = "cbr"
    max_concurrency = 2
    needs_password = False
    default_history = FIRST_RUN_HISTORY
    streams = (
        Stream(
            "daily_rates",
            (KeyColumn("date", "$.Date", "DATE", parse=DD_MM_YYYY),),
            load="window",
            window_key="date",
            lookback=LOOKBACK,
            rows_every_day=False,  # no rates on the Bank's days off
            description="official rate of one currency in roubles per rate date (XML_dynamic.asp)",
        ),
    )

    def __init__(self):
        self._bank_codes: dict[str, str] | None = None
        self._lock = threading.Lock()

    def accounts(self, conn: PlatformConnection, stream: Stream) -> list[str]:
        codes = [c.upper() for c in conn.list_extra("currencies", '{"currencies": ["USD", "EUR", "GBP"]}')]
        return [c for c in dict.fromkeys(codes) if c != BASE_CURRENCY]

    def client(self, conn: PlatformConnection) -> HttpClient:
        client = self.http_client(conn)
        client.session.headers["Accept"] = "application/xml, text/xml"
        return client

    def bank_code(self, client: HttpClient, currency: str) -> str:
        """The Bank's own code of an ISO currency, from its currency list (read once)."""
        with self._lock:
            if self._bank_codes is None:
                root = client.request("GET", "/scripts/XML_valFull.asp", what="currency list", decode=_xml)
                self._bank_codes = {
                    (item.findtext("ISO_Char_Code") or "").strip().upper(): item.get("ID")
                    for item in root.iter("Item")
                    if item.get("ID")
                }
        if currency not in self._bank_codes:
            raise ConfigError(
                f"connection 'cbr' extra 'currencies' names {currency!r}, which the Bank of Russia "
                "does not quote: remove it, or give its rates in seeds/fx_rates.csv (var fx_rates_source: seed)"
            )
        return self._bank_codes[currency]

    def read(self, client, conn, stream, account, window) -> Iterator[list[dict]]:
        params = {
            "date_req1": f"{window.first_day:%d/%m/%Y}",
            "date_req2": f"{window.last_day:%d/%m/%Y}",
            "VAL_NM_RQ": self.bank_code(client, account),
        }
        root = client.request("GET", "/scripts/XML_dynamic.asp", params=params, what=f"daily_rates [{account}]", decode=_xml)
        yield _records(root)
