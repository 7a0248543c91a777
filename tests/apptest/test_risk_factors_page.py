"""Risk factors page: renders the risk-factor result object for the sidebar filters and its URL-bound controls."""

from __future__ import annotations

from analyses.context import AnalysisContext
from analyses.risk_factors import RiskFactorOptions, risk_factors
from tests.apptest.conftest import CELL_KEY

PAGE = "views/risk_factors.py"


def _table(at):
    return next(d.value for d in at.dataframe if "Adjusted OR (95% CI)" in d.value.columns)


def test_page_shows_the_odds_ratios_of_the_analysis(app, engine):
    at = app({"age": "40-79", "factors": "sex,neuropathy,family_history"}, page=PAGE)
    ctx = AnalysisContext.from_query(engine, "age=40-79", CELL_KEY)[0]
    expected = risk_factors(ctx, RiskFactorOptions(factors=("sex", "neuropathy", "family_history")))
    table = _table(at)
    for e in expected.estimates:
        column = "Adjusted OR (95% CI)" if e.measure == "adjusted_or" else "Crude OR (95% CI)"
        assert f"{e.estimate:.2f} ({e.ci_low:.2f}–{e.ci_high:.2f})" in table[column].tolist(), e.label
    assert "aged 40–79" in at.subheader[0].value
    # the table shows every estimate with its CI, so no second (estimates) table repeats them
    assert not any("Measure" in d.value.columns for d in at.dataframe)


def test_controls_read_the_url_and_change_the_analysis(app):
    at = app({"outcome": "rls_clinsig", "factors": "sex,age,neuropathy", "entry": "bands"}, page=PAGE)
    assert at.selectbox(key="control_outcome").value == "rls_clinsig"
    assert at.multiselect(key="control_factors").value == ["sex", "age", "neuropathy"]
    assert at.selectbox(key="control_entry").value == "bands"
    assert "Clinically significant" in at.subheader[0].value
    assert "30-39" in _table(at)["Level"].tolist()
    assert [e for e in at.expander if e.label == "How this was computed"]


def test_no_factor_chosen_asks_for_one(app):
    at = app({"factors": ""}, page=PAGE)
    assert any("Choose at least one risk factor" in i.value for i in at.info)
