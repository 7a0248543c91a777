"""Real browser on the analysis pages: charts render, a changed control lands in the URL and a fresh browser on
that URL shows the same numbers, downloads arrive as valid files, presentation mode hides the sidebar.
Screenshots of every page and figure go to test-artifacts/ (look at them)."""

from __future__ import annotations

import io
import re
import struct
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

PAGES = [("sex-differences", 1), ("age-prevalence", 2), ("ferritin-augmentation", 3), ("diagnostic-accuracy", 1)]


@pytest.fixture(scope="module")
def ferritin_figures(engine) -> int:
    """How many figures the Ferritin page draws for the server's default view: three, or two when the dose–response
    curve cannot be fitted on the perturbed cells (cell-key mode, the server's default; it depends on the session's
    secret, which the server shares with this process, so the in-process result says which)."""
    from analyses.registry import figures_for
    from analyses.registry import run_analysis
    from analyses.report.defaults import page_options
    from tests.report.conftest import context

    ctx = context(engine)
    figures = figures_for(run_analysis(ctx, "biomarker-risk", page_options(ctx)["biomarker-risk"]))
    assert [f.key for f in figures] in (["effects", "dose_response", "km"], ["effects", "km"])
    return len(figures)
CHART = '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg.marks'


def open_page(page, url: str, charts: int) -> None:
    """Go to ``url`` and wait until the script has finished and ``charts`` charts are drawn (never sleep)."""
    page.goto(url)
    wait_for_charts(page, charts)


def wait_for_charts(page, charts: int) -> None:
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=90_000)
    page.wait_for_function("n => document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] canvas,"
                           " [data-testid=\"stVegaLiteChart\"] svg.marks').length >= n", arg=charts,
                           timeout=90_000)


def subheader(page) -> str:
    return page.locator('[data-testid="stHeading"] h3').first.inner_text()


def metric_value(page, label: str) -> str:
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue").inner_text()


@pytest.mark.parametrize(("path", "charts"), PAGES)
def test_each_page_renders_its_charts(server, page, path, charts, ferritin_figures):
    charts = ferritin_figures if path == "ferritin-augmentation" else charts
    open_page(page, f"{server}/{path}", charts)
    assert page.locator(CHART).count() >= charts
    assert not page.get_by_test_id("stException").count()
    page.screenshot(path=str(ARTIFACTS / f"{path}.png"))
    for i, chart in enumerate(page.get_by_test_id("stVegaLiteChart").all()):
        chart.screenshot(path=str(ARTIFACTS / f"{path}-figure{i + 1}.png"))


def test_changed_control_is_in_the_url_and_reproduces_in_a_fresh_browser(server, browser, page):
    open_page(page, f"{server}/age-prevalence", 2)
    page.get_by_test_id("stSelectbox").filter(has_text="Standard population").click()
    page.get_by_role("option", name=re.compile("WHO World")).click()
    page.wait_for_url(re.compile(r"[?&]standard=who2000"))
    wait_for_charts(page, 2)
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
                           ".some(c => c.innerText.includes('WHO World'))", timeout=60_000)
    shown = (subheader(page), metric_value(page, "Standardized, women"), metric_value(page, "Women / men"))

    fresh = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    open_page(fresh, page.url, 2)
    assert (subheader(fresh), metric_value(fresh, "Standardized, women"), metric_value(fresh, "Women / men")) == shown
    fresh.context.close()


def _download(page, test_id_text: str, index: int = 0):
    button = page.get_by_test_id("stDownloadButton").filter(has_text=test_id_text).nth(index)
    with page.expect_download(timeout=60_000) as info:
        button.click()
    return info.value


def test_png_svg_and_csv_downloads_are_valid_files(server, page, tmp_path):
    open_page(page, f"{server}/sex-differences", 1)
    png = _download(page, "PNG")
    data = open(png.path(), "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and png.suggested_filename.endswith(".png")
    at = data.index(b"pHYs")
    assert round(struct.unpack(">I", data[at + 4:at + 8])[0] * 0.0254) == 200

    svg = _download(page, "SVG")
    assert ET.parse(svg.path()).getroot().tag.endswith("svg")

    csv = _download(page, "CSV")
    text = open(csv.path(), encoding="utf-8").read()
    assert text.startswith("# ") and "# Small-cell threshold: 11" in text and "# Exported: " in text
    assert "# Disclosure control: Counts are perturbed (cell key method" in text  # the default method
    assert len(pd.read_csv(io.StringIO(text), comment="#")) >= 1


def test_presentation_mode_hides_the_sidebar(server, page, ferritin_figures):
    open_page(page, f"{server}/ferritin-augmentation", ferritin_figures)
    assert page.get_by_test_id("stSidebar").is_visible()
    page.get_by_test_id("stSidebar").get_by_text("Presentation mode").click()
    page.wait_for_url(re.compile(r"[?&]present=1"))
    wait_for_charts(page, 1)
    page.get_by_text(f"Figure 1 of {ferritin_figures}").wait_for(timeout=60_000)
    assert not page.get_by_test_id("stSidebar").is_visible()
    assert page.locator(CHART).count() == 1
    page.screenshot(path=str(ARTIFACTS / "presentation-ferritin.png"))
    page.get_by_role("button", name="Next ▶").click()
    page.get_by_text(f"Figure 2 of {ferritin_figures}").wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "presentation-ferritin-2.png"))
    page.get_by_role("button", name="Exit presentation").click()
    wait_for_charts(page, ferritin_figures)
    page.get_by_test_id("stSidebar").wait_for(state="visible", timeout=30_000)
    assert "present=" not in page.url
