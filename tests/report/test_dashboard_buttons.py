"""The export buttons on the real app (AppTest): "Export slides" and "HTML report" end every analysis page, "Export all"
and "HTML report" end the Overview, and presentation mode shows none of them. (Clicking is tested in a real
browser: tests/browser/test_export_in_browser.py.)"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest.conftest import run_app

PAGES = ("views/sex_differences.py", "views/age_prevalence.py", "views/ferritin_augmentation.py")


def _labels(at: AppTest) -> list[str]:
    return [button.label for button in at.get("download_button")]


@pytest.mark.parametrize("page", PAGES)
def test_each_analysis_page_ends_with_its_export_buttons_except_when_presenting(app_data, page):
    assert _labels(run_app({}, page))[-2:] == ["Export slides", "HTML report"]
    presenting = _labels(run_app({"present": "1"}, page))
    assert "Export slides" not in presenting and "HTML report" not in presenting


def test_overview_ends_with_export_all(app_data):
    assert _labels(run_app({}))[-2:] == ["Export all", "HTML report"]
