"""Ferritin & augmentation: risk of the mapped event (augmentation) by biomarker band (serum ferritin) among
treated participants — band table, OR and HR per band, dose–response, Kaplan–Meier with numbers at risk."""

import streamlit as st

from analyses.bands import BiomarkerBands
from analyses.biomarker_risk import BiomarkerRiskOptions
from dashboard import analysis_page, controls, frame, render
from queries import filters

# Cut points are picked from a fixed grid (no free-text numbers, so bands cannot be slid one unit at a time).
CUT_POINT_GRID = ("15", "30", "50", "75", "100", "150", "200", "300")
ALL_DRUGS = "all"

ctx = frame.current()
mapping = ctx.engine.info.mapping
drugs = [d for d in ctx.options.drugs if d != filters.UNTREATED]
mapped_cuts = [f"{c:g}" for c in (mapping.biomarker.cut_points if mapping.biomarker else (50, 75, 100))]
cut_grid = sorted(set(CUT_POINT_GRID) | set(mapped_cuts), key=float)

analysis_page.title("Ferritin & augmentation")
variables = render.adjuster_choices(ctx.engine, exclude=())
first, left, middle, right = st.columns(4)
with first:
    drug = controls.select("therapy", "Drug", [ALL_DRUGS, *drugs], ALL_DRUGS,
                           format_func=lambda d: "all treated" if d == ALL_DRUGS else d,
                           help="Participants whose first drug is this one (within the sidebar's drug filter).")
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
    adjust = controls.multiselect("adjust", "Adjust for", list(variables), [v for v in ("age", "sex", "drug")
                                                                           if v in variables],
                                  format_func=variables.get)

query = ctx.query if drug == ALL_DRUGS else analysis_page.narrowed_query(ctx, "drug", drug)
analysis_page.require_cohort(ctx, query)
result = analysis_page.run(ctx, "biomarker-risk", BiomarkerRiskOptions(bands, reference, tuple(adjust)), query)
figures = analysis_page.figures(result)

analysis_page.estimates_sections(result, figures, "figure")
