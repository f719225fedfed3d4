"""The HTML report of the session's pipeline run (tests/conftest.py), opened from its file in
Debian's Chromium driven by Playwright (executable_path, never a downloaded browser): no console
error, no network request, every section with its chart and data points; a full-page screenshot
is kept as a test artifact (FUNNELHOUSE_TEST_ARTIFACTS, default data/test-artifacts, outside git)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SECTIONS = ["spend-revenue", "funnel", "attribution", "kpis", "budget", "content", "social", "email", "reconciliation"]
ARTIFACTS = Path(os.environ.get("FUNNELHOUSE_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "data" / "test-artifacts"))
# The marks Vega draws for data (bars, lines, points, text labels), not axes or legends.
DATA_MARKS = (
    "g.mark-rect.role-mark > path, g.mark-line.role-mark > path, g.mark-symbol.role-mark > path,"
    " g.mark-rule.role-mark > line, g.mark-text.role-mark > text"
)


@pytest.fixture(scope="module")
def report(pipeline_runs) -> Path:
    path = pipeline_runs["data_dir"] / "published" / "report.html"
    assert path.is_file(), "the DAG's report task writes it beside the published file"
    return path


def test_report_is_one_offline_file_with_the_run_the_gate_and_the_numbers(report, pipeline_runs):
    page = report.read_text()
    # nothing to fetch: no script, no stylesheet or font link, no image source, no URL but SVG's namespaces
    assert "<script" not in page and "<link" not in page and "@import" not in page and "<img" not in page
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    # the gate's verdict first, then the period, the reporting currency, freshness per source
    assert page.index('id="gate"') < page.index('class="report-section"')
    assert "Quality gate PASSED" in page
    assert "2026-06-01 to 2026-08-29 · all money in USD" in page
    for source in ("facebook_pages", "ga4", "google_ads", "hubspot", "mailchimp", "meta_ads"):
        assert f"<td>{source}</td>" in page
    # readable numbers in the reporting currency, as the end-to-end test knows them
    assert "USD 92,368" in page and "USD 366,469" in page and "<b>246</b>" in page
    assert "⚠ eu_brand_awareness_video" in page and "⚠ uk_search_competitors" in page
    # and dbt's docs site is published beside it
    docs = report.parent / "dbt-docs.html"
    assert docs.is_file() and "bi_channel_performance_daily" in docs.read_text()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is installed by .ci/run and `make test`")
def test_report_renders_in_chromium_with_every_section_charted_and_no_network(report, tmp_path):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    console, requests, failed = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh --user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            viewport={"width": 1100, "height": 900},
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page()
            page.on("console", lambda message: console.append((message.type, message.text)))
            page.on("pageerror", lambda error: console.append(("pageerror", str(error))))
            page.on("request", lambda request: requests.append(request.url))
            page.on("requestfailed", lambda request: failed.append(request.url))
            page.goto(report.as_uri(), wait_until="load")

            # THEN nothing went to the network and nothing complained
            assert requests == [report.as_uri()] and failed == []
            assert [m for m in console if m[0] in ("error", "pageerror", "warning")] == []
            # AND every section is there, each chart an SVG with data points drawn
            assert page.locator("section.report-section").evaluate_all("els => els.map(e => e.id)") == SECTIONS
            for section in SECTIONS:
                charts = page.locator(f"#{section} figure.chart")
                assert charts.count() >= 1, section
                for i in range(charts.count()):
                    chart = charts.nth(i)
                    assert int(chart.get_attribute("data-points")) > 0, section
                    assert chart.locator("svg").count() == 1, section
                    assert chart.locator(DATA_MARKS).count() > 0, f"{section}: chart {i} drew no data"
                    box = chart.locator("svg").bounding_box()
                    assert box and box["width"] > 200 and box["height"] > 100, section
            assert page.locator("#gate").inner_text().startswith("Quality gate PASSED")
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        finally:
            browser.close()
    assert (ARTIFACTS / "report.png").stat().st_size > 100_000
