"""The Bank of Russia's official exchange rates (https://www.cbr.ru/development/sxml/), over the
world's series (sandbox/world_fx.py).

    GET /scripts/XML_valFull.asp
        the currency list: <Valuta name="Foreign Currency Market Lib"><Item ID="R01235"><Name/>
        <EngName/><Nominal/><ParentCode/><ISO_Num_Code/><ISO_Char_Code/></Item>...</Valuta>
    GET /scripts/XML_dynamic.asp?date_req1=DD/MM/YYYY&date_req2=DD/MM/YYYY&VAL_NM_RQ=R01235
        one currency's rates in the range (both dates included):
        <ValCurs ID="R01235" DateRange1="01.06.2026" DateRange2="30.06.2026" name="Foreign Currency
        Market Dynamic"><Record Date="02.06.2026" Id="R01235"><Nominal>1</Nominal>
        <Value>88,2128</Value><VunitRate>88,2128</VunitRate></Record>...</ValCurs>

No authentication. XML in windows-1251, decimal commas, dates DD.MM.YYYY; a record for each day
the Bank set a rate for (none for Sundays, Mondays and the days after holidays), Value being
roubles for Nominal units and VunitRate roubles for one unit (printed without trailing zeros).
A rate appears on the working day before its date (world_fx.PUBLISHED_AT).

Verified against: the Bank's "Получение данных, используя XML" page (cbr.ru/development/sxml:
XML_daily.asp, XML_val.asp / XML_valFull.asp with ISO codes, XML_dynamic.asp with date_req1,
date_req2 and VAL_NM_RQ); peers' recorded answers of XML_dynamic.asp (Record Date/Id attributes,
Nominal, Value, VunitRate; gaps on Sundays and Mondays) and XML_valFull.asp (Item ID, Name, EngName,
Nominal, ParentCode padded with spaces, ISO_Num_Code, ISO_Char_Code).
Not verified: the answer to malformed dates (here HTTP 400 with a one-line text) or to an unknown
VAL_NM_RQ (here an empty ValCurs); the Content-Type header; the hour a rate is published; the
Bank's holiday calendar (world_fx.HOLIDAYS).
"""

from __future__ import annotations

from datetime import date, datetime
from xml.sax.saxutils import quoteattr

from sandbox.http import Request, Response
from sandbox.world_fx import BY_CBR_ID, CURRENCIES

CONTENT_TYPE = "application/xml; charset=windows-1251"
DECLARATION = '<?xml version="1.0" encoding="windows-1251"?>'


def _xml(body: str) -> Response:
    return Response(200, (DECLARATION + body).encode("cp1251"), content_type=CONTENT_TYPE)


def _comma(value) -> str:
    return str(value).replace(".", ",")


def currency_list(request: Request) -> Response:
    items = "".join(
        f'<Item ID="{c.cbr_id}"><Name>{c.name}</Name><EngName>{c.eng_name}</EngName><Nominal>{c.nominal}</Nominal>'
        f"<ParentCode>{c.cbr_id.ljust(9)}</ParentCode><ISO_Num_Code>{int(c.iso_num)}</ISO_Num_Code>"
        f"<ISO_Char_Code>{c.code}</ISO_Char_Code></Item>"
        for c in CURRENCIES
    )
    return _xml(f'<Valuta name="Foreign Currency Market Lib">{items}</Valuta>')


def _day(text: str | None) -> date | None:
    try:
        return datetime.strptime(text or "", "%d/%m/%Y").date()
    except ValueError:
        return None


def dynamic(request: Request) -> Response:
    since, until = _day(request.query.get("date_req1")), _day(request.query.get("date_req2"))
    if since is None or until is None:
        return Response(
            400,
            b"Error in parameters: date_req1 and date_req2 must be dd/mm/yyyy",
            content_type="text/plain; charset=windows-1251",
        )
    code_id = request.query.get("VAL_NM_RQ", "")
    currency = BY_CBR_ID.get(code_id)
    records = ""
    if currency is not None:
        for day, value in request.sandbox.world.fx.published(currency.code, since, until, request.sandbox.now):
            unit_rate = (value / currency.nominal).normalize()
            records += (
                f'<Record Date="{day:%d.%m.%Y}" Id="{currency.cbr_id}"><Nominal>{currency.nominal}</Nominal>'
                f"<Value>{_comma(value)}</Value><VunitRate>{_comma(f'{unit_rate:f}')}</VunitRate></Record>"
            )
    return _xml(
        f'<ValCurs ID={quoteattr(code_id)} DateRange1="{since:%d.%m.%Y}" DateRange2="{until:%d.%m.%Y}" '
        f'name="Foreign Currency Market Dynamic">{records}</ValCurs>'
    )


ROUTES = [
    ("GET", r"/scripts/XML_valFull\.asp", currency_list),
    ("GET", r"/scripts/XML_dynamic\.asp", dynamic),
]
