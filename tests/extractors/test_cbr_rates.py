"""The Bank of Russia's daily exchange rates: the sandbox's service and the cbr extractor.

GIVEN the seed-7 world's rate series (sandbox/world_fx.py: USD, EUR and GBP in roubles, set on
the Bank's working days for the next day),
WHEN XML_dynamic.asp and XML_valFull.asp are read over HTTP, and the cbr source extracts and loads them,
THEN the answers have the Bank's shape (windows-1251 XML, decimal commas, no records for Sundays,
Mondays and the day after a holiday), raw_cbr.daily_rates holds exactly the world's published rates,
a re-run re-reads its lookback without duplicating, a retried 5xx loses nothing, and bad
configuration stops with one line naming what to fix.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from extractors.errors import ConfigError
from extractors.sources.cbr import FIRST_RUN_HISTORY, LOOKBACK, _records
from sandbox.world_fx import CURRENCIES, MAX_AGE_DAYS
from tests.pipeline_helpers import rows, run

# A Record as the Bank sends it (the shape peers recorded), written here by hand.
BANK_XML = (
    '<?xml version="1.0" encoding="windows-1251"?><ValCurs ID="R01239" DateRange1="01.04.2024" '
    'DateRange2="09.04.2024" name="Foreign Currency Market Dynamic"><Record Date="06.04.2024" Id="R01239">'
    "<Nominal>1</Nominal><Value>100,1259</Value><VunitRate>100,1259</VunitRate></Record>"
    '<Record Date="09.04.2024" Id="R01239"><Nominal>1</Nominal><Value>100,2236</Value>'
    "<VunitRate>100,2236</VunitRate></Record></ValCurs>"
).encode("cp1251")


def dynamic(server, bank_id: str, since: date, until: date) -> requests.Response:
    return requests.get(
        f"{server.base_url}/scripts/XML_dynamic.asp",
        timeout=30,
        params={"date_req1": f"{since:%d/%m/%Y}", "date_req2": f"{until:%d/%m/%Y}", "VAL_NM_RQ": bank_id},
    )


def test_a_banks_record_lands_as_sent():
    assert _records(ET.fromstring(BANK_XML)) == [
        {"Date": "06.04.2024", "Id": "R01239", "Nominal": "1", "Value": "100,1259", "VunitRate": "100,1259"},
        {"Date": "09.04.2024", "Id": "R01239", "Nominal": "1", "Value": "100,2236", "VunitRate": "100,2236"},
    ]


def test_the_sandbox_serves_rates_for_the_days_the_bank_sets_them(sandbox, world):
    usd = next(c for c in CURRENCIES if c.code == "USD")
    response = dynamic(sandbox, usd.cbr_id, date(2026, 6, 1), date(2026, 6, 17))
    assert response.status_code == 200
    assert response.content.startswith(b'<?xml version="1.0" encoding="windows-1251"?>')
    root = ET.fromstring(response.content)
    assert (root.tag, root.get("ID"), root.get("DateRange1"), root.get("DateRange2")) == (
        "ValCurs",
        "R01235",
        "01.06.2026",
        "17.06.2026",
    )
    records = _records(root)
    dates = [datetime.strptime(r["Date"], "%d.%m.%Y").date() for r in records]
    # Tuesday to Saturday; none for Sunday and Monday, nor for the days after Friday June 12th (Russia Day)
    assert dates == [date(2026, 6, d) for d in (2, 3, 4, 5, 6, 9, 10, 11, 12, 16, 17)]
    for record, day in zip(records, dates, strict=True):
        value = Decimal(record["Value"].replace(",", "."))
        assert record["Id"] == "R01235" and record["Nominal"] == "1" and len(record["Value"].split(",")[1]) == 4
        assert Decimal(record["VunitRate"].replace(",", ".")) == value
        assert world.fx.rate("USD", day) == value
    # the rates move: no two days alike here
    assert len({r["Value"] for r in records}) == len(records)
    catalog = ET.fromstring(requests.get(f"{sandbox.base_url}/scripts/XML_valFull.asp", timeout=30).content)
    assert {item.findtext("ISO_Char_Code"): item.get("ID") for item in catalog.iter("Item")} == {
        "USD": "R01235",
        "EUR": "R01239",
        "GBP": "R01035",
    }


def test_a_rate_appears_the_working_day_before_its_date(sandbox, world):
    usd = next(c for c in CURRENCIES if c.code == "USD")
    sandbox.set_clock(datetime(2026, 6, 5, 12, 0, tzinfo=UTC))  # Friday, before the Bank set Saturday's rate
    dates = [r["Date"] for r in _records(ET.fromstring(dynamic(sandbox, usd.cbr_id, date(2026, 6, 4), date(2026, 6, 9)).content))]
    assert dates == ["04.06.2026", "05.06.2026"]
    sandbox.set_clock(datetime(2026, 6, 5, 13, 0, tzinfo=UTC))
    dates = [r["Date"] for r in _records(ET.fromstring(dynamic(sandbox, usd.cbr_id, date(2026, 6, 4), date(2026, 6, 9)).content))]
    assert dates == ["04.06.2026", "05.06.2026", "06.06.2026"]


def test_the_world_converts_an_amount_at_the_last_rate_before_its_day(world):
    """Sunday and Monday take Saturday's rate; the result is rounded half away from zero to the cent."""
    saturday, sunday, monday = date(2026, 6, 6), date(2026, 6, 7), date(2026, 6, 8)
    assert world.fx.rate("EUR", sunday) == world.fx.rate("EUR", monday) == world.fx.rate("EUR", saturday)
    eur, usd = world.fx.rate("EUR", saturday), world.fx.rate("USD", saturday)
    exact = Decimal(100) * Decimal(eur.numerator) / Decimal(eur.denominator) / (Decimal(usd.numerator) / Decimal(usd.denominator))
    assert world.fx.convert(Decimal(100), "EUR", monday) == exact.quantize(Decimal("0.01"), "ROUND_HALF_UP")
    assert world.fx.convert(Decimal("0.125"), "USD", monday) == Decimal("0.13")
    assert world.fx.convert(Decimal(1000), "RUB", monday, to="RUB") == Decimal("1000.00")
    with pytest.raises(LookupError):
        world.fx.convert(Decimal(1), "EUR", world.fx.last_day + timedelta(days=MAX_AGE_DAYS + 1))


def published(world, now, since: date, until: date) -> set[tuple[str, date, str]]:
    return {
        (c.code, d, f"{v:.4f}".replace(".", ",")) for c in CURRENCIES for d, v in world.fx.published(c.code, since, until, now)
    }


def test_the_extractor_lands_every_published_rate_and_a_rerun_replaces_its_lookback(sandbox, connections, data_dir, world):
    end = world.default_now
    run("cbr", end=end)
    landed = set(rows("SELECT _account_id, date, _record->>'$.Value' FROM raw_cbr.daily_rates"))
    first_day = (end - FIRST_RUN_HISTORY).date()
    assert landed == published(world, end, first_day, world.end)
    assert len(landed) == 3 * 74 and min(d for _, d, _ in landed) < world.start  # the first days have an earlier rate
    records = rows("SELECT _record FROM raw_cbr.daily_rates WHERE _account_id = 'GBP' ORDER BY date LIMIT 1")
    assert set(json.loads(records[0][0])) == {"Date", "Id", "Nominal", "Value", "VunitRate"}

    # a day later: the last week is read again and replaced, the new day added, nothing doubled
    later = end + timedelta(days=1)
    sandbox.set_clock(later)
    run("cbr", end=later)
    assert rows("SELECT count(*), count(DISTINCT (_account_id, date)) FROM raw_cbr.daily_rates")[0] == (3 * 74, 3 * 74)
    windows = rows("SELECT DISTINCT first_day, last_day FROM _funnelhouse.loaded_windows WHERE source = 'cbr' ORDER BY 1")
    assert windows[-1] == ((end - LOOKBACK).date(), end.date())


def test_a_server_error_is_retried_and_loses_nothing(sandbox, connections, data_dir, world):
    sandbox.faults.add("server_error", endpoint="/scripts/XML_dynamic", schedule=[1], status=503)
    run("cbr", end=world.default_now)
    assert sandbox.faults.fired and rows("SELECT count(*) FROM raw_cbr.daily_rates")[0][0] == 3 * 74


def test_the_connection_needs_no_password_but_its_currencies(sandbox, data_dir, monkeypatch, world):
    conn = {"conn_type": "http", "host": sandbox.base_url, "extra": {"currencies": "usd, RUB"}}
    monkeypatch.setenv("AIRFLOW_CONN_CBR", json.dumps(conn))
    run("cbr", end=world.default_now)  # the rouble is the base: it has no series of its own
    assert rows("SELECT DISTINCT _account_id FROM raw_cbr.daily_rates") == [("USD",)]
    monkeypatch.setenv("AIRFLOW_CONN_CBR", json.dumps({**conn, "extra": {}}))
    with pytest.raises(ConfigError, match="connection 'cbr' has no extra 'currencies'"):
        run("cbr", end=world.default_now)


def test_a_currency_the_bank_does_not_quote_stops_with_its_name_and_loads_nothing(sandbox, data_dir, monkeypatch, world):
    conn = {"conn_type": "http", "host": sandbox.base_url, "extra": {"currencies": ["USD", "XYZ"]}}
    monkeypatch.setenv("AIRFLOW_CONN_CBR", json.dumps(conn))
    with pytest.raises(ConfigError, match="'XYZ', which the Bank of Russia does not quote"):
        run("cbr", end=world.default_now)
    assert not data_dir.joinpath("warehouse.duckdb").exists() or not rows(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = 'raw_cbr'"
    )


def test_a_truncated_xml_answer_is_retried_like_a_truncated_json_one():
    """GIVEN a 200 whose XML body was cut off, WHEN the client reads it with the source's decoder,
    THEN it retries the request and returns the parsed answer of the next try."""
    from extractors.http import HttpClient, RetryPolicy
    from extractors.sources.cbr import _xml
    from tests.scripted_server import ScriptedServer

    waits: list[float] = []
    with ScriptedServer([(200, {}, BANK_XML[:150]), (200, {}, BANK_XML)]) as server:
        client = HttpClient("cbr", server.url, policy=RetryPolicy(max_attempts=3, base_delay_s=0.01, sleep=waits.append))
        root = client.request("GET", "/scripts/XML_dynamic.asp", what="daily_rates [EUR]", decode=_xml)
    assert len(server.requests) == 2 and len(waits) == 1
    assert [r["Date"] for r in _records(root)] == ["06.04.2024", "09.04.2024"]
