"""Risk factors page: renders the risk-factor result object for the sidebar filters and its URL-bound controls."""

from __future__ import annotations

from analyses.context import AnalysisContext
from analyses.risk_factors import RiskFactorOptions, risk_factors
from tests.apptest.conftest import CELL_KEY

PAGE = "views/risk_factors.py"


def _shown(at) -> dict[tuple[str, str], str]:
    table = next(d.value for d in at.dataframe if "Measure" in d.value.columns)
    return {(m, c): e for m, c, e in zip(table["Measure"], table["Comparison"], table["Estimate"])}


def test_page_shows_the_odds_ratios_of_the_analysis(app, engine):
    at = app({"age": "40-79", "factors": "sex,neuropathy,family_history"}, page=PAGE)
    ctx = AnalysisContext.from_query(engine, "age=40-79", CELL_KEY)[0]
    expected = risk_factors(ctx, RiskFactorOptions(factors=("sex", "neuropathy", "family_history")))
    shown = _shown(at)
    for e in expected.estimates:
        name = "Adjusted OR" if e.measure == "adjusted_or" else "Crude OR"
        assert shown[name, e.label] == f"{e.estimate:.2f}", e.label
    assert "aged 40–79" in at.subheader[0].value
    assert any("Adjusted OR" in d.value.columns for d in at.dataframe)  # the risk-factor table


def test_controls_read_the_url_and_change_the_analysis(app):
    at = app({"outcome": "rls_clinsig", "factors": "sex,age,neuropathy", "entry": "bands"}, page=PAGE)
    assert at.selectbox(key="control_outcome").value == "rls_clinsig"
    assert at.multiselect(key="control_factors").value == ["sex", "age", "neuropathy"]
    assert at.selectbox(key="control_entry").value == "bands"
    assert "Clinically significant" in at.subheader[0].value
    assert any(c == "age: 30-39 vs 18-29" for _m, c in _shown(at))
    assert [e for e in at.expander if e.label == "How this was computed"]


def test_no_factor_chosen_asks_for_one(app):
    at = app({"factors": ""}, page=PAGE)
    assert any("Choose at least one risk factor" in i.value for i in at.info)
