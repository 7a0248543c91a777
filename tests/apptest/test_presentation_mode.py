"""Presentation mode (``present=1``): no page controls, one figure per screen with its caption, step and exit."""

from __future__ import annotations

import pytest

from tests.apptest.conftest import charts

PAGES = ["views/sex_differences.py", "views/age_prevalence.py", "views/ferritin_augmentation.py",
         "views/risk_factors.py"]


@pytest.mark.parametrize("page", PAGES)
def test_presentation_shows_one_figure_and_no_controls(app, page):
    at = app({"present": "1"}, page=page)
    assert len(charts(at)) == 1
    assert not [s for s in at.selectbox if s.key and s.key.startswith("control_")]
    assert not at.dataframe and not at.get("download_button")
    assert any("Cohort:" in c.value and "N = " in c.value for c in at.caption)
    assert any(m.value.startswith("Figure 1 of") for m in at.markdown)


def test_next_steps_through_the_figures_and_exit_restores_the_page(app, exact_mode):
    """Exact mode, so the page has its three figures whatever the session's secret (in cell-key mode the
    dose–response curve may not be fittable on the perturbed cells; the pages then say so)."""
    at = app({"present": "1"}, page="views/ferritin_augmentation.py")
    first = charts(at)[0]
    at.button(key="slide_next").click().run()
    assert any(m.value.startswith("Figure 2 of 3") for m in at.markdown)
    assert charts(at)[0] != first
    at.button(key="presentation_exit").click().run()
    assert "present" not in at.query_params
    assert len(charts(at)) == 3 and at.dataframe


def test_presentation_keeps_the_page_controls_from_the_url(app):
    at = app({"present": "1", "standard": "who2000"}, page="views/age_prevalence.py")
    at.button(key="slide_next").click().run()
    assert any("World Standard Population" in c.value for c in at.caption)


def test_presentation_keeps_the_analysis_warnings(app):
    at = app({"present": "1", "sex": "female"}, page="views/sex_differences.py")
    assert any("exactly two levels" in w.value for w in at.warning)
    assert not charts(at)
