"""A public real cohort with its own column names (R survival's flchain: no site, no treatment, a biomarker and a
time to death) served by a real Streamlit server: every page of the navigation renders in chromium with default
settings, each analysis page draws its figures or says in words what the mapping lacks, and no page shows an
exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from analyses.registry import PAGE_ANALYSES
from tests.browser.conftest import ARTIFACTS, ROOT, serve

pytestmark = pytest.mark.browser

FLCHAIN = ROOT / "tests" / "data" / "cohorts" / "flchain"
CHART = '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg.marks'


@pytest.fixture(scope="module")
def flchain_server():
    yield from serve(["--data", str(FLCHAIN / "flchain.csv"), "--mapping", str(FLCHAIN / "mapping.toml")],
                     "streamlit-flchain.log")


def _url_path(spec) -> str:
    """The navigation's URL path of a page analysis: its view file's name with dashes (``dashboard/app.py``)."""
    return Path(spec.page).stem.replace("_", "-")


@pytest.mark.parametrize("spec", PAGE_ANALYSES, ids=[spec.name for spec in PAGE_ANALYSES])
def test_every_analysis_page_renders_on_a_public_cohort(flchain_server, page, spec):
    page.goto(f"{flchain_server}/{_url_path(spec)}")
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=90_000)
    assert not page.get_by_test_id("stException").count()
    try:  # charts are painted after the run ends; a page that cannot run says why instead
        page.wait_for_selector(CHART, timeout=30_000)
    except PlaywrightTimeout:
        pass
    charts, said = page.locator(CHART).count(), page.get_by_test_id("stAlert").all_inner_texts()
    page.screenshot(path=str(ARTIFACTS / f"flchain-{spec.name}.png"), full_page=True)
    assert charts >= 1 or any("mapping" in text or "needs" in text for text in said), (spec.name, said)
    assert "Traceback" not in page.content()
