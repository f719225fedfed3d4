"""The HTML report: what the published marts say, for people who look rather than read.

write_report() reads the published DuckDB file (read-only, through the ``bi`` views when they
are there, else the marts) and writes one self-contained HTML file: every chart is a Vega-Lite
spec rendered to inline SVG by vl-convert (no script, style, font or image is fetched: it
opens offline, from a file, on a BI host without internet). The gate's verdict is at the top,
then the date range and each source's freshness, then one section per question:

spend vs revenue and ROI by channel and month; the funnel touch -> session -> lead -> MQL ->
SQL -> customer per channel; attribution by model; KPI goals (pace, cost caps); the budget
recommendation (loss-making lines marked); top and falling content; social reach, engagement
and comments; email campaigns; platform-claimed vs CRM conversions.

    python -m funnelhouse.report [published.duckdb] [report.html]
"""

from __future__ import annotations

import html
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from funnelhouse import PROJECT_ROOT

log = logging.getLogger(__name__)


def _channel_order() -> list[str]:
    """The channels as dbt defines them, once (dbt_project/seeds/channels.csv), paid ones first, then
    attribution's 'unattributed'."""
    import csv

    with open(PROJECT_ROOT / "dbt_project" / "seeds" / "channels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return (
        [r["channel"] for r in rows if r["is_paid"] == "true"]
        + [r["channel"] for r in rows if r["is_paid"] != "true"]
        + ["unattributed"]
    )


CHANNEL_ORDER = _channel_order()
MODEL_ORDER = ["first_touch", "last_touch", "linear", "position_based", "time_decay"]
STAGES = ["touches", "sessions", "leads", "mqls", "sqls", "customers"]
PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d", "#bab0ac"]
GOOD, BAD, MUTED = "#2f7d32", "#c62828", "#9e9e9e"
WIDTH = 860


@dataclass
class Section:
    id: str
    title: str
    lead: str  # one sentence of what the chart shows, with the numbers that matter
    charts: list[tuple[str, int]]  # (svg, data points)
    table: str = ""


def write_report(
    published_db: str | Path,
    output: str | Path,
    gate: dict | None = None,
    raw_gate: dict | None = None,
    freshness: Sequence[dict] = (),
) -> Path:
    """Write the report of ``published_db`` to ``output`` (atomically) and return its path."""
    output = Path(output)
    with duckdb.connect(str(published_db), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        data = _Data(con)
        page = _page(data, gate or {}, raw_gate or {}, freshness)
    temporary = output.with_name(output.name + ".tmp")
    temporary.write_text(page, encoding="utf-8")
    os.replace(temporary, output)
    log.info("report written to %s (%d bytes)", output, len(page))
    return output


class _Data:
    """Rows of the published file as dicts; bi views when present (the stable interface)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        schemas = {r[0] for r in con.execute("SELECT DISTINCT table_schema FROM information_schema.tables").fetchall()}
        self.schema = "bi" if "bi" in schemas else "marts"
        currency = self.rows("SELECT any_value(reporting_currency) AS c FROM {s}.ad_performance_daily")
        self.currency = currency[0]["c"] if currency and currency[0]["c"] else "USD"

    def rows(self, sql: str) -> list[dict]:
        cursor = self.con.execute(sql.format(s=self.schema))
        names = [d[0] for d in cursor.description]
        return [{n: _plain(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]


def _plain(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


# ---- formatting ---------------------------------------------------------------------------------


def _money(value, currency: str, digits: int = 0) -> str:
    return "–" if value is None else f"{currency} {value:,.{digits}f}"


def _count(value) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _rate(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def _label(name: str) -> str:
    return name.replace("_", " ")


def _table(headers: Sequence[str], rows: Sequence[Sequence], classes: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        css = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
        body.append(f"<tr{css}>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>")
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


# ---- charts -------------------------------------------------------------------------------------


def _chart(spec: dict, values: list[dict]) -> tuple[str, int]:
    """A Vega-Lite spec over ``values`` -> inline SVG (and the number of data points)."""
    import vl_convert

    full = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": values},
        "config": {
            "font": "DejaVu Sans, Helvetica, Arial, sans-serif",
            "view": {"stroke": None},
            "axis": {"labelFontSize": 11, "titleFontSize": 12, "gridColor": "#eceff1"},
            "legend": {"labelFontSize": 11, "titleFontSize": 12, "orient": "top"},
            "range": {"category": PALETTE},
        },
        **spec,
    }
    svg = vl_convert.vegalite_to_svg(full)
    return svg, len(values)


def _channel_color(values: Sequence[dict], field: str = "channel") -> dict:
    """The same colour for a channel in every chart; the legend lists only the channels shown."""
    present = [c for c in CHANNEL_ORDER if any(v[field] == c for v in values)]
    return {
        "field": field,
        "type": "nominal",
        "title": "channel",
        "sort": CHANNEL_ORDER,
        "scale": {"domain": CHANNEL_ORDER, "scheme": "category20"},
        "legend": {"values": present},
    }


# ---- sections -----------------------------------------------------------------------------------


def _spend_revenue(d: _Data) -> Section:
    rows = d.rows("""SELECT strftime(date_trunc('month', date_day), '%Y-%m') AS month, channel,
            sum(spend) AS spend, sum(revenue) AS revenue FROM {s}.channel_performance_daily GROUP BY ALL ORDER BY ALL""")
    long = [
        {"month": r["month"], "channel": r["channel"], "measure": m, "amount": r[m]} for r in rows for m in ("spend", "revenue")
    ]
    bars = _chart(
        {
            "width": 250,
            "height": 220,
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "column": {"field": "month", "type": "ordinal", "title": None, "header": {"labelFontSize": 13}},
                "x": {"field": "channel", "type": "nominal", "sort": CHANNEL_ORDER, "title": None, "axis": {"labelAngle": -40}},
                "xOffset": {"field": "measure", "sort": ["spend", "revenue"]},
                "y": {"field": "amount", "type": "quantitative", "title": d.currency, "axis": {"format": "~s"}},
                "color": {
                    "field": "measure",
                    "type": "nominal",
                    "title": None,
                    "sort": ["spend", "revenue"],
                    "scale": {"domain": ["spend", "revenue"], "range": ["#e45756", "#4c78a8"]},
                },
            },
        },
        long,
    )
    paid = [
        {"month": r["month"], "channel": r["channel"], "roi": (r["revenue"] - r["spend"]) / r["spend"]}
        for r in rows
        if r["spend"]
    ]
    roi = _chart(
        {
            "width": 420,
            "height": 200,
            "layer": [
                {"mark": {"type": "rule", "color": MUTED, "strokeDash": [4, 4]}, "encoding": {"y": {"datum": 0}}},
                {
                    "mark": {"type": "line", "point": {"size": 60}},
                    "encoding": {
                        "x": {"field": "month", "type": "ordinal", "title": None, "axis": {"labelAngle": 0}},
                        "y": {"field": "roi", "type": "quantitative", "title": "ROI", "axis": {"format": "%"}},
                        "color": _channel_color(paid),
                    },
                },
            ],
        },
        paid,
    )
    totals: dict[str, list[float]] = {}
    for r in rows:
        t = totals.setdefault(r["channel"], [0.0, 0.0])
        t[0] += r["spend"] or 0
        t[1] += r["revenue"] or 0
    ordered = sorted(totals.items(), key=lambda kv: CHANNEL_ORDER.index(kv[0]) if kv[0] in CHANNEL_ORDER else 99)
    table = _table(
        ["channel", "spend", "revenue", "ROI"],
        [
            (_label(c), _money(s, d.currency), _money(r, d.currency), _rate((r - s) / s, 0) if s else "no spend")
            for c, (s, r) in ordered
        ],
        ["loss" if s and r < s else "" for _, (s, r) in ordered],
    )
    spend, revenue = sum(t[0] for t in totals.values()), sum(t[1] for t in totals.values())
    return Section(
        "spend-revenue",
        "Spend vs revenue and ROI by channel and month",
        f"{_money(spend, d.currency)} spent, {_money(revenue, d.currency)} won; ROI of paid channels "
        f"(revenue − spend) / spend per month.",
        [bars, roi],
        table,
    )


def _funnel(d: _Data) -> Section:
    rows = d.rows("""SELECT channel, sum(touches) AS touches, sum(sessions) AS sessions, sum(leads) AS leads,
            sum(mqls) AS mqls, sum(sqls) AS sqls, sum(customers) AS customers,
            median(median_days_lead_to_mql) AS days_lead_to_mql, median(median_days_mql_to_sql) AS days_mql_to_sql,
            median(median_days_sql_to_customer) AS days_sql_to_customer
            FROM {s}.funnel_by_channel GROUP BY ALL ORDER BY sum(leads) DESC""")
    long = [{"channel": r["channel"], "stage": s, "step": i, "count": r[s]} for r in rows for i, s in enumerate(STAGES) if r[s]]
    chart = _chart(
        {
            "width": WIDTH - 200,
            "height": 280,
            "mark": {"type": "line", "point": {"size": 60}, "tooltip": True},
            "encoding": {
                "x": {"field": "stage", "type": "ordinal", "sort": STAGES, "title": None, "axis": {"labelAngle": 0}},
                "y": {
                    "field": "count",
                    "type": "quantitative",
                    "scale": {"type": "log"},
                    "title": "people (log scale)",
                    "axis": {"format": "~s"},
                },
                "color": _channel_color(long),
            },
        },
        long,
    )

    def step(a, b):
        return _rate(b / a, 1) if a else "–"

    def days(*values):
        return " / ".join("–" if v is None else f"{v:.1f}" for v in values)

    table = _table(
        [
            "channel",
            "touches",
            "sessions",
            "leads",
            "→ lead",
            "→ MQL",
            "→ SQL",
            "→ customer",
            "customers",
            "median days to MQL / SQL / customer",
        ],
        [
            (
                _label(r["channel"]),
                _count(r["touches"]),
                _count(r["sessions"]),
                _count(r["leads"]),
                step(r["sessions"], r["leads"]),
                step(r["leads"], r["mqls"]),
                step(r["mqls"], r["sqls"]),
                step(r["sqls"], r["customers"]),
                _count(r["customers"]),
                days(r["days_lead_to_mql"], r["days_mql_to_sql"], r["days_sql_to_customer"]),
            )
            for r in rows
        ],
    )
    leads, customers = sum(r["leads"] or 0 for r in rows), sum(r["customers"] or 0 for r in rows)
    return Section(
        "funnel",
        "Funnel: touch → session → lead → MQL → SQL → customer",
        f"{_count(leads)} leads became {_count(customers)} customers ({_rate(customers / leads if leads else None)});"
        " step rates and the median days between stages per channel (cohorts by month of the lead).",
        [chart],
        table,
    )


def _attribution(d: _Data) -> Section:
    rows = d.rows("""SELECT attribution_model, channel, sum(attributed_revenue) AS revenue, sum(attributed_customers) AS customers
            FROM {s}.attribution_by_channel GROUP BY ALL ORDER BY ALL""")
    chart = _chart(
        {
            "width": WIDTH - 160,
            "height": 260,
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "channel", "type": "nominal", "sort": CHANNEL_ORDER, "title": None, "axis": {"labelAngle": 0}},
                "xOffset": {"field": "attribution_model", "sort": MODEL_ORDER},
                "y": {
                    "field": "revenue",
                    "type": "quantitative",
                    "title": f"attributed revenue ({d.currency})",
                    "axis": {"format": "~s"},
                },
                "color": {"field": "attribution_model", "type": "nominal", "title": "model", "sort": MODEL_ORDER},
            },
        },
        rows,
    )
    channels = sorted({r["channel"] for r in rows}, key=lambda c: CHANNEL_ORDER.index(c) if c in CHANNEL_ORDER else 99)
    by = {(r["attribution_model"], r["channel"]): r["revenue"] for r in rows}
    table = _table(
        ["channel", *[_label(m) for m in MODEL_ORDER]],
        [(_label(c), *[_money(by.get((m, c)), d.currency) for m in MODEL_ORDER]) for c in channels],
    )
    total = sum(r["revenue"] for r in rows if r["attribution_model"] == "first_touch")
    return Section(
        "attribution",
        "Who gets credit: attribution by model, side by side",
        f"The same {_money(total, d.currency)} of won revenue split five ways.",
        [chart],
        table,
    )


def _kpis(d: _Data) -> Section:
    rows = d.rows("""SELECT goal_id, metric, channel, period_start, period_end, period_status, target, target_to_date, actual,
            pace, is_on_track, cost_per_unit, max_cost_per_unit, is_within_cost_cap FROM {s}.kpi_attainment ORDER BY period_start, goal_id""")
    values = [
        {**r, "pace_shown": r["pace"] if r["pace"] is not None else 0, "status": "on track" if r["is_on_track"] else "behind"}
        for r in rows
    ]
    chart = _chart(
        {
            "width": WIDTH - 260,
            "height": 28 * max(len(rows), 1),
            "layer": [
                {
                    "mark": {"type": "bar", "tooltip": True},
                    "encoding": {
                        "y": {"field": "goal_id", "type": "nominal", "title": None, "sort": None},
                        "x": {
                            "field": "pace_shown",
                            "type": "quantitative",
                            "title": "pace (actual / target to date)",
                            "axis": {"format": "%"},
                        },
                        "color": {
                            "field": "status",
                            "type": "nominal",
                            "title": None,
                            "scale": {"domain": ["on track", "behind"], "range": [GOOD, BAD]},
                        },
                    },
                },
                {"mark": {"type": "rule", "color": "#263238", "strokeWidth": 2}, "encoding": {"x": {"datum": 1}}},
            ],
        },
        values,
    )

    def amount(r, value):
        return _money(value, d.currency) if r["metric"] in ("revenue", "spend") else _count(value)

    table = _table(
        ["goal", "period", "target", "to date", "actual", "pace", "cost per unit", "cap"],
        [
            (
                r["goal_id"],
                f"{r['period_start'][5:]} – {r['period_end'][5:]} ({_label(r['period_status'])})",
                amount(r, r["target"]),
                amount(r, r["target_to_date"]),
                amount(r, r["actual"]),
                _rate(r["pace"], 0),
                _money(r["cost_per_unit"], d.currency, 2),
                _money(r["max_cost_per_unit"], d.currency, 2),
            )
            for r in rows
        ],
        ["" if r["is_on_track"] and r["is_within_cost_cap"] is not False else "loss" for r in rows],
    )
    on_track = sum(1 for r in rows if r["is_on_track"])
    return Section(
        "kpis",
        "KPI goals: pace and cost caps",
        f"{on_track} of {len(rows)} goals on track; a cost per unit above its cap is marked red in the table.",
        [chart],
        table,
    )


def _budget(d: _Data) -> Section:
    month = d.rows("SELECT max(budget_month) AS m FROM {s}.campaign_budget_recommendation")[0]["m"]
    rows = d.rows(f"""SELECT channel, campaign, spend, revenue, roi, is_loss_making, current_budget_share, recommended_budget_share
            FROM {{s}}.campaign_budget_recommendation WHERE budget_month = DATE '{month}' AND spend > 0
            ORDER BY recommended_budget_share DESC""")
    long = [
        {"campaign": r["campaign"], "share": r[k], "which": label, "flag": "loss-making" if r["is_loss_making"] else "profitable"}
        for r in rows
        for k, label in (("current_budget_share", "current"), ("recommended_budget_share", "recommended"))
    ]
    chart = _chart(
        {
            "width": WIDTH - 360,
            "height": 34 * max(len(rows), 1),
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "y": {"field": "campaign", "type": "nominal", "title": None, "sort": [r["campaign"] for r in rows]},
                "yOffset": {"field": "which", "sort": ["current", "recommended"]},
                "x": {
                    "field": "share",
                    "type": "quantitative",
                    "title": f"share of paid budget, {month[:7]}",
                    "axis": {"format": "%"},
                },
                "color": {
                    "field": "which",
                    "type": "nominal",
                    "title": None,
                    "scale": {"domain": ["current", "recommended"], "range": ["#90a4ae", "#4c78a8"]},
                },
                "stroke": {
                    "field": "flag",
                    "type": "nominal",
                    "legend": None,
                    "scale": {"domain": ["loss-making", "profitable"], "range": [BAD, "transparent"]},
                },
                "strokeWidth": {"value": 2},
            },
        },
        long,
    )
    table = _table(
        ["campaign", "channel", "spend", "revenue", "ROI", "current share", "recommended"],
        [
            (
                ("⚠ " if r["is_loss_making"] else "") + r["campaign"],
                _label(r["channel"]),
                _money(r["spend"], d.currency),
                _money(r["revenue"], d.currency),
                _rate(r["roi"], 0),
                _rate(r["current_budget_share"]),
                _rate(r["recommended_budget_share"]),
            )
            for r in rows
        ],
        ["loss" if r["is_loss_making"] else "" for r in rows],
    )
    losers = [r["campaign"] for r in rows if r["is_loss_making"]]
    return Section(
        "budget",
        "Budget recommendation",
        f"Paid campaigns in {month[:7]}, current vs recommended share; loss-making (outlined red, ⚠ in the table): "
        f"{', '.join(losers) or 'none'}.",
        [chart],
        table,
    )


def _content(d: _Data) -> Section:
    week = d.rows("SELECT max(week_start_date) AS w FROM {s}.content_performance WHERE is_complete_week")[0]["w"]
    top = d.rows(f"""SELECT page_path, page_views, is_falling, is_rising FROM {{s}}.content_performance
            WHERE week_start_date = DATE '{week}' AND is_top_page ORDER BY page_views_rank""")
    flagged = d.rows(f"""WITH flagged AS (SELECT page_path, CASE WHEN is_falling THEN 'falling' ELSE 'rising' END AS trend
                FROM {{s}}.content_performance WHERE week_start_date = DATE '{week}' AND (is_falling OR is_rising))
            SELECT c.page_path, c.week_start_date, c.page_views, f.trend FROM {{s}}.content_performance c
            JOIN flagged f USING (page_path) WHERE c.is_complete_week ORDER BY c.page_path, c.week_start_date""")
    bars = _chart(
        {
            "width": 360,
            "height": 30 * max(len(top), 1),
            "mark": {"type": "bar", "color": "#4c78a8", "tooltip": True},
            "encoding": {
                "y": {"field": "page_path", "type": "nominal", "sort": None, "title": None},
                "x": {"field": "page_views", "type": "quantitative", "title": f"page views, week of {week}"},
            },
        },
        top,
    )
    trend_spec = {
        "mark": {"type": "line", "point": True, "tooltip": True},
        "encoding": {
            "x": {"field": "week_start_date", "type": "temporal", "title": None, "axis": {"format": "%d %b"}},
            "y": {"field": "page_views", "type": "quantitative", "title": "page views per week"},
            "color": {
                "field": "trend",
                "type": "nominal",
                "title": None,
                "scale": {"domain": ["falling", "rising"], "range": [BAD, GOOD]},
            },
            "detail": {"field": "page_path"},
        },
    }
    for r in flagged:
        r["label"] = r["page_path"] if r["week_start_date"] == week else None
    trend = _chart(
        {
            "width": 380,
            "height": 220,
            "layer": [
                trend_spec,
                {
                    "transform": [{"filter": "datum.label != null"}],
                    "mark": {"type": "text", "align": "right", "dy": -10, "fontSize": 11},
                    "encoding": {
                        "x": {"field": "week_start_date", "type": "temporal"},
                        "y": {"field": "page_views", "type": "quantitative"},
                        "text": {"field": "label"},
                        "color": {"field": "trend", "type": "nominal"},
                    },
                },
            ],
        },
        flagged,
    )
    falling = sorted({r["page_path"] for r in flagged if r["trend"] == "falling"})
    rising = sorted({r["page_path"] for r in flagged if r["trend"] == "rising"})
    return Section(
        "content",
        "Top and falling content",
        f"The top pages of the week of {week}; falling: {', '.join(falling) or 'none'}; rising: {', '.join(rising) or 'none'}.",
        [bars, trend],
    )


def _social(d: _Data) -> Section:
    rows = d.rows("""SELECT channel, date_day, coalesce(reach, impressions) AS reach, engagements, comments, followers
            FROM {s}.social_engagement ORDER BY channel, date_day""")
    reach = _chart(
        {
            "width": WIDTH - 160,
            "height": 200,
            "mark": {"type": "line", "tooltip": True},
            "encoding": {
                "x": {"field": "date_day", "type": "temporal", "title": None},
                "y": {
                    "field": "reach",
                    "type": "quantitative",
                    "title": "reach (Facebook: impressions)",
                    "axis": {"format": "~s"},
                },
                "color": {"field": "channel", "type": "nominal", "title": None},
            },
        },
        [r for r in rows if r["reach"] is not None],
    )
    engagement = _chart(
        {
            "width": WIDTH - 160,
            "height": 160,
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "date_day", "type": "temporal", "timeUnit": "yearweek", "title": "week"},
                "y": {"field": "comments", "type": "quantitative", "aggregate": "sum", "title": "comments per week"},
                "color": {"field": "channel", "type": "nominal", "title": None},
                "xOffset": {"field": "channel"},
            },
        },
        [r for r in rows if r["comments"] is not None],
    )
    totals = d.rows("""SELECT channel, sum(coalesce(reach, impressions)) AS reach, sum(engagements) AS engagements,
            sum(comments) AS comments, sum(shares) AS shares, max_by(followers, date_day) AS followers,
            sum(engagements) / nullif(sum(coalesce(reach, impressions)), 0) AS engagement_rate
            FROM {s}.social_engagement GROUP BY ALL ORDER BY channel""")
    table = _table(
        ["channel", "reach", "engagements", "engagement rate", "comments", "shares", "followers"],
        [
            (
                r["channel"],
                _count(r["reach"]),
                _count(r["engagements"]),
                _rate(r["engagement_rate"], 2),
                _count(r["comments"]),
                _count(r["shares"]),
                _count(r["followers"]),
            )
            for r in totals
        ],
    )
    return Section(
        "social",
        "Social: reach, engagement and comments",
        "Daily reach on the Facebook page and Instagram, and the comments people left per week.",
        [reach, engagement],
        table,
    )


def _email(d: _Data) -> Section:
    rows = d.rows("""SELECT campaign_title, send_date, emails_sent, open_rate, click_rate, unsubscribe_rate, sessions, leads,
            customers, won_revenue FROM {s}.email_performance ORDER BY send_date, campaign_title""")
    long = [
        {"campaign": r["campaign_title"], "rate": r[k], "measure": label}
        for r in rows
        for k, label in (("open_rate", "open rate"), ("click_rate", "click rate"))
        if r[k] is not None
    ]
    chart = _chart(
        {
            "width": WIDTH - 160,
            "height": 220,
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "campaign", "type": "nominal", "sort": None, "title": None, "axis": {"labelAngle": -40}},
                "xOffset": {"field": "measure"},
                "y": {"field": "rate", "type": "quantitative", "title": "of delivered emails", "axis": {"format": "%"}},
                "color": {"field": "measure", "type": "nominal", "title": None},
            },
        },
        long,
    )
    table = _table(
        ["campaign", "emails", "open rate", "click rate", "unsubscribes", "sessions", "leads", "customers", "revenue"],
        [
            (
                r["campaign_title"],
                _count(r["emails_sent"]),
                _rate(r["open_rate"]),
                _rate(r["click_rate"]),
                _rate(r["unsubscribe_rate"], 2),
                _count(r["sessions"]),
                _count(r["leads"]),
                _count(r["customers"]),
                _money(r["won_revenue"], d.currency),
            )
            for r in rows
        ],
    )
    sent = sum(r["emails_sent"] or 0 for r in rows)
    return Section(
        "email",
        "Email campaigns",
        f"{len(rows)} campaigns, {_count(sent)} emails: open and click rates, and what they drove.",
        [chart],
        table,
    )


def _reconciliation(d: _Data) -> Section:
    rows = d.rows("""SELECT platform, strftime(date_trunc('month', date_day), '%Y-%m') AS month,
            sum(platform_conversions) AS claimed, sum(crm_leads) AS crm FROM {s}.conversion_reconciliation GROUP BY ALL ORDER BY ALL""")
    long = [
        {"platform": r["platform"], "month": r["month"], "count": r[k], "side": label}
        for r in rows
        for k, label in (("claimed", "platform claims"), ("crm", "CRM leads"))
    ]
    chart = _chart(
        {
            "width": 300,
            "height": 220,
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "column": {"field": "platform", "type": "nominal", "title": None, "header": {"labelFontSize": 13}},
                "x": {"field": "month", "type": "ordinal", "title": None, "axis": {"labelAngle": 0}},
                "xOffset": {"field": "side", "sort": ["platform claims", "CRM leads"]},
                "y": {"field": "count", "type": "quantitative", "title": "conversions / leads"},
                "color": {
                    "field": "side",
                    "type": "nominal",
                    "title": None,
                    "sort": ["platform claims", "CRM leads"],
                    "scale": {"range": ["#f58518", "#4c78a8"]},
                },
            },
        },
        long,
    )
    per: dict[str, list[float]] = {}
    for r in rows:
        per.setdefault(r["platform"], [0.0, 0.0])
        per[r["platform"]][0] += r["claimed"] or 0
        per[r["platform"]][1] += r["crm"] or 0
    table = _table(
        ["platform", "platform claims", "CRM leads", "over-claim"],
        [(p, _count(c), _count(m), _rate((c - m) / m, 0) if m else "–") for p, (c, m) in sorted(per.items())],
    )
    return Section(
        "reconciliation",
        "Platform-claimed vs CRM conversions",
        "Conversions each ad platform reports against the leads the CRM attributes to it.",
        [chart],
        table,
    )


SECTIONS: tuple[Callable[[_Data], Section], ...] = (
    _spend_revenue,
    _funnel,
    _attribution,
    _kpis,
    _budget,
    _content,
    _social,
    _email,
    _reconciliation,
)


# ---- the page -----------------------------------------------------------------------------------


def _page(d: _Data, gate: dict, raw_gate: dict, freshness: Sequence[dict]) -> str:
    publication = d.rows("SELECT run_id, published_at FROM meta.publication")
    run_id, published_at = (publication[0]["run_id"], publication[0]["published_at"]) if publication else ("?", "?")
    span = d.rows("SELECT min(date_day) AS first, max(date_day) AS last FROM {s}.channel_performance_daily")[0]
    headline = d.rows("""SELECT sum(spend) AS spend, sum(revenue) AS revenue, sum(leads) AS leads, sum(customers) AS customers,
            sum(sessions) AS sessions FROM {s}.channel_performance_daily""")[0]
    sections = [build(d) for build in SECTIONS]
    tiles = [
        ("spend", _money(headline["spend"], d.currency)),
        ("won revenue", _money(headline["revenue"], d.currency)),
        ("ROI", _rate((headline["revenue"] - headline["spend"]) / headline["spend"], 0) if headline["spend"] else "–"),
        ("sessions", _count(headline["sessions"])),
        ("leads", _count(headline["leads"])),
        ("customers", _count(headline["customers"])),
        ("CAC", _money(headline["spend"] / headline["customers"], d.currency) if headline["customers"] else "–"),
    ]
    nav = "".join(f'<a href="#{s.id}">{html.escape(s.title.split(":")[0])}</a>' for s in sections)
    body = "".join(_section_html(s) for s in sections)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>funnelhouse report {html.escape(str(span["first"]))} – {html.escape(str(span["last"]))}</title>
<style>{_CSS}</style></head>
<body><header>
<h1>Marketing report</h1>
<p class="span">{html.escape(str(span["first"]))} to {html.escape(str(span["last"]))} · all money in {html.escape(d.currency)} ·
published run <code>{html.escape(str(run_id))}</code> at {html.escape(str(published_at)[:16].replace("T", " "))} UTC</p>
{_gate_banner(gate, raw_gate)}
<div class="tiles">{"".join(f'<div class="tile"><span>{html.escape(k)}</span><b>{html.escape(v)}</b></div>' for k, v in tiles)}</div>
{_freshness_html(freshness)}
<nav>{nav}</nav>
</header><main>{body}</main>
<footer>Built by funnelhouse from the published marts ({html.escape(d.schema)} schema). Charts: Vega-Lite rendered to SVG
(vl-convert); nothing on this page is loaded from the network.</footer>
</body></html>
"""


def _section_html(s: Section) -> str:
    figures = "".join(f'<figure class="chart" data-points="{points}">{svg}</figure>' for svg, points in s.charts)
    return (
        f'<section class="report-section" id="{s.id}"><h2>{html.escape(s.title)}</h2>'
        f'<p class="lead">{html.escape(s.lead)}</p><div class="charts">{figures}</div>{s.table}</section>'
    )


def _gate_banner(gate: dict, raw_gate: dict) -> str:
    if not gate:
        return '<div class="gate unknown" id="gate">Quality gate: no result recorded for this build.</div>'
    passed = gate.get("success") and raw_gate.get("success", True)
    warnings = [*raw_gate.get("warnings", []), *gate.get("warnings", [])]
    counts = (
        f"{(raw_gate.get('evaluated') or 0) + (gate.get('evaluated') or 0)} expectations on raw tables and marts,"
        f" {len(warnings)} warnings"
    )
    items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings[:10])
    css = "warn" if passed and warnings else ("pass" if passed else "fail")
    verdict = "PASSED" if passed else "FAILED"
    return (
        f'<div class="gate {css}" id="gate"><b>Quality gate {verdict}</b> · {html.escape(counts)}'
        + (f"<ul>{items}</ul>" if items else "")
        + "</div>"
    )


def _freshness_html(freshness: Sequence[dict]) -> str:
    if not freshness:
        return ""
    rows, classes = [], []
    for f in freshness:
        lag = f.get("lag_hours")
        state = (
            "stale"
            if lag is not None and f.get("error_after_hours") and lag > f["error_after_hours"]
            else "late"
            if lag is not None and f.get("warn_after_hours") and lag > f["warn_after_hours"]
            else "fresh"
        )
        rows.append(
            (
                f["source"],
                str(f.get("newest_loaded_at") or "never")[:19],
                "–" if lag is None else f"{lag:.1f} h",
                f"warn after {_hours(f.get('warn_after_hours'))}, error after {_hours(f.get('error_after_hours'))}",
                state,
            )
        )
        classes.append("loss" if state != "fresh" else "")
    return (
        '<details class="freshness" open><summary>Freshness per source</summary>'
        + _table(["source", "newest load (UTC)", "age", "expected", "state"], rows, classes)
        + "</details>"
    )


def _hours(value) -> str:
    return "–" if value is None else f"{value:g} h"


_CSS = """
:root { --ink: #1f2933; --muted: #5f6b7a; --line: #e3e8ee; --bg: #f7f9fb; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: var(--ink); background: var(--bg); font-size: 14px; }
header, main, footer { max-width: 1000px; margin: 0 auto; padding: 0 20px; }
h1 { margin: 24px 0 4px; font-size: 28px; }
h2 { margin: 0 0 4px; font-size: 19px; }
.span { color: var(--muted); margin: 0 0 12px; }
code { background: #eef2f6; padding: 1px 4px; border-radius: 3px; }
.gate { padding: 10px 14px; border-radius: 6px; margin: 8px 0 14px; border-left: 6px solid; background: #fff; }
.gate.pass { border-color: #2f7d32; } .gate.pass b { color: #2f7d32; }
.gate.warn { border-color: #ef8f00; } .gate.warn b { color: #b26a00; }
.gate.fail, .gate.unknown { border-color: #c62828; } .gate.fail b { color: #c62828; }
.gate ul { margin: 6px 0 0; padding-left: 20px; color: var(--muted); font-size: 12px; }
.tiles { display: grid; grid-template-columns: repeat(7, 1fr); gap: 8px; margin: 0 0 14px; }
.tile { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.tile span { display: block; color: var(--muted); font-size: 12px; }
.tile b { font-size: 16px; white-space: nowrap; }
nav { display: flex; flex-wrap: wrap; gap: 6px 14px; margin: 8px 0 18px; font-size: 13px; }
nav a { color: #2b5c8a; text-decoration: none; }
.report-section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px; margin: 0 0 18px; }
.lead { color: var(--muted); margin: 0 0 10px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
figure.chart { margin: 0; max-width: 100%; overflow-x: auto; }
figure.chart svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; margin-top: 10px; font-size: 12.5px; }
.table-wrap { overflow-x: auto; }
th, td { text-align: right; padding: 4px 7px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { color: var(--muted); font-weight: 600; }
tr.loss td { color: #c62828; }
details.freshness { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; }
details.freshness summary { cursor: pointer; color: var(--muted); }
footer { color: var(--muted); font-size: 12px; padding-bottom: 30px; }
"""


def main(argv: list[str] | None = None) -> int:
    from extractors import settings

    args = sys.argv[1:] if argv is None else argv
    published = Path(args[0]) if args else settings.published_path()
    output = Path(args[1]) if len(args) > 1 else published.parent / "report.html"
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not published.is_file():
        print(f"error: nothing published at {published}: run `make demo` first", file=sys.stderr)
        return 2
    print(write_report(published, output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
