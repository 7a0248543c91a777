"""Trends & sites: a quality measure over calendar periods as an SPC chart (is the process changing?) and across
sites as a funnel plot (how does each site compare, fairly?)."""

import streamlit as st

from analyses.measures import PERIODS
from analyses.sites import OVERDISPERSION, FunnelOptions
from analyses.trends import CHART_NAMES, SpcOptions
from analyses.registry import figures_for
from analyses.variables import catalog
from dashboard import analysis_page, controls, frame, presentation

ctx = frame.current()
analysis_page.title("Trends & sites")

mapping = ctx.engine.info.mapping
measures = {n: m.label for n, m in mapping.measures.items()} | {n: o.label for n, o in mapping.outcomes.items()}
declared = mapping.measures
units = {n: v.label for n, v in catalog(ctx.engine.info).items() if v.kind in ("categorical", "binary")}
left, middle, right, last = st.columns(4)
with left:
    measure = controls.select("measure", "Measure", list(measures), next(iter(measures)), format_func=measures.get)
rate = measure in declared and declared[measure].kind == "rate"
periods = list(PERIODS) if measure in declared and declared[measure].month else ["year"]
charts = ["u", "run"] if rate else ["p", "pp", "run"]
with middle:
    period = controls.select("period", "Period", periods, "year", format_func=str.capitalize)
with right:
    chart = controls.select("chart", "Chart", charts, charts[0], format_func=CHART_NAMES.get)
with last:
    freeze = controls.select("freeze", "Baseline", ["all"] + [str(n) for n in range(2, 41)], "all",
                             format_func=lambda v: "all periods" if v == "all" else f"first {v} periods",
                             help="The periods the centre line and limits are computed from")

analysis_page.require_cohort(ctx)
trend = analysis_page.run(ctx, "spc", SpcOptions(measure, None, period, chart,
                                                 None if freeze == "all" else int(freeze)))
if not presentation.active():  # presenting: the control chart and the funnel are presented together below
    analysis_page.estimates_sections(trend, figures_for(trend), "control chart")
    st.divider()
if not units:
    analysis_page.present_together([trend])
    st.info("The mapping has no site or other categorical variable, so sites cannot be compared.",
            icon=":material/info:")
    st.stop()
left, middle, right = st.columns(3)
with left:
    by = controls.select("by", "Compare", list(units), "site" if "site" in units else next(iter(units)),
                         format_func=units.get)
with middle:
    standardizers = [s for s in ("age", "sex") if s in ctx.engine.info.schema]
    standardize = controls.multiselect("standardize", "Standardise by", standardizers, [],
                                       help="Indirect standardisation: observed / expected per unit")
with right:
    overdispersion = controls.select("overdispersion", "Over-dispersion", list(OVERDISPERSION), "none",
                                     format_func=lambda v: {"none": "no adjustment"}.get(v, v))
sites = analysis_page.run(ctx, "funnel", FunnelOptions(measure, by, tuple(standardize), overdispersion))
analysis_page.present_together([trend, sites])
analysis_page.estimates_sections(sites, figures_for(sites), "funnel plot")
