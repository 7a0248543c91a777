"""Age & prevalence: prevalence by age band and sex over spline curves, peak ages, age-standardized prevalence."""

import streamlit as st

from analyses.bands import AgeBands
from analyses.figures.figure import figure_caption
from analyses.prevalence import PrevalenceOptions
from analyses.stats.standardization import standard_populations
from dashboard import analysis_page, controls, frame, render, results_view

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
peaks = dict(result.extras).get("peak", {})
standardized = {e.group: e for e in result.estimates if e.measure == "standardized_prevalence"}
ratio = result.estimate("standardized_ratio")
columns = st.columns(5)
for column, sex in zip(columns, ("women", "men")):
    peak = peaks.get(sex)
    column.metric(f"Peak age, {sex}", "–" if peak is None or peak["at_edge"] else f"{peak['age']:g} y",
                  help="Age of the highest fitted prevalence (none when it is at the edge of the age range).")
for column, sex in zip(columns[2:], ("women", "men")):
    e = standardized.get(sex)
    column.metric(f"Standardized, {sex}", "–" if e is None or e.estimate is None else f"{100 * e.estimate:.1f}%",
                  help=None if e is None else f"95% CI {100 * e.ci_low:.1f}–{100 * e.ci_high:.1f}%; {e.method}.")
columns[4].metric("Women / men", "–" if ratio is None or ratio.estimate is None else f"{ratio.estimate:.2f}",
                  help=None if ratio is None else f"95% CI {ratio.ci_low:.2f}–{ratio.ci_high:.2f}; {ratio.method}.")
st.caption(figure_caption(result, f"Peak ages and prevalence standardized to the {standards[standard]}",
                          "Peak of the spline curve on a 0.1-year grid; direct standardization with Fay–Feuer CIs"))

for figure in figures:
    results_view.figure_panel(figure, result)
if not figures:
    analysis_page.nothing_to_draw("prevalence curve")
rows = result.table("rows")
if len(rows):
    st.subheader("Prevalence by age band and sex")
    results_view.table_panel(result, "rows", render.gated_table(
        rows, ctx.policy, percent=("prevalence", "ci_low", "ci_high"),
        names={"sex": "Sex", "age_band": "Age band", "events": "Cases", "prevalence": "Prevalence",
               "ci_low": "95% CI low", "ci_high": "95% CI high"}),
        figure_caption(result, "Prevalence by age band and sex", "Wilson score 95% CIs"))
results_view.how_computed(result)
