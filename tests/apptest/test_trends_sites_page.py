"""Trends & sites page: the SPC chart and the funnel plot of the analysis layer for the sidebar filters, with the
measure, period, chart, baseline and funnel options bound to the URL."""

from __future__ import annotations

from analyses.context import AnalysisContext
from analyses.sites import FunnelOptions, funnel_analysis
from analyses.trends import SpcOptions, spc_analysis
from tests.apptest.conftest import CELL_KEY

PAGE = "views/trends_sites.py"
MEASURE = "first_line_alpha2delta_or_iron"


def test_page_shows_the_demo_measure_with_its_signals(app, engine):
    at = app({"measure": MEASURE, "freeze": "8"}, page=PAGE)
    ctx = AnalysisContext.from_query(engine, "", CELL_KEY)[0]
    expected = spc_analysis(ctx, SpcOptions(MEASURE, freeze=8))
    warnings = [w.value for w in at.warning]
    assert expected.details.summary in warnings and "direction: improvement" in expected.details.summary
    assert at.selectbox(key="control_measure").value == MEASURE
    assert at.selectbox(key="control_freeze").value == "8"
    funnel = funnel_analysis(ctx, FunnelOptions(MEASURE, "site"))
    assert funnel.notes[0] in warnings
    assert len(at.get("vega_lite_chart")) == 2  # the control chart and the funnel plot


def test_controls_read_the_url_and_change_the_analyses(app):
    at = app({"measure": "augmentation_rate", "chart": "run", "by": "sex", "standardize": "age",
              "overdispersion": "additive"}, page=PAGE)
    assert at.selectbox(key="control_chart").value == "run"
    assert at.selectbox(key="control_by").value == "sex"
    assert at.multiselect(key="control_standardize").value == ["age"]
    subheaders = [s.value for s in at.subheader]
    assert any(s.startswith("Run chart of Augmentation per 100 person-years") for s in subheaders)
    assert any("by sex" in s for s in subheaders)


def test_a_chart_the_measure_cannot_take_falls_back_with_a_warning(app):
    at = app({"measure": "augmentation_rate", "chart": "p"}, page=PAGE)
    assert at.selectbox(key="control_chart").value == "u"
    assert any("`chart=`" in w.value for w in at.warning)
