"""Sex differences: odds ratios of a binary outcome in women vs men (or for another two-level exposure) — crude,
exact, Mantel–Haenszel, adjusted."""

import streamlit as st

from analyses.odds_ratio import OddsRatioOptions
from dashboard import analysis_page, caches, controls, frame, render, source

ctx = frame.current()
analysis_page.title("Sex differences")

outcomes = {name: o.label for name, o in ctx.engine.info.mapping.outcomes.items()}
cfg = source.settings()
exposures = caches.cached_two_level(cfg.data, cfg.mapping)  # sex first, then yes/no variables
if not exposures:
    st.info("This cohort maps no two-level variable to compare: map sex, or a yes/no covariate or exclusion flag, in "
            "the mapping file.", icon=":material/info:")
    st.stop()
outcome_col, exposure_col, strata_col, adjust_col = st.columns([3, 3, 2, 3])
with outcome_col:
    outcome = controls.select("outcome", "Outcome", list(outcomes), ctx.state.definition or next(iter(outcomes)),
                              format_func=outcomes.get)
with exposure_col:
    exposure = controls.select("exposure", "Compare", list(exposures), next(iter(exposures)),
                               format_func=lambda name: "women vs men" if name == "sex" else exposures[name],
                               help="The two-level exposure: sex, or a yes/no variable of the cohort.")
with strata_col:
    strata = controls.select("strata", "Stratify by", ["age", "site", "none"], "age",
                             format_func={"age": "age bands", "site": "site", "none": "no stratification"}.get)
variables = render.adjuster_choices(ctx.engine, exclude=(exposure,))
with adjust_col:
    adjust = controls.multiselect("adjust", "Adjust for", list(variables), ["age"], format_func=variables.get)

analysis_page.require_cohort(ctx)
result = analysis_page.run(ctx, "odds-ratio",
                           OddsRatioOptions(outcome, exposure, None if strata == "none" else strata, tuple(adjust)))
figures = analysis_page.figures(result)

one_sex = analysis_page.one_sex_heading(ctx, result) if exposure == "sex" else None
analysis_page.estimates_sections(result, figures, "forest plot", title=one_sex)
if one_sex:
    st.info("Select both women and men in the sidebar's Sex filter to compare them.", icon=":material/wc:")
