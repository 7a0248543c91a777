"""Sex differences page: renders the odds-ratio result object for the sidebar filters and its URL-bound controls."""

from __future__ import annotations

import pytest

from analyses.context import AnalysisContext
from analyses.odds_ratio import OddsRatioOptions, odds_ratio

PAGE = "views/sex_differences.py"


def _shown_estimates(at) -> dict[str, str]:
    table = next(d.value for d in at.dataframe if "Measure" in d.value.columns)
    return dict(zip(table["Measure"], table["Estimate"]))


@pytest.mark.parametrize("method", ["cell_key", "exact"])
def test_page_shows_the_same_odds_ratios_as_the_analysis(app, engine, disclosure_method, method):
    """The default (cell-key) page shows the estimates of the released counts; exact mode those of the exact ones."""
    policy = disclosure_method(method)
    at = app({"age": "40-79"}, page=PAGE)
    ctx = AnalysisContext.from_query(engine, "age=40-79", policy)[0]
    expected = odds_ratio(ctx, OddsRatioOptions())
    shown = _shown_estimates(at)
    assert shown["Mantel–Haenszel OR"] == f"{expected.estimate('mh_or').estimate:.2f}"
    assert shown["Adjusted OR"] == f"{expected.estimate('adjusted_or').estimate:.2f}"
    assert any("Breslow–Day" in m.value for m in at.markdown)
    assert "aged 40–79" in at.subheader[0].value


def test_controls_read_the_url_and_change_the_analysis(app):
    at = app({"outcome": "rls_clinsig", "strata": "site", "adjust": "age:spline,site"}, page=PAGE)
    assert at.selectbox(key="control_outcome").value == "rls_clinsig"
    assert at.selectbox(key="control_strata").value == "site"
    assert at.multiselect(key="control_adjust").value == ["age:spline", "site"]
    assert "Clinically significant" in at.subheader[0].value
    methods = [e for e in at.expander if e.label == "How this was computed"]
    assert methods and any("ns(age" in c.value for c in at.code)


def test_single_sex_cohort_explains_why_there_is_no_odds_ratio(app):
    at = app({"sex": "female"}, page=PAGE)
    assert any("exactly two levels" in w.value for w in at.warning)
    assert not any("Measure" in d.value.columns for d in at.dataframe)


def test_any_two_level_exposure_can_be_compared(app, engine, disclosure_method):
    """Sex is the default, not the only choice: a yes/no covariate from the URL gives its own odds ratios, and sex
    becomes an adjuster it may be adjusted for."""
    at = app({"exposure": "neuropathy", "adjust": "age,sex", "sex": "female"}, page=PAGE)
    assert at.selectbox(key="control_exposure").value == "neuropathy"
    assert "sex" in at.multiselect(key="control_adjust").options
    ctx = AnalysisContext.from_query(engine, "sex=female", disclosure_method("cell_key"))[0]
    expected = odds_ratio(ctx, OddsRatioOptions(exposure="neuropathy", adjust=("age",)))
    shown = _shown_estimates(at)
    assert shown["Crude OR"] == f"{expected.estimate('crude_or').estimate:.2f}"
    assert not any("No comparison of women and men" in s.value for s in at.subheader)
    assert "Peripheral neuropathy: yes vs no" in at.subheader[0].value  # a 0/1-coded covariate reads yes/no
    assert "women vs men" not in " ".join(m.value for m in at.caption)
