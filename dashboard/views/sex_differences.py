"""Sex differences: odds ratios of a binary outcome in women vs men — crude, exact, Mantel–Haenszel, adjusted."""

import streamlit as st

from analyses.odds_ratio import OddsRatioOptions
from dashboard import controls, frame, render, results_view

ctx = frame.current()
cfg = frame.settings()
st.title("Sex differences")
st.caption(f"Cohort: {ctx.cohort_text}.")

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

result = frame.cached_analysis(cfg.data, cfg.mapping, ctx.query, ctx.policy.min_cell, "odds-ratio",
                               OddsRatioOptions(outcome, "sex", None if strata == "none" else strata, tuple(adjust)))
if isinstance(result, str):
    st.error(result)
    st.stop()

st.subheader(result.caption)
results_view.notes(result)
groups = result.table("groups")
if len(groups):
    st.dataframe(render.gated_table(groups, ctx.policy), hide_index=True)
results_view.estimates_table(result)
breslow_day = result.test("breslow_day")
if breslow_day is not None:
    verdict = "differs" if breslow_day.p_value < 0.05 else "does not differ detectably"
    st.markdown(f"The odds ratio {verdict} across strata (Breslow–Day with Tarone's correction: "
                f"χ² = {breslow_day.statistic:.2f}, df = {breslow_day.df}, p = {results_view.fmt_p(breslow_day.p_value)}).")
chart = results_view.forest_plot(result.table("strata"), result.estimate("mh_or"),
                                 "Odds ratio women vs men per stratum; pooled Mantel–Haenszel OR in orange")
if chart is not None:
    st.altair_chart(chart, width="stretch")
results_view.how_computed(result)
