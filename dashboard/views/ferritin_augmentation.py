"""Biomarker risk (ferritin & augmentation on the demo): risk of the mapped event by band of the mapped biomarker —
band table, OR and HR per band, dose–response, Kaplan–Meier with numbers at risk — among everyone with a biomarker
value, or the treated where the mapping has a treatment role."""

import streamlit as st

from analyses.bands import BiomarkerBands, cut_point_grid
from analyses.biomarker_risk import BiomarkerRiskOptions, default_adjusters
from dashboard import analysis_page, controls, frame, render
from queries import filters

ALL_DRUGS = "all"
POPULATION_LABELS = {"treated": "Treated only", "all": "Everyone"}

ctx = frame.current()
mapping = ctx.engine.info.mapping
if mapping.biomarker is None or mapping.time_to_event is None:
    analysis_page.title("Biomarker risk")
    st.info("This page needs a biomarker and a time-to-event outcome; the cohort's mapping names "
            f"{'neither' if mapping.biomarker is None and mapping.time_to_event is None else 'only one'} of them. "
            "Add `[biomarker]` and `[time_to_event]` to the mapping to see risk by biomarker band.",
            icon=":material/info:")
    st.stop()
# Cut points are picked from a grid fixed by the mapping (no free-text numbers, so bands cannot be slid one unit).
mapped_cuts = [f"{c:g}" for c in mapping.biomarker.cut_points]
cut_grid = cut_point_grid(mapping.biomarker.cut_points)

analysis_page.title(f"{mapping.biomarker.label} & {mapping.time_to_event.label.lower()}")
variables = render.adjuster_choices(ctx.engine, exclude=())
population, drug = "all", ALL_DRUGS
if mapping.treatment is not None:  # who is analysed: a row of its own, so the band controls below have room
    first, second, _rest = st.columns([1, 1, 2])
    with first:
        population = controls.select("population", "Population", list(POPULATION_LABELS), "treated",
                                      format_func=POPULATION_LABELS.get,
                                      help="Everyone with a biomarker value, or only those who started a treatment.")
    with second:
        drugs = [d for d in ctx.options.drugs if d != filters.UNTREATED]
        drug = ALL_DRUGS if population == "all" else controls.select(
            "therapy", "Drug", [ALL_DRUGS, *drugs], ALL_DRUGS,
            format_func=lambda d: "all treated" if d == ALL_DRUGS else d,
            help="Participants whose first drug is this one (within the sidebar's drug filter).")
left, middle, right = st.columns(3)
with left:
    cuts = controls.multiselect("cuts", "Cut points", cut_grid, mapped_cuts,
                                help="Band edges; each band is [lower, upper).")
if not cuts:
    st.info("Pick at least one cut point to form bands.", icon=":material/tune:")
    st.stop()
bands = BiomarkerBands(tuple(sorted(float(c) for c in cuts)))
with middle:
    reference = controls.select("ref", "Reference band", bands.labels(), bands.labels()[-1])
with right:
    adjust = controls.multiselect("adjust", "Adjust for", list(variables),
                                  list(default_adjusters(variables, population)),
                                  format_func=variables.get)

query = ctx.query if drug == ALL_DRUGS else analysis_page.narrowed_query(ctx, "drug", drug)
analysis_page.require_cohort(ctx, query)
result = analysis_page.run(ctx, "biomarker-risk", BiomarkerRiskOptions(bands, reference, tuple(adjust),
                                                                    population=population), query)
figures = analysis_page.figures(result)

analysis_page.estimates_sections(result, figures, "figure")
