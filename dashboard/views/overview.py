"""Overview: cohort size, attrition by filter, Table 1 by sex."""

import streamlit as st

from analyses.table_one import table_one, variable_labels
from dashboard import frame, render
from queries.cohort import table_one_variables

ctx = frame.current()
cfg = frame.settings()
st.title("Cohort overview")
st.caption(f"Cohort: {ctx.cohort_text}. Source: {ctx.engine.info.label}; data hash {ctx.engine.info.data_hash}.")

counts = frame.cached_counts(cfg.data, cfg.mapping, ctx.query, ctx.policy)
if not render.cohort_large_enough(counts["n"], ctx.policy):
    st.stop()
render.cohort_metrics(counts, ctx)

st.subheader("Attrition")
render.attrition_table(frame.cached_attrition(cfg.data, cfg.mapping, ctx.query, ctx.policy), ctx.policy)

st.subheader("Table 1 by sex")
labels = variable_labels(ctx.engine)
variables = [(col, kind, labels[col]) for col, kind in table_one_variables(ctx.engine)]
result = table_one(frame.cached_table_one_inputs(cfg.data, cfg.mapping, ctx.query, ctx.policy), variables, ctx.policy,
                   ctx.cohort_text)
render.table_one(result)

st.subheader("Analyses")
render.analysis_links(ctx.query)

from dashboard import slides  # noqa: E402  (the export buttons, kept below the page itself)

slides.export_all(ctx, result)
