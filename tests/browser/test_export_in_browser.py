"""Real browser: "Export slides" on an analysis page and "Export all" / "HTML report" on the Overview download valid
files, built when clicked; the decks hold the same slides as the in-process build for the same (default) view."""

from __future__ import annotations

import io

import pytest
from pptx import Presentation

from analyses.odds_ratio import OddsRatioOptions
from analyses.registry import run_analysis
from analyses.report import build_report, deck_bytes
from tests.browser.conftest import ARTIFACTS
from tests.report.conftest import build, context, expected_figures, pictures, title

pytestmark = pytest.mark.browser


def _open(page, url: str, button: str) -> None:
    page.goto(url)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=90_000)
    page.get_by_test_id("stDownloadButton").filter(has_text=button).wait_for(timeout=90_000)


def _download(page, label: str) -> bytes:
    with page.expect_download(timeout=120_000) as info:
        page.get_by_test_id("stDownloadButton").filter(has_text=label).first.click()
    return open(info.value.path(), "rb").read()


def _titles(pptx: bytes) -> list[str]:
    return [title(s) for s in Presentation(io.BytesIO(pptx)).slides]


def test_export_slides_downloads_the_deck_of_the_current_view(server, page, engine):
    _open(page, f"{server}/sex-differences", "Export slides")
    page.get_by_test_id("stDownloadButton").filter(has_text="Export slides").screenshot(
        path=str(ARTIFACTS / "export-buttons.png"))
    pptx = _download(page, "Export slides")
    assert pptx[:2] == b"PK"
    slides = Presentation(io.BytesIO(pptx)).slides
    assert len([s for s in slides if pictures(s)]) == 1 and title(slides[1]).startswith("Women had ")
    result = run_analysis(context(engine), "odds-ratio", OddsRatioOptions())
    assert _titles(pptx) == _titles(deck_bytes(build_report(result.cohort, [result])))
    (ARTIFACTS / "export-slides-sex-differences.pptx").write_bytes(pptx)


def test_export_all_and_html_report_on_the_overview(server, page, engine):
    _open(page, f"{server}/", "Export all")
    pptx = _download(page, "Export all")
    expected = build(context(engine), with_table_one=True)  # the same secret as the server: the same deck
    assert _titles(pptx) == _titles(expected.pptx)
    html = _download(page, "HTML report").decode("utf-8")
    figures = len(expected_figures(expected.results))  # 6, or 5 when the dose–response curve cannot be fitted
    assert html.startswith("<!DOCTYPE html>") and html.count("data:image/png;base64,") == figures
    assert "Table 1 by sex" in html and "Counts are perturbed (cell key method" in html  # the server's default
