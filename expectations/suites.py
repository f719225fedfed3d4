"""The gate's generated suites: raw streams, volume, freshness and reconciliation, as data.

The mart suites (``gx/expectations/marts/``) are edited by hand. The suites here follow from
other data - every raw table's shape from the stream definitions in ``extractors/`` (the
loader gives each one ``_account_id``, the stream's keys, ``_record``, ``_loaded_at`` and
``_batch_id``), the rest from the rules below - so they are written by this module:

    python -m expectations.suites        # rewrite the JSON suites, validation definitions and assets

tests/gate/test_gate.py fails when the committed files differ from what this writes. Ids are
derived from names (uuid5), so a rerun changes nothing unless a rule or a stream did.

Severity: "critical" blocks publish, "warning" publishes and is reported (see gate.py).
Each suite's ``meta.requires`` names the tables it reads: a suite whose tables are absent
(a source the deployment does not extract) is skipped and listed as skipped.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

GX_DIR = Path(__file__).resolve().parent / "gx"
DATASOURCE = "warehouse"
_NAMESPACE = uuid.UUID("5b0f3d8e-6a43-4c59-9d52-2f3c1f0e7a11")
_YAML_HEADER = """\
# Great Expectations project for the funnelhouse gate (expectations/gate.py).
# The warehouse datasource reads the DuckDB path from FUNNELHOUSE_GATE_DATABASE,
# which run_gate() passes as runtime_environment. Assets of the raw, volume, freshness and
# reconciliation suites are written by `python -m expectations.suites`.
"""

# Numbers in the raw records that can never be negative (spend, counts, durations), by JSON
# path. A value that is present but not a number fails too: staging would cast it to NULL.
RAW_MEASURES: dict[tuple[str, str], dict[str, str]] = {
    ("meta_ads", "insights"): {"spend": "$.spend", "impressions": "$.impressions", "clicks": "$.clicks"},
    ("google_ads", "ad_group_performance"): {
        "cost_micros": "$.metrics.costMicros",
        "impressions": "$.metrics.impressions",
        "clicks": "$.metrics.clicks",
        "conversions": "$.metrics.conversions",
        "conversions_value": "$.metrics.conversionsValue",
    },
    ("ga4", "sessions_daily"): {
        "sessions": "$.sessions",
        "engaged_sessions": "$.engagedSessions",
        "page_views": "$.screenPageViews",
        "conversions": "$.conversions",
        "average_session_duration": "$.averageSessionDuration",
    },
    ("ga4", "pages_daily"): {
        "page_views": "$.screenPageViews",
        "engagement_duration": "$.userEngagementDuration",
        "sessions": "$.sessions",
        "exits": "$.exits",
    },
    ("hubspot", "deals"): {"amount": "$.properties.amount"},
    ("mailchimp", "reports"): {
        "emails_sent": "$.emails_sent",
        "unsubscribed": "$.unsubscribed",
        "opens": "$.opens.opens_total",
        "clicks": "$.clicks.clicks_total",
        "hard_bounces": "$.bounces.hard_bounces",
    },
    ("facebook_pages", "page_insights"): {"value": "$.value"},
    ("facebook_pages", "page_posts"): {"shares": "$.shares.count"},
    ("facebook_pages", "ig_media"): {"likes": "$.like_count", "comments": "$.comments_count"},
    ("facebook_pages", "ig_media_insights"): {"value": "$.value"},
    ("facebook_pages", "account_snapshots"): {"followers": "$.followers_count"},
}

# Money compared across layers: the sums must be equal. Half a millionth is below the step of
# every DECIMAL(_, 6) money column, so on DECIMAL this is an exact comparison; it only absorbs
# the binary rounding of today's DOUBLE mart columns (not needed once money is DECIMAL).
MONEY_TOLERANCE = "0.0000005"
# How DESCRIBE spells the types the stream definitions write as aliases.
_DUCKDB_TYPE_NAMES = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}


@dataclass(frozen=True)
class Dialect:
    """The SQL the generated suites need that DuckDB and PostgreSQL spell differently. The committed
    suites are DuckDB's; the gate writes PostgreSQL's into its run folder for a PostgreSQL warehouse."""

    name: str = "duckdb"

    def json_text(self, path: str, record: str = "_record") -> str:
        """The text at a '$.a.b' path of the raw record."""
        if self.name == "duckdb":
            return f"json_extract_string({record}, '{path}')"
        *objects, field_name = path[2:].split(".")  # arrows, not #> '{a,b}': GX reads braces as placeholders
        return f"({record}" + "".join(f" -> '{o}'" for o in objects) + f" ->> '{field_name}')"

    def json_arrow(self, path: str) -> str:
        """The same, as the reconciliation queries write it (_record->>'$.a.b' on DuckDB)."""
        return f"_record->>'{path}'" if self.name == "duckdb" else self.json_text(path)

    def try_double(self, text: str) -> str:
        # PostgreSQL has no TRY_CAST: the loader creates _funnelhouse.try_double (extractors/postgres.py)
        return f"TRY_CAST({text} AS DOUBLE)" if self.name == "duckdb" else f"_funnelhouse.try_double({text})"

    def where_on_aliases(self, select: str, condition: str) -> str:
        """``select`` filtered by a condition on its own output columns (DuckDB reads them in WHERE)."""
        return f"{select} WHERE {condition}" if self.name == "duckdb" else f"SELECT * FROM ({select}) AS totals WHERE {condition}"

    def finish(self, query: str) -> str:
        """GX puts the batch in as a subquery, named by GX itself unless the query has a JOIN; there
        PostgreSQL wants it named where the query names none."""
        if self.name == "duckdb" or not re.search(r"\bJOIN\b", query, re.IGNORECASE):
            return query
        return re.sub(r"\{batch\}(?=\s+(?:WHERE|GROUP|ORDER)\b|\)|$)", "{batch} AS batch_rows", query)

    def group_by_all(self, columns: int) -> str:
        return "GROUP BY ALL" if self.name == "duckdb" else "GROUP BY " + ", ".join(str(i + 1) for i in range(columns))

    def columns_of(self, table: str) -> str:
        """(column_name, column_type) of a raw table, types named as in _raw_suite's expected list."""
        if self.name == "duckdb":
            return "(DESCRIBE SELECT * FROM {batch})"
        schema, name = table.split(".")
        return (
            "(SELECT column_name, CASE data_type WHEN 'character varying' THEN 'VARCHAR' WHEN 'jsonb' THEN 'JSON'"
            " ELSE upper(data_type) END AS column_type FROM information_schema.columns"
            f" WHERE table_schema = '{schema}' AND table_name = '{name}')"
        )


DUCKDB = Dialect("duckdb")
POSTGRES = Dialect("postgres")


@dataclass(frozen=True)
class Expectation:
    type: str
    kwargs: dict
    notes: str = ""
    severity: str = "critical"

    def to_json(self, suite: str, index: int) -> dict:
        entry = {"id": str(uuid.uuid5(_NAMESPACE, f"{suite}#{index}")), "kwargs": self.kwargs, "meta": {}}
        if self.notes:
            entry["notes"] = self.notes
        return {**entry, "severity": self.severity, "type": self.type}


def unexpected_rows(name: str, query: str, notes: str, severity: str = "critical") -> Expectation:
    """Fails when the query returns rows; the first rows are the failing values shown. ``name``
    (in the description) is how the gate names it, e.g. ``unexpected_rows_expectation(spend_matches_raw)``."""
    return Expectation(
        "unexpected_rows_expectation", {"unexpected_rows_query": query, "description": f"{name}: {notes}"}, notes, severity
    )


@dataclass(frozen=True)
class Suite:
    name: str  # also the validation definition's name
    table: str  # the asset's table (schema.table): the suite's {batch}
    expectations: tuple[Expectation, ...]
    requires: tuple[str, ...] = ()  # tables besides `table` that must exist
    notes: str = ""
    asset: str = field(default="")  # asset name; defaults to the table

    @property
    def asset_name(self) -> str:
        return self.asset or self.table


# ---- raw streams ------------------------------------------------------------------------------


def raw_suites(dialect: Dialect = DUCKDB) -> list[Suite]:
    from extractors.sources import registry

    suites = []
    for source in registry().values():
        for stream in source.streams:
            suites.append(_raw_suite(source.name, stream, dialect))
    return suites


def _raw_suite(source: str, stream, dialect: Dialect = DUCKDB) -> Suite:
    schema = f"raw_{source}"
    table = f"{schema}.{stream.name}"
    columns = [
        ("_account_id", "VARCHAR"),
        *((k.name, _DUCKDB_TYPE_NAMES.get(k.sql_type, k.sql_type)) for k in stream.keys),
        ("_record", "JSON"),
        ("_loaded_at", "TIMESTAMP WITH TIME ZONE"),
        ("_batch_id", "VARCHAR"),
    ]
    expected = ", ".join(f"('{name}', '{sql_type}')" for name, sql_type in columns)
    keys = ["_account_id", *stream.key_names]
    quoted_keys = ", ".join(f'"{k}"' for k in keys)
    expectations = [
        unexpected_rows(
            "columns_and_types",
            f"WITH expected(column_name, data_type) AS (VALUES {expected})"
            " SELECT coalesce(e.column_name, a.column_name) AS column_name, e.data_type AS expected_type,"
            f" a.column_type AS actual_type FROM expected e FULL JOIN {dialect.columns_of(table)} a"
            " ON a.column_name = e.column_name WHERE e.data_type IS DISTINCT FROM a.column_type",
            "Columns and types as the loader creates them (extractors/loader.py); staging reads exactly these.",
        ),
        Expectation(
            "expect_compound_columns_to_be_unique", {"column_list": keys}, "One row per account and key: the loader merges on it."
        ),
        *(Expectation("expect_column_values_to_not_be_null", {"column": k}) for k in [*keys, "_record"]),
    ]
    measures = RAW_MEASURES.get((source, stream.name))
    if measures:
        values = ", ".join(f"{dialect.json_text(path)} AS {name}" for name, path in measures.items())
        bad = " OR ".join(
            f"(nullif({dialect.json_text(path)}, '') IS NOT NULL"
            f" AND coalesce({dialect.try_double(dialect.json_text(path))} < 0, true))"
            for path in measures.values()
        )
        expectations.append(
            unexpected_rows(
                "measures_are_non_negative_numbers",
                f"SELECT {quoted_keys}, {values} FROM {{batch}} WHERE {bad}",
                f"{', '.join(measures)}: numbers, never negative (a negative spend or count is a broken record).",
            )
        )
    if stream.load == "window":
        key = next(k for k in stream.keys if k.name == stream.window_key)
        if key.sql_type == "DATE":
            day, outside = f'r."{key.name}"', f'r."{key.name}" NOT BETWEEN w.first_day AND w.last_day'
        else:
            day, outside = f'r."{key.name}"', f'NOT (r."{key.name}" >= w.window_start AND r."{key.name}" < w.window_end)'
        expectations.append(
            unexpected_rows(
                "dates_inside_loaded_window",
                f"SELECT r._account_id, r._batch_id, {day} AS {key.name}, w.window_start, w.window_end"
                " FROM {batch} r LEFT JOIN _funnelhouse.loaded_windows w ON w.batch_id = r._batch_id"
                f" AND w.account_id = r._account_id AND w.source = '{source}' AND w.stream = '{stream.name}'"
                f" WHERE w.batch_id IS NULL OR {outside}",
                f"Every row's {key.name} lies inside the window its load read (_funnelhouse.loaded_windows).",
            )
        )
    return Suite(
        table,
        table,
        tuple(expectations),
        requires=("_funnelhouse.loaded_windows",) if stream.load == "window" else (),
        notes=f"Raw {source} {stream.name}: {stream.description}",
    )


# ---- volume and freshness (inputs computed by gate.py before GX runs) -----------------------------


def history_suites() -> list[Suite]:
    return [
        Suite(
            "gate.volumes",
            "_funnelhouse.gate_volume_check",
            (
                unexpected_rows(
                    "rows_per_day_against_history",
                    "SELECT source, stream, account_id, date_day, rows, baseline_rows, min_rows, runs_in_baseline"
                    " FROM {batch} WHERE rows < min_rows ORDER BY source, stream, account_id, date_day",
                    "A report stream's rows for a day fell by more than the allowed share against the median"
                    " of the last runs (FUNNELHOUSE_GATE_VOLUME_DROP, FUNNELHOUSE_GATE_VOLUME_RUNS): a silent"
                    " empty page loses a day.",
                ),
            ),
            notes="Rows per stream, account and day of the latest loaded window against history.",
        ),
        Suite(
            "gate.freshness",
            "_funnelhouse.gate_freshness",
            (
                unexpected_rows(
                    "loaded_within_warn_after",
                    "SELECT source, newest_loaded_at, lag_hours, warn_after_hours FROM {batch}"
                    " WHERE lag_hours > warn_after_hours ORDER BY source",
                    "A source's newest load is older than its declared warn_after (dbt sources YAML).",
                    severity="warning",
                ),
                unexpected_rows(
                    "loaded_within_error_after",
                    "SELECT source, newest_loaded_at, lag_hours, error_after_hours FROM {batch}"
                    " WHERE lag_hours > error_after_hours ORDER BY source",
                    "A source's newest load is older than its declared error_after (dbt sources YAML).",
                ),
            ),
            notes="Each source's newest _loaded_at against the freshness its dbt sources YAML declares.",
        ),
    ]


# ---- reconciliation: mart totals equal raw totals -----------------------------------------------


def _money_mismatch(left: str, right: str) -> str:
    return f"abs(coalesce({left}, 0) - coalesce({right}, 0)) > {MONEY_TOLERANCE}"


def reconciliation_suites(dialect: Dialect = DUCKDB) -> list[Suite]:
    by_all = dialect.group_by_all
    ad_spend = (
        "WITH raw AS ({raw}), mart AS (SELECT ad_account_id, date_day,"
        " sum(spend_in_account_currency) AS spend FROM {{batch}} WHERE platform = '{platform}' " + by_all(2) + ")"
        " SELECT coalesce(raw.ad_account_id, mart.ad_account_id) AS ad_account_id,"
        " coalesce(raw.date_day, mart.date_day) AS date_day, raw.spend AS raw_spend, mart.spend AS mart_spend"
        " FROM raw FULL JOIN mart ON raw.ad_account_id = mart.ad_account_id AND raw.date_day = mart.date_day"
        " WHERE {mismatch} ORDER BY 1, 2"
    )
    mismatch = _money_mismatch("raw.spend", "mart.spend")
    j = dialect.json_arrow
    meta_raw = (
        f"SELECT {j('$.account_id')} AS ad_account_id, date_start AS date_day,"
        f" sum(CAST(nullif({j('$.spend')}, '') AS DECIMAL(38, 6))) AS spend"
        f" FROM raw_meta_ads.insights {by_all(2)}"
    )
    google_raw = (
        f"SELECT coalesce({j('$.customer.id')}, _account_id) AS ad_account_id, date AS date_day,"
        f" CAST(sum(CAST(nullif({j('$.metrics.costMicros')}, '') AS BIGINT)) AS DECIMAL(38, 6))"
        f" / 1000000 AS spend FROM raw_google_ads.ad_group_performance {by_all(2)}"
    )
    return [
        Suite(
            "reconcile.meta_ads_spend",
            "marts.ad_performance_daily",
            (
                unexpected_rows(
                    "spend_matches_raw",
                    ad_spend.format(raw=meta_raw, platform="meta_ads", mismatch=mismatch),
                    "Meta spend per ad account and day in the account's currency: ad_performance_daily"
                    " equals raw_meta_ads.insights.",
                ),
            ),
            requires=("raw_meta_ads.insights",),
            asset="ad_performance_daily",
        ),
        Suite(
            "reconcile.google_ads_spend",
            "marts.ad_performance_daily",
            (
                unexpected_rows(
                    "spend_matches_raw",
                    ad_spend.format(raw=google_raw, platform="google_ads", mismatch=mismatch),
                    "Google Ads spend per customer and day in the account's currency (cost micros / 10^6):"
                    " ad_performance_daily equals raw_google_ads.ad_group_performance.",
                ),
            ),
            requires=("raw_google_ads.ad_group_performance",),
            asset="ad_performance_daily",
        ),
        Suite(
            "reconcile.channel_spend",
            "marts.channel_performance_daily",
            (
                unexpected_rows(
                    "spend_matches_ad_performance",
                    "WITH ads AS (SELECT platform, date_day, sum(spend_in_reporting_currency) AS spend"
                    f" FROM marts.ad_performance_daily {by_all(2)}),"
                    f" channels AS (SELECT date_day, sum(spend) AS spend FROM {{batch}} {by_all(1)}),"
                    " per_day AS (SELECT date_day, sum(spend) AS spend, string_agg(platform, ',' ORDER BY platform)"
                    f" AS platforms FROM ads {by_all(1)})"
                    " SELECT coalesce(per_day.date_day, channels.date_day) AS date_day, per_day.platforms,"
                    " per_day.spend AS ad_spend, channels.spend AS channel_spend"
                    " FROM per_day FULL JOIN channels ON per_day.date_day = channels.date_day"
                    f" WHERE {_money_mismatch('per_day.spend', 'channels.spend')} ORDER BY 1",
                    "Spend per day in the reporting currency: channel_performance_daily equals the sum over"
                    " platforms of ad_performance_daily (after conversion).",
                ),
            ),
            requires=("marts.ad_performance_daily",),
            asset="channel_performance_daily",
        ),
        Suite(
            "reconcile.won_revenue",
            "marts.channel_performance_daily",
            (
                unexpected_rows(
                    "revenue_matches_won_deals",
                    "WITH crm AS (SELECT CAST(closed_at AS DATE) AS date_day, count(*) AS deals,"
                    " sum(amount_in_reporting_currency) AS revenue FROM staging.stg_hubspot__deals"
                    f" WHERE is_closed_won AND NOT is_archived AND closed_at IS NOT NULL {by_all(1)}),"
                    f" mart AS (SELECT date_day, sum(revenue) AS revenue FROM {{batch}} {by_all(1)} HAVING sum(revenue) <> 0)"
                    " SELECT coalesce(crm.date_day, mart.date_day) AS date_day, crm.deals, crm.revenue AS crm_revenue,"
                    " mart.revenue AS mart_revenue FROM crm FULL JOIN mart ON crm.date_day = mart.date_day"
                    f" WHERE {_money_mismatch('crm.revenue', 'mart.revenue')} ORDER BY 1",
                    "Won revenue per UTC close day in the reporting currency: channel_performance_daily equals"
                    " HubSpot's won, live deals (raw amounts converted by stg_hubspot__deals).",
                ),
            ),
            requires=("raw_hubspot.deals", "staging.stg_hubspot__deals"),
            asset="channel_performance_daily",
        ),
        Suite(
            "reconcile.leads",
            "marts.channel_performance_daily",
            (
                unexpected_rows(
                    "leads_match_raw_contacts",
                    f"WITH raw AS (SELECT CAST(CAST(nullif({j('$.properties.hs_lifecyclestage_lead_date')}, '')"
                    " AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS DATE) AS date_day, count(*) AS leads"
                    f" FROM raw_hubspot.contacts WHERE NOT coalesce(CAST({j('$.archived')} AS BOOLEAN), false)"
                    f" AND nullif({j('$.properties.hs_lifecyclestage_lead_date')}, '') IS NOT NULL {by_all(1)}),"
                    f" mart AS (SELECT date_day, sum(leads) AS leads FROM {{batch}} {by_all(1)} HAVING sum(leads) > 0)"
                    " SELECT coalesce(raw.date_day, mart.date_day) AS date_day, raw.leads AS raw_leads,"
                    " mart.leads AS mart_leads FROM raw FULL JOIN mart ON raw.date_day = mart.date_day"
                    " WHERE coalesce(raw.leads, 0) <> coalesce(mart.leads, 0) ORDER BY 1",
                    "Leads per UTC day: channel_performance_daily counts every live raw HubSpot contact on the"
                    " day it became a lead.",
                ),
                unexpected_rows(
                    "leads_mart_matches_channel_leads",
                    dialect.where_on_aliases(
                        "SELECT (SELECT count(*) FROM marts.leads WHERE became_lead_at IS NOT NULL) AS mart_leads,"
                        " (SELECT sum(leads) FROM {batch}) AS channel_leads",
                        "mart_leads IS DISTINCT FROM channel_leads",
                    ),
                    "marts.leads holds exactly the leads channel_performance_daily counts.",
                ),
            ),
            requires=("raw_hubspot.contacts", "marts.leads"),
            asset="channel_performance_daily",
        ),
    ]


# ---- writing the GX files -----------------------------------------------------------------------


def generated_suites(dialect: Dialect = DUCKDB) -> list[Suite]:
    return [*raw_suites(dialect), *history_suites(), *reconciliation_suites(dialect)]


def _id(kind: str, name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


def _suite_json(suite: Suite, dialect: Dialect = DUCKDB) -> dict:
    meta = {"generated_by": "expectations/suites.py", "requires": sorted({suite.table, *suite.requires})}
    expectations = [
        e
        if "unexpected_rows_query" not in e.kwargs
        else Expectation(
            e.type, {**e.kwargs, "unexpected_rows_query": dialect.finish(e.kwargs["unexpected_rows_query"])}, e.notes, e.severity
        )
        for e in suite.expectations
    ]
    return {
        "expectations": [e.to_json(suite.name, i) for i, e in enumerate(expectations)],
        "id": _id("suite", suite.name),
        "meta": meta,
        "name": suite.name,
        "notes": suite.notes or None,
    }


def _path(root: Path, name: str) -> Path:
    # GX's tuple store turns the dots of a name into folders, the last part into <part>.json
    *folders, last = name.split(".")
    return root.joinpath(*folders, f"{last}.json")


def write(gx_dir: Path = GX_DIR, dialect: Dialect = DUCKDB) -> list[Path]:
    """(Re)write every generated suite, validation definition and asset; return the files written.
    The committed project is DuckDB's; the gate writes a PostgreSQL copy into its run folder."""
    config_path = gx_dir / "great_expectations.yml"
    config = yaml.safe_load(config_path.read_text())
    assets = config["fluent_datasources"][DATASOURCE]["assets"]
    written = []
    suites = generated_suites(dialect)
    for suite in suites:
        asset = assets.setdefault(
            suite.asset_name,
            {
                "type": "table",
                "id": _id("asset", suite.asset_name),
                "batch_metadata": {},
                "batch_definitions": {"whole_table": {"id": _id("batch", suite.asset_name), "partitioner": None}},
                "table_name": suite.table,
            },
        )
        path = _path(gx_dir / "expectations", suite.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(_suite_json(suite, dialect), indent=2) + "\n")
        definition = {
            "data": {
                "asset": {"id": asset["id"], "name": suite.asset_name},
                "batch_definition": {"id": asset["batch_definitions"]["whole_table"]["id"], "name": "whole_table"},
                "datasource": {"id": config["fluent_datasources"][DATASOURCE]["id"], "name": DATASOURCE},
            },
            "id": _id("validation", suite.name),
            "name": suite.name,
            "suite": {"id": _id("suite", suite.name), "name": suite.name},
        }
        definition_path = gx_dir / "validation_definitions" / f"{suite.name}.json"
        definition_path.write_text(json.dumps(definition, indent=2) + "\n")
        written += [path, definition_path]
    config_path.write_text(_YAML_HEADER + yaml.safe_dump(config, sort_keys=False, default_flow_style=False))
    return [config_path, *written]


if __name__ == "__main__":
    for written_path in write():
        print(written_path.relative_to(GX_DIR.parent))
