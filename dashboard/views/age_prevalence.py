"""Age & prevalence: placeholder until the statistics engine lands (no numbers are shown)."""

import streamlit as st

from dashboard import frame, render

ctx = frame.current()
st.title("Age & prevalence")
render.placeholder("prevalence by age band and sex with Wilson CIs, spline curves and direct age standardisation", ctx)
