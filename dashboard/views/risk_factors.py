"""Risk factors: each factor's crude odds ratio and its odds ratio adjusted for the others, with a forest plot."""

import streamlit as st

from analyses.risk_factors import ENTRIES, RiskFactorOptions, factors_from
from analyses.variables import catalog
from dashboard import analysis_page, caches, controls, frame, source

ENTRY_NAMES = {"linear": "linear (odds ratio per unit)", "spline": "natural spline (a curve, 4 df)",
               "bands": "in bands (age bands; quartiles)"}

ctx = frame.current()
analysis_page.title("Risk factors")

outcomes = {name: o.label for name, o in ctx.engine.info.mapping.outcomes.items()}
choices = {name: v.label for name, v in catalog(ctx.engine.info).items()}
cfg = source.settings()
defaults = factors_from(ctx.engine.info, caches.cached_two_level(cfg.data, cfg.mapping))
left, middle, right = st.columns([1, 2, 1])
with left:
    outcome = controls.select("outcome", "Outcome", list(outcomes), ctx.state.definition or next(iter(outcomes)),
                              format_func=outcomes.get)
with middle:
    factors = controls.multiselect("factors", "Risk factors", list(choices), list(defaults),
                                   format_func=choices.get,
                                   help="Each factor's crude odds ratio (the factor alone) and its odds ratio "
                                   "adjusted for all the others are shown side by side.")
with right:
    entry = controls.select("entry", "Numeric factors enter", list(ENTRIES), "linear", format_func=ENTRY_NAMES.get,
                            help="How age and other numeric factors enter the models.")

analysis_page.require_cohort(ctx)
if not factors:
    st.info("Choose at least one risk factor.", icon=":material/checklist:")
    st.stop()
result = analysis_page.run(ctx, "risk-factors", RiskFactorOptions(outcome, tuple(factors), entry))
figures = analysis_page.figures(result)
# the risk-factor table shows every odds ratio with its CI, crude and adjusted side by side: no estimates table
analysis_page.estimates_sections(result, figures, "forest plot", estimates_table=False)
