"""Streams described as data: what a raw table is keyed on and how a run replaces it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal


@dataclass(frozen=True)
class KeyColumn:
    """A raw-table column pulled out of the record (every field also stays in ``_record``)."""

    name: str
    json_path: str  # DuckDB JSON path, e.g. '$.id'
    sql_type: str = "VARCHAR"
    # How the text at json_path becomes sql_type when a plain cast cannot (e.g. GA4's YYYYMMDD dates);
    # a SQL template with {} for the text. The result must be NULL, not an error, for bad input.
    parse: str = "TRY_CAST({} AS {type})"

    def sql(self, record_column: str) -> str:
        text = f"json_extract_string({record_column}, '{self.json_path}')"
        return self.parse.format(text, type=self.sql_type)


@dataclass(frozen=True)
class Stream:
    name: str
    keys: tuple[KeyColumn, ...]
    # merge:  upsert on (_account_id, keys); incremental by modified time.
    # window: report data; the days re-read this run replace those days exactly.
    load: Literal["merge", "window"] = "merge"
    window_key: str | None = None  # the date key column for window streams
    lookback: timedelta = field(default=timedelta(0))  # re-read before the saved cursor (restatements, search lag)
    # How far back the platform serves the stream (Google Ads click_view: 90 days): a window never
    # starts earlier, so a load never replaces days it could not read with nothing.
    max_history: timedelta | None = None
    # The platform may refuse it by plan or permission (403) while the account's other streams
    # are readable: such a refusal skips this stream, reported, instead of failing the account.
    optional: bool = False
    # A window stream the platform fills every day (ad and analytics reports): a day without rows
    # is a loss, which the raw gate's volume check catches. False for series with gaps by nature
    # (exchange rates: none on the bank's days off).
    rows_every_day: bool = True
    description: str = ""

    @property
    def key_names(self) -> list[str]:
        return [k.name for k in self.keys]


@dataclass(frozen=True)
class Window:
    """What one run reads: [start, end). start None = everything (first run)."""

    start: datetime | None
    end: datetime

    @property
    def first_day(self) -> date | None:
        return self.start.date() if self.start else None

    @property
    def last_day(self) -> date:
        """The last whole day inside the window."""
        return (self.end - timedelta(microseconds=1)).date()
