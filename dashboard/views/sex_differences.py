"""Sex differences: placeholder until the statistics engine lands (no numbers are shown)."""

import streamlit as st

from dashboard import frame, render

ctx = frame.current()
st.title("Sex differences")
render.placeholder("odds ratios of the case definition in women vs men (crude, exact, Mantel–Haenszel across age bands, adjusted)", ctx)
