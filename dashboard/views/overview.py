"""Overview: cohort size, attrition by filter, Table 1 by sex or any other grouping."""

import streamlit as st

from dashboard import caches, controls, frame, render, source

ctx = frame.current()
cfg = source.settings()
st.title("Cohort overview")
st.caption(f"Cohort: {ctx.description}. Source: {ctx.engine.info.label}; data hash {ctx.engine.info.data_hash}.")

counts = caches.cached_counts(cfg.data, cfg.mapping, ctx.query, ctx.policy)
if not render.cohort_large_enough(counts["n"], ctx.policy):
    st.stop()
render.cohort_metrics(counts, ctx)

st.subheader("Attrition")
render.attrition_table(caches.cached_attrition(cfg.data, cfg.mapping, ctx.query, ctx.policy), ctx.policy)

from analyses.table_one import build_table_one, grouping_choices  # noqa: E402  (below the counts: SciPy's
# stats and statsmodels take a second to import on a cold start)

heading = st.empty()  # "Table 1 by …", once the grouping is read
choices = grouping_choices(ctx.engine) | {"none": "no grouping (everyone)"}
left, right = st.columns([2, 1], vertical_alignment="bottom")
with left:
    by = controls.select("group", "Group by", list(choices), next(iter(choices)), format_func=choices.get)
with right:
    pvalues = controls.toggle("pvalues", "Show p-values", help="Welch's t-test or ANOVA; χ² or Fisher's exact test")
by = None if by == "none" else by
result = build_table_one(ctx.engine, caches.cached_table_one_inputs(cfg.data, cfg.mapping, ctx.query, ctx.policy, by),
                         ctx.description, ctx.policy, by, pvalues)
heading.subheader(result.title)
render.table_one(result)

st.subheader("Analyses")
render.analysis_links(ctx.query)

from dashboard import slides  # noqa: E402  (the export buttons, kept below the page itself)

slides.export_all(ctx, result)
