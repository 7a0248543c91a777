"""Age & prevalence: prevalence by age band and sex over spline curves, peak ages, age-standardized prevalence."""

import streamlit as st

from analyses.bands import AgeBands
from analyses.registry import spec_of
from analyses.prevalence import PrevalenceOptions
from analyses.stats.standardization import standard_populations
from dashboard import analysis_page, controls, frame, results_view, slides

BAND_WIDTHS = {"10": (30, 40, 50, 60, 70, 80), "5": tuple(range(25, 90, 5)), "20": (40, 60, 80)}

ctx = frame.current()
analysis_page.title("Age & prevalence")

outcomes = {name: o.label for name, o in ctx.engine.info.mapping.outcomes.items()}
standards = {name: s.label for name, s in standard_populations().items()}
left, middle, right = st.columns(3)
with left:
    outcome = controls.select("outcome", "Case definition", list(outcomes),
                              ctx.state.definition or next(iter(outcomes)), format_func=outcomes.get)
with middle:
    width = controls.select("bands", "Age bands", list(BAND_WIDTHS), "10", format_func=lambda w: f"{w}-year bands")
with right:
    standard = controls.select("standard", "Standard population", list(standards), "esp2013",
                               format_func=standards.get)

analysis_page.require_cohort(ctx)
result = analysis_page.run(ctx, "prevalence", PrevalenceOptions(outcome, AgeBands(BAND_WIDTHS[width]), standard))
figures = analysis_page.figures(result)

analysis_page.heading(result)
results_view.prevalence_summary(result, standards[standard])
results_view.figure_panels(result, figures, "prevalence curve")
st.subheader("Prevalence by age band and sex")
results_view.table_panel(result, spec_of(result).table_view)
results_view.how_computed(result)
slides.export_buttons(result)
