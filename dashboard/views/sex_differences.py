"""Sex differences: odds ratios of a binary outcome in women vs men — crude, exact, Mantel–Haenszel, adjusted."""

import streamlit as st

from analyses.odds_ratio import OddsRatioOptions
from dashboard import analysis_page, controls, frame, render

ctx = frame.current()
analysis_page.title("Sex differences")

outcomes = {name: o.label for name, o in ctx.engine.info.mapping.outcomes.items()}
variables = render.adjuster_choices(ctx.engine)
left, middle, right = st.columns(3)
with left:
    outcome = controls.select("outcome", "Outcome", list(outcomes), ctx.state.definition or next(iter(outcomes)),
                              format_func=outcomes.get)
with middle:
    strata = controls.select("strata", "Stratify by", ["age", "site", "none"], "age",
                             format_func={"age": "age bands", "site": "site", "none": "no stratification"}.get)
with right:
    adjust = controls.multiselect("adjust", "Adjust for", list(variables), ["age"], format_func=variables.get)

analysis_page.require_cohort(ctx)
result = analysis_page.run(ctx, "odds-ratio",
                           OddsRatioOptions(outcome, "sex", None if strata == "none" else strata, tuple(adjust)))
figures = analysis_page.figures(result)

one_sex = analysis_page.one_sex_heading(ctx, result)
analysis_page.estimates_sections(result, figures, "forest plot", title=one_sex)
if one_sex:
    st.info("Select both women and men in the sidebar's Sex filter to compare them.", icon=":material/wc:")
